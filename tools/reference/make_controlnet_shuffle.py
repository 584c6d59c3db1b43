"""Writes the reference for a ControlNet 1.1 shuffle model's global average pooling, as ComfyUI applies it to a file
named `*_shuffle` / `*_shuffle_fp16` (control_v11e_sd15_shuffle): every residual averaged over its height and width
(repeated back to its size) before the strength. Reads the tiny SD 1.x checkpoint, its tiny ControlNet and the
end-to-end inputs make_controlnet.py wrote; writes `controlnet/shuffle-reference.safetensors` with the UNet's prediction
with the pooled residuals of hint-a.png at strength 0.6 (`e2e.shuffle`).
Run after make_controlnet.py: /usr/bin/python3 tools/reference/make_controlnet_shuffle.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import controlnet
import sd1
from png_io import read_png
from safetensors_io import load, save

folder = sys.argv[1]
out = os.path.join(folder, "controlnet")
unet_cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
base = {k: t.float() for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items() if k.startswith(sd1.UNET)}
cn = {k: t.float() for k, t in load(os.path.join(out, "control-ldm-fp16.safetensors")).items()}
reference = load(os.path.join(out, "reference.safetensors"))
sample, context, t = reference["e2e.sample"], reference["e2e.encoder_hidden_states"], reference["e2e.timestep"]
png = read_png(os.path.join(out, "hint-a.png")).unsqueeze(0).float() / 255
with torch.no_grad():
    residuals = controlnet.controlnet_forward(cn, unet_cfg, sample, t, context, png)
    pooled = [r.mean(dim=(2, 3), keepdim=True).expand_as(r) for r in residuals]
    shuffle = sd1.unet_forward(base, unet_cfg, sample, t, context, [0.6 * r for r in pooled])
save(os.path.join(out, "shuffle-reference.safetensors"), {"e2e.shuffle": shuffle})
print({"shuffle-controlled": float((shuffle - reference["e2e.controlled"]).abs().max()),
       "shuffle-plain": float((shuffle - reference["e2e.plain"]).abs().max())})
