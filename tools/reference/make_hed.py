"""comfyui_controlnet_aux's HED soft-edge annotator (HEDdetector over ControlNetHED_Apache2, the network of
lllyasviel's ControlNetHED.pth), restated in numpy (float32) from its definition, on deterministic weights (test data only).

The weights are not random draws but a hash of (tensor index, element index), so the C# test writes the same
ControlNetHED.pth (real key layout and shapes, float16 storages as the published file) without carrying 29 MB:
  h = murmur3's 32-bit finaliser of (i · 2654435761 + (t + 1) · 0x9E3779B9) mod 2³²
  value = ((h >> 21) − 1024) / 1024 · 2^-SCALE_EXP[kind]            (exact in float16)
with t the tensor's index in KEYS, i the flat element index; `norm` is fixed to NORM.
The network: x − norm; five blocks of 3×3 convolutions (padding 1) each followed by ReLU (2, 2, 3, 3, 3 convolutions;
64, 128, 256, 512, 512 features), blocks 2–5 first max-pooled 2×2; each block's 1×1 projection to one channel.
The annotator: resize_image_with_pad at the detect resolution (aux_preprocessors.resize_with_pad), the network on the
float 0..255 RGB image, each projection resized to the padded size by cv2.INTER_LINEAR (float32: half-pixel centres,
edge taps clamped), the float32 mean of the five, a float64 sigmoid, safe_step (⌊3x⌋/2 in float32) when safe,
×255 clipped and truncated to a byte, the padding cropped off.
Scribble (aux's FakeScribblePreprocessor, sd-webui-controlnet's scribble_hed): aux's nms(map, 127, 3.0) — the map as
float32 blurred by cv2.GaussianBlur σ 3 (25 taps, reflect-101), kept where it equals its maximum over any of the four
3-tap lines through it (horizontal, vertical, both diagonals; cv2.dilate's default border adds no taps), 255 where the
kept value is > 127 — then cv2.GaussianBlur σ 3 of those bytes (19 taps for 8-bit images; here in double, rounded half
up) and 255 where > 4, else 0. aux does this on the padded map before cropping; the extension's scribble_hed on the
cropped plain (not safe) map.

Run: /usr/bin/python3 tools/reference/make_hed.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/hed-reference.json [--check]
"""
import base64
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aux_preprocessors import _reflect101, gaussian_blur, resize_with_pad, test_image  # noqa: E402

BLOCKS = [(3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3)]
NORM = [104.0, 117.0, 123.0]


def keys():
    """(name, shape, kind) of every tensor but norm, in state-dict order."""
    out = []
    for b, (cin, cout, n) in enumerate(BLOCKS, 1):
        for j in range(n):
            out.append((f"block{b}.convs.{j}.weight", (cout, cin if j == 0 else cout, 3, 3), "conv"))
            out.append((f"block{b}.convs.{j}.bias", (cout,), "bias"))
        out.append((f"block{b}.projection.weight", (1, cout, 1, 1), "projection"))
        out.append((f"block{b}.projection.bias", (1,), "bias"))
    return out


def hashed(t, n, exp):
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(2654435761) + np.uint64(((t + 1) * 0x9E3779B9) % 2**32)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    k = (h >> np.uint64(21)).astype(np.int64) - 1024
    return (k.astype(np.float64) / 1024 * 2.0 ** -exp).astype(np.float16)


def exponent(name, shape, kind):
    """The scale 2^-e per tensor: ≈ He-uniform for convolutions (the first also scaled for 0..255 input), small projections."""
    if kind == "bias":
        return 4
    fan_in = int(np.prod(shape[1:]))
    e = int(round(np.log2(1 / np.sqrt(6.0 / fan_in))))
    if name == "block1.convs.0.weight":
        e += 6
    if kind == "projection":
        e += 1
    return e


def weights():
    sd = {"norm": np.array(NORM, np.float16).reshape(1, 3, 1, 1)}
    for t, (name, shape, kind) in enumerate(keys()):
        sd[name] = hashed(t, int(np.prod(shape)), exponent(name, shape, kind)).reshape(shape)
    return {k: v.astype(np.float32) for k, v in sd.items()}


def conv(x, w, b):
    """torch's conv2d (stride 1, zero padding k // 2) of a [C, H, W] float32 map by im2col."""
    cout, cin, k, _ = w.shape
    c, H, W = x.shape
    p = k // 2
    xp = np.pad(x, [[0, 0], [p, p], [p, p]])
    cols = np.stack([xp[:, dy:dy + H, dx:dx + W] for dy in range(k) for dx in range(k)], axis=1)  # [C, k·k, H, W]
    return (w.reshape(cout, cin * k * k) @ cols.reshape(cin * k * k, H * W)).reshape(cout, H, W) + b[:, None, None]


def pool(x, average):
    c, H, W = x.shape
    blocks = x[:, :H // 2 * 2, :W // 2 * 2].reshape(c, H // 2, 2, W // 2, 2)
    return blocks.mean(axis=(2, 4)) if average else blocks.max(axis=(2, 4))


def network(sd, x, mutation=None):
    """ControlNetHED_Apache2's forward pass on a [3, H, W] image: the five projections."""
    h = x if mutation == "no_norm" else x - sd["norm"][0]
    projections = []
    for b, (_, _, n) in enumerate(BLOCKS, 1):
        if b > 1:
            h = pool(h, mutation == "avg_pool")
        for j in range(n):
            h = np.maximum(conv(h, sd[f"block{b}.convs.{j}.weight"], sd[f"block{b}.convs.{j}.bias"]), 0)
        projections.append(conv(h, sd[f"block{b}.projection.weight"], sd[f"block{b}.projection.bias"])[0])
    return projections


def resize_linear(e, w, h):
    """cv2.resize INTER_LINEAR of a float32 map: half-pixel centres, taps clamped at the edges, float32 weights."""
    sh, sw = e.shape

    def taps(src, dst):
        f = (np.arange(dst, dtype=np.float64) + 0.5) * (src / dst) - 0.5
        s = np.floor(f).astype(np.int64)
        f = (f - s).astype(np.float32)
        f[s < 0] = 0
        s[s < 0] = 0
        f[s >= src - 1] = 0
        s[s >= src - 1] = src - 1
        return s, np.minimum(s + 1, src - 1), f

    ya, yb, fy = taps(sh, h)
    xa, xb, fx = taps(sw, w)
    rows = e[:, xa] * (1 - fx) + e[:, xb] * fx
    return (rows[ya] * (1 - fy)[:, None] + rows[yb] * fy[:, None]).astype(np.float32)


def safe_step(x, step=2):
    y = x.astype(np.float32) * float(step + 1)
    return y.astype(np.int32).astype(np.float32) / float(step)


def line_max(x):
    """The maximum over each 3-tap line (horizontal, vertical, both diagonals) through each pixel, outside taps skipped."""
    h, w = x.shape
    p = np.pad(x, 1, constant_values=-np.inf)
    out = []
    for (ay, ax), (by, bx) in (((0, -1), (0, 1)), ((-1, 0), (1, 0)), ((-1, -1), (1, 1)), ((-1, 1), (1, -1))):
        out.append(np.maximum(np.maximum(p[1 + ay:1 + ay + h, 1 + ax:1 + ax + w], x), p[1 + by:1 + by + h, 1 + bx:1 + bx + w]))
    return out


def blur_bytes(x, sigma):
    """cv2.GaussianBlur of an 8-bit map: round(6σ + 1) | 1 taps, reflect-101, in double, rounded half up to a byte."""
    n = int(np.rint(sigma * 6 + 1)) | 1
    t = np.exp(-0.5 / (sigma * sigma) * (np.arange(n) - (n - 1) * 0.5) ** 2)
    k = t / t.sum()
    r = n // 2
    h, w = x.shape
    acc = np.zeros(x.shape, np.float64)
    for i in range(n):
        acc += k[i] * x[:, [_reflect101(c + i - r, w) for c in range(w)]]
    out = np.zeros(x.shape, np.float64)
    for i in range(n):
        out += k[i] * acc[[_reflect101(c + i - r, h) for c in range(h)]]
    return np.floor(out + 0.5).clip(0, 255).astype(np.uint8)


def nms(x, t, s, mutation=None):
    """aux's nms: blur, keep the line maxima, 255 above t."""
    x = gaussian_blur(x.astype(np.float32)[:, :, None], s)[:, :, 0]
    y = np.zeros_like(x)
    if mutation == "no_nms":
        y = x
    else:
        for m in line_max(x):
            np.putmask(y, m == x, x)
    z = np.zeros(y.shape, np.uint8)
    z[y > t] = 255
    return z


def scribble(edge, mutation=None):
    z = nms(edge, 127, 3.0, mutation)
    if mutation != "no_blur":
        z = blur_bytes(z, 3.0)
    return np.where(z > (40 if mutation == "threshold40" else 4), 255, 0).astype(np.uint8)


def hed(sd, rgb, resolution, safe, mutation=None, scribble_mode="none"):
    padded, th, tw = resize_with_pad(rgb, resolution)
    H, W = padded.shape[:2]
    x = padded.astype(np.float32).transpose(2, 0, 1)
    edges = network(sd, x, mutation)
    edges = np.stack([resize_linear(e, W, H) for e in edges], axis=2)
    mean = np.mean(edges, axis=2)
    edge = mean.astype(np.float64) if mutation == "no_sigmoid" else 1 / (1 + np.exp(-mean.astype(np.float64)))
    if safe:
        edge = safe_step(edge, 3 if mutation == "safe_step3" else 2)
    edge = (edge * 255.0).clip(0, 255).astype(np.uint8)
    if scribble_mode == "before_crop":
        edge = scribble(edge, mutation)
    edge = edge[:th, :tw]
    if scribble_mode == "after_crop":
        edge = scribble(edge, mutation)
    return edge


def check_scribble(cropped, sd, rgb, resolution, safe, mode, out):
    """The scribble step by OpenCV itself (aux's nms and blur calls) on the same HED map."""
    import cv2

    if cropped is None:
        padded, th, tw = resize_with_pad(rgb, resolution)
        full = hed(sd, padded, min(padded.shape[:2]), safe)  # the padded map: its sides are multiples of 64 already
        assert full.shape == padded.shape[:2]
        edge = full
    else:
        edge = cropped
    x = cv2.GaussianBlur(edge.astype(np.float32), (0, 0), 3.0)
    y = np.zeros_like(x)
    for f in ([[0, 0, 0], [1, 1, 1], [0, 0, 0]], [[0, 1, 0], [0, 1, 0], [0, 1, 0]], [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[0, 0, 1], [0, 1, 0], [1, 0, 0]]):
        np.putmask(y, cv2.dilate(x, kernel=np.array(f, np.uint8)) == x, x)
    z = np.zeros_like(y, dtype=np.uint8)
    z[y > 127] = 255
    z = cv2.GaussianBlur(z, (0, 0), 3.0)
    z[z > 4] = 255
    z[z < 255] = 0
    z = z[:out.shape[0], :out.shape[1]]
    print("  --check vs OpenCV", cv2.__version__, "differs at", int((z != out).sum()), "of", out.size)


def main(path, check=False):
    sd = weights()
    rgb = test_image()
    cases = []
    for resolution, safe in ((64, False), (64, True), (96, False)):
        out = hed(sd, rgb, resolution, safe)
        cases.append(dict(resolution=resolution, safe=safe, height=out.shape[0], width=out.shape[1],
                          output=base64.b64encode(out.tobytes()).decode()))
        print(resolution, safe, out.shape, "mean", round(float(out.mean()), 2), "levels", len(np.unique(out)))
        for m in ("no_norm", "avg_pool", "no_sigmoid", "safe_step3"):
            if m.startswith("safe") and not safe:
                continue
            diff = np.abs(hed(sd, rgb, resolution, safe, m).astype(int) - out.astype(int))
            print("  mutation", m, "differs at", int((diff > 1).sum()), "of", diff.size, "max", int(diff.max()))
    scribbles = []
    for resolution, safe, mode in ((64, True, "before_crop"), (64, False, "after_crop"), (96, False, "before_crop")):
        out = hed(sd, rgb, resolution, safe, scribble_mode=mode)
        scribbles.append(dict(resolution=resolution, safe=safe, scribble=mode, height=out.shape[0], width=out.shape[1],
                              output=base64.b64encode(out.tobytes()).decode()))
        print("scribble", resolution, safe, mode, out.shape, "white", int((out == 255).sum()), "levels", sorted(np.unique(out).tolist()))
        for m in ("no_nms", "threshold40", "no_blur"):
            diff = hed(sd, rgb, resolution, safe, m, mode) != out
            print("  mutation", m, "differs at", int(diff.sum()), "of", diff.size)
        if check:
            check_scribble(hed(sd, rgb, resolution, safe, scribble_mode="none") if mode == "after_crop" else None, sd, rgb, resolution, safe, mode, out)
    data = {"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()},
            "norm": NORM, "cases": cases, "scribble": scribbles}
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1], "--check" in sys.argv[2:])
