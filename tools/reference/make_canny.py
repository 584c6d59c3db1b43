"""Writes the Canny oracle for FlowDiffusion's edge detector: workflows/assets/landscape.png shrunk to 96x96 (INTER_AREA),
its 8-bit RGB and grey image (cv2.cvtColor RGB2GRAY), and a blurred random grey image (many gradient directions and
strengths), with OpenCV's own cv2.Canny edge maps of each at several threshold pairs.
Needs Debian's python3-opencv (test data only; the product never calls it).
Run: /usr/bin/python3 tools/reference/make_canny.py tests/FlowDiffusion.Imaging.Tests/TestData/canny-opencv.json"""
import base64
import json
import sys

import cv2
import numpy as np

rgb = np.ascontiguousarray(cv2.resize(cv2.imread("workflows/assets/landscape.png")[:, :, ::-1], (96, 96), interpolation=cv2.INTER_AREA))
gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
noise = cv2.GaussianBlur(np.random.default_rng(5).integers(0, 256, (64, 80)).astype(np.uint8), (5, 5), 1.5)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def cases(g, pairs):
    return [{"low": low, "high": high, "edges": b64((cv2.Canny(g, low, high) > 0).astype(np.uint8))} for low, high in pairs]


images = [
    {"name": "landscape", "height": 96, "width": 96, "rgb_hwc": b64(rgb), "gray": b64(gray), "cases": cases(gray, [(100, 200), (30, 90), (400, 900)])},
    {"name": "blurred-noise", "height": 64, "width": 80, "gray": b64(noise), "cases": cases(noise, [(20, 60), (50, 150), (120, 160)])},
]
with open(sys.argv[1], "w") as f:
    json.dump({"opencv": cv2.__version__, "images": images}, f)
print([[int(np.frombuffer(base64.b64decode(c["edges"]), np.uint8).sum()) for c in i["cases"]] for i in images])
