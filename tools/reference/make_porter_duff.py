"""Writes the oracle for FlowDiffusion's Porter-Duff compositing (ComfyUI's PorterDuffImageComposite), computed with torch
from ComfyUI's definition, written here: masks are 1 - alpha; colours premultiplied; the mode's formula; the colour
divided back by the alpha where it is above 1e-5 (0 elsewhere) and clamped to 0..1; the mask 1 - alpha. A batch of two
random images and masks of one size (the node's resizing to the destination's size is image.resize's bicubic, tested
there), every mode; a row of the source and a column of the destination are fully transparent.
Run: /usr/bin/python3 tools/reference/make_porter_duff.py tests/FlowDiffusion.Imaging.Tests/TestData/porter-duff.json"""
import base64
import json
import sys

import numpy as np
import torch

MODES = ["ADD", "CLEAR", "DARKEN", "DST", "DST_ATOP", "DST_IN", "DST_OUT", "DST_OVER", "LIGHTEN", "MULTIPLY", "OVERLAY", "SCREEN", "SRC",
         "SRC_ATOP", "SRC_IN", "SRC_OUT", "SRC_OVER", "XOR"]


def mode_result(mode, s, sa, d, da):
    one = torch.ones_like(sa)
    union = sa + da - sa * da
    return {
        "ADD": (torch.clamp(s + d, 0, 1), torch.clamp(sa + da, 0, 1)),
        "CLEAR": (torch.zeros_like(s), torch.zeros_like(sa)),
        "DARKEN": ((one - da) * s + (one - sa) * d + torch.minimum(s, d), union),
        "DST": (d, da),
        "DST_ATOP": (sa * d + (one - da) * s, sa),
        "DST_IN": (d * sa, sa * da),
        "DST_OUT": ((one - sa) * d, (one - sa) * da),
        "DST_OVER": (d + (one - da) * s, da + (one - da) * sa),
        "LIGHTEN": ((one - da) * s + (one - sa) * d + torch.maximum(s, d), union),
        "MULTIPLY": (s * d, sa * da),
        "OVERLAY": (torch.where(2 * d < da, 2 * s * d, sa * da - 2 * (da - s) * (sa - d)), union),
        "SCREEN": (s + d - s * d, union),
        "SRC": (s, sa),
        "SRC_ATOP": (da * s + (one - sa) * d, da),
        "SRC_IN": (s * da, sa * da),
        "SRC_OUT": ((one - da) * s, (one - da) * sa),
        "SRC_OVER": (s + (one - sa) * d, sa + (one - sa) * da),
        "XOR": ((one - da) * s + (one - sa) * d, (one - da) * sa + (one - sa) * da),
    }[mode]


def composite(source, source_mask, destination, destination_mask, mode):
    sa, da = (1 - source_mask)[:, None], (1 - destination_mask)[:, None]
    image, alpha = mode_result(mode, source * sa, sa, destination * da, da)
    image = torch.where(alpha > 1e-5, image / alpha, torch.zeros_like(image)).clamp(0, 1)
    return image, (1 - alpha)[:, 0]


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, np.float32).tobytes()).decode()


g = torch.Generator().manual_seed(3)
source, destination = torch.rand(2, 3, 9, 11, generator=g), torch.rand(2, 3, 9, 11, generator=g)
# Masks in 0 .. 0.9 (alphas 0.1 .. 1), so the division stays well conditioned, except a row of fully transparent pixels
# in each, overlapping in one pixel column, where the result's alpha is 0 for the intersecting modes.
source_mask, destination_mask = torch.rand(2, 9, 11, generator=g) * 0.9, torch.rand(2, 9, 11, generator=g) * 0.9
source_mask[:, 2, :] = 1
destination_mask[:, :, 4] = 1
cases = []
for mode in MODES:
    image, mask = composite(source, source_mask, destination, destination_mask, mode)
    cases.append({"mode": mode, "image": b64(image.numpy()), "mask": b64(mask.numpy())})
with open(sys.argv[1], "w") as f:
    json.dump({"torch": torch.__version__, "batch": 2, "height": 9, "width": 11, "source": b64(source.numpy()), "source_mask": b64(source_mask.numpy()),
               "destination": b64(destination.numpy()), "destination_mask": b64(destination_mask.numpy()), "cases": cases}, f)
print(len(cases))
