"""The ControlNet annotators' classic OpenPose hand estimator (comfyui_controlnet_aux's and sd-webui-controlnet's Hand with
util.handDetect and detect_hands: CMU's hand network of lllyasviel's hand_pose_model.pth), restated from the published
definitions on deterministic weights (test data only).

Weights: make_hed.hashed(t, n, e) per tensor in state-dict order (conv1_1 … conv5_3_CPM, conv6_1_CPM, conv6_2_CPM, then
Mconv1…7_stage2 … _stage6), e = round(log2(1 / sqrt(6 / fan_in))) (≈ He-uniform), biases 2^-4 — the C# tests write the
same hand_pose_model.pth (tests/Shared/OpenPoseHandWeights.cs).
The network (torch): BGR ÷ 256 − 0.5; 3×3 convolutions + ReLU with 2×2 max pools after conv1_2, conv2_2, conv3_4;
conv6_1_CPM (1×1, 512) + ReLU, conv6_2_CPM (1×1, 22); stages 2–6 on cat(previous heatmaps, features): Mconv1…5 (7×7) and
Mconv6 (1×1) with ReLU, Mconv7 (1×1, 22) without (no_relu_layers).
handDetect: per arm with shoulder, elbow and wrist, centre wrist + 0.33 (wrist − elbow), side 1.5 max(|we|, 0.9 |es|),
corner clamped at 0, side cut on the nearer edge, kept from 20, truncated.
The peak per point (plain Python + numpy): scipy's gaussian_filter σ 3 (make_openpose_body.gaussian_filter), the regions
above 0.05 (8-connected, skimage.measure.label's scan-order numbering), the one with the largest np.sum of the unfiltered
map, the map zeroed elsewhere, util.npmax, then int(row · side / 128), int(column · side / 128); nothing above the
threshold gives (0, 0).

Writes `boxes` (bodies → boxes), `peaks` (hand-made 22 × 128 × 128 averaged heatmaps → 21 points, exactly) and `network`
(a 184² image through the network; maps within tolerance).
`pipeline`: a 45² crop through the per-box path (blur, LANCZOS4 to each side, the tests' stand-in network of 8 × 8 cell
means, LANCZOS4 ×8, AREA to 128², the average), its first three averaged maps; `--check` compares the blur and resizes with cv2.
Run: /usr/bin/python3 tools/reference/make_openpose_hand.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/openpose-hand-reference.json [--check]
`--mutation NAME` (no_label, four_connected, threshold_0.1) writes the peaks case with a mutated decoder to see a test fail.
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
from aux_preprocessors import test_image  # noqa: E402
from make_hed import hashed  # noqa: E402
from make_openpose_body import gaussian_filter  # noqa: E402

TRUNK = [("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
         ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
         ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512), ("conv4_4", 512, 512),
         ("conv5_1", 512, 512), ("conv5_2", 512, 512), ("conv5_3_CPM", 512, 128)]
POOLED = {"conv1_2", "conv2_2", "conv3_4"}
MUTATION = None
CHECK = False


def stage_layers(stage):
    if stage == 1:
        return [("conv6_1_CPM", 128, 512, 1), ("conv6_2_CPM", 512, 22, 1)]
    return ([(f"Mconv{i}_stage{stage}", 150 if i == 1 else 128, 128, 7) for i in range(1, 6)]
            + [(f"Mconv6_stage{stage}", 128, 128, 1), (f"Mconv7_stage{stage}", 128, 22, 1)])


def keys():
    layout = []
    for n, i, o in TRUNK:
        layout += [(n + ".weight", (o, i, 3, 3)), (n + ".bias", (o,))]
    for stage in range(1, 7):
        for n, i, o, k in stage_layers(stage):
            layout += [(n + ".weight", (o, i, k, k)), (n + ".bias", (o,))]
    return layout


def exponent(name, shape):
    if name.endswith(".bias"):
        return 4
    return int(round(np.log2(1 / np.sqrt(6.0 / int(np.prod(shape[1:]))))))


def weights():
    return {name: torch.from_numpy(hashed(t, int(np.prod(shape)), exponent(name, shape)).reshape(shape).astype(np.float32))
            for t, (name, shape) in enumerate(keys())}


def network(sd, bgr):
    """[1, 3, S, S] float BGR 0..255 → heatmaps [22, S/8, S/8]."""
    def conv(x, name):
        w = sd[name + ".weight"]
        return F.conv2d(x, w, sd[name + ".bias"], padding=w.shape[2] // 2)

    h = bgr / 256 - 0.5
    for n, _, _ in TRUNK:
        h = F.relu(conv(h, n))
        if n in POOLED:
            h = F.max_pool2d(h, 2, 2)
    features = h
    heat = None
    for stage in range(1, 7):
        x = features if stage == 1 else torch.cat([heat, features], 1)
        layers = stage_layers(stage)
        for idx, (n, _, _, _) in enumerate(layers):
            x = conv(x, n)
            if idx < len(layers) - 1:
                x = F.relu(x)
        heat = x
    return heat[0].numpy()


def hand_boxes(body, H, W):
    """util.handDetect on 18 points (None or (x, y)) in pixels."""
    out = []
    for s, e, w, left in ((5, 6, 7, True), (2, 3, 4, False)):
        if body[s] is None or body[e] is None or body[w] is None:
            continue
        (x1, y1), (x2, y2), (x3, y3) = body[s], body[e], body[w]
        x = x3 + 0.33 * (x3 - x2)
        y = y3 + 0.33 * (y3 - y2)
        d_we = math.sqrt((x3 - x2) ** 2 + (y3 - y2) ** 2)
        d_es = math.sqrt((x2 - x1) ** 2 + (y2 - y1) ** 2)
        width = 1.5 * max(d_we, 0.9 * d_es)
        x -= width / 2
        y -= width / 2
        x = max(x, 0)
        y = max(y, 0)
        w1 = W - x if x + width > W else width
        w2 = H - y if y + width > H else width
        width = min(w1, w2)
        if width >= 20:
            out.append([int(x), int(y), int(width), left])
    return out


def label(binary, h, w):
    """skimage.measure.label(connectivity=2) restated: regions numbered by their first pixel in scan order."""
    lab = [[0] * w for _ in range(h)]
    n = 0
    steps = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    if MUTATION == "four_connected":
        steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    for y in range(h):
        for x in range(w):
            if binary[y][x] and not lab[y][x]:
                n += 1
                lab[y][x] = n
                stack = [(y, x)]
                while stack:
                    cy, cx = stack.pop()
                    for dy, dx in steps:
                        ny, nx = cy + dy, cx + dx
                        if 0 <= ny < h and 0 <= nx < w and binary[ny][nx] and not lab[ny][nx]:
                            lab[ny][nx] = n
                            stack.append((ny, nx))
    return np.array(lab), n


def peak(map_ori, side):
    h = w = 128
    thre = 0.1 if MUTATION == "threshold_0.1" else 0.05
    filtered = gaussian_filter(map_ori.tolist(), h, w)
    binary = [[v > thre for v in row] for row in filtered]
    if not any(any(r) for r in binary):
        return [0, 0]
    m = map_ori.copy()
    if MUTATION != "no_label":
        lab, count = label(binary, h, w)
        best = int(np.argmax([np.sum(m[lab == i]) for i in range(1, count + 1)])) + 1
        m[lab != best] = 0
    i = int(m.max(1).argmax())
    j = int(m.argmax(1)[i])
    return [int(float(j) * float(side) / 128.0), int(float(i) * float(side) / 128.0)]


def synthetic():
    """22 averaged heatmaps with the cases the peak rules decide."""
    yy, xx = np.mgrid[0:128, 0:128].astype(np.float64)
    maps = np.zeros((22, 128, 128))

    def blob(p, x, y, a, s):
        maps[p] += a * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * s * s))

    for p in range(21):
        blob(p, 10 + 5 * p, 100 - 3 * p, 0.4 + 0.01 * p, 3)
    # 1: a tall narrow peak and a wide low hill: the hill's region sums more, so its top wins over the global maximum.
    maps[1] = 0
    blob(1, 20, 20, 0.9, 1.5)
    blob(1, 90, 100, 0.3, 7)
    # 2: never above the threshold once filtered: (0, 0).
    maps[2] = 0
    blob(2, 60, 60, 0.03, 3)
    # 3: at column 0 (the annotator's missing point).
    maps[3] = 0
    blob(3, 0, 40, 0.6, 3)
    # 4: a plateau: the first maximum in scan order.
    maps[4] = 0
    maps[4, 60:70, 30:40] = 0.5
    # 5: two equal hills, one a touch larger: regions compared by sum, not by height.
    maps[5] = 0
    blob(5, 30, 90, 0.5, 3)
    blob(5, 100, 30, 0.45, 3.3)
    # 6: two hills joined only along a diagonal once thresholded would need 8-connectivity; a saddle joins them here.
    maps[6] = 0
    blob(6, 40, 40, 0.35, 3)
    blob(6, 48, 48, 0.34, 3)
    blob(6, 110, 110, 0.5, 3.2)
    # 7: a faint hill whose filtered top (≈ 0.07) passes 0.05 but not 0.1.
    maps[7] = 0
    blob(7, 50, 80, 0.14, 3)
    return maps


# ---- the per-box pipeline (OpenCV's definitions restated; --check compares them with cv2) ----

def lanczos4_weights(x):
    x = np.float32(x)
    if x < np.float32(1.1920929e-07):
        w = [np.float32(0)] * 8
        w[3] = np.float32(1)
        return w
    s45 = 0.70710678118654752440084436210485
    cs = [(1, 0), (-s45, -s45), (0, 1), (s45, -s45), (-1, 0), (s45, s45), (0, -1), (-s45, s45)]
    y0 = float(-(x + np.float32(3))) * math.pi * 0.25
    s0, c0 = math.sin(y0), math.cos(y0)
    w = []
    total = np.float32(0)
    for i in range(8):
        y = float(-(x + np.float32(3) - np.float32(i))) * math.pi * 0.25
        w.append(np.float32((cs[i][0] * s0 + cs[i][1] * c0) / (y * y)))
        total = np.float32(total + w[-1])
    inv = np.float32(np.float32(1) / total)
    return [np.float32(v * inv) for v in w]


def lanczos4_taps(src, dst):
    scale = 1.0 / (dst / src)
    taps = []
    for d in range(dst):
        f = np.float32((d + 0.5) * scale - 0.5)
        s = int(math.floor(f))
        f = np.float32(f - np.float32(s))
        taps.append(([min(max(s + k - 3, 0), src - 1) for k in range(8)], lanczos4_weights(f)))
    return taps


def lanczos4_bytes(img, dh, dw):
    """cv2.resize INTER_LANCZOS4 of an 8-bit H × W × 3 image: 11-bit coefficients, (sum + 2^21) >> 22."""
    xt = [(i, [int(np.rint(np.float32(v) * np.float32(2048))) for v in w]) for i, w in lanczos4_taps(img.shape[1], dw)]
    yt = [(i, [int(np.rint(np.float32(v) * np.float32(2048))) for v in w]) for i, w in lanczos4_taps(img.shape[0], dh)]
    src = img.astype(np.int64)
    rows = np.stack([sum(src[:, i[k]] * w[k] for k in range(8)) for i, w in xt], axis=1)
    out = np.stack([sum(rows[i[k]] * w[k] for k in range(8)) for i, w in yt], axis=0)
    return np.clip((out + (1 << 21)) >> 22, 0, 255).astype(np.uint8)


def lanczos4_plane(p, dh, dw):
    xt = lanczos4_taps(p.shape[1], dw)
    yt = lanczos4_taps(p.shape[0], dh)
    rows = np.stack([sum(p[:, i[k]] * float(w[k]) for k in range(8)) for i, w in xt], axis=1)
    return np.stack([sum(rows[i[k]] * float(w[k]) for k in range(8)) for i, w in yt], axis=0)


def area_table(src, dst):
    scale = 1.0 / (dst / src)
    table = []
    for d in range(dst):
        f1 = d * scale
        f2 = f1 + scale
        cell = min(scale, src - f1)
        s1, s2 = math.ceil(f1), min(math.floor(f2), src - 1)
        s1 = min(s1, s2)
        if s1 - f1 > 1e-3:
            table.append((d, s1 - 1, float(np.float32((s1 - f1) / cell))))
        for s in range(s1, s2):
            table.append((d, s, float(np.float32(1.0 / cell))))
        if f2 - s2 > 1e-3:
            table.append((d, s2, float(np.float32(min(min(f2 - s2, 1.0), cell) / cell))))
    return table


def area_plane(p, dh, dw):
    """cv2.resize INTER_AREA shrinking of a float plane, sums in double."""
    rows = np.zeros((p.shape[0], dw))
    for d, s, a in area_table(p.shape[1], dw):
        rows[:, d] += p[:, s] * a
    out = np.zeros((dh, dw))
    for d, s, a in area_table(p.shape[0], dh):
        out[d] += rows[s] * a
    return out


def blur_bytes(img, sigma=0.8):
    """cv2.GaussianBlur (0, 0) σ of an 8-bit image: round(6σ + 1) | 1 taps, reflect-101, double sums, rounded half up."""
    n = int(np.rint(sigma * 6 + 1)) | 1
    t = np.exp(-0.5 / sigma ** 2 * (np.arange(n) - (n - 1) / 2) ** 2)
    t /= t.sum()
    r = n // 2
    H, W = img.shape[:2]
    refl = lambda i, L: abs(i) % (2 * L - 2) if abs(i) % (2 * L - 2) < L else (2 * L - 2) - abs(i) % (2 * L - 2)
    src = img.astype(np.float64)
    rows = sum(t[k] * src[:, [refl(x + k - r, W) for x in range(W)]] for k in range(n))
    out = sum(t[k] * rows[[refl(y + k - r, H) for y in range(H)]] for k in range(n))
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def stand_in_network(img):
    """The tests' stand-in for the network: map p at (i, j) = the mean of channel p % 3 over the 8 × 8 cell, / 255 · (1 + p / 21)."""
    S = img.shape[0]
    cells = img.reshape(S // 8, 8, S // 8, 8, 3).astype(np.float64).mean(axis=(1, 3))
    return np.stack([(cells[:, :, p % 3] / 255 * (1 + p / 21)).astype(np.float32) for p in range(22)])


def averaged_heatmaps(crop, net):
    blurred = blur_bytes(crop)
    avg = np.zeros((22, 128, 128))
    for side in (184, 368, 552, 736):
        assert 2 * side >= crop.shape[0] + crop.shape[1], "the reference enlarges only (crops under 184 px)"
        out = net(lanczos4_bytes(blurred, side, side))
        for p in range(22):
            big = lanczos4_plane(out[p].astype(np.float64), side, side).astype(np.float32).astype(np.float64)
            avg[p] += area_plane(big, 128, 128).astype(np.float32).astype(np.float64) / 4
    return avg, blurred


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, np.float32).tobytes()).decode()


def main(path):
    bodies = [
        # both arms, boxes inside
        [(60, 20), (60, 40), (45, 40), (40, 60), (38, 80), (75, 40), (80, 60), (82, 80)] + [None] * 10,
        # left arm at the right edge (side cut), right arm near the top-left corner (corner clamped), neck etc missing
        [None, None, (40, 30), (25, 55), (10, 75), (200, 40), (225, 60), (245, 80)] + [None] * 10,
        # a short forearm: a box under 20 px is dropped; the right wrist missing
        [None, None, (50, 50), (52, 52), None, (70, 50), (72, 55), (73, 58)] + [None] * 10,
    ]
    H, W = 200, 256
    boxes = [hand_boxes(b, H, W) for b in bodies]
    maps = synthetic().astype(np.float32).astype(np.float64)
    side = 97
    peaks = [peak(maps[p], side) for p in range(21)]
    print("boxes", boxes, "\npeaks", peaks, file=sys.stderr)
    out = {"boxes": {"height": H, "width": W, "bodies": [[None if p is None else list(p) for p in b] for b in bodies], "boxes": boxes},
           "peaks": {"side": side, "maps": b64(maps[:21]), "points": peaks}}
    if MUTATION is None:
        rgb = test_image()
        rows = (np.arange(184) * rgb.shape[0]) // 184
        cols = (np.arange(184) * rgb.shape[1]) // 184
        img = np.ascontiguousarray(rgb[rows][:, cols])
        bgr = torch.from_numpy(img[:, :, ::-1].astype(np.float32).transpose(2, 0, 1).copy())[None]
        heat = network(weights(), bgr)
        print(f"network: {heat.shape}, range {heat.min():.4g}..{heat.max():.4g}", file=sys.stderr)
        out["network"] = {"side": 184, "image": base64.b64encode(img.tobytes()).decode(), "heatmaps": b64(heat)}
        crop = np.ascontiguousarray(rgb[10:55, 20:65])
        avg, blurred = averaged_heatmaps(crop, stand_in_network)
        out["pipeline"] = {"crop": base64.b64encode(crop.tobytes()).decode(), "size": 45, "channels": [0, 1, 2],
                           "heatmaps": b64(avg[:3])}
        if CHECK:
            import cv2
            print("blur vs cv2 max diff", np.abs(cv2.GaussianBlur(crop, (0, 0), 0.8).astype(int) - blurred.astype(int)).max(), file=sys.stderr)
            for side in (184, 736):
                ours = lanczos4_bytes(blurred, side, side).astype(int)
                ref = cv2.resize(blurred, (side, side), interpolation=cv2.INTER_LANCZOS4).astype(int)
                print(f"lanczos4 8-bit {side} vs cv2: max diff {np.abs(ours - ref).max()}, differing {(ours != ref).mean():.2e}", file=sys.stderr)
            m = stand_in_network(lanczos4_bytes(blurred, 368, 368))[1]
            big = lanczos4_plane(m.astype(np.float64), 368, 368)
            print("lanczos4 float vs cv2 max diff", np.abs(big - cv2.resize(m, (368, 368), interpolation=cv2.INTER_LANCZOS4)).max(), file=sys.stderr)
            big32 = big.astype(np.float32)
            print("area float vs cv2 max diff", np.abs(area_plane(big32.astype(np.float64), 128, 128) - cv2.resize(big32, (128, 128), interpolation=cv2.INTER_AREA)).max(), file=sys.stderr)
    with open(path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--mutation" in args:
        MUTATION = args[args.index("--mutation") + 1]
    CHECK = "--check" in args
    main(args[0])
