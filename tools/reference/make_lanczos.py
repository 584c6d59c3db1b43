"""Writes Pillow's Lanczos resize (mode "F", float32 per channel, Image.LANCZOS) of workflows/assets/landscape.png in 0..1:
down to 60x45, then that result (clamped to 0..1, as image.resize gives it) up to 100x75, for image.resize's lanczos method.
Run: /usr/bin/python3 tools/reference/make_lanczos.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/lanczos-resize.safetensors"""
import os
import sys

import numpy as np
import torch
from PIL import Image

from safetensors_io import save

rgb = np.asarray(Image.open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "workflows", "assets", "landscape.png")).convert("RGB"), dtype=np.float32) / 255


def resize(planes, size):
    return np.stack([np.asarray(Image.fromarray(p, mode="F").resize(size, Image.LANCZOS), dtype=np.float32) for p in planes])


down = resize(rgb.transpose(2, 0, 1), (60, 45))
up = resize(np.clip(down, 0, 1), (100, 75))  # image.resize clamps its output to 0..1
save(sys.argv[1], {"down": torch.from_numpy(down.copy()), "up": torch.from_numpy(up.copy())})
print(down.shape, up.shape, float(down.mean()), float(up.min()), float(up.max()))
