"""Depth Anything (V1: LiheYoung/Depth-Anything's DPT_DINOv2; V2: DepthAnything/Depth-Anything-V2's DepthAnythingV2) as
comfyui_controlnet_aux and sd-webui-controlnet run them, restated in torch from the published definitions on deterministic
weights of the vits size (test data only).

Weights: the real state-dict layout of a vits file (keys pretrained.* and depth_head.*, pos_embed on the 37 × 37 grid,
float32 storages as the published files) with make_hed.py's hashed values (tensor index t in KEYS order, element i):
  value = OFFSET[kind] + ((h >> 21) − 1024) / 1024 · 2^-e      e from the kind (and fan-in for weights)
so the C# test (tests/Shared/DepthAnythingWeights.cs) writes the same file.
The network: 14 × 14 patch convolution; the class token; pos_embed as stored when the grid is 37 × 37, else its patch
part resized by F.interpolate(mode="bicubic", scale_factor=((gh + 0.1)/37, (gw + 0.1)/37)) as DINOv2 does; 12 pre-norm
blocks x + ls1·attn(norm1 x), x + ls2·mlp(norm2 x) (6 heads, softmax(q kᵀ/√64) v, exact GELU, LayerNorm ε 1e-6); the
outputs of blocks V1: 8, 9, 10, 11 (the last four) / V2: 2, 5, 8, 11, each through the final norm without the class
token, as maps; the DPT head (projects, ConvTranspose ×4 / ×2, identity, stride-2 conv, layerN_rn, fusion blocks with
align-corners bilinear resizes, output_conv1, resize to 14 × grid, output_conv2 with its two ReLUs).
The pipelines: the image /255 in float64, cv2.INTER_CUBIC (restated: float32 Keys coefficients a = −0.75, double sums) to
the lower-bound multiple-of-14 size of input_size, ImageNet mean/std, float32;
  aux V1: depth bilinear (align_corners False) to the scaled size, min–max ·255 in float32, truncated to uint8;
  aux V2: depth bilinear (align_corners True) to the image size, min–max ·255, uint8, then resize_with_pad's resize;
  extension: resize_with_pad first, red/blue swapped (cv2.cvtColor BGR2RGB on RGB), depth bilinear (align_corners
  False) to the padded size, min–max, uint8, cropped.

Run: /usr/bin/python3 tools/reference/make_depth_anything.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/depth-anything-reference.json [--check]
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
from aux_preprocessors import resize, resize_with_pad, test_image  # noqa: E402
from make_hed import hashed  # noqa: E402

WIDTH, LAYERS, HEADS, FEATURES, OUT = 384, 12, 6, 64, [48, 96, 192, 384]
GRID = 37
TAKEN = {"v1": [8, 9, 10, 11], "v2": [2, 5, 8, 11]}
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
# kind → (offset, fixed exponent or None for fan-in scaled weights)
KINDS = {"weight": (0.0, None), "bias": (0.0, 4), "token": (0.0, 1), "gamma": (0.5, 2), "norm_weight": (1.0, 2),
         "norm_bias": (0.0, 4), "final_bias": (0.25, 4)}


def keys():
    """(name, shape, kind) of every tensor of a vits checkpoint, in state-dict order."""
    d, hid, f = WIDTH, 4 * WIDTH, FEATURES
    out = [("pretrained.cls_token", (1, 1, d), "token"), ("pretrained.pos_embed", (1, 1 + GRID * GRID, d), "token"),
           ("pretrained.mask_token", (1, d), "token"),
           ("pretrained.patch_embed.proj.weight", (d, 3, 14, 14), "weight"), ("pretrained.patch_embed.proj.bias", (d,), "bias")]
    for i in range(LAYERS):
        b = f"pretrained.blocks.{i}."
        out += [(b + "norm1.weight", (d,), "norm_weight"), (b + "norm1.bias", (d,), "norm_bias"),
                (b + "attn.qkv.weight", (3 * d, d), "weight"), (b + "attn.qkv.bias", (3 * d,), "bias"),
                (b + "attn.proj.weight", (d, d), "weight"), (b + "attn.proj.bias", (d,), "bias"),
                (b + "ls1.gamma", (d,), "gamma"),
                (b + "norm2.weight", (d,), "norm_weight"), (b + "norm2.bias", (d,), "norm_bias"),
                (b + "mlp.fc1.weight", (hid, d), "weight"), (b + "mlp.fc1.bias", (hid,), "bias"),
                (b + "mlp.fc2.weight", (d, hid), "weight"), (b + "mlp.fc2.bias", (d,), "bias"),
                (b + "ls2.gamma", (d,), "gamma")]
    out += [("pretrained.norm.weight", (d,), "norm_weight"), ("pretrained.norm.bias", (d,), "norm_bias")]
    h = "depth_head."
    for k in range(4):
        out += [(f"{h}projects.{k}.weight", (OUT[k], d, 1, 1), "weight"), (f"{h}projects.{k}.bias", (OUT[k],), "bias")]
    for k, kern in ((0, 4), (1, 2), (3, 3)):
        out += [(f"{h}resize_layers.{k}.weight", (OUT[k], OUT[k], kern, kern), "weight"), (f"{h}resize_layers.{k}.bias", (OUT[k],), "bias")]
    for k in range(4):
        out.append((f"{h}scratch.layer{k + 1}_rn.weight", (f, OUT[k], 3, 3), "weight"))
    for r in range(1, 5):
        p = f"{h}scratch.refinenet{r}."
        out += [(p + "out_conv.weight", (f, f, 1, 1), "weight"), (p + "out_conv.bias", (f,), "bias")]
        for unit in ("resConfUnit1", "resConfUnit2"):
            for conv in ("conv1", "conv2"):
                out += [(f"{p}{unit}.{conv}.weight", (f, f, 3, 3), "weight"), (f"{p}{unit}.{conv}.bias", (f,), "bias")]
    out += [(h + "scratch.output_conv1.weight", (f // 2, f, 3, 3), "weight"), (h + "scratch.output_conv1.bias", (f // 2,), "bias"),
            (h + "scratch.output_conv2.0.weight", (32, f // 2, 3, 3), "weight"), (h + "scratch.output_conv2.0.bias", (32,), "bias"),
            (h + "scratch.output_conv2.2.weight", (1, 32, 1, 1), "weight"), (h + "scratch.output_conv2.2.bias", (1,), "final_bias")]
    return out


def exponent(shape, kind):
    """2^-e: fixed per kind, or ≈ He-uniform (round(log2 √(fan_in / 6))) for weights, fan_in = the product of shape[1:]."""
    fixed = KINDS[kind][1]
    if fixed is not None:
        return fixed
    fan_in = int(np.prod(shape[1:]))
    return int(round(np.log2(1 / np.sqrt(6.0 / fan_in))))


def weights():
    sd = {}
    for t, (name, shape, kind) in enumerate(keys()):
        v = hashed(t, int(np.prod(shape)), exponent(shape, kind)).astype(np.float32) + np.float32(KINDS[kind][0])
        sd[name] = torch.from_numpy(v.reshape(shape))
    return sd


def positions(sd, gh, gw, mutation=None):
    pos = sd["pretrained.pos_embed"]
    if gh == GRID and gw == GRID and mutation != "always_interpolate":
        return pos
    patch = pos[:, 1:].reshape(1, GRID, GRID, WIDTH).permute(0, 3, 1, 2)
    if mutation == "size_interpolate":
        patch = F.interpolate(patch, size=(gh, gw), mode="bicubic", align_corners=False)
    else:
        patch = F.interpolate(patch, scale_factor=((gh + 0.1) / math.sqrt(GRID * GRID), (gw + 0.1) / math.sqrt(GRID * GRID)), mode="bicubic")
    assert patch.shape[-2:] == (gh, gw)
    return torch.cat([pos[:, :1], patch.permute(0, 2, 3, 1).reshape(1, -1, WIDTH)], dim=1)


def layer_norm(x, sd, name):
    return F.layer_norm(x, (WIDTH,), sd[name + ".weight"], sd[name + ".bias"], 1e-6)


def block(x, sd, b, mutation=None):
    n, d = x.shape[1], WIDTH
    y = F.linear(layer_norm(x, sd, b + "norm1"), sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"])
    q, k, v = y.reshape(1, n, 3, HEADS, d // HEADS).permute(2, 0, 3, 1, 4)
    a = torch.softmax(q @ k.transpose(-2, -1) * (d // HEADS) ** -0.5, dim=-1) @ v
    a = F.linear(a.transpose(1, 2).reshape(1, n, d), sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"])
    x = x + (a if mutation == "no_layer_scale" else a * sd[b + "ls1.gamma"])
    m = F.linear(layer_norm(x, sd, b + "norm2"), sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"])
    m = F.linear(F.gelu(m, approximate="tanh" if mutation == "tanh_gelu" else "none"), sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"])
    return x + m * sd[b + "ls2.gamma"]


def conv(x, sd, name, stride=1):
    w = sd[name + ".weight"]
    return F.conv2d(x, w, sd.get(name + ".bias"), stride=stride, padding=w.shape[-1] // 2)


def unit(x, sd, p):
    return conv(F.relu(conv(F.relu(x), sd, p + "conv1")), sd, p + "conv2") + x


def fusion(sd, p, x, skip=None, size=None):
    if skip is not None:
        x = x + unit(skip, sd, p + "resConfUnit1.")
    x = unit(x, sd, p + "resConfUnit2.")
    x = F.interpolate(x, size=size, scale_factor=None if size else 2, mode="bilinear", align_corners=True)
    return conv(x, sd, p + "out_conv")


def network(sd, image, version, mutation=None):
    """image: [1, 3, H, W] float32 (normalised) → depth [1, 1, H, W]."""
    gh, gw = image.shape[2] // 14, image.shape[3] // 14
    x = F.conv2d(image, sd["pretrained.patch_embed.proj.weight"], sd["pretrained.patch_embed.proj.bias"], stride=14)
    x = torch.cat([sd["pretrained.cls_token"], x.flatten(2).transpose(1, 2)], dim=1)
    x = x + positions(sd, gh, gw, mutation)
    taken = TAKEN["v2" if mutation == "v2_layers" else version]
    maps = []
    for i in range(LAYERS):
        x = block(x, sd, f"pretrained.blocks.{i}.", mutation)
        if i in taken:
            maps.append(layer_norm(x, sd, "pretrained.norm")[:, 1:].permute(0, 2, 1).reshape(1, WIDTH, gh, gw))
    h = "depth_head."
    layers = []
    for k, m in enumerate(maps):
        m = conv(m, sd, f"{h}projects.{k}")
        if k == 0:
            m = F.conv_transpose2d(m, sd[f"{h}resize_layers.0.weight"], sd[f"{h}resize_layers.0.bias"], stride=4)
        elif k == 1:
            m = F.conv_transpose2d(m, sd[f"{h}resize_layers.1.weight"], sd[f"{h}resize_layers.1.bias"], stride=2)
        elif k == 3:
            m = conv(m, sd, f"{h}resize_layers.3", stride=2)
        layers.append(F.conv2d(m, sd[f"{h}scratch.layer{k + 1}_rn.weight"], None, padding=1))
    s = f"{h}scratch."
    path = fusion(sd, s + "refinenet4.", layers[3], size=layers[2].shape[2:])
    path = fusion(sd, s + "refinenet3.", path, layers[2], size=layers[1].shape[2:])
    path = fusion(sd, s + "refinenet2.", path, layers[1], size=layers[0].shape[2:])
    path = fusion(sd, s + "refinenet1.", path, layers[0])
    out = conv(path, sd, s + "output_conv1")
    out = F.interpolate(out, (gh * 14, gw * 14), mode="bilinear", align_corners=mutation != "half_pixel_head")
    out = F.relu(conv(out, sd, s + "output_conv2.0"))
    out = conv(out, sd, s + "output_conv2.2")
    return out if mutation == "no_final_relu" else F.relu(out)


def input_size(h, w, size):
    """Depth Anything's Resize(keep_aspect_ratio, lower_bound, ensure_multiple_of=14)."""
    scale = max(size / h, size / w)

    def constrain(x):
        y = int(np.round(x / 14) * 14)
        return int(math.ceil(x / 14) * 14) if y < size else y
    return constrain(scale * h), constrain(scale * w)


def cubic_weights(f):
    a, x = np.float32(-0.75), np.float32(f)
    one = np.float32(1)
    c0 = ((a * (x + one) - np.float32(5) * a) * (x + one) + np.float32(8) * a) * (x + one) - np.float32(4) * a
    c1 = ((a + np.float32(2)) * x - (a + np.float32(3))) * x * x + one
    c2 = ((a + np.float32(2)) * (one - x) - (a + np.float32(3))) * (one - x) * (one - x) + one
    return [c0, c1, c2, one - c0 - c1 - c2]


def cubic_double(src, dw, dh):
    """cv2.resize INTER_CUBIC of a float64 HWC image: float32 coefficients, double sums, borders replicated."""
    def taps(n, m):
        scale = 1.0 / (m / n)
        out = []
        for d in range(m):
            f = np.float32((d + 0.5) * scale - 0.5)
            s = math.floor(f)
            out.append(([min(max(s + k - 1, 0), n - 1) for k in range(4)], [np.float64(c) for c in cubic_weights(np.float32(f - s))]))
        return out
    sh, sw, c = src.shape
    if (sh, sw) == (dh, dw):
        return src.copy()
    rows = np.zeros((sh, dw, c))
    for d, (idx, w) in enumerate(taps(sw, dw)):
        rows[:, d] = sum(src[:, i] * wk for i, wk in zip(idx, w))
    out = np.zeros((dh, dw, c))
    for d, (idx, w) in enumerate(taps(sh, dh)):
        out[d] = sum(rows[i] * wk for i, wk in zip(idx, w))
    return out


def prepare(rgb, size, swap=False):
    x = (rgb[:, :, ::-1] if swap else rgb) / 255.0
    th, tw = input_size(rgb.shape[0], rgb.shape[1], size)
    x = cubic_double(x, tw, th)
    x = ((x - np.array(MEAN)) / np.array(STD)).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def stretch(depth):
    """(d − min) / (max − min) · 255 in float32, truncated to uint8."""
    d = depth.numpy().astype(np.float32)
    return ((d - d.min()) / (d.max() - d.min()) * np.float32(255)).astype(np.uint8)


def depth_map(sd, rgb, version, variant, resolution, size, mutation=None):
    h, w = rgb.shape[:2]
    k = resolution / min(h, w)
    th, tw = int(np.round(h * k)), int(np.round(w * k))
    if variant == "webui":
        padded, th, tw = resize_with_pad(rgb, resolution)
        d = network(sd, prepare(padded, size, swap=mutation != "no_swap"), version, mutation)
        d = F.interpolate(d, padded.shape[:2], mode="bilinear", align_corners=False)[0, 0]
        return stretch(d)[:th, :tw]
    d = network(sd, prepare(rgb, size), version, mutation)
    if version == "v1":
        return stretch(F.interpolate(d, (th, tw), mode="bilinear", align_corners=False)[0, 0])
    full = stretch(F.interpolate(d, (h, w), mode="bilinear", align_corners=mutation != "v2_half_pixel")[0, 0])
    if mutation == "v2_no_byte_resize":
        return stretch(F.interpolate(d, (th, tw), mode="bilinear", align_corners=True)[0, 0])
    padded, th, tw = resize_with_pad(np.repeat(full[:, :, None], 3, axis=2), resolution)
    return padded[:th, :tw, 0]


CASES = [("v2", "aux", 64, 70), ("v1", "aux", 96, 70), ("v2", "webui", 64, 84), ("v1", "webui", 64, 56)]
# On the square crop at the default input size: the network sees 518 × 518, the trained 37 × 37 grid (pos_embed as stored).
SQUARE_CASES = [("v2", "aux", 64, 518), ("v2", "webui", 64, 518)]


def square_image(rgb):
    """The test image's 64 × 64 crop at rows 6.., columns 18.."""
    return np.ascontiguousarray(rgb[6:70, 18:82])
MUTATIONS = ["always_interpolate", "size_interpolate", "no_layer_scale", "tanh_gelu", "v2_layers", "half_pixel_head",
             "no_swap", "v2_half_pixel", "v2_no_byte_resize"]


def check(rgb):
    import cv2
    x = rgb / 255.0
    for (dw, dh) in ((70, 56), (154, 126), (40, 30)):
        ours = cubic_double(x, dw, dh)
        theirs = cv2.resize(x, (dw, dh), interpolation=cv2.INTER_CUBIC)
        print("  --check cubic_double vs OpenCV", cv2.__version__, (dw, dh), "max abs diff", float(np.abs(ours - theirs).max()))


def main(path, do_check=False):
    torch.set_grad_enabled(False)
    sd = weights()
    rgb = test_image()
    if do_check:
        check(rgb)
    cases = []
    for square, (version, variant, resolution, size) in [(False, c) for c in CASES] + [(True, c) for c in SQUARE_CASES]:
        image = square_image(rgb) if square else rgb
        out = depth_map(sd, image, version, variant, resolution, size)
        cases.append(dict(version=version, variant=variant, resolution=resolution, input_size=size, square=square, height=out.shape[0],
                          width=out.shape[1], output=base64.b64encode(out.tobytes()).decode()))
        print(version, variant, resolution, size, out.shape, "mean", round(float(out.mean()), 2), "levels", len(np.unique(out)))
        for m in (["always_interpolate", "no_swap"] if square else MUTATIONS):
            try:
                diff = np.abs(depth_map(sd, image, version, variant, resolution, size, m).astype(int) - out.astype(int))
                print("  mutation", m, "differs by > 1 at", int((diff > 1).sum()), "of", diff.size, "max", int(diff.max()))
            except Exception as e:  # a mutation may not apply to the case
                print("  mutation", m, "n/a", type(e).__name__)
    data = {"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()},
            "cases": cases}
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1], "--check" in sys.argv[2:])
