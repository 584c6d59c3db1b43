"""comfyui_controlnet_aux's PiDiNet soft-edge annotator (PidiNetDetector over pidinet(): PiDiNet 'carv4', 60 channels,
CDCM with 24 channels, CSAM; lllyasviel's table5_pidinet.pth), restated in torch (float32) from its definition, on
deterministic weights (test data only).

The pixel-difference convolutions are computed here as differences of pixels, not through the vanilla kernels the
engine converts them to, so the engine's conversion is what the test checks:
  cd (central):  y = Σ_i w_i · (x_i − x_centre)                  over the 3×3 neighbourhood (zero outside the image)
  ad (angular):  y = Σ_i w_i · (x_i − x_next(i))                 next(i): the neighbour one step clockwise round the ring
                                                                 (top-left → top → top-right → right → … → left); centre 0
  rd (radial):   y = Σ_k w[k + 1] · (x_(2·d_k) − x_(d_k))        d_k: the 8 directions in raster order; as the published
                                                                 code, they take the flat 3×3 weights 1…8 (w[0] unused)
  cv: a plain 3×3 convolution.
Layers 0…15 (the init block, then block1_1…block4_4) use cd, ad, rd, cv, cd, ad, rd, cv, … ('carv4'). The blocks:
depthwise pdc → ReLU → 1×1 (no bias), plus the input (max-pooled 2×2 and a 1×1 shortcut with bias in block2_1, 3_1,
4_1). Per stage i (outputs of blocks 1_3, 2_4, 3_4, 4_4): CDCM (ReLU, 1×1 to 24 with bias, the sum of 3×3 convolutions
dilated 5, 7, 9, 11), CSAM (x · sigmoid(conv3×3(conv1×1(ReLU x)))), a 1×1 reduce to one channel, bilinear to the input
size (align_corners False); the classifier (1×1 over the four, with bias), sigmoid. The annotator uses that last output.
The weights: a hash of (tensor index, element index) as make_hed.py's hashed(), × 2^-e (≈ He-uniform), stored under
`state_dict` with DataParallel's `module.` prefix as the published file; float16 storages (exact).
The annotator: resize_image_with_pad, RGB → BGR, / 255, the network, the last output (float32), safe_step when safe,
×255 clipped and truncated to a byte, the padding cropped off. scribble_pidinet: make_hed.py's scribble (aux's nms at 127
σ 3, blur σ 3, > 4) on the cropped plain map.

Run: /usr/bin/python3 tools/reference/make_pidinet.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/pidinet-reference.json [--check]
(--check compares the difference forms with the published kernel conversions.)
"""
import base64
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aux_preprocessors import resize_with_pad, test_image  # noqa: E402
from make_hed import hashed, safe_step, scribble  # noqa: E402

CHANNELS = 60
DIL = 24
PDCS = ["cd", "ad", "rd", "cv"] * 4
# (name, inputs, outputs, stride) of the 15 blocks after the init block.
BLOCKS = [(f"block{s}_{j}", cin if j == 1 else cout, cout, 2 if j == 1 and s > 1 else 1)
          for s, cin, cout, n in ((1, 60, 60, 3), (2, 60, 120, 4), (3, 120, 240, 4), (4, 240, 240, 4)) for j in range(1, n + 1)]
STAGE_ENDS = ["block1_3", "block2_4", "block3_4", "block4_4"]
FUSE = [60, 120, 240, 240]


def keys():
    """(name, shape, kind) of every tensor, in state-dict order (without the `module.` prefix)."""
    out = [("init_block.weight", (CHANNELS, 3, 3, 3), "pdc")]
    for name, cin, cout, stride in BLOCKS:
        if stride > 1:
            out.append((f"{name}.shortcut.weight", (cout, cin, 1, 1), "conv"))
            out.append((f"{name}.shortcut.bias", (cout,), "bias"))
        out.append((f"{name}.conv1.weight", (cin, 1, 3, 3), "pdc"))
        out.append((f"{name}.conv2.weight", (cout, cin, 1, 1), "conv"))
    for i, c in enumerate(FUSE):
        out.append((f"dilations.{i}.conv1.weight", (DIL, c, 1, 1), "conv"))
        out.append((f"dilations.{i}.conv1.bias", (DIL,), "bias"))
        for k in range(1, 5):
            out.append((f"dilations.{i}.conv2_{k}.weight", (DIL, DIL, 3, 3), "dilated"))
    for i in range(4):
        out.append((f"attentions.{i}.conv1.weight", (4, DIL, 1, 1), "conv"))
        out.append((f"attentions.{i}.conv1.bias", (4,), "bias"))
        out.append((f"attentions.{i}.conv2.weight", (1, 4, 3, 3), "conv"))
    for i in range(4):
        out.append((f"conv_reduces.{i}.conv.weight", (1, DIL, 1, 1), "reduce"))
        out.append((f"conv_reduces.{i}.conv.bias", (1,), "bias"))
    out.append(("classifier.weight", (1, 4, 1, 1), "reduce"))
    out.append(("classifier.bias", (1,), "bias"))
    return out


def exponent(name, shape, kind):
    """The scale 2^-e per tensor: ≈ He-uniform, the first layer scaled up for 0..1 input, the dilated sums and the
    residual 1×1s scaled down so the maps stay in range, the reductions chosen to spread the sigmoid."""
    if kind == "bias":
        return 4
    fan_in = int(np.prod(shape[1:]))
    e = int(round(np.log2(1 / np.sqrt(6.0 / fan_in))))
    if name == "init_block.weight":
        e -= 2
    if kind == "dilated":
        e += 1
    if name.endswith(".conv2.weight") and name.startswith("block"):
        e += 2
    if kind == "reduce":
        e -= 1
    return e


def weights():
    sd = {}
    for t, (name, shape, kind) in enumerate(keys()):
        sd[name] = torch.from_numpy(hashed(t, int(np.prod(shape)), exponent(name, shape, kind)).astype(np.float32).reshape(shape))
    return sd


def shifted(x, dy, dx):
    """x moved so that out[y, x] = x[y + dy, x + dx], zero outside."""
    h, w = x.shape[-2:]
    p = max(abs(dy), abs(dx))
    xp = F.pad(x, (p, p, p, p))
    return xp[..., p + dy:p + dy + h, p + dx:p + dx + w]


RING = [(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)]  # clockwise from the top-left
RASTER = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def pdc(x, w, op, depthwise, mutation=None):
    """A pixel-difference convolution of x [1, C, H, W] by w [O, C or 1, 3, 3], from differences of pixels."""
    def apply(diffs):
        # diffs: per weight position (dy, dx) → the difference map [1, C, H, W]; sum w · diff over positions (and channels).
        y = 0
        for (dy, dx), d in diffs.items():
            k = w[:, :, dy + 1, dx + 1]  # [O, C or 1]
            y = y + (d * k[None, :, :, None, None].squeeze(2) if depthwise else torch.einsum("bchw,oc->bohw", d, k))
        return y

    if op == "cv":
        return apply({p: shifted(x, *p) for p in RASTER})
    if op == "cd":
        return apply({p: shifted(x, *p) - (0 if mutation == "cd_no_centre" else x) for p in RASTER})
    if op == "ad":
        nxt = {RING[i]: RING[(i + 1) % 8] for i in range(8)}
        if mutation == "ad_anticlockwise":
            nxt = {RING[i]: RING[(i - 1) % 8] for i in range(8)}
        return apply({p: shifted(x, *p) - shifted(x, *nxt[p]) for p in RING})
    if op == "rd":
        y = 0
        flat = w.reshape(w.shape[0], w.shape[1], 9)
        for k, (dy, dx) in enumerate(d for d in RASTER if d != (0, 0)):
            far, near = shifted(x, 2 * dy, 2 * dx), shifted(x, dy, dx)
            d = (near - far) if mutation == "rd_inward" else (far - near)
            wk = flat[:, :, k + 1]
            y = y + (d * wk[None, :, 0, None, None] if depthwise else torch.einsum("bchw,oc->bohw", d, wk))
        return y
    raise ValueError(op)


def conv(x, sd, name, dilation=1):
    w = sd[name + ".weight"]
    return F.conv2d(x, w, sd.get(name + ".bias"), padding=dilation * (w.shape[-1] // 2), dilation=dilation)


def network(sd, x, mutation=None):
    """PiDiNet's forward pass on [1, 3, H, W] (BGR 0..1): the five sigmoid outputs, the fused one last."""
    H, W = x.shape[-2:]
    h = pdc(x, sd["init_block.weight"], PDCS[0], False, mutation)
    stages = {}
    for i, (name, cin, cout, stride) in enumerate(BLOCKS, 1):
        if stride > 1:
            h = F.max_pool2d(h, 2, 2)
        y = pdc(h, sd[f"{name}.conv1.weight"], PDCS[i], True, mutation)
        y = conv(F.relu(y), sd, f"{name}.conv2")
        h = y + (conv(h, sd, f"{name}.shortcut") if stride > 1 else h)
        if name in STAGE_ENDS:
            stages[name] = h
    outputs = []
    for i, name in enumerate(STAGE_ENDS):
        z = conv(F.relu(stages[name]), sd, f"dilations.{i}.conv1")
        z = sum(conv(z, sd, f"dilations.{i}.conv2_{k}", dilation=d) for k, d in zip(range(1, 5), (5, 7, 9, 11)))
        if mutation != "no_attention":
            z = z * torch.sigmoid(conv(conv(F.relu(z), sd, f"attentions.{i}.conv1"), sd, f"attentions.{i}.conv2"))
        e = conv(z, sd, f"conv_reduces.{i}.conv")
        outputs.append(F.interpolate(e, (H, W), mode="bilinear", align_corners=False))
    outputs.append(conv(torch.cat(outputs, 1), sd, "classifier"))
    return [torch.sigmoid(o) for o in outputs]


def pidinet(sd, rgb, resolution, safe, mutation=None, scribble_after_crop=False):
    padded, th, tw = resize_with_pad(rgb, resolution)
    bgr = padded if mutation == "rgb" else padded[:, :, ::-1]
    x = torch.from_numpy(bgr.copy()).float().div(255.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        edge = network(sd, x, mutation)[0 if mutation == "first_output" else -1].numpy()
    if safe:
        edge = safe_step(edge)
    edge = (edge * 255.0).clip(0, 255).astype(np.uint8)[0, 0][:th, :tw]
    return scribble(edge) if scribble_after_crop else edge


def check():
    """The difference forms above against the published kernels (cd: w less Σw at the centre; ad: w − w[3,0,1,6,4,2,7,8,5];
    rd: w[1:] on the 5×5 ring at distance 2, −w[1:] on the ring at distance 1)."""
    g = torch.Generator().manual_seed(5)
    x = torch.rand(1, 6, 11, 13, generator=g)
    w = torch.rand(6, 1, 3, 3, generator=g) - 0.5
    cd = F.conv2d(x, w, padding=1, groups=6) - F.conv2d(x, w.sum(dim=[2, 3], keepdim=True), groups=6)
    flat = w.view(6, 1, 9)
    ad = F.conv2d(x, (flat - flat[:, :, [3, 0, 1, 6, 4, 2, 7, 8, 5]]).view(6, 1, 3, 3), padding=1, groups=6)
    buffer = torch.zeros(6, 1, 25)
    buffer[:, :, [0, 2, 4, 10, 14, 20, 22, 24]] = flat[:, :, 1:]
    buffer[:, :, [6, 7, 8, 11, 13, 16, 17, 18]] = -flat[:, :, 1:]
    rd = F.conv2d(x, buffer.view(6, 1, 5, 5), padding=2, groups=6)
    for op, ref in (("cd", cd), ("ad", ad), ("rd", rd)):
        print("  --check", op, "max difference", float((pdc(x, w, op, True) - ref).abs().max()))
    full = torch.rand(5, 6, 3, 3, generator=g) - 0.5
    ref = F.conv2d(x, full, padding=1) - F.conv2d(x, full.sum(dim=[2, 3], keepdim=True))
    print("  --check cd (full) max difference", float((pdc(x, full, "cd", False) - ref).abs().max()))


def main(path):
    torch.set_num_threads(1)
    sd = weights()
    rgb = test_image()
    cases = []
    for resolution, safe in ((64, False), (64, True), (128, False)):
        out = pidinet(sd, rgb, resolution, safe)
        cases.append(dict(resolution=resolution, safe=safe, height=out.shape[0], width=out.shape[1],
                          output=base64.b64encode(out.tobytes()).decode()))
        print(resolution, safe, out.shape, "mean", round(float(out.mean()), 2), "levels", len(np.unique(out)),
              "min", int(out.min()), "max", int(out.max()))
        for m in ("cd_no_centre", "ad_anticlockwise", "rd_inward", "no_attention", "rgb", "first_output"):
            diff = np.abs(pidinet(sd, rgb, resolution, safe, m).astype(int) - out.astype(int))
            print("  mutation", m, "differs at", int((diff > 1).sum()), "of", diff.size, "max", int(diff.max()))
    out = pidinet(sd, rgb, 64, False, scribble_after_crop=True)
    scribbles = [dict(resolution=64, safe=False, scribble="after_crop", height=out.shape[0], width=out.shape[1],
                      output=base64.b64encode(out.tobytes()).decode())]
    print("scribble", out.shape, "white", int((out == 255).sum()), "levels", sorted(np.unique(out).tolist()))
    data = {"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()},
            "cases": cases, "scribble": scribbles}
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    if "--check" in sys.argv[2:]:
        check()
    main(sys.argv[1])
