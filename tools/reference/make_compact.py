"""Writes tiny Real-ESRGAN compact generators (SRVGGNetCompact, the architecture of realesr-general-x4v3 and
realesr-animevideov3) and their outputs, for the C# builder's tests. The network, as Real-ESRGAN describes it (Wang et
al. 2021, "Real-ESRGAN", and its model zoo's compact VGG-style model): a 3x3 convolution from the image to F features,
N 3x3 convolutions F -> F, each of these followed by a PReLU with one slope per feature, a last 3x3 convolution to
3 * s^2 maps, a pixel shuffle by s, plus the input upsampled by s with nearest neighbour. Sequential weights
`body.0` (conv), `body.1` (PReLU), ..., `body.2N+2` (last conv).
Files: `compact-x4.pth` (torch.save of {"params": state dict}, as Real-ESRGAN releases them; F32), `compact-x2.safetensors`
(F16) and `compact-reference.safetensors` with each network's output on `image.png` (make_esrgan.py's 8-bit image, read
as byte / 255) clamped to [0, 1], as image.upscale_with_model returns it.
Run: /usr/bin/python3 tools/reference/make_compact.py tests/FlowDiffusion.Checkpoints.Tests/TestData/esrgan"""
import os
import sys

import torch
import torch.nn.functional as F

from png_io import read_png
from safetensors_io import save
from sd1 import Weights

out = sys.argv[1]


def weights(features, convs, scale, seed):
    w = Weights(seed)
    w.conv("body.0", 3, features, 3)
    w.raw("body.1.weight", features, scale=0.1)
    w.sd["body.1.weight"] += 0.25
    for i in range(convs):
        w.conv(f"body.{2 * i + 2}", features, features, 3)
        w.raw(f"body.{2 * i + 3}.weight", features, scale=0.1)
        w.sd[f"body.{2 * i + 3}.weight"] += 0.25
    w.conv(f"body.{2 * convs + 2}", features, 3 * scale * scale, 3)
    return {k: t.half().float() for k, t in w.sd.items()}


def forward(sd, x, convs, scale):
    h = x
    for i in range(convs + 1):
        h = F.conv2d(h, sd[f"body.{2 * i}.weight"], sd[f"body.{2 * i}.bias"], padding=1)
        h = F.prelu(h, sd[f"body.{2 * i + 1}.weight"])
    h = F.conv2d(h, sd[f"body.{2 * convs + 2}.weight"], sd[f"body.{2 * convs + 2}.bias"], padding=1)
    return F.pixel_shuffle(h, scale) + F.interpolate(x, scale_factor=scale, mode="nearest")


x4 = weights(8, 3, 4, seed=41)
x2 = weights(6, 2, 2, seed=42)
torch.save({"params": x4}, os.path.join(out, "compact-x4.pth"))
save(os.path.join(out, "compact-x2.safetensors"), {k: t.half() for k, t in x2.items()})
image = read_png(os.path.join(out, "image.png")).float().unsqueeze(0) / 255
with torch.no_grad():
    tensors = {"png_x4": forward(x4, image, 3, 4).clamp(0, 1), "png_x2": forward(x2, image, 2, 2).clamp(0, 1)}
save(os.path.join(out, "compact-reference.safetensors"), tensors)
print({k: (tuple(v.shape), float(v.mean())) for k, v in tensors.items()})
