"""MiDaS v3 DPT-Hybrid (isl-org/MiDaS DPTDepthModel, backbone vitb_rn50_384, non_negative; timm's vit_base_resnet50_384)
and the ControlNet MidasDetector around it, as comfyui_controlnet_aux and sd-webui-controlnet run it, restated in torch
from the published definitions on deterministic weights (test data only).

Weights: the real state-dict layout of dpt_hybrid-midas-501f0c75.pt for every tensor the network reads (keys
pretrained.model.* for timm's hybrid ViT, pretrained.act_postprocess3/4.*, scratch.*), with make_hed.py's hashed values
(tensor index t in keys() order, element i):  value = OFFSET[kind] + ((h >> 21) − 1024) / 1024 · 2^-e, the kind read
from the name, stored as float16 (rank-1 weights of norms: 1 ± ..., biases, tokens, fan-in scaled weights, the last bias 0.25 + ...), so
the C# test (tests/Shared/MidasWeights.cs) writes the same file from MidasCheckpoint.Layout(); the JSON lists the keys
and shapes so the test checks that layout against this one.
The network (timm ResNetV2, preact=False, stem_type='same', StdConv2dSame eps 1e-8; GroupNormAct 32 groups eps 1e-5):
  stem conv 7×7/2 (pad_same), GroupNorm+ReLU, max pool 3×3/2 (pad_same with −inf); stages of (3, 4, 9) Bottlenecks
  (downsample = StdConv 1×1/stride + GroupNorm on the first; conv1 1×1, conv2 3×3/stride, conv3 1×1, each with GroupNorm,
  ReLU after norm1, norm2 and the residual sum); patch_embed.proj 1×1 → 768; cls token; pos_embed's 24×24 grid
  F.interpolate(bilinear, align_corners=False) to the token grid; 12 blocks x + attn(norm1 x), x + mlp(norm2 x)
  (LayerNorm eps 1e-6, 12 heads, exact GELU); hooks: stages 0 and 1, blocks 8 and 11; readout 'project':
  GELU(Linear(cat(tokens, cls))), unflatten, act_postprocess3.3 (1×1), act_postprocess4.3 (1×1) + .4 (3×3/2 pad 1);
  scratch layerN_rn, refinenet4..1 (FeatureFusionBlock_custom: resConfUnit1(skip) added, resConfUnit2, bilinear
  align_corners=True to the next map's size or ×2, out_conv), output_conv (conv, ×2 align_corners, conv, ReLU, conv, ReLU).
The detector: resize_image_with_pad(image, resolution) (aux_preprocessors.resize_with_pad), x / 127.5 − 1 in float32, the
network on the padded image; depth: d − min, / max, · 255, clip, uint8; normal: cv2.Sobel CV_32F ksize 3 (restated,
reflect-101) of the raw depth for x and y, z = a, x = y = 0 where depth_pt < bg_th, divided by the length, ·127.5 + 127.5,
clip, uint8; aux flips the channels ([:, :, ::-1]), the extension does not; both cropped to the scaled size.

Run: /usr/bin/python3 tools/reference/make_midas.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/midas-reference.json [--check]
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

WIDTH, LAYERS, HEADS, GRID, FEATURES = 768, 12, 12, 24, 256
STAGES = (3, 4, 9)
MAPS = [256, 512, 768, 768]
HOOKS = [8, 11]
KINDS = {"weight": (0.0, None), "bias": (0.0, 4), "token": (0.0, 1), "norm_weight": (1.0, 2), "norm_bias": (0.0, 4),
         "final_bias": (0.25, 4)}
VIT = "pretrained.model."
BB = VIT + "patch_embed.backbone."


def kind(name, shape):
    if name.endswith("cls_token") or name.endswith("pos_embed"):
        return "token"
    if name == "scratch.output_conv.4.bias":
        return "final_bias"
    norm = len(shape) == 1 and ".norm" in name
    if name.endswith(".bias"):
        return "norm_bias" if norm else "bias"
    return "norm_weight" if norm else "weight"


def keys():
    """(name, shape) of every tensor the network reads, in the file's order."""
    d, f = WIDTH, FEATURES
    out = [(VIT + "cls_token", (1, 1, d)), (VIT + "pos_embed", (1, 1 + GRID * GRID, d)),
           (BB + "stem.conv.weight", (64, 3, 7, 7)), (BB + "stem.norm.weight", (64,)), (BB + "stem.norm.bias", (64,))]
    cin = 64
    for s, depth in enumerate(STAGES):
        cout = 256 << s
        mid = cout // 4
        for b in range(depth):
            p = f"{BB}stages.{s}.blocks.{b}."
            if b == 0:
                out += [(p + "downsample.conv.weight", (cout, cin, 1, 1)), (p + "downsample.norm.weight", (cout,)),
                        (p + "downsample.norm.bias", (cout,))]
            out += [(p + "conv1.weight", (mid, cin if b == 0 else cout, 1, 1)), (p + "norm1.weight", (mid,)), (p + "norm1.bias", (mid,)),
                    (p + "conv2.weight", (mid, mid, 3, 3)), (p + "norm2.weight", (mid,)), (p + "norm2.bias", (mid,)),
                    (p + "conv3.weight", (cout, mid, 1, 1)), (p + "norm3.weight", (cout,)), (p + "norm3.bias", (cout,))]
        cin = cout
    out += [(VIT + "patch_embed.proj.weight", (d, cin, 1, 1)), (VIT + "patch_embed.proj.bias", (d,))]
    for i in range(LAYERS):
        b = f"{VIT}blocks.{i}."
        out += [(b + "norm1.weight", (d,)), (b + "norm1.bias", (d,)), (b + "attn.qkv.weight", (3 * d, d)), (b + "attn.qkv.bias", (3 * d,)),
                (b + "attn.proj.weight", (d, d)), (b + "attn.proj.bias", (d,)), (b + "norm2.weight", (d,)), (b + "norm2.bias", (d,)),
                (b + "mlp.fc1.weight", (4 * d, d)), (b + "mlp.fc1.bias", (4 * d,)), (b + "mlp.fc2.weight", (d, 4 * d)), (b + "mlp.fc2.bias", (d,))]
    for k in (3, 4):
        p = f"pretrained.act_postprocess{k}."
        out += [(p + "0.project.0.weight", (d, 2 * d)), (p + "0.project.0.bias", (d,)),
                (p + "3.weight", (MAPS[k - 1], d, 1, 1)), (p + "3.bias", (MAPS[k - 1],))]
    out += [("pretrained.act_postprocess4.4.weight", (MAPS[3], MAPS[3], 3, 3)), ("pretrained.act_postprocess4.4.bias", (MAPS[3],))]
    out += [(f"scratch.layer{k + 1}_rn.weight", (f, MAPS[k], 3, 3)) for k in range(4)]
    for r in range(1, 5):
        p = f"scratch.refinenet{r}."
        out += [(p + "out_conv.weight", (f, f, 1, 1)), (p + "out_conv.bias", (f,))]
        for unit in ("resConfUnit1", "resConfUnit2"):
            for c in ("conv1", "conv2"):
                out += [(f"{p}{unit}.{c}.weight", (f, f, 3, 3)), (f"{p}{unit}.{c}.bias", (f,))]
    out += [("scratch.output_conv.0.weight", (f // 2, f, 3, 3)), ("scratch.output_conv.0.bias", (f // 2,)),
            ("scratch.output_conv.2.weight", (32, f // 2, 3, 3)), ("scratch.output_conv.2.bias", (32,)),
            ("scratch.output_conv.4.weight", (1, 32, 1, 1)), ("scratch.output_conv.4.bias", (1,))]
    return out


def exponent(shape, k):
    fixed = KINDS[k][1]
    if fixed is not None:
        return fixed
    return int(round(np.log2(1 / np.sqrt(6.0 / int(np.prod(shape[1:]))))))


def weights():
    sd = {}
    for t, (name, shape) in enumerate(keys()):
        k = kind(name, shape)
        # float16 storages (as the C# test writes them): the offset sum rounded to float16.
        v = (hashed(t, int(np.prod(shape)), exponent(shape, k)).astype(np.float32) + np.float32(KINDS[k][0])).astype(np.float16).astype(np.float32)
        sd[name] = torch.from_numpy(v.reshape(shape))
    return sd


def pad_same(x, k, s, value=0.0):
    """timm's pad_same: total max((ceil(i / s) − 1)·s + k − i, 0), the smaller half before."""
    ih, iw = x.shape[-2:]
    ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
    pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], value=value)


def std_conv(x, w, stride, mutation=None):
    """StdConv2dSame(eps=1e-8): F.batch_norm over each filter (biased variance), then 'same' padding."""
    if mutation != "no_standardise":
        w = F.batch_norm(w.reshape(1, w.shape[0], -1), None, None, training=True, momentum=0.0, eps=1e-8).reshape_as(w)
    k = w.shape[-1]
    if stride == 1:
        return F.conv2d(x, w, padding=k // 2)
    return F.conv2d(pad_same(x, k, stride), w, stride=stride)


def gn(x, sd, name, act=True):
    y = F.group_norm(x, 32, sd[name + ".weight"], sd[name + ".bias"], eps=1e-5)
    return F.relu(y) if act else y


def bottleneck(x, sd, p, stride, first, mutation):
    shortcut = gn(std_conv(x, sd[p + "downsample.conv.weight"], stride, mutation), sd, p + "downsample.norm", False) if first else x
    y = gn(std_conv(x, sd[p + "conv1.weight"], 1, mutation), sd, p + "norm1")
    y = gn(std_conv(y, sd[p + "conv2.weight"], stride, mutation), sd, p + "norm2")
    y = gn(std_conv(y, sd[p + "conv3.weight"], 1, mutation), sd, p + "norm3", False)
    return F.relu(y + shortcut)


def ln(x, sd, name):
    return F.layer_norm(x, (WIDTH,), sd[name + ".weight"], sd[name + ".bias"], eps=1e-6)


def block(x, sd, b):
    B, N, C = x.shape
    qkv = F.linear(ln(x, sd, b + "norm1"), sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"])
    qkv = qkv.reshape(B, N, 3, HEADS, C // HEADS).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    att = ((q @ k.transpose(-2, -1)) * (C // HEADS) ** -0.5).softmax(dim=-1)
    a = (att @ v).transpose(1, 2).reshape(B, N, C)
    x = x + F.linear(a, sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"])
    h = F.gelu(F.linear(ln(x, sd, b + "norm2"), sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"]))
    return x + F.linear(h, sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"])


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


def network(sd, x, mutation=None):
    h, w = x.shape[-2:]
    y = gn(std_conv(x, sd[BB + "stem.conv.weight"], 2, mutation), sd, BB + "stem.norm")
    y = F.max_pool2d(pad_same(y, 3, 2, value=-float("inf")), 3, 2)
    layers = []
    for s, depth in enumerate(STAGES):
        for b in range(depth):
            y = bottleneck(y, sd, f"{BB}stages.{s}.blocks.{b}.", 2 if (b == 0 and s > 0) else 1, b == 0, mutation)
        if s < 2:
            layers.append(y)
    p = F.conv2d(y, sd[VIT + "patch_embed.proj.weight"], sd[VIT + "patch_embed.proj.bias"])
    gh, gw = p.shape[-2:]
    assert (gh, gw) == (h // 16, w // 16)
    t = torch.cat([sd[VIT + "cls_token"], p.flatten(2).transpose(1, 2)], dim=1)
    pos = sd[VIT + "pos_embed"]
    grid = pos[0, 1:].reshape(1, GRID, GRID, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(gh, gw), mode="bilinear").permute(0, 2, 3, 1).reshape(1, gh * gw, -1)
    t = t + torch.cat([pos[:, :1], grid], dim=1)
    hooks = [7, 10] if mutation == "wrong_hooks" else HOOKS
    for i in range(LAYERS):
        t = block(t, sd, f"{VIT}blocks.{i}.")
        if i in hooks:
            k = 3 + hooks.index(i)
            pp = f"pretrained.act_postprocess{k}."
            tokens = t[:, 1:]
            if mutation == "readout_ignore":
                r = tokens
            else:
                r = F.gelu(F.linear(torch.cat([tokens, t[:, :1].expand_as(tokens)], -1), sd[pp + "0.project.0.weight"], sd[pp + "0.project.0.bias"]))
            m = conv(r.transpose(1, 2).unflatten(2, (gh, gw)), sd, pp + "3")
            layers.append(conv(m, sd, pp + "4", stride=2) if k == 4 else m)
    rn = [F.conv2d(layers[k], sd[f"scratch.layer{k + 1}_rn.weight"], padding=1) for k in range(4)]
    path = fusion(sd, "scratch.refinenet4.", rn[3], size=rn[2].shape[2:])
    path = fusion(sd, "scratch.refinenet3.", path, rn[2], size=rn[1].shape[2:])
    path = fusion(sd, "scratch.refinenet2.", path, rn[1], size=rn[0].shape[2:])
    path = fusion(sd, "scratch.refinenet1.", path, rn[0])
    out = conv(path, sd, "scratch.output_conv.0")
    out = F.interpolate(out, scale_factor=2, mode="bilinear", align_corners=True)
    out = conv(F.relu(conv(out, sd, "scratch.output_conv.2")), sd, "scratch.output_conv.4")
    return out if mutation == "no_non_negative" else F.relu(out)


def sobel(d, dx):
    """cv2.Sobel(d, CV_32F, dx, 1 − dx, ksize=3) with BORDER_REFLECT_101, in float32."""
    p = np.pad(d.astype(np.float32), 1, mode="reflect")
    two = np.float32(2)
    if dx:
        r = p[:, 2:] - p[:, :-2]
        return r[:-2] + two * r[1:-1] + r[2:]
    c = p[:, :-2] + two * p[:, 1:-1] + p[:, 2:]
    return c[2:] - c[:-2]


def midas(sd, rgb, resolution, a, bg_th, variant, mutation=None):
    padded, th, tw = resize_with_pad(rgb, resolution)
    x = torch.from_numpy(np.ascontiguousarray(padded)).float() / 127.5 - 1.0
    depth = network(sd, x.permute(2, 0, 1)[None], mutation)[0, 0]
    depth_pt = depth.clone()
    depth_pt -= torch.min(depth_pt)
    depth_pt /= torch.max(depth_pt)
    depth_pt = depth_pt.numpy()
    depth_image = (depth_pt * 255.0).clip(0, 255).astype(np.uint8)
    d = depth.numpy()
    if mutation == "normal_from_normalised":
        d = depth_pt
    x, y = sobel(d, True), sobel(d, False)
    z = np.ones_like(x) * a
    x[depth_pt < bg_th] = 0
    y[depth_pt < bg_th] = 0
    normal = np.stack([x, y, z], axis=2)
    normal /= np.sum(normal ** 2.0, axis=2, keepdims=True) ** 0.5
    normal_image = (normal * 127.5 + 127.5).clip(0, 255).astype(np.uint8)
    if variant == "aux":
        normal_image = normal_image[:, :, ::-1]
    return depth_image[:th, :tw], np.ascontiguousarray(normal_image[:th, :tw])


# (resolution, a, bg_threshold, variant)
CASES = [(64, 2 * math.pi, 0.1, "aux"), (96, 2 * math.pi, 0.4, "webui"), (64, 0.5, 0.3, "aux")]
MUTATIONS = ["no_standardise", "wrong_hooks", "readout_ignore", "no_non_negative", "normal_from_normalised"]


def check():
    import cv2
    rng = np.random.default_rng(3)
    d = rng.random((20, 31)).astype(np.float32)
    for dx in (True, False):
        theirs = cv2.Sobel(d, cv2.CV_32F, int(dx), int(not dx), ksize=3)
        print("  --check sobel dx" if dx else "  --check sobel dy", "vs OpenCV", cv2.__version__, "max abs diff", float(np.abs(sobel(d, dx) - theirs).max()))


def main(path, do_check=False):
    torch.set_grad_enabled(False)
    if do_check:
        check()
    sd = weights()
    rgb = test_image()
    cases = []
    for resolution, a, bg, variant in CASES:
        depth, normal = midas(sd, rgb, resolution, a, bg, variant)
        cases.append(dict(resolution=resolution, a=a, bg_threshold=bg, variant=variant, height=depth.shape[0], width=depth.shape[1],
                          depth=base64.b64encode(depth.tobytes()).decode(), normal=base64.b64encode(normal.tobytes()).decode()))
        print(resolution, a, bg, variant, depth.shape, "depth mean", round(float(depth.mean()), 2), "levels", len(np.unique(depth)),
              "normal mean", round(float(normal.mean()), 2), "levels", len(np.unique(normal)))
        for m in MUTATIONS:
            md, mn = midas(sd, rgb, resolution, a, bg, variant, m)
            dd = np.abs(md.astype(int) - depth.astype(int))
            dn = np.abs(mn.astype(int) - normal.astype(int))
            print("  mutation", m, "depth differs by > 1 at", int((dd > 1).sum()), "of", dd.size, "; normal at", int((dn > 1).sum()), "of", dn.size)
    data = {"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()},
            "keys": [[n, list(s)] for n, s in keys()], "cases": cases}
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1], "--check" in sys.argv[2:])
