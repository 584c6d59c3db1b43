"""Writes a tiny SDXL ControlNet for the tiny SDXL checkpoint (make_sdxl_checkpoint.py: widths 64/32, one block per
level, transformer depths 0/2, context 64, pooled 40) and reference outputs, for the C# SDXL ControlNet tests:
`diffusers/diffusion_pytorch_model.safetensors` (diffusers ControlNetModel names with add_embedding, BF16, the layout
SDXL ControlNets are published in), `control-ldm-fp16.safetensors` (the same weights under `control_model.*`, F16) and
`reference.safetensors` with the inputs, the residuals at strength 1 and the checkpoint UNet's prediction with them
added (strength 1; two control images stacked at 0.7 and 0.4); and an end-to-end case through `hint-a.png` (8-bit)
at strength 0.6, with its size conditioning.
Weights are rounded to bfloat16 first, so both files hold them exactly.
Run: /usr/bin/python3 tools/reference/make_sdxl_controlnet.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sdxl-tiny"""
import os
import sys

import torch

import sdxl
import sdxl_controlnet
from png_io import write_png
from safetensors_io import load, save

folder = sys.argv[1]
out = os.path.join(folder, "controlnet")
unet_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2), context_dim=64, pooled_dim=40)
base = {k: t.float() for k, t in load(os.path.join(folder, "sdxl-fp16.safetensors")).items() if k.startswith(sdxl.UNET)}
cn = {k: t.bfloat16().float() for k, t in sdxl_controlnet.controlnet_weights(unet_cfg).items()}

os.makedirs(os.path.join(out, "diffusers"), exist_ok=True)
save(os.path.join(out, "control-ldm-fp16.safetensors"), {k: t.half() for k, t in cn.items()})
save(os.path.join(out, "diffusers", "diffusion_pytorch_model.safetensors"),
     {k: t.bfloat16() for k, t in sdxl_controlnet.diffusers_names(cn, unet_cfg).items()})

g = torch.Generator().manual_seed(23)
with torch.no_grad():
    sample = torch.randn(2, 4, 8, 8, generator=g)
    timestep = torch.tensor([999.0, 17.0])
    context = torch.randn(2, 16, 64, generator=g)
    text_embeds = torch.randn(2, 40, generator=g)
    time_ids = torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0], [768.0, 1344.0, 16.0, 32.0, 896.0, 1152.0]])
    hint = torch.rand(2, 3, 64, 64, generator=g)
    hint_b = torch.rand(2, 3, 64, 64, generator=g)
    args = (sample, timestep, context, text_embeds, time_ids)
    residuals = sdxl_controlnet.controlnet_forward(cn, unet_cfg, *args, hint)
    residuals_b = sdxl_controlnet.controlnet_forward(cn, unet_cfg, *args, hint_b)
    plain = sdxl.unet_forward(base, unet_cfg, *args)
    controlled = sdxl.unet_forward(base, unet_cfg, *args, residuals)
    stacked = sdxl.unet_forward(base, unet_cfg, *args, [0.7 * a + 0.4 * b for a, b in zip(residuals, residuals_b)])
tensors = {"sample": sample, "timestep": timestep, "encoder_hidden_states": context, "text_embeds": text_embeds, "time_ids": time_ids,
           "controlnet_cond": hint, "controlnet_cond_b": hint_b, "unet.out_sample": plain, "unet.controlled": controlled, "unet.stacked": stacked}
for i, r in enumerate(residuals[:-1]):
    tensors[f"down_block_{i}"] = r
tensors["mid_block_res_sample"] = residuals[-1]
# End to end through an image file: a batch-1 control image quantised to 8 bits (image.load reads back byte / 255), one
# timestep, strength 0.6, and the size conditioning the UNet uses by default for 8x8 latents (64x64, no crop).
with torch.no_grad():
    e2e = (torch.randn(1, 4, 8, 8, generator=g), torch.tensor([999.0]), torch.randn(1, 16, 64, generator=g),
           torch.randn(1, 40, generator=g), torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0]]))
    png = torch.randint(0, 256, (1, 3, 64, 64), generator=g, dtype=torch.uint8)
    ra = sdxl_controlnet.controlnet_forward(cn, unet_cfg, *e2e, png.float() / 255)
    tensors.update({
        "e2e.sample": e2e[0], "e2e.timestep": e2e[1], "e2e.encoder_hidden_states": e2e[2], "e2e.text_embeds": e2e[3], "e2e.time_ids": e2e[4],
        "e2e.plain": sdxl.unet_forward(base, unet_cfg, *e2e),
        "e2e.controlled": sdxl.unet_forward(base, unet_cfg, *e2e, [0.6 * r for r in ra]),
    })
write_png(os.path.join(out, "hint-a.png"), png[0])
save(os.path.join(out, "reference.safetensors"), tensors)
print({"residuals": [float(r.abs().mean()) for r in residuals], "plain": float(plain.abs().mean()),
       "controlled-plain": float((controlled - plain).abs().mean()), "stacked-plain": float((stacked - plain).abs().mean()),
       "e2e": float((tensors["e2e.controlled"] - tensors["e2e.plain"]).abs().max())})
