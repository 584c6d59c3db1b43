"""Writes torch's bicubic resize (F.interpolate, mode="bicubic", align_corners=False) of seeded latents, for latent.resize:
torch.randn on a CPU generator seeded 7 (what latent.noise draws for seed 7 at 128x128 pixels), [1, 4, 16, 16], upscaled
to 21x24 and downscaled to 10x9 latent pixels (width x height).
Run: /usr/bin/python3 tools/reference/make_resize.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/bicubic-resize.safetensors"""
import sys

import torch
import torch.nn.functional as F

from safetensors_io import save

x = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(7))
save(sys.argv[1], {
    "noise": x,
    "up": F.interpolate(x, size=(24, 21), mode="bicubic", align_corners=False),
    "down": F.interpolate(x, size=(9, 10), mode="bicubic", align_corners=False),
})
