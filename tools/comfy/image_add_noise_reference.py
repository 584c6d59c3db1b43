#!/usr/bin/env python3
"""Reference values for ComfyUI's ImageAddNoise: image + strength · torch.randn(image.shape) with torch's CPU generator
seeded by the node's seed, drawn in ComfyUI's [batch, height, width, channel] layout, clamped to 0 … 1 (float32, as
ComfyUI runs it). The images are 8-bit pixels read as value / 255, from the formula below (the test writes the same
PNG); a batch repeats the image. The expected values are written planar, [batch, channel, height, width], as
FlowDiffusion's images are.

Usage: /usr/bin/python3 tools/comfy/image_add_noise_reference.py > tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/image-add-noise-reference.json
"""
import json
import torch


def pixel(x, y):
    return ((x * 40 + y * 7) % 256, (x * 13 + y * 90 + 5) % 256, (x * 3 + y * 33 + 100) % 256)


def case(name, width, height, batch, seed, strength):
    values = torch.tensor([[pixel(x, y) for x in range(width)] for y in range(height)], dtype=torch.float32) / 255.0
    image = values.unsqueeze(0).repeat(batch, 1, 1, 1)
    generator = torch.manual_seed(seed)
    noisy = torch.clip(image + strength * torch.randn(image.size(), generator=generator, device="cpu").to(image), min=0.0, max=1.0)
    return {"name": name, "width": width, "height": height, "batch": batch, "seed": seed, "strength": strength,
            "expected": noisy.permute(0, 3, 1, 2).flatten().tolist()}


cases = [
    # 45 values: torch's vectorised path, its last block of 16 redrawn.
    case("vectorised", 5, 3, 1, 42, 0.5),
    # 12 values: torch's scalar path.
    case("scalar", 2, 2, 1, 7, 0.13),
    # One draw over the batch: the second image's noise follows the first's.
    case("batch", 4, 3, 2, 2**63 + 5, 0.9),
]
print(json.dumps({"image_add_noise": cases}))
