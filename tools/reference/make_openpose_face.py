"""The ControlNet annotators' classic OpenPose face estimator (comfyui_controlnet_aux's and sd-webui-controlnet's Face with
util.faceDetect and detect_face: CMU's face network of lllyasviel's facenet.pth), restated from the published definitions
on deterministic weights (test data only).

Weights: make_hed.hashed(t, n, e) per tensor in state-dict order (conv1_1 … conv5_3_CPM, conv6_1_CPM, conv6_2_CPM, then
Mconv1…7_stage2 … _stage6), e = round(log2(1 / sqrt(6 / fan_in))), biases 2^-4 — the C# tests write the same facenet.pth
(tests/Shared/OpenPoseFaceWeights.cs).
The network (torch): BGR ÷ 256 − 0.5; 3×3 convolutions + ReLU with 2×2 max pools after conv1_2, conv2_2, conv3_4;
conv6_1_CPM (1×1, 512) + ReLU, conv6_2_CPM (1×1, 71); stages 2–6 on cat(previous heatmaps, features): Mconv1…5 (7×7) and
Mconv6 (1×1) with ReLU, Mconv7 (1×1, 71) without.
faceDetect: with a nose and any eye or ear, half = max(3 · Chebyshev(nose, eye), 1.5 · Chebyshev(nose, ear)); corner nose −
half clamped at 0; side 2 · half, cut to W − x only when x + half > W (likewise rows); kept from 20, truncated.
Face.__call__: the crop (numpy slice, so a box past the image is cut) smart_resized to 384² (the crop's pixels: the 8-bit
LANCZOS4 of make_openpose_hand for crops under 384), the network, F.interpolate(bilinear, align_corners=True) to the crop's
size; compute_peaks_from_heatmaps on all 71 maps: a map never above 0.05 is skipped, else its first maximum (np.where's
order); detect_face: a coordinate < 1e-6 is missing, the others + the box's corner.

Writes `boxes` (bodies → boxes), `peaks` (hand-made 71 × 48 × 48 maps enlarged to crops of two sizes → the compacted points,
exactly), `network` (a 184² image through the network; maps within tolerance) and `input` (a 45 × 34 crop → the 384² input
pixels; `--check` compares it with cv2.resize).
Run: /usr/bin/python3 tools/reference/make_openpose_face.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/openpose-face-reference.json [--check]
"""
import base64
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aux_preprocessors import test_image  # noqa: E402
from make_hed import hashed  # noqa: E402
from make_openpose_hand import lanczos4_bytes  # noqa: E402

TRUNK = [("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
         ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
         ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512), ("conv4_4", 512, 512),
         ("conv5_1", 512, 512), ("conv5_2", 512, 512), ("conv5_3_CPM", 512, 128)]
POOLED = {"conv1_2", "conv2_2", "conv3_4"}
C = 71


def stage_layers(stage):
    if stage == 1:
        return [("conv6_1_CPM", 128, 512, 1), ("conv6_2_CPM", 512, C, 1)]
    return ([(f"Mconv{i}_stage{stage}", C + 128 if i == 1 else 128, 128, 7) for i in range(1, 6)]
            + [(f"Mconv6_stage{stage}", 128, 128, 1), (f"Mconv7_stage{stage}", 128, C, 1)])


def keys():
    layout = []
    for n, i, o in TRUNK:
        layout += [(n + ".weight", (o, i, 3, 3)), (n + ".bias", (o,))]
    for stage in range(1, 7):
        for n, i, o, k in stage_layers(stage):
            layout += [(n + ".weight", (o, i, k, k)), (n + ".bias", (o,))]
    return layout


def weights():
    def exponent(name, shape):
        return 4 if name.endswith(".bias") else int(round(np.log2(1 / np.sqrt(6.0 / int(np.prod(shape[1:]))))))
    return {name: torch.from_numpy(hashed(t, int(np.prod(shape)), exponent(name, shape)).reshape(shape).astype(np.float32))
            for t, (name, shape) in enumerate(keys())}


def network(sd, bgr):
    """[1, 3, S, S] float BGR 0..255 → heatmaps [71, S/8, S/8] (FaceNet.forward's last)."""
    def conv(x, name):
        w = sd[name + ".weight"]
        return F.conv2d(x, w, sd[name + ".bias"], padding=w.shape[2] // 2)

    h = bgr / 256.0 - 0.5
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


def face_box(body, H, W):
    """util.faceDetect on 18 points (None or (x, y)) in pixels."""
    head = body[0]
    others = [body[i] for i in (14, 15, 16, 17)]
    if head is None or all(p is None for p in others):
        return None
    width = 0.0
    x0, y0 = head
    for p, k in zip(others, (3.0, 3.0, 1.5, 1.5)):
        if p is not None:
            width = max(width, max(abs(x0 - p[0]), abs(y0 - p[1])) * k)
    x, y = x0 - width, y0 - width
    x = max(x, 0)
    y = max(y, 0)
    w1 = W - x if x + width > W else width * 2
    w2 = H - y if y + width > H else width * 2
    width = min(w1, w2)
    return [int(x), int(y), int(width)] if width >= 20 else None


def peaks(heat, crop_h, crop_w):
    """Face.__call__'s interpolation and compute_peaks_from_heatmaps."""
    big = F.interpolate(torch.from_numpy(np.ascontiguousarray(heat, np.float32))[None], (crop_h, crop_w),
                        mode="bilinear", align_corners=True).numpy()[0]
    out = []
    for part in range(big.shape[0]):
        m = big[part]
        binary = m > 0.05
        if binary.sum() == 0:
            continue
        pos = np.where(binary)
        mi = np.argmax(m[pos])
        out.append([int(pos[1][mi]), int(pos[0][mi])])
    return out


def synthetic():
    """71 maps of 48 × 48 with the cases the peak rules decide."""
    yy, xx = np.mgrid[0:48, 0:48].astype(np.float64)
    maps = np.zeros((C, 48, 48))
    for p in range(C):
        cx, cy = 3 + (p * 7) % 42 + 0.37 * (p % 3), 4 + (p * 11) % 40 + 0.21 * (p % 5)
        maps[p] = (0.3 + 0.005 * p) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 1.7 ** 2))
    maps[5] = 0.04  # never above 0.05: skipped, the points after it move up
    maps[9] = 0
    maps[9, 20, 0] = 0.9  # at column 0: missing
    maps[12] = 0
    maps[12, 30:34, 10:14] = 0.5  # a plateau: the first maximum in scan order
    maps[17] = -0.2  # negative everywhere: skipped
    maps[17, 47, 47] = 0.06  # but its corner passes, so it is kept (bottom-right)
    maps[70] = 0.6 - 0.5 * np.exp(-((xx - 24) ** 2 + (yy - 24) ** 2) / 50.0)  # a background map: high at the edges
    return maps.astype(np.float32)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, np.float32).tobytes()).decode()


def main(path, check):
    H, W = 200, 256
    bodies = [
        # nose, both eyes and ears: the ears decide (1.5 · 16 = 24 ≥ 3 · 8)
        {0: (100, 80), 14: (92, 74), 15: (108, 74), 16: (84, 78), 17: (116, 78)},
        # near the top-left corner: the corner clamped at 0, the side kept
        {0: (10, 12), 15: (20, 5)},
        # near the right edge: x + half is inside, so the side is kept and the box ends past the image
        {0: (245, 100), 17: (230, 100)},
        # a huge ear distance: corner clamped to 0 and the side cut to the image's height
        {0: (30, 30), 16: (30, 170)},
        # too small: under 20 px, dropped
        {0: (50, 50), 14: (53, 52)},
        # no nose / nose without eyes or ears: none
        {14: (60, 60), 15: (70, 60)},
        {0: (60, 60), 2: (40, 80)},
        # fractional points: truncated at the end
        {0: (150.5, 120.25), 15: (146, 115.75)},
    ]
    bodies = [[b.get(i) for i in range(18)] for b in bodies]
    boxes = [face_box(b, H, W) for b in bodies]
    maps = synthetic()
    crops = [[45, 34], [97, 130]]
    points = [peaks(maps, h, w) for h, w in crops]
    print("boxes", boxes, "\npoints", [len(p) for p in points], points[0][:12], file=sys.stderr)
    out = {"boxes": {"height": H, "width": W, "bodies": [[None if p is None else list(p) for p in b] for b in bodies], "boxes": boxes},
           "peaks": {"maps": b64(maps), "crops": crops, "points": points}}
    rgb = test_image()
    rows = (np.arange(184) * rgb.shape[0]) // 184
    cols = (np.arange(184) * rgb.shape[1]) // 184
    img = np.ascontiguousarray(rgb[rows][:, cols])
    bgr = torch.from_numpy(img[:, :, ::-1].astype(np.float32).transpose(2, 0, 1).copy())[None]
    heat = network(weights(), bgr)
    print(f"network: {heat.shape}, range {heat.min():.4g}..{heat.max():.4g}", file=sys.stderr)
    out["network"] = {"side": 184, "image": base64.b64encode(img.tobytes()).decode(), "heatmaps": b64(heat)}
    crop = np.ascontiguousarray(rgb[10:55, 20:54])
    scaled = lanczos4_bytes(crop, 384, 384)
    out["input"] = {"height": 45, "width": 34, "crop": base64.b64encode(crop.tobytes()).decode(),
                    "pixels": base64.b64encode(scaled.tobytes()).decode()}
    if check:
        import cv2
        ref = cv2.resize(crop, (384, 384), interpolation=cv2.INTER_LANCZOS4).astype(int)
        print(f"lanczos4 384 vs cv2: max diff {np.abs(scaled.astype(int) - ref).max()}, differing {(scaled != ref).mean():.2e}", file=sys.stderr)
    with open(path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], "--check" in sys.argv[2:])
