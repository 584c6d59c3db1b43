"""The M-LSD straight-line annotator (comfyui_controlnet_aux's MLSDdetector, sd-webui-controlnet's mlsd) over
MobileV2_MLSD_Large, the network of lllyasviel's mlsd_large_512_fp32.pth, restated as a torch module from its published
definition, on deterministic weights (test data only); the decoding and the line drawing restated in numpy.

Weights: the hash of make_hed.py (tests/Shared/TorchSaveFile.cs's Hashed) of (tensor index t in KEYS order, element i),
  value = ((h >> 21) − 1024) / 1024 · 2^-e  (float16), e per kind: convolutions ≈ He-uniform (the first 1 more, for
  −1..1 input), biases and BatchNorm biases 4, BatchNorm means 3; BatchNorm weights and variances are 1 + value(e 2)
  rounded to float16; block23.conv3 (the output layer) scaled by 2^DISPLACEMENT_GAIN (down: the decoder has no real normalisation on hashed weights).
The network (eval mode): MobileNetV2 features 0…13 (ConvBNReLU with ReLU6; stride-2 convolutions on the map padded by
one at the bottom and right, padding 0; inverted residuals with the skip when stride 1 and channels agree), the decoder
block15…23 (BlockTypeA: 1×1 conv + BN + ReLU on each input, the deeper one upscaled ×2 bilinear, align_corners=True,
concatenated after the skip; BlockTypeB: two 3×3 conv + BN + ReLU, the first added back; BlockTypeC: 3×3 dilation 5,
3×3, 1×1 to 16), channels 7… kept.
The annotator: resize_image_with_pad at the detect resolution (aux_preprocessors.resize_with_pad); pred_lines with
input_shape the padded size (cv2.resize INTER_AREA to the same size is a copy; ratios 1): RGB + a channel of ones, float32
/127.5 − 1; deccode_output_score_and_ptss(k 200, 3×3): sigmoid of channel 0, kept where equal to the 3×3 max pool, top 200
(ties in index order here; torch's order among ties is unspecified, and only which centres pass matters for the map);
score > thr_v and float32 |start − end| > thr_d; (x + disp)·2 in float64; int() each end; cv2.line white width 1 on a
black padded map (LINE_8: clipLine, then LineIterator's Bresenham — restated in numpy here, compared with cv2.line by
--check); the padding cropped off.

Run: /usr/bin/python3 tools/reference/make_mlsd.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/mlsd-reference.json [--check]
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
from make_hed import hashed  # noqa: E402

RESIDUALS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)]
MERGES = [("block15", 64, 96, False), ("block17", 32, 64, True), ("block19", 24, 64, True), ("block21", 16, 64, True)]
TAPS = [1, 3, 6, 10, 13]
DISPLACEMENT_GAIN = -1


def blocks():
    inputs, index = 32, 1
    for t, c, n, s in RESIDUALS:
        for i in range(n):
            yield index, inputs, inputs * t, c, s if i == 0 else 1, t != 1
            index += 1
            inputs = c


def keys():
    """(name, shape, kind) in the order of MlsdCheckpoint.Layout (and of the test's file)."""
    out = []

    def norm(name, c):
        out.extend([(f"{name}.weight", (c,), "bn_weight"), (f"{name}.bias", (c,), "bias"),
                    (f"{name}.running_mean", (c,), "bn_mean"), (f"{name}.running_var", (c,), "bn_var")])

    def conv(name, o, i, k, bias):
        out.append((f"{name}.weight", (o, i, k, k), "conv"))
        if bias:
            out.append((f"{name}.bias", (o,), "bias"))

    conv("backbone.features.0.0", 32, 4, 3, False)
    norm("backbone.features.0.1", 32)
    for index, inputs, hidden, outputs, _, expands in blocks():
        p = f"backbone.features.{index}.conv"
        j = 0
        if expands:
            conv(f"{p}.0.0", hidden, inputs, 1, False)
            norm(f"{p}.0.1", hidden)
            j = 1
        conv(f"{p}.{j}.0", hidden, 1, 3, False)
        norm(f"{p}.{j}.1", hidden)
        conv(f"{p}.{j + 1}", outputs, hidden, 1, False)
        norm(f"{p}.{j + 2}", outputs)
    for m, (name, skip, deep, _) in enumerate(MERGES):
        conv(f"{name}.conv1.0", 64, deep, 1, True)
        norm(f"{name}.conv1.1", 64)
        conv(f"{name}.conv2.0", 64, skip, 1, True)
        norm(f"{name}.conv2.1", 64)
        b = f"block{16 + 2 * m}"
        conv(f"{b}.conv1.0", 128, 128, 3, True)
        norm(f"{b}.conv1.1", 128)
        conv(f"{b}.conv2.0", 64, 128, 3, True)
        norm(f"{b}.conv2.1", 64)
    conv("block23.conv1.0", 64, 64, 3, True)
    norm("block23.conv1.1", 64)
    conv("block23.conv2.0", 64, 64, 3, True)
    norm("block23.conv2.1", 64)
    conv("block23.conv3", 16, 64, 1, True)
    return out


def exponent(name, shape, kind):
    if kind == "bias":
        return 4
    if kind == "bn_mean":
        return 3
    if kind in ("bn_weight", "bn_var"):
        return 2
    fan_in = int(np.prod(shape[1:]))
    e = int(round(np.log2(1 / np.sqrt(6.0 / fan_in))))
    if name == "backbone.features.0.0.weight":
        e -= 1
    if name.startswith("block23.conv3"):
        e -= DISPLACEMENT_GAIN
    return e


def weights():
    sd = {}
    for t, (name, shape, kind) in enumerate(keys()):
        v = hashed(t, int(np.prod(shape)), exponent(name, shape, kind))
        if kind in ("bn_weight", "bn_var"):
            v = (1.0 + v.astype(np.float64)).astype(np.float16)
        sd[name] = torch.from_numpy(v.astype(np.float32).reshape(shape))
    return sd


def network(sd, x, mutation=None):
    """MobileV2_MLSD_Large.forward on [1, 4, H, W] (eval mode); returns [1, 9, H/2, W/2] (channels 7…)."""
    def bn(h, name):
        return F.batch_norm(h, sd[f"{name}.running_mean"], sd[f"{name}.running_var"], sd[f"{name}.weight"], sd[f"{name}.bias"], False, 0.0, 1e-5)

    def conv(h, name, stride=1, groups=1, dilation=1):
        w = sd[f"{name}.weight"]
        k = w.shape[2]
        if stride == 2:
            h = F.pad(h, (0, 1, 0, 1), "constant", 0)
            pad = 0
        else:
            pad = (k - 1) // 2 * dilation
        return F.conv2d(h, w, sd.get(f"{name}.bias"), stride, pad, dilation, groups)

    relu6 = lambda h: torch.clamp(h, 0, 6)  # noqa: E731
    x = relu6(bn(conv(x, "backbone.features.0.0", 2), "backbone.features.0.1"))
    taps = []
    for index, inputs, hidden, outputs, stride, expands in blocks():
        p = f"backbone.features.{index}.conv"
        h, j = x, 0
        if expands:
            h = relu6(bn(conv(h, f"{p}.0.0"), f"{p}.0.1"))
            j = 1
        h = relu6(bn(conv(h, f"{p}.{j}.0", stride, hidden), f"{p}.{j}.1"))
        h = bn(conv(h, f"{p}.{j + 1}"), f"{p}.{j + 2}")
        x = x + h if stride == 1 and inputs == outputs else h
        if index in TAPS:
            taps.append(x)
    x = taps[4]
    for m, (name, _, _, upscale) in enumerate(MERGES):
        b = torch.relu(bn(conv(x, f"{name}.conv1.0"), f"{name}.conv1.1"))
        a = torch.relu(bn(conv(taps[3 - m], f"{name}.conv2.0"), f"{name}.conv2.1"))
        if upscale:
            b = F.interpolate(b, scale_factor=2.0, mode="bilinear", align_corners=mutation != "align_corners_false")
        x = torch.cat((a, b), dim=1)
        blk = f"block{16 + 2 * m}"
        x = torch.relu(bn(conv(x, f"{blk}.conv1.0"), f"{blk}.conv1.1")) + x
        x = torch.relu(bn(conv(x, f"{blk}.conv2.0"), f"{blk}.conv2.1"))
    x = torch.relu(bn(conv(x, "block23.conv1.0", dilation=5), "block23.conv1.1"))
    x = torch.relu(bn(conv(x, "block23.conv2.0"), "block23.conv2.1"))
    return conv(x, "block23.conv3")[:, 7:]


def decode(maps, thr_v, thr_d, mutation=None):
    """deccode_output_score_and_ptss (k 200, 3×3) and pred_lines' filters on [≥5, h, w] float32 maps; segments ×2, float64."""
    heat = (1 / (1 + np.exp(-maps[0].astype(np.float64)))).astype(np.float32)
    h, w = heat.shape
    if mutation != "no_nms":
        p = np.pad(heat, 1, constant_values=-np.inf)
        hmax = np.max([p[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=0)
        heat = heat * (hmax == heat)
    flat = heat.reshape(-1)
    order = np.lexsort((np.arange(flat.size), -flat))[:200]
    disp = maps[1:5].transpose(1, 2, 0)
    dist = np.sqrt(np.sum((disp[:, :, :2] - disp[:, :, 2:]) ** 2, axis=-1))
    segments = []
    for i in order:
        y, x = divmod(int(i), w)
        if flat[i] > thr_v and (mutation == "no_thr_d" or dist[y, x] > thr_d):
            dx1, dy1, dx2, dy2 = disp[y, x].astype(np.float64)
            segments.append([x + dx1, y + dy1, x + dx2, y + dy2])
    scale = 1 if mutation == "half_scale" else 2
    return [[scale * v for v in s] for s in segments]


def clip_line(w, h, x1, y1, x2, y2):
    right, bottom = w - 1, h - 1

    def code(x, y):
        return (x < 0) + (x > right) * 2 + (y < 0) * 4 + (y > bottom) * 8

    c1, c2 = code(x1, y1), code(x2, y2)
    if (c1 & c2) == 0 and (c1 | c2) != 0:
        if c1 & 12:
            a = 0 if c1 < 8 else bottom
            x1 += int(float(a - y1) * (x2 - x1) / (y2 - y1))
            y1 = a
            c1 = (x1 < 0) + (x1 > right) * 2
        if c2 & 12:
            a = 0 if c2 < 8 else bottom
            x2 += int(float(a - y2) * (x2 - x1) / (y2 - y1))
            y2 = a
            c2 = (x2 < 0) + (x2 > right) * 2
        if (c1 & c2) == 0 and (c1 | c2) != 0:
            if c1:
                a = 0 if c1 == 1 else right
                y1 += int(float(a - x1) * (y2 - y1) / (x2 - x1))
                x1 = a
                c1 = 0
            if c2:
                a = 0 if c2 == 1 else right
                y2 += int(float(a - x2) * (y2 - y1) / (x2 - x1))
                x2 = a
                c2 = 0
    return (c1 | c2) == 0, x1, y1, x2, y2


def draw_line(img, x1, y1, x2, y2):
    """cv2.line(img, (x1, y1), (x2, y2), 255, 1) with LINE_8, restated."""
    h, w = img.shape
    if not (0 <= x1 < w and 0 <= x2 < w and 0 <= y1 < h and 0 <= y2 < h):
        ok, x1, y1, x2, y2 = clip_line(w, h, x1, y1, x2, y2)
        if not ok:
            return
    if x2 < x1:
        x1, y1, x2, y2 = x2, y2, x1, y1
    dx, dy = x2 - x1, y2 - y1
    ystep = -1 if dy < 0 else 1
    dy = abs(dy)
    steep = dy > dx
    if steep:
        dx, dy = dy, dx
    err = dx - 2 * dy
    x, y = x1, y1
    for _ in range(dx + 1):
        img[y, x] = 255
        minor = err < 0
        err += 2 * dx - 2 * dy if minor else -2 * dy
        if steep:
            y += ystep
            x += minor
        else:
            x += 1
            y += ystep * minor


def mlsd(sd, rgb, resolution, thr_v, thr_d, mutation=None):
    padded, th, tw = resize_with_pad(rgb, resolution)
    x = np.concatenate([padded.astype(np.float64), np.ones(padded.shape[:2] + (1,))], axis=-1).transpose(2, 0, 1)[None].astype(np.float32)
    x = x / 127.5 - 1.0
    with torch.no_grad():
        maps = network(sd, torch.from_numpy(x), mutation)[0].numpy()
    segments = decode(maps, thr_v, thr_d, mutation)
    out = np.zeros(padded.shape[:2], np.uint8)
    for s in segments:
        draw_line(out, *[int(v) for v in s])
    return out[:th, :tw], segments


def check_lines(rng):
    """The restated cv2.line against OpenCV's on random segments, inside, crossing and outside a 37×53 image."""
    import cv2

    bad = 0
    for _ in range(20000):
        a = rng.integers(-80, 140, 4)
        mine = np.zeros((37, 53), np.uint8)
        draw_line(mine, *[int(v) for v in a])
        theirs = np.zeros((37, 53), np.uint8)
        cv2.line(theirs, (int(a[0]), int(a[1])), (int(a[2]), int(a[3])), 255, 1)
        bad += int((mine != theirs).any())
    print("  --check draw_line vs cv2.line", cv2.__version__, ": differs on", bad, "of 20000 segments")


def main(path, check=False):
    torch.set_num_threads(1)
    sd = weights()
    rgb = test_image()
    cases = []
    for resolution, thr_v, thr_d in ((64, 0.1, 0.1), (128, 0.1, 0.1), (128, 0.2, 2.5)):
        out, segments = mlsd(sd, rgb, resolution, thr_v, thr_d)
        cases.append(dict(resolution=resolution, score_threshold=thr_v, distance_threshold=thr_d, height=out.shape[0], width=out.shape[1],
                          segments=len(segments), output=base64.b64encode(out.tobytes()).decode()))
        lengths = [np.hypot(s[2] - s[0], s[3] - s[1]) for s in segments]
        print(resolution, thr_v, thr_d, out.shape, "segments", len(segments), "median length", round(float(np.median(lengths)), 1) if lengths else 0,
              "white", int((out == 255).sum()))
        for m in ("no_nms", "align_corners_false", "no_thr_d", "half_scale"):
            diff = mlsd(sd, rgb, resolution, thr_v, thr_d, m)[0] != out
            print("  mutation", m, "differs at", int(diff.sum()), "of", diff.size)
    if check:
        check_lines(np.random.default_rng(1))
    data = {"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()}, "cases": cases}
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1], "--check" in sys.argv[2:])
