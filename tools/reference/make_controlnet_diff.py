"""Writes a tiny "diff" ControlNet (kohya's diff_control_sd15_* layout, as ComfyUI's DiffControlNetLoader reads it) for the
tiny SD 1.x checkpoint and its reference: `controlnet/diff/diff_control_tiny_fp16.safetensors` holds make_controlnet.py's
tiny ControlNet under `control_model.*` with the checkpoint UNet's weights subtracted from every weight the UNet also has
(time_embed, input_blocks, middle_block), in F16, and a `difference` tensor. ComfyUI adds the model's weights back to
those keys when it loads the file with a model. `controlnet/diff/reference.safetensors`: the UNet's prediction on
make_controlnet.py's end-to-end inputs with the residuals of hint-a.png at 0.6 from the ControlNet the file and the UNet
make (`e2e.diff`: F16 differences plus the UNet's weights, so within rounding of the original ControlNet).
Run after make_controlnet.py: /usr/bin/python3 tools/reference/make_controlnet_diff.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import controlnet
import sd1
from controlnet import CONTROL
from png_io import read_png
from safetensors_io import load, save

folder = sys.argv[1]
out = os.path.join(folder, "controlnet", "diff")
unet_cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
base = {k: t.float() for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items() if k.startswith(sd1.UNET)}
cn = {k: t.float() for k, t in load(os.path.join(folder, "controlnet", "control-ldm-fp16.safetensors")).items()}

diff = {"difference": torch.zeros(())}
made = {}
for key, weight in cn.items():
    model_key = sd1.UNET + key[len(CONTROL):]
    if model_key in base:
        stored = (weight - base[model_key]).half()
        diff[key] = stored
        made[key] = stored.float() + base[model_key]
    else:
        diff[key] = weight.half()
        made[key] = weight
os.makedirs(out, exist_ok=True)
save(os.path.join(out, "diff_control_tiny_fp16.safetensors"), diff)

reference = load(os.path.join(folder, "controlnet", "reference.safetensors"))
sample, context, t = reference["e2e.sample"], reference["e2e.encoder_hidden_states"], reference["e2e.timestep"]
png = read_png(os.path.join(folder, "controlnet", "hint-a.png")).unsqueeze(0).float() / 255
with torch.no_grad():
    residuals = controlnet.controlnet_forward(made, unet_cfg, sample, t, context, png)
    result = sd1.unet_forward(base, unet_cfg, sample, t, context, [0.6 * r for r in residuals])
save(os.path.join(out, "reference.safetensors"), {"e2e.diff": result})
print({"relative": sum(1 for k in cn if sd1.UNET + k[len(CONTROL):] in base), "diff-controlled": float((result - reference["e2e.controlled"]).abs().max())})
