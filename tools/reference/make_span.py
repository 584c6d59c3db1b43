"""Writes tiny SPAN upscalers (Swift Parameter-free Attention Network, Wan et al. 2024: 2x-ClearRealityV1,
4xNomos8k_span_otf_strong …) and their outputs, for the C# builder's tests. The network as spandrel runs it in eval mode:
- every Conv3XC holds a 1x1 shortcut `sk`, a branch `conv.0` (1x1, c_in -> 2 c_in), `conv.1` (3x3, unpadded,
  2 c_in -> 2 c_out), `conv.2` (1x1, 2 c_out -> c_out) and `eval_conv` (3x3); the branch and the shortcut are merged
  into one 3x3 kernel and bias before every forward (the stored `eval_conv` is overwritten, so it may be stale: the
  files here store a random one), which is run with zero padding 1;
- unless the file has the `no_norm` buffer, x = (x - (0.4488, 0.4371, 0.4040)) * 255 first (no denormalisation after);
- conv_1 (image -> F), six SPABs: o1 = c1_r(x), o2 = c2_r(silu(o1)), o3 = c3_r(silu(o2)),
  out = (o3 + x) * (sigmoid(o3) - 0.5), also returning o1 — after the SiLU, which spandrel applies in place;
- conv_cat (1x1, 4F -> F) over cat(conv_1's output, conv_2(block_6's output), block_1's output, block_6's silu(o1));
- upsampler.0 (3x3, F -> out * s^2) and a pixel shuffle by s.
Files (spandrel reads scale and channels from `upsampler.0.weight` and `conv_1.sk.weight`): `span-x4.pth` (torch.save
of {"params_ema": state dict}, as traiNNer-redux / neosr release them; F32; normalising), `span-x2.safetensors` (F16,
with `no_norm`) and `span-reference.safetensors` with each network's output on `image.png` (make_esrgan.py's 8-bit
image, read as byte / 255) clamped to [0, 1], as image.upscale_with_model returns it.
Run: /usr/bin/python3 tools/reference/make_span.py tests/FlowDiffusion.Checkpoints.Tests/TestData/esrgan"""
import os
import sys

import torch
import torch.nn.functional as F

from png_io import read_png
from safetensors_io import save
from sd1 import Weights

out = sys.argv[1]
MEAN = torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1)
CONVS = ["conv_1"] + [f"block_{b}.c{i}_r" for b in range(1, 7) for i in (1, 2, 3)] + ["conv_2"]


def conv3xc(w, name, cin, cout, shrink=1.0):
    w.conv(name + ".sk", cin, cout, 1)
    w.conv(name + ".conv.0", cin, 2 * cin, 1)
    w.conv(name + ".conv.1", 2 * cin, 2 * cout, 3)
    w.conv(name + ".conv.2", 2 * cout, cout, 1)
    w.conv(name + ".eval_conv", cin, cout, 3)
    for part in (".sk", ".conv.2"):
        w.sd[name + part + ".weight"] *= shrink
        w.sd[name + part + ".bias"] *= shrink


def merged(sd, name):
    """The Conv3XC's 3x3 kernel and bias: conv.2 . conv.1 . conv.0 composed, plus sk at the centre."""
    w1, w2, w3 = (sd[f"{name}.conv.{i}.weight"] for i in range(3))
    b1, b2, b3 = (sd[f"{name}.conv.{i}.bias"] for i in range(3))
    kernel = torch.einsum("on,nmyx,mi->oiyx", w3[:, :, 0, 0], w2, w1[:, :, 0, 0])
    kernel[:, :, 1, 1] += sd[name + ".sk.weight"][:, :, 0, 0]
    bias = w3[:, :, 0, 0] @ (w2.sum((2, 3)) @ b1 + b2) + b3 + sd[name + ".sk.bias"]
    return kernel, bias


def forward(sd, x, scale):
    kernels = {name: merged(sd, name) for name in CONVS}

    def c(name, h):
        return F.conv2d(h, *kernels[name], padding=1)

    if "no_norm" not in sd:
        x = (x - MEAN) * 255.0
    feature = c("conv_1", x)
    h = feature
    for b in range(1, 7):
        o1 = c(f"block_{b}.c1_r", h)
        o3 = c(f"block_{b}.c3_r", F.silu(c(f"block_{b}.c2_r", F.silu(o1))))
        h = (o3 + h) * (torch.sigmoid(o3) - 0.5)
        if b == 1:
            b1 = h
    cat = torch.cat([feature, c("conv_2", h), b1, F.silu(o1)], 1)
    h = F.conv2d(cat, sd["conv_cat.weight"], sd["conv_cat.bias"])
    return F.pixel_shuffle(F.conv2d(h, sd["upsampler.0.weight"], sd["upsampler.0.bias"], padding=1), scale)


def check_merge(sd, name, x):
    # Away from the border the merged kernel is the branch run on the zero-padded input plus the shortcut.
    branch = F.conv2d(F.pad(x, (1, 1, 1, 1)), sd[name + ".conv.0.weight"], sd[name + ".conv.0.bias"])
    branch = F.conv2d(branch, sd[name + ".conv.1.weight"], sd[name + ".conv.1.bias"])
    branch = F.conv2d(branch, sd[name + ".conv.2.weight"], sd[name + ".conv.2.bias"])
    branch = branch + F.conv2d(x, sd[name + ".sk.weight"], sd[name + ".sk.bias"])
    whole = F.conv2d(x, *merged(sd, name), padding=1)
    assert torch.allclose(whole[..., 1:-1, 1:-1], branch[..., 1:-1, 1:-1], atol=1e-4), name


def weights(features, scale, seed, norm, image):
    w = Weights(seed)
    conv3xc(w, "conv_1", 3, features, shrink=1.0 / 255 if norm else 1.0)
    for b in range(1, 7):
        for i in (1, 2, 3):
            conv3xc(w, f"block_{b}.c{i}_r", features, features)
    w.conv("conv_cat", 4 * features, features, 1)
    conv3xc(w, "conv_2", features, features)
    w.conv("upsampler.0", features, 3 * scale * scale, 3)
    if not norm:
        w.sd["no_norm"] = torch.zeros(1)
    sd = {k: t.half().float() for k, t in w.sd.items()}
    # Scale the last convolution so that most of the output lies inside [0, 1], where the clamp keeps it.
    with torch.no_grad():
        raw = forward(sd, image, scale)
        factor = 0.25 / float(raw.std())
        sd["upsampler.0.weight"] = (sd["upsampler.0.weight"] * factor).half().float()
        sd["upsampler.0.bias"] = (sd["upsampler.0.bias"] * factor + 0.5 - float(raw.mean()) * factor).half().float()
    return sd


image = read_png(os.path.join(out, "image.png")).float().unsqueeze(0) / 255
x4 = weights(6, 4, seed=51, norm=True, image=image)
x2 = weights(8, 2, seed=52, norm=False, image=image)
probe = torch.randn(1, 8, 7, 9, generator=torch.Generator().manual_seed(53))
check_merge(x2, "block_3.c2_r", probe)
torch.save({"params_ema": x4}, os.path.join(out, "span-x4.pth"))
save(os.path.join(out, "span-x2.safetensors"), {k: t.half() for k, t in x2.items()})
with torch.no_grad():
    tensors = {"png_x4": forward(x4, image, 4), "png_x2": forward(x2, image, 2)}
for k, v in tensors.items():
    print(k, tuple(v.shape), "inside [0, 1]:", float(((v > 0) & (v < 1)).float().mean()))
save(os.path.join(out, "span-reference.safetensors"), {k: v.clamp(0, 1) for k, v in tensors.items()})
