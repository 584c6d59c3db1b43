#!/usr/bin/env python3
"""Reference values for ComfyUI's ImageBlur and ImageSharpen, computed with torch in float32 from their published
definitions: a (2r+1)^2 gaussian whose taps lie on linspace(-1, 1) in both directions, exp(-d^2 / 2 sigma^2) normalised
to sum 1; the image padded by r with 'reflect' and convolved as a full 2-D kernel per channel. Sharpen's kernel is the
gaussian times -(10 alpha) with (1 - its sum) added at the centre, the result clamped to 0..1. FlowDiffusion applies the
gaussian as two 1-D passes and sharpens as x + 10 alpha (x - blur), so this checks that algebra and its edges.

Usage: /usr/bin/python3 tools/comfy/postprocessing_reference.py > tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/postprocessing-reference.json
"""
import json
import torch
import torch.nn.functional as F

def gaussian(size, sigma):
    axis = torch.linspace(-1, 1, size)
    x, y = torch.meshgrid(axis, axis, indexing="ij")
    weights = torch.exp(-(x * x + y * y) / (2.0 * sigma * sigma))
    return weights / weights.sum()

def convolve(image, kernel, radius):
    channels = image.shape[1]
    padded = F.pad(image, (radius, radius, radius, radius), mode="reflect")
    return F.conv2d(padded, kernel.expand(channels, 1, *kernel.shape), groups=channels)

def blur(image, radius, sigma):
    return convolve(image, gaussian(2 * radius + 1, sigma), radius)

def sharpen(image, radius, sigma, alpha):
    kernel = gaussian(2 * radius + 1, sigma) * -(alpha * 10)
    kernel[radius, radius] += 1.0 - kernel.sum()
    return convolve(image, kernel, radius).clamp(0, 1)

# A 6 × 7 RGB image with no symmetry, in 8-bit levels (the test writes it as a PNG), as planar 0..1 floats.
batch, height, width = 1, 6, 7
index = torch.arange(batch * 3 * height * width, dtype=torch.float64)
levels = torch.round((torch.sin(index * 1.7) * 0.5 + 0.5) ** 1.5 * 255)
image = (levels / 255).float().reshape(batch, 3, height, width)

cases = []
for radius, sigma in [(1, 1.0), (2, 0.3), (3, 2.5), (5, 0.7)]:
    cases.append({"node": "blur", "radius": radius, "sigma": sigma, "output": blur(image, radius, sigma).flatten().tolist()})
for radius, sigma, alpha in [(1, 1.0, 1.0), (1, 1.0, 0.03), (2, 0.5, 0.01), (3, 1.5, 0.02), (2, 1.0, 0.0)]:
    cases.append({"node": "sharpen", "radius": radius, "sigma": sigma, "alpha": alpha,
                  "output": sharpen(image, radius, sigma, alpha).flatten().tolist()})
print(json.dumps({"height": height, "width": width, "levels": [int(v) for v in levels.tolist()], "cases": cases}))
