"""Writes the pose-drawing oracle for FlowDiffusion's image.pose: seeded random people (18 OpenPose body points, two
hands of 21 points, 70 face points, each present or absent) drawn with OpenCV as the openpose ControlNet annotator
draws them (limbs: ellipse2Poly with integer centre, half-axes (length / 2, 4) and angle, fillConvexPoly in 0.6 × the
limb colour; body points: circles of radius 4; hand bones: 2-px lines in hue ie / 20 (hsv → rgb written out, as
matplotlib computes it); hand points: blue circles of radius 4; face points: white circles of radius 3; hand and face
points at a truncated coordinate of 0 skipped).
Needs Debian's python3-opencv (test data only; the product never calls it).
Run: /usr/bin/python3 tools/reference/make_openpose.py tests/FlowDiffusion.Imaging.Tests/TestData/openpose-opencv.json"""
import base64
import json
import math
import sys

import cv2
import numpy as np

LIMBS = [(1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)]
COLORS = [[255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0],
          [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255],
          [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85]]
BONES = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
         (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20)]


def hue(h):
    i = int(h * 6.0)
    f = h * 6.0 - i
    q, t = 1 - f, 1 - (1 - f)
    return [(1, t, 0), (q, 1, 0), (0, 1, t), (0, q, 1), (t, 0, 1), (1, 0, q)][i % 6]


def draw(people, height, width):
    canvas = np.zeros((height, width, 3), np.uint8)
    for person in people:
        body = person["body"]
        for i, (a, b) in enumerate(LIMBS):
            if body[a] is None or body[b] is None:
                continue
            (x0, y0), (x1, y1) = body[a], body[b]
            length = ((y0 - y1) ** 2 + (x0 - x1) ** 2) ** 0.5
            angle = math.degrees(math.atan2(y0 - y1, x0 - x1))
            polygon = cv2.ellipse2Poly((int((x0 + x1) / 2), int((y0 + y1) / 2)), (int(length / 2), 4), int(angle), 0, 360, 1)
            cv2.fillConvexPoly(canvas, polygon, [int(float(c) * 0.6) for c in COLORS[i]])
        for i, point in enumerate(body):
            if point is not None:
                cv2.circle(canvas, (int(point[0]), int(point[1])), 4, COLORS[i], thickness=-1)
        for hand in (person["left"], person["right"]):
            for i, (a, b) in enumerate(BONES):
                if hand[a] is None or hand[b] is None:
                    continue
                x0, y0, x1, y1 = int(hand[a][0]), int(hand[a][1]), int(hand[b][0]), int(hand[b][1])
                if x0 > 0.01 and y0 > 0.01 and x1 > 0.01 and y1 > 0.01:
                    cv2.line(canvas, (x0, y0), (x1, y1), [v * 255 for v in hue(i / float(len(BONES)))], thickness=2)
            for point in hand:
                if point is not None and int(point[0]) > 0.01 and int(point[1]) > 0.01:
                    cv2.circle(canvas, (int(point[0]), int(point[1])), 4, (0, 0, 255), thickness=-1)
        for point in person["face"]:
            if point is not None and int(point[0]) > 0.01 and int(point[1]) > 0.01:
                cv2.circle(canvas, (int(point[0]), int(point[1])), 3, (255, 255, 255), thickness=-1)
    return canvas


def points(rng, count, centre, spread, height, width, present):
    return [[float(np.clip(centre[0] + rng.normal(0, spread), -3, width - 0.01)), float(np.clip(centre[1] + rng.normal(0, spread), -3, height - 0.01))]
            if rng.random() < present else None for _ in range(count)]


rng = np.random.default_rng(21)
cases = []
for height, width, count in [(160, 128, 1), (128, 192, 3), (96, 96, 2)]:
    people = []
    for _ in range(count):
        centre = (rng.uniform(0, width), rng.uniform(0, height))
        people.append({
            "body": points(rng, 18, centre, width / 5, height, width, 0.8),
            "left": points(rng, 21, (centre[0] - 20, centre[1] + 10), 8, height, width, 0.7),
            "right": points(rng, 21, (centre[0] + 20, centre[1] + 10), 8, height, width, 0.7),
            "face": points(rng, 70, (centre[0], centre[1] - 30), 6, height, width, 0.6),
        })
    canvas = draw(people, height, width)
    cases.append({"height": height, "width": width, "people": people, "rgb_hwc": base64.b64encode(canvas.tobytes()).decode()})

with open(sys.argv[1], "w") as f:
    json.dump({"opencv": cv2.__version__, "cases": cases}, f)
