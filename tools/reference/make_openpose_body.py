"""The ControlNet annotators' classic OpenPose body estimator (comfyui_controlnet_aux's OpenposeDetector, sd-webui-controlnet's
openpose: CMU's body network of lllyasviel's body_pose_model.pth, then Body.__call__'s decoding), restated from the
published definitions on deterministic weights (test data only).

Weights: make_hed.hashed(t, n, e) per tensor in state-dict order (conv1_1 … conv4_4_CPM, then per stage 1–6 the L1 then
the L2 branch), e = round(log2(1 / sqrt(6 / fan_in))) (≈ He-uniform), biases 2^-4 — the C# tests write the same
body_pose_model.pth (tests/Shared/OpenPoseBodyWeights.cs).
The network (torch): BGR ÷ 256 − 0.5; 3×3 convolutions + ReLU with 2×2 max pools after conv1_2, conv2_2, conv3_4; stage 1
conv5_1…3_CPM (3×3), conv5_4 (1×1, 512), conv5_5 (1×1); stages 2–6 on cat(PAFs, heatmaps, features): Mconv1…5 (7×7),
Mconv6, Mconv7 (1×1); ReLU after every convolution but each branch's last, except that the published no_relu_layers
names Mconv7_stage6_L1 twice and never Mconv7_stage6_L2, so stage 6's heatmaps are ReLU'd.
The pipeline on the (already resized and padded) image: cv2.resize by 0.5 · 368 / H with INTER_CUBIC (OpenCV's 8-bit
arithmetic, taps at the factor), padded bottom/right to multiples of 8 with 128, the network; each channel ×8 cubic (float),
cropped, cubic to H × W, float32.
Decoding (plain Python, no numpy or scipy): scipy.ndimage.gaussian_filter σ 3 (truncate 4, 'reflect'; kernel normalised
by numpy's pairwise sum; centre tap, then pairs outermost first), 4-neighbour peaks above 0.1, limb pairs over 10
linspace samples with threshold 0.05, the 80 % and distance-prior criteria, greedy connections, the subset assembly and
its count < 4 / score ÷ count < 0.4 filter.

Writes two cases: `decode` (synthetic heatmaps and PAFs that make three people, one faint, plus a stray peak; candidates and subsets
exactly) and `network` (the test image through the network and map restoration; maps within tolerance).
Run: /usr/bin/python3 tools/reference/make_openpose_body.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/openpose-body-reference.json [--check]
`--mutation NAME` writes the decode case with a mutated decoder (no_gaussian, mid_num_9, subset_0.5, pad_0) to see a test fail.
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
from aux_preprocessors import COEF, _cubic_weights, test_image  # noqa: E402
from make_hed import hashed  # noqa: E402

TRUNK = [("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
         ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
         ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3_CPM", 512, 256), ("conv4_4_CPM", 256, 128)]
POOLED = {"conv1_2", "conv2_2", "conv3_4"}
LIMBS = [(2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12), (12, 13), (13, 14),
         (2, 1), (1, 15), (15, 17), (1, 16), (16, 18), (3, 17), (6, 18)]
MAP_IDX = [(31, 32), (39, 40), (33, 34), (35, 36), (41, 42), (43, 44), (19, 20), (21, 22), (23, 24), (25, 26), (27, 28),
           (29, 30), (47, 48), (49, 50), (53, 54), (51, 52), (55, 56), (37, 38), (45, 46)]
MUTATION = None


def branch(stage, b):
    out = 38 if b == 1 else 19
    if stage == 1:
        return [(f"conv5_{i}_CPM_L{b}", 128, 128, 3) for i in (1, 2, 3)] + [(f"conv5_4_CPM_L{b}", 128, 512, 1), (f"conv5_5_CPM_L{b}", 512, out, 1)]
    return ([(f"Mconv{i}_stage{stage}_L{b}", 185 if i == 1 else 128, 128, 7) for i in range(1, 6)]
            + [(f"Mconv6_stage{stage}_L{b}", 128, 128, 1), (f"Mconv7_stage{stage}_L{b}", 128, out, 1)])


def keys():
    out = [(n, (o, i, 3, 3)) for n, i, o in TRUNK for _ in [0]]
    layout = []
    for n, shape in out:
        layout += [(n + ".weight", shape), (n + ".bias", (shape[0],))]
    for stage in range(1, 7):
        for b in (1, 2):
            for n, i, o, k in branch(stage, b):
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
    """[1, 3, H, W] float BGR 0..255 → (PAFs [38, H/8, W/8], heatmaps [19, H/8, W/8])."""
    def conv(x, name):
        w = sd[name + ".weight"]
        return F.conv2d(x, w, sd[name + ".bias"], padding=w.shape[2] // 2)

    h = bgr / 256 - 0.5
    for n, _, _ in TRUNK:
        h = F.relu(conv(h, n))
        if n in POOLED:
            h = F.max_pool2d(h, 2, 2)
    features = h
    for stage in range(1, 7):
        x = features if stage == 1 else torch.cat([pafs, heat, features], 1)
        outs = []
        for b in (1, 2):
            y = x
            layers = branch(stage, b)
            for idx, (n, _, _, _) in enumerate(layers):
                y = conv(y, n)
                if idx < len(layers) - 1 or (stage == 6 and b == 2):
                    y = F.relu(y)
            outs.append(y)
        pafs, heat = outs
    return pafs[0].numpy(), heat[0].numpy()


def cubic_taps(src, dst, scale):
    taps = []
    for d in range(dst):
        f = np.float32((d + 0.5) * scale - 0.5)
        s = math.floor(f)
        taps.append(([min(max(s + k - 1, 0), src - 1) for k in range(4)], np.float32(f - s)))
    return taps


def resize_bytes_by(img, factor):
    """cv2.resize(img, (0, 0), fx=factor, fy=factor, interpolation=INTER_CUBIC) of an 8-bit HWC image."""
    h, w, _ = img.shape
    dh, dw = int(np.rint(h * factor)), int(np.rint(w * factor))
    s = img.astype(np.int64)
    rows = np.zeros((h, dw, 3), np.int64)
    for d, (idx, f) in enumerate(cubic_taps(w, dw, 1.0 / factor)):
        rows[:, d] = sum(s[:, i] * wk for i, wk in zip(idx, _cubic_weights(f)))
    out = np.zeros((dh, dw, 3), np.uint8)
    for d, (idx, f) in enumerate(cubic_taps(h, dh, 1.0 / factor)):
        out[d] = np.clip((sum(rows[i] * wk for i, wk in zip(idx, _cubic_weights(f))) + (1 << 21)) >> 22, 0, 255)
    return out



def cubic_float_weights(f):
    a, x, one = np.float32(-0.75), np.float32(f), np.float32(1)
    c0 = ((a * (x + one) - np.float32(5) * a) * (x + one) + np.float32(8) * a) * (x + one) - np.float32(4) * a
    c1 = ((a + np.float32(2)) * x - (a + np.float32(3))) * x * x + one
    c2 = ((a + np.float32(2)) * (one - x) - (a + np.float32(3))) * (one - x) * (one - x) + one
    return [float(c0), float(c1), float(c2), float(one - c0 - c1 - c2)]


def resize_plane(p, dh, dw):
    """INTER_CUBIC of a float plane to dh × dw, summed in float64 (OpenCV sums float32)."""
    h, w = p.shape
    rows = np.zeros((h, dw))
    for d, (idx, f) in enumerate(cubic_taps(w, dw, 1.0 / (dw / w))):
        rows[:, d] = sum(p[:, i].astype(np.float64) * wk for i, wk in zip(idx, cubic_float_weights(f)))
    out = np.zeros((dh, dw))
    for d, (idx, f) in enumerate(cubic_taps(h, dh, 1.0 / (dh / h))):
        out[d] = sum(rows[i] * wk for i, wk in zip(idx, cubic_float_weights(f)))
    return out


def restore(m, sh, sw, H, W):
    big = resize_plane(m, m.shape[0] * 8, m.shape[1] * 8)[:sh, :sw].astype(np.float32)
    return resize_plane(big, H, W).astype(np.float32)


def pipeline_maps(sd, rgb):
    H, W, _ = rgb.shape
    scaled = resize_bytes_by(rgb, 0.5 * 368 / H)
    sh, sw, _ = scaled.shape
    ph, pw = (sh + 7) // 8 * 8, (sw + 7) // 8 * 8
    padded = np.full((ph, pw, 3), 0 if MUTATION == "pad_0" else 128, np.float32)
    padded[:sh, :sw] = scaled
    bgr = torch.from_numpy(padded[:, :, ::-1].transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        pafs, heat = network(sd, bgr)
    return scaled, pafs, heat, [restore(heat[c], sh, sw, H, W) for c in range(19)], [restore(pafs[c], sh, sw, H, W) for c in range(38)]


# ---- decoding, plain Python ----

def pairwise_sum(v):
    if len(v) < 8:
        s = 0.0
        for x in v:
            s += x
        return s
    r = list(v[:8])
    whole = len(v) - len(v) % 8
    for i in range(8, whole, 8):
        for j in range(8):
            r[j] += v[i + j]
    s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for i in range(whole, len(v)):
        s += v[i]
    return s


def gaussian_filter(plane, h, w, sigma=3.0):
    radius = int(4.0 * sigma + 0.5)
    full = [math.exp(-0.5 / (sigma * sigma) * (x * x)) for x in range(-radius, radius + 1)]
    total = pairwise_sum(full)
    wts = [full[radius + i] / total for i in range(radius + 1)]

    def reflect(i, n):
        i %= 2 * n
        return i if i < n else 2 * n - 1 - i

    def line_filter(line):
        n = len(line)
        out = []
        for at in range(n):
            s = line[at] * wts[0]
            for j in range(radius, 0, -1):
                s += (line[reflect(at - j, n)] + line[reflect(at + j, n)]) * wts[j]
            out.append(s)
        return out

    rows = [[0.0] * w for _ in range(h)]
    for x in range(w):
        col = line_filter([plane[y][x] for y in range(h)])
        for y in range(h):
            rows[y][x] = col[y]
    return [line_filter(rows[y]) for y in range(h)]


def decode(heat, paf, h, w):
    """heat[p][y][x], paf[c][y][x] (floats) → (candidates [(x, y, score, id)], subsets [20 floats])."""
    mid_num = 9 if MUTATION == "mid_num_9" else 10
    all_peaks, counter = [], 0
    for part in range(18):
        ori = heat[part]
        g = ori if MUTATION == "no_gaussian" else gaussian_filter(ori, h, w)
        peaks = []
        for y in range(h):
            for x in range(w):
                v = g[y][x]
                up = g[y - 1][x] if y > 0 else 0.0
                down = g[y + 1][x] if y < h - 1 else 0.0
                left = g[y][x - 1] if x > 0 else 0.0
                right = g[y][x + 1] if x < w - 1 else 0.0
                if v >= up and v >= down and v >= left and v >= right and v > 0.1:
                    peaks.append((x, y, ori[y][x], counter + len(peaks)))
        all_peaks.append(peaks)
        counter += len(peaks)
    connection_all, special = [], []
    for k, ((a, b), (m0, m1)) in enumerate(zip(LIMBS, MAP_IDX)):
        px, py = paf[m0 - 19], paf[m1 - 19]
        cand_a, cand_b = all_peaks[a - 1], all_peaks[b - 1]
        if not cand_a or not cand_b:
            special.append(k)
            connection_all.append([])
            continue
        scored = []
        for i, pa in enumerate(cand_a):
            for j, pb in enumerate(cand_b):
                vx, vy = pb[0] - pa[0], pb[1] - pa[1]
                norm = max(0.001, math.sqrt(vx * vx + vy * vy))
                ux, uy = vx / norm, vy / norm
                samples = []
                for s in range(mid_num):
                    if s == mid_num - 1:
                        sx, sy = float(pb[0]), float(pb[1])
                    else:
                        stx, sty = vx / (mid_num - 1), vy / (mid_num - 1)
                        sx = pa[0] + 0.0 if stx == 0 else s * stx + pa[0]
                        sy = pa[1] + 0.0 if sty == 0 else s * sty + pa[1]
                    r, c = int(round(sy)), int(round(sx))
                    samples.append(px[r][c] * ux + py[r][c] * uy)
                total = 0
                for v in samples:
                    total += v
                score = total / len(samples) + min(0.5 * h / norm - 1, 0)
                if sum(1 for v in samples if v > 0.05) > 0.8 * len(samples) and score > 0:
                    scored.append((i, j, score))
        scored.sort(key=lambda c: c[2], reverse=True)
        conn, used_i, used_j = [], set(), set()
        for i, j, s in scored:
            if i not in used_i and j not in used_j:
                used_i.add(i)
                used_j.add(j)
                conn.append([float(cand_a[i][3]), float(cand_b[j][3]), s, i, j])
                if len(conn) >= min(len(cand_a), len(cand_b)):
                    break
        connection_all.append(conn)
    candidate = [p for peaks in all_peaks for p in peaks]
    subset = []
    for k in range(len(LIMBS)):
        if k in special:
            continue
        ia, ib = LIMBS[k][0] - 1, LIMBS[k][1] - 1
        for row in connection_all[k]:
            pa, pb, s = row[0], row[1], row[2]
            found, idx = 0, [-1, -1]
            for j in range(len(subset)):
                if subset[j][ia] == pa or subset[j][ib] == pb:
                    idx[found] = j
                    found += 1
            if found == 1:
                p = subset[idx[0]]
                if p[ib] != pb:
                    p[ib] = pb
                    p[19] += 1
                    p[18] += candidate[int(pb)][2] + s
            elif found == 2:
                p1, p2 = subset[idx[0]], subset[idx[1]]
                if not any(p1[t] >= 0 and p2[t] >= 0 for t in range(18)):
                    for t in range(18):
                        p1[t] += p2[t] + 1
                    p1[18] += p2[18]
                    p1[19] += p2[19]
                    p1[18] += s
                    del subset[idx[1]]
                else:
                    p1[ib] = pb
                    p1[19] += 1
                    p1[18] += candidate[int(pb)][2] + s
            elif k < 17:
                p = [-1.0] * 20
                p[ia], p[ib], p[19] = pa, pb, 2.0
                p[18] = 0 + candidate[int(pa)][2] + candidate[int(pb)][2] + s
                subset.append(p)
    keep = 0.5 if MUTATION == "subset_0.5" else 0.4
    subset = [p for p in subset if not (p[19] < 4 or p[18] / p[19] < keep)]
    return candidate, subset


# ---- synthetic maps: two people and a stray peak ----

PEOPLE = [
    # nose, neck, r shoulder, r elbow, r wrist, l shoulder, l elbow, l wrist, r hip, r knee, r ankle, l hip, l knee, l ankle, r eye, l eye, r ear, l ear
    [(20, 12), (20, 20), (14, 21), (12, 30), (11, 39), (26, 21), (28, 30), (29, 39), (16, 40), (16, 52), (16, 63),
     (24, 40), (24, 52), (24, 63), (18, 10), (22, 10), (16, 11), (24, 11)],
    [(60, 16), (61, 25), (54, 26), None, None, (68, 25), (71, 34), (73, 43), (57, 45), (57, 57), None,
     (65, 45), (66, 57), (67, 68), (58, 14), (62, 14), None, None],
    # a faint person of four parts (peaks 0.45, PAFs 0.06): mean score ≈ 0.49, kept at the 0.4 filter, dropped at 0.5
    [(43, 24), (43, 31), (38, 32), None, None, (48, 32)] + [None] * 12,
]
FAINT = 2


def synthetic(h, w):
    heat = [[[0.0] * w for _ in range(h)] for _ in range(19)]
    paf = [[[0.0] * w for _ in range(h)] for _ in range(38)]
    peaks = [(i, person[i], 0.45 if n == FAINT else 0.9 - 0.02 * i - 0.1 * n) for n, person in enumerate(PEOPLE) for i in range(18) if person[i] is not None]
    peaks.append((4, (44, 70), 0.5))  # a stray right wrist with no limb
    for part, (px, py), top in peaks:
        for y in range(h):
            for x in range(w):
                heat[part][y][x] = max(heat[part][y][x], top * math.exp(-((x - px) ** 2 + (y - py) ** 2) / 8.0))
    for n, person in enumerate(PEOPLE):
        for (a, b), (m0, m1) in zip(LIMBS, MAP_IDX):
            if person[a - 1] is None or person[b - 1] is None:
                continue
            (ax, ay), (bx, by) = person[a - 1], person[b - 1]
            length = math.hypot(bx - ax, by - ay)
            ux, uy = (bx - ax) / length, (by - ay) / length
            for y in range(h):
                for x in range(w):
                    t = ((x - ax) * ux + (y - ay) * uy) / length
                    d = abs((x - ax) * uy - (y - ay) * ux)
                    if -0.05 <= t <= 1.05 and d <= 1.5:
                        # strength varying along the limb, so the sample count and positions change the score
                        strength = 0.06 if n == FAINT else 0.5 + 0.4 * min(max(t, 0.0), 1.0)
                        paf[m0 - 19][y][x] = ux * strength
                        paf[m1 - 19][y][x] = uy * strength
    f32 = lambda m: [[float(np.float32(v)) for v in row] for row in m]  # noqa: E731
    return [f32(m) for m in heat], [f32(m) for m in paf]


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, np.float32).tobytes()).decode()


def main(path, check=False):
    h, w = 72, 84
    heat, paf = synthetic(h, w)
    candidate, subset = decode(heat, paf, h, w)
    out = {"decode": {"height": h, "width": w,
                      "heatmaps": b64(np.array(heat[:18])), "pafs": b64(np.array(paf)),
                      "candidates": [[c[0], c[1], c[2], c[3]] for c in candidate], "subsets": subset}}
    print(f"decode: {len(candidate)} candidates, {len(subset)} people", [(p[18], p[19]) for p in subset], file=sys.stderr)
    if MUTATION in (None, "pad_0"):
        sd = weights()
        rgb = test_image()[:64, :48]
        scaled, pafs, heatmaps, rheat, rpaf = pipeline_maps(sd, rgb)
        out["network"] = {"height": rgb.shape[0], "width": rgb.shape[1], "image": base64.b64encode(rgb.tobytes()).decode(),
                          "scaled": [int(scaled.shape[0]), int(scaled.shape[1])],
                          "pafs": b64(pafs), "heatmaps": b64(heatmaps),
                          "restored_heatmaps": b64(np.array(rheat)), "restored_pafs": b64(np.array(rpaf))}
        print(f"network: maps {pafs.shape} {heatmaps.shape}; heat range {heatmaps.min():.4g}..{heatmaps.max():.4g}, paf range {pafs.min():.4g}..{pafs.max():.4g}", file=sys.stderr)
        if check:
            import cv2
            try:
                from scipy.ndimage import gaussian_filter as scipy_gaussian  # only where scipy is installed
                ours = np.array(gaussian_filter(heat[0], h, w))
                print("gaussian vs scipy max diff", np.abs(ours - scipy_gaussian(np.array(heat[0]), 3)).max(), file=sys.stderr)
            except ImportError:
                print("scipy not installed: gaussian_filter not checked", file=sys.stderr)
            ref = cv2.resize(rgb, (0, 0), fx=0.5 * 368 / rgb.shape[0], fy=0.5 * 368 / rgb.shape[0], interpolation=cv2.INTER_CUBIC)
            print("8-bit factor resize vs cv2: max diff", np.abs(ref.astype(int) - scaled.astype(int)).max(), file=sys.stderr)
    with open(path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--mutation" in args:
        MUTATION = args[args.index("--mutation") + 1]
    main(args[0], "--check" in args)
