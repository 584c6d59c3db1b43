"""Writes the content shuffle and the 8-bit gaussian blur as the published annotators compute them, with numpy's own
generators and Debian's OpenCV 4.6 (cv2.resize, cv2.remap, cv2.GaussianBlur), for ContentShuffleTests and
GaussianBlur8BitTests:
- aux (comfyui_controlnet_aux ContentShuffleDetector): resize_image_with_pad (INTER_CUBIC up, INTER_AREA down, edge
  padding to multiples of 64), make_noise_disk twice from np.random.default_rng(seed) (or, for seed 0, numpy's global
  generator, here after np.random.seed(0)), cv2.remap INTER_LINEAR on the padded image, then the padding cropped;
- extension (sd-webui-controlnet's shuffle): the same resize, cropped first, then shuffled after np.random.seed(seed);
- blur: cv2.GaussianBlur(image, (0, 0), sigma) of 8-bit images (blur_gaussian blurs the scaled, cropped image).
Run: /usr/bin/python3 tools/reference/make_shuffle.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/content-shuffle.json"""
import base64
import json
import sys

import cv2
import numpy as np


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def resize_with_pad(img, resolution):
    h, w, _ = img.shape
    k = float(resolution) / float(min(h, w))
    ht, wt = int(np.round(float(h) * k)), int(np.round(float(w) * k))
    img = cv2.resize(img, (wt, ht), interpolation=cv2.INTER_CUBIC if k > 1 else cv2.INTER_AREA)
    pad = lambda x: int(np.ceil(float(x) / 64.0) * 64 - x)
    return np.pad(img, [[0, pad(ht)], [0, pad(wt)], [0, 0]], mode="edge"), ht, wt


def noise_disk(h, w, f, draw):
    noise = draw(((h // f) + 2, (w // f) + 2, 1))
    noise = cv2.resize(noise, (w + 2 * f, h + 2 * f), interpolation=cv2.INTER_CUBIC)
    noise = noise[f: f + h, f: f + w]
    noise -= np.min(noise)
    noise /= np.max(noise)
    return noise[:, :, None]


def shuffle(img, draw):
    h, w, _ = img.shape
    x = noise_disk(h, w, 256, draw) * float(w - 1)
    y = noise_disk(h, w, 256, draw) * float(h - 1)
    flow = np.concatenate([x, y], axis=2).astype(np.float32)
    return cv2.remap(img, flow, None, cv2.INTER_LINEAR), flow


def test_image(h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(7)
    img = np.stack([
        (xx * 255 / (w - 1)),
        128 + 100 * np.sin(xx / 3.0 + yy / 5.0),
        ((xx // 6 + yy // 6) % 2) * 200 + rng.integers(0, 40, (h, w)),
    ], axis=2)
    return np.clip(img, 0, 255).astype(np.uint8)


image = test_image(120, 150)
cases = []
for source, seed, resolution in [("aux", 1, 64), ("aux", 2**64 - 1, 300), ("aux", 0, 64), ("extension", 84, 64), ("extension", 2**32 - 1, 300)]:
    padded, ht, wt = resize_with_pad(image, resolution)
    if source == "aux" and seed:
        rng = np.random.default_rng(seed)
        draw = lambda size: rng.uniform(low=0, high=1, size=size)
    else:
        np.random.seed(seed)
        draw = lambda size: np.random.uniform(low=0, high=1, size=size)
    target = padded if source == "aux" else padded[:ht, :wt]
    result, flow = shuffle(target, draw)
    result = result[:ht, :wt]
    case = {"source": source, "seed": str(seed), "resolution": resolution, "height": ht, "width": wt, "output": b64(result)}
    if resolution == 64:
        case["flow"] = b64(flow)  # float32 (h, w, 2) of the shuffled image (padded for aux)
    cases.append(case)

small = test_image(60, 80)
blurs = []
for sigma in [0.01, 0.3, 1.0, 2.5, 9.0, 30.0, 64.0]:
    blurs.append({"sigma": sigma, "white": False, "output": b64(cv2.GaussianBlur(small, (0, 0), sigma))})
white = np.full((60, 80, 3), 255, np.uint8)
for sigma in [0.7, 9.0]:
    blurs.append({"sigma": sigma, "white": True, "output": b64(cv2.GaussianBlur(white, (0, 0), sigma))})
line = small[:1]
blurs.append({"sigma": 2.0, "white": False, "row": True, "output": b64(cv2.GaussianBlur(line, (0, 0), 2.0))})
# blur_gaussian: resize_image_with_pad at 64, the padding removed, then the blur at the slider's default 9.
padded, ht, wt = resize_with_pad(image, 64)
module = cv2.GaussianBlur(np.ascontiguousarray(padded[:ht, :wt]), (0, 0), 9.0)

out = {
    "opencv": cv2.__version__, "numpy": np.__version__,
    "image": {"height": 120, "width": 150, "rgb_hwc": b64(image)},
    "small": {"height": 60, "width": 80, "rgb_hwc": b64(small)},
    "shuffles": cases, "blurs": blurs,
    "blur_gaussian": {"resolution": 64, "sigma": 9.0, "height": ht, "width": wt, "output": b64(module)},
}
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
print(cv2.__version__, np.__version__, [(c["source"], c["seed"], c["height"], c["width"]) for c in cases])
