"""Writes a tiny three-level SD 1.x UNet and ComfyUI's FreeU / FreeU_V2 applied to it, for the C# FreeU graph's tests.
The UNet (model_channels 32, widths 64/128/32, one block per level, attention on the last level) is wide enough that
both patched widths occur in its decoder: h with 4 x 32 channels (b1, s1) and 2 x 32 (b2, s2), and the concatenations
after the 32-wide levels are left alone. The patch alone is also applied to random feature maps of odd sizes and of a
single row or column (`patch.*`), which the UNet's sizes do not reach.
FreeU and FreeU_V2 as freeu.py writes them (ComfyUI's comfy_extras/nodes_freelunch.py).
Writes `ldm-unet.safetensors` (F16 weights, UNet keys only) and `reference.safetensors` (inputs; the plain prediction;
each case's prediction; each case's b1, b2, s1, s2, version).
Run: /usr/bin/python3 tools/reference/make_freeu.py tests/FlowDiffusion.Checkpoints.Tests/TestData/freeu"""
import os
import sys

import torch

import freeu as freeu_patch
import sd1
from safetensors_io import save

out = sys.argv[1]
cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 4, 1), num_res_blocks=1, attention_levels=(2,), num_heads=8, context_dim=16)
sd = {k: t.half().float() for k, t in sd1.unet_weights(cfg, seed=31).items()}


def freeu(*params):
    return freeu_patch.freeu(cfg.model_channels, *params)


g = torch.Generator().manual_seed(41)
sample = torch.randn(2, 4, 12, 8, generator=g)  # filtered skips 6x4 and 12x8
small = torch.randn(1, 4, 4, 8, generator=g)
timestep = torch.tensor([999.0, 17.0])
context = torch.randn(2, 5, 16, generator=g)
cases = {
    "v1": (sample, (1.1, 1.2, 0.9, 0.2, 1)),        # ComfyUI's FreeU defaults
    "v2": (sample, (1.3, 1.4, 0.9, 0.2, 2)),        # FreeU_V2's defaults
    "v2_far": (sample, (0.5, 2.0, 0.0, 3.0, 2)),
    "v1_small": (small, (1.5, 0.7, 0.3, 1.8, 1)),
}
tensors = {"sample": sample, "small": small, "timestep": timestep, "encoder_hidden_states": context}
with torch.no_grad():
    tensors["plain"] = sd1.unet_forward(sd, cfg, sample, timestep, context)
    for name, (x, params) in cases.items():
        tensors[name] = sd1.unet_forward(sd, cfg, x, timestep[:x.shape[0]], context[:x.shape[0]], output_patch=freeu(*params))
        tensors[name + ".params"] = torch.tensor(params, dtype=torch.float32)
# The patch alone: h [2, 128, H, W] (b1, s1) with a skip [2, 64, H, W], for V1 and V2, at sizes the UNet does not reach.
with torch.no_grad():
    for height, width in [(3, 5), (1, 4), (5, 1), (1, 1), (2, 7)]:
        h = torch.randn(2, 128, height, width, generator=g)
        skip = torch.randn(2, 64, height, width, generator=g)
        tensors[f"patch.{height}x{width}.h"] = h
        tensors[f"patch.{height}x{width}.skip"] = skip
        for version in (1, 2):
            if version == 2 and height * width == 1:
                continue  # V2 divides by max - min of one pixel: NaN in ComfyUI too
            ph, pskip = freeu(1.3, 1.0, 0.6, 1.0, version)(h, skip)
            tensors[f"patch.{height}x{width}.v{version}.h"] = ph
            tensors[f"patch.{height}x{width}.v{version}.skip"] = pskip
os.makedirs(out, exist_ok=True)
save(os.path.join(out, "ldm-unet.safetensors"), {k: t.half() for k, t in sd.items()})
save(os.path.join(out, "reference.safetensors"), tensors)
print({k: float((tensors[k] - (tensors["plain"] if k != "v1_small" else 0)).abs().mean()) for k in cases})
