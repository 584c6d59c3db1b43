"""The LeReS depth annotator (lllyasviel/Annotators' res101.pth: Yin et al. 2021, "Learning to Recover 3D Scene Shape
from a Single Image", AdelaiDepth's RelDepthModel with the ResNeXt-101 32x8d encoder; comfyui_controlnet_aux's
LeresDetector with boost off, sd-webui-controlnet's depth_leres), restated from its published definitions as torch
operations on a state dict, on deterministic weights (test data only).

The checkpoint: {"depth_model": state dict} (both loaders read that entry and strip a leading "module."); its keys
"depth_model.encoder_modules.encoder.*" (torchvision-style ResNeXt-101 32x8d without avgpool/fc) and
"depth_model.decoder_modules.*". The network, float32, every BatchNorm eps 1e-5:
  encoder: conv1 7x7/2 pad 3, bn1, ReLU, max pool 3/2 pad 1; layer1..4 of 3, 4, 23, 3 bottlenecks (width = planes * 4
    with 32 groups: 256, 512, 1024, 2048 = the outputs): 1x1, bn, ReLU, 3x3 grouped (32) with the stride, bn, ReLU,
    1x1, bn, + shortcut (downsample = 1x1 with the stride + bn on each layer's first), ReLU. Features: each layer's
    output (1/4, 1/8, 1/16, 1/32).
  decoder: FTB(2048 -> 512) on 1/32, conv1 3x3 512 -> 256, x2 bilinear align_corners; FFM2/1/0 (FTB(in -> 256) of the
    skip, + the deeper map, FTB(256 -> 256), x2 bilinear align_corners) with the 1/16, 1/8 and 1/4 features; AO: 3x3
    256 -> 128, bn, ReLU, 3x3 128 -> 1, x2 bilinear align_corners: the depth at the input's size.
  FTB: c = conv1(x) (3x3 + bias); branch = ReLU, 3x3, bn, ReLU, 3x3 (all + bias); out = ReLU(c + branch(c)) -- but the
    branch's first ReLU is in place and runs before the sum reads c, so the published network computes
    ReLU(ReLU(c) + branch(c)) (checked with --check against the published module structure).
The annotator (estimateleres + LeresDetector.__call__, boost off): resize_image_with_pad (aux_preprocessors), the
channels reversed (RGB -> BGR), float32 0..255 values (torchvision's ToTensor does not scale float arrays) less the
ImageNet mean over its std per channel index, the network on the padded image (the cv2.resize to the same size is a copy),
then over the padded map: 65535 * (d - min) / (max - min) in float32 truncated to uint16 (zeros when max - min is not
above float64's eps), cv2.convertScaleAbs(alpha = 255/65535) (float32 product rounded half to even), remove near:
v > floor(thr_a / 100 * 255) ? v : 0 (cv2.threshold THRESH_TOZERO on 8-bit), 255 - v, remove background likewise with
thr_b, cropped, grey in three channels.
The weights: make_hed.py's hashed(t, n, e) with t the index in keys(), plus an offset per kind (float16 storages).

Run: /usr/bin/python3 tools/reference/make_leres.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/leres-reference.json [--check]
"""
import base64
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aux_preprocessors import resize_with_pad, test_image  # noqa: E402
from make_hed import hashed  # noqa: E402

ENC = "depth_model.encoder_modules.encoder."
DEC = "depth_model.decoder_modules."
LAYERS = [(64, 3), (128, 4), (256, 23), (512, 3)]  # (planes, blocks); width = planes * 8 / 64 * 32, out = planes * 4
GROUPS = 32
EPS = 1e-5


def bn_keys(name, c):
    return [(f"{name}.{p}", (c,)) for p in ("weight", "bias", "running_mean", "running_var")]


def conv_keys(name, cout, cin, k, bias=True):
    return [(f"{name}.weight", (cout, cin, k, k))] + ([(f"{name}.bias", (cout,))] if bias else [])


def bottlenecks():
    """(name, in, width, out, stride, downsample) per block, in order."""
    cin = 64
    for i, (planes, blocks) in enumerate(LAYERS):
        width, cout = planes * 4, planes * 4
        for b in range(blocks):
            stride = 2 if i > 0 and b == 0 else 1
            yield f"{ENC}layer{i + 1}.{b}", cin, width, cout, stride, b == 0
            cin = cout


def ftb_keys(name, cin, mid):
    return conv_keys(name + ".conv1", mid, cin, 3) + conv_keys(name + ".conv_branch.1", mid, mid, 3) \
        + bn_keys(name + ".conv_branch.2", mid) + conv_keys(name + ".conv_branch.4", mid, mid, 3)


def keys():
    out = conv_keys(ENC + "conv1", 64, 3, 7, bias=False) + bn_keys(ENC + "bn1", 64)
    for name, cin, width, cout, _, down in bottlenecks():
        out += conv_keys(name + ".conv1", width, cin, 1, False) + bn_keys(name + ".bn1", width)
        out += conv_keys(name + ".conv2", width, width // GROUPS, 3, False) + bn_keys(name + ".bn2", width)
        out += conv_keys(name + ".conv3", cout, width, 1, False) + bn_keys(name + ".bn3", cout)
        if down:
            out += conv_keys(name + ".downsample.0", cout, cin, 1, False) + bn_keys(name + ".downsample.1", cout)
    out += ftb_keys(DEC + "conv", 2048, 512) + conv_keys(DEC + "conv1", 256, 512, 3)
    for i, cin in ((2, 1024), (1, 512), (0, 256)):
        out += ftb_keys(f"{DEC}ffm{i}.ftb1", cin, 256) + ftb_keys(f"{DEC}ffm{i}.ftb2", 256, 256)
    out += conv_keys(DEC + "outconv.adapt_conv.0", 128, 256, 3) + bn_keys(DEC + "outconv.adapt_conv.1", 128)
    out += conv_keys(DEC + "outconv.adapt_conv.3", 1, 128, 3)
    return out


def scale(name, shape, norms):
    """(offset, exponent) per kind: BatchNorms with small variances (so eps matters), about He-uniform weights, each
    bottleneck's last BatchNorm 4x smaller (small residual branches keep the 33 blocks well conditioned), the first
    convolution 2^-8 smaller for the 0..255-scale input."""
    prefix = name.rsplit(".", 1)[0]
    if name.endswith("bn3.weight"):
        return 2.0 ** -6, 8
    if name.endswith("running_var"):
        return 2.0 ** -8, 9
    if name.endswith("running_mean"):
        return 0.0, 6
    if prefix in norms and name.endswith("weight"):
        return 2.0 ** -4, 6
    if prefix in norms or name.endswith("bias"):
        return 0.0, 4
    fan_in = int(np.prod(shape[1:]))
    e = int(round(math.log2(1 / math.sqrt(6.0 / fan_in))))
    return 0.0, e + 8 if name == ENC + "conv1.weight" else e


def weights():
    ks = keys()
    norms = {n.rsplit(".", 1)[0] for n, _ in ks if n.endswith("running_var")}
    sd = {}
    for t, (name, shape) in enumerate(ks):
        offset, e = scale(name, shape, norms)
        v = (hashed(t, int(np.prod(shape)), e).astype(np.float32) + np.float32(offset)).astype(np.float16)
        sd[name] = torch.from_numpy(v.astype(np.float32).reshape(shape))
    return sd


def conv(x, sd, name, stride=1, groups=1):
    w = sd[name + ".weight"]
    return F.conv2d(x, w, sd.get(name + ".bias"), stride=stride, padding=w.shape[2] // 2, groups=groups)


def bn(x, sd, name, eps):
    return F.batch_norm(x, sd[name + ".running_mean"], sd[name + ".running_var"], sd[name + ".weight"], sd[name + ".bias"], False, 0.0, eps)


def encoder(sd, x, m=None):
    eps = 1e-3 if m == "bn_eps" else EPS
    x = F.max_pool2d(F.relu(bn(conv(x, sd, ENC + "conv1", 2), sd, ENC + "bn1", eps)), 3, 2, 1)
    feats = []
    for name, _, _, _, stride, down in bottlenecks():
        y = F.relu(bn(conv(x, sd, name + ".conv1"), sd, name + ".bn1", eps))
        y = conv(y, sd, name + ".conv2", stride, GROUPS)
        y = F.relu(bn(y, sd, name + ".bn2", eps))
        y = bn(conv(y, sd, name + ".conv3"), sd, name + ".bn3", eps)
        shortcut = bn(conv(x, sd, name + ".downsample.0", stride), sd, name + ".downsample.1", eps) if down else x
        x = F.relu(y + shortcut)
        if name.endswith(f".{LAYERS[int(name.split('layer')[1].split('.')[0]) - 1][1] - 1}"):
            feats.append(x)
    return feats


def ftb(sd, x, name, eps, m=None):
    c = conv(x, sd, name + ".conv1")
    branch = conv(F.relu(bn(conv(F.relu(c), sd, name + ".conv_branch.1"), sd, name + ".conv_branch.2", eps)), sd, name + ".conv_branch.4")
    # The published FTB's in-place ReLU has already rectified c when the sum reads it.
    return F.relu((c if m == "no_inplace" else F.relu(c)) + branch)


def up2(x):
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


def decoder(sd, feats, m=None):
    eps = 1e-3 if m == "bn_eps" else EPS
    x = up2(conv(ftb(sd, feats[3], DEC + "conv", eps, m), sd, DEC + "conv1"))
    for i in (2, 1, 0):
        x = ftb(sd, feats[i], f"{DEC}ffm{i}.ftb1", eps, m) + x
        x = up2(ftb(sd, x, f"{DEC}ffm{i}.ftb2", eps, m))
    x = F.relu(bn(conv(x, sd, DEC + "outconv.adapt_conv.0"), sd, DEC + "outconv.adapt_conv.1", eps))
    return up2(conv(x, sd, DEC + "outconv.adapt_conv.3"))


MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def depth(sd, padded, m=None):
    """The network's depth plane for the padded RGB image."""
    bgr = padded if m == "rgb" else padded[:, :, ::-1]
    x = np.ascontiguousarray(bgr).astype(np.float32)
    if m == "scaled":
        x = x / np.float32(255)
    x = torch.from_numpy(((x - MEAN) / STD).astype(np.float32)).permute(2, 0, 1)[None]
    d = decoder(sd, encoder(sd, x, m), m)
    assert d.shape[2:] == x.shape[2:]
    return d[0, 0].numpy()


def tozero(v, thr, m=None):
    """cv2.threshold(v, thr, 255, THRESH_TOZERO) on uint8: the threshold floored, values not above it zeroed."""
    t = math.floor(thr)
    return np.where(v >= t if m == "at_or_above" else v > t, v, 0).astype(np.uint8)


def post(d, near, background, m=None):
    lo, hi = d.min(), d.max()
    if hi - lo > np.finfo("float").eps:
        out = (65535 * (d - lo) / (hi - lo)).astype(np.float32)
    else:
        out = np.zeros(d.shape, np.float32)
    v16 = out.astype(np.uint16)
    v = np.clip(np.rint(v16.astype(np.float32) * np.float32(255.0 / 65535.0)), 0, 255).astype(np.uint8)
    if m == "threshold_after_invert":
        v = 255 - v
        v = tozero(v, near / 100 * 255) if near != 0 else v
    else:
        v = tozero(v, near / 100 * 255, m) if near != 0 else v
        v = 255 - v
    return tozero(v, background / 100 * 255, m) if background != 0 else v


def leres(sd, rgb, resolution, near, background, m=None, cache=None):
    padded, th, tw = resize_with_pad(rgb, resolution)
    key = (resolution, m if m in NETWORK_MUTATIONS else None)
    if cache is None or key not in cache:
        d = depth(sd, padded, key[1])
        if cache is not None:
            cache[key] = d
    else:
        d = cache[key]
    v = post(d, near, background, m)
    return np.ascontiguousarray(v[:th, :tw])


NETWORK_MUTATIONS = ["bn_eps", "no_inplace", "rgb", "scaled"]
MUTATIONS = NETWORK_MUTATIONS + ["at_or_above", "threshold_after_invert"]
CASES = [(64, 0.0, 0.0), (64, 33.3, 0.0), (96, 0.0, 45.0), (96, 20.0, 70.5)]


def check(sd):
    """The restatement against the published module structure and OpenCV 4.6's operations."""
    import cv2
    import torch.nn as nn
    torch.manual_seed(0)
    c = torch.randn(1, 8, 6, 6)
    branch = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, padding=1)).eval()
    expected = F.relu(F.relu(c) + branch(F.relu(c).clone()))
    x = c.clone()
    published = F.relu(x + branch(x))
    assert torch.allclose(published, expected), "FTB's in-place ReLU"
    rng = np.random.default_rng(1)
    v16 = rng.integers(0, 65536, (37, 41)).astype(np.uint16)
    ours = np.clip(np.rint(v16.astype(np.float32) * np.float32(255.0 / 65535.0)), 0, 255).astype(np.uint8)
    assert np.array_equal(ours, cv2.convertScaleAbs(v16, alpha=(255.0 / 65535.0))), "convertScaleAbs"
    v8 = rng.integers(0, 256, (37, 41)).astype(np.uint8)
    for thr in (0.0, 12.7, 84.915, 127.5, 200.0, 254.9, 255.0):
        assert np.array_equal(tozero(v8, thr), cv2.threshold(v8, thr, 255, cv2.THRESH_TOZERO)[1]), f"threshold {thr}"
    assert np.array_equal(255 - v8, cv2.bitwise_not(v8))
    print("check: FTB in-place ReLU, convertScaleAbs, THRESH_TOZERO and bitwise_not agree")


def main(path, run_check):
    torch.set_grad_enabled(False)
    sd = weights()
    print("tensors", len(sd), "parameters", sum(v.numel() for v in sd.values()))
    if run_check:
        check(sd)
    rgb = test_image()
    cases = []
    cache = {}
    for resolution, near, background in CASES:
        out = leres(sd, rgb, resolution, near, background, cache=cache)
        cases.append(dict(resolution=resolution, remove_near=near, remove_background=background, height=out.shape[0], width=out.shape[1],
                          depth=base64.b64encode(out.tobytes()).decode()))
        print(resolution, near, background, out.shape, "mean", round(float(out.mean()), 2), "levels", len(np.unique(out)), "zeros", int((out == 0).sum()))
        for m in MUTATIONS:
            d = np.abs(leres(sd, rgb, resolution, near, background, m, cache).astype(int) - out.astype(int))
            print("  mutation", m, "differs by > 1 at", int((d > 1).sum()), "of", d.size, "max", int(d.max()))
    data = {"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()},
            "keys": [[n, list(s)] for n, s in keys()], "cases": cases}
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1], "--check" in sys.argv[2:])
