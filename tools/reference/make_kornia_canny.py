"""Writes the oracle for FlowDiffusion's kornia-style Canny (ComfyUI's Canny node), computed with torch from kornia's
published definition, written here: grey 0.299/0.587/0.114, 5x5 gaussian (sigma 1) over reflect padding, unnormalised
Sobel over replicated borders, magnitude sqrt(gx^2 + gy^2 + 1e-6), the angle rounded to 45 degrees, non-maximum
suppression against both neighbours along it (zero padding), thresholds (0.5 above low, 1 above high) and kornia's
iterated one-pixel hysteresis until nothing changes.
Inputs: the 96x96 landscape of canny-opencv.json, a blurred random RGB image and an anti-aliased drawn disc, line and step.
Run: /usr/bin/python3 tools/reference/make_kornia_canny.py tests/FlowDiffusion.Imaging.Tests/TestData/canny-kornia.json"""
import base64
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F


def canny(rgb, low, high):
    x = torch.from_numpy(rgb).float()[None]  # 1x3xHxW in 0..1
    gray = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    t = torch.linspace(-2.0, 2.0, 5)
    pdf = torch.exp(-0.5 * t.pow(2))
    g = pdf / pdf.sum()
    k2 = (g[:, None] @ g[None, :])[None, None]
    blurred = F.conv2d(F.pad(gray, [2, 2, 2, 2], mode="reflect"), k2)
    sx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    sobel = torch.stack([sx, sx.t()])[:, None]
    grad = F.conv2d(F.pad(blurred, [1, 1, 1, 1], mode="replicate"), sobel)
    gx, gy = grad[:, 0:1], grad[:, 1:2]
    magnitude = torch.sqrt(gx * gx + gy * gy + 1e-6)
    angle = torch.round(180.0 * torch.atan2(gy, gx) / math.pi / 45) * 45
    # Neighbour (dy, dx) of direction d = angle / 45 mod 8, turning from +x towards +y.
    offsets = [(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)]
    padded = F.pad(magnitude, [1, 1, 1, 1])
    h, w = magnitude.shape[-2:]
    diffs = torch.stack([magnitude - padded[:, :, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in offsets], 1)[:, :, 0]
    positive = ((angle / 45) % 8).long()
    negative = ((angle / 45 + 4) % 8).long()
    is_max = torch.minimum(torch.gather(diffs, 1, positive), torch.gather(diffs, 1, negative)) > 0
    suppressed = magnitude * is_max
    edges = (suppressed > low).float() * 0.5 + (suppressed > high).float() * 0.5
    old = -torch.ones_like(edges)
    while (old != edges).any():
        weak = (edges == 0.5).float()
        strong = (edges == 1).float()
        near = F.pad(edges, [1, 1, 1, 1])
        touches = torch.zeros_like(edges, dtype=torch.bool)
        for dy, dx in offsets:
            touches |= near[:, :, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] == 1
        grown = touches.float() * weak + strong
        old = edges
        edges = grown + (grown == 0).float() * weak * 0.5
    return magnitude[0, 0].numpy(), (edges == 1)[0, 0].numpy().astype(np.uint8)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


opencv = json.load(open("tests/FlowDiffusion.Imaging.Tests/TestData/canny-opencv.json"))["images"][0]
landscape = np.frombuffer(base64.b64decode(opencv["rgb_hwc"]), np.uint8).reshape(96, 96, 3).transpose(2, 0, 1) / np.float32(255)
generator = torch.Generator().manual_seed(11)
noise = torch.rand(1, 3, 40, 56, generator=generator)
noise = F.avg_pool2d(F.pad(noise, [2, 2, 2, 2], mode="reflect"), 5, stride=1)[0].numpy()
yy, xx = np.mgrid[0:48, 0:64]
# Anti-aliased, off the pixel grid: a sharp step centred between two pixels gives them equal magnitudes, and which of a
# tie survives suppression depends on float rounding order, not on the definition.
drawn = np.zeros((3, 48, 64), np.float32)
drawn[0] = 0.9 * np.clip(14.5 - np.hypot(yy - 24.37, xx - 30.61), 0, 1)
drawn[1] = 0.7 * np.clip(1.5 - np.abs(yy - xx * 0.75 - 3.2), 0, 1)
drawn[2] = 0.5 * np.clip(xx - 49.9, 0, 1)
images = []
for name, rgb, pairs in [("landscape", landscape, [(0.4, 0.8), (0.1, 0.2), (0.05, 0.5)]),
                         ("blurred-noise", noise, [(0.05, 0.1), (0.02, 0.2), (0.15, 0.1)]),
                         ("drawn", drawn, [(0.4, 0.8), (0.2, 0.9), (0.01, 0.99)])]:
    rgb = np.ascontiguousarray(rgb, np.float32)
    cases = []
    for low, high in pairs:
        magnitude, edges = canny(rgb, low, high)
        cases.append({"low": low, "high": high, "edges": b64(edges)})
    images.append({"name": name, "height": rgb.shape[1], "width": rgb.shape[2], "rgb": b64(rgb), "magnitude": b64(magnitude.astype(np.float32)), "cases": cases})
with open(sys.argv[1], "w") as f:
    json.dump({"torch": torch.__version__, "images": images}, f)
print([[int(np.frombuffer(base64.b64decode(c["edges"]), np.uint8).sum()) for c in i["cases"]] for i in images])
