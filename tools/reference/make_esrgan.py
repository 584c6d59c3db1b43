"""Writes tiny ESRGAN generators (esrgan.py: 8 features, growth 4, 2 RRDBs) and their outputs, for the C# RRDBNet
builder's tests: `rrdb-x4.safetensors` (Real-ESRGAN names, F16), `rrdb-x4-old.safetensors` (the same weights in the
original ESRGAN layout, F32), `rrdb-x2-unshuffle.safetensors` (Real-ESRGAN x2: pixel unshuffle by 2, then x4),
`rrdb-x8-old.safetensors` (three upsamplings, original layout) and `reference.safetensors` with a 1x3x12x10 image in
[0, 1] and each network's float32 output, and an 11x9 crop through the x2 network (reflect-padded to 12x10, the
result cropped to 22x18), and `image.png` (8-bit) with the x4 network's output clamped to [0, 1].
Run: /usr/bin/python3 tools/reference/make_esrgan.py tests/FlowDiffusion.Checkpoints.Tests/TestData/esrgan"""
import os
import sys

import torch

import esrgan
from png_io import write_png
from safetensors_io import save

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def rounded(sd):
    return {k: t.half().float() for k, t in sd.items()}


x4 = rounded(esrgan.weights())
x2 = rounded(esrgan.weights(unshuffle=2, seed=32))
x8 = rounded(esrgan.weights(upsamples=3, blocks=1, seed=33))
save(os.path.join(out, "rrdb-x4.safetensors"), {k: t.half() for k, t in x4.items()})
save(os.path.join(out, "rrdb-x4-old.safetensors"), esrgan.old_names(x4))
save(os.path.join(out, "rrdb-x2-unshuffle.safetensors"), {k: t.half() for k, t in x2.items()})
save(os.path.join(out, "rrdb-x8-old.safetensors"), {k: t.half() for k, t in esrgan.old_names(x8).items()})
g = torch.Generator().manual_seed(5)
image = torch.rand(1, 3, 12, 10, generator=g)
with torch.no_grad():
    tensors = {"image": image, "x4": esrgan.forward(x4, image), "x2": esrgan.forward(x2, image, unshuffle=2), "x8": esrgan.forward(x8, image)}
    # An odd size for the unshuffling network: Real-ESRGAN's inference reflect-pads bottom and right to a multiple of
    # the unshuffle factor and crops the result back to scale x the input.
    odd = image[:, :, :11, :9]
    tensors["image_odd"] = odd
    tensors["x2_odd"] = esrgan.forward(x2, torch.nn.functional.pad(odd, (0, 1, 0, 1), mode="reflect"), unshuffle=2)[:, :, :22, :18]
# Through upscale.load and image.upscale_with_model: an 8-bit PNG (image.load reads byte / 255) and the x4 result
# clamped to [0, 1], as the node returns it.
png = torch.randint(0, 256, (1, 3, 12, 10), generator=g, dtype=torch.uint8)
write_png(os.path.join(out, "image.png"), png[0])
with torch.no_grad():
    tensors["png_x4"] = esrgan.forward(x4, png.float() / 255).clamp(0, 1)
save(os.path.join(out, "reference.safetensors"), tensors)
print({k: (tuple(v.shape), float(v.abs().mean())) for k, v in tensors.items()})
