"""Writes a tiny ControlNet for the tiny SD 1.x checkpoint (make_sd1_checkpoints.py: widths 64/32, one block per
level, attention on the second level) and reference outputs, for the C# ControlNet builder's tests:
`control-ldm-fp16.safetensors` (LDM `control_model.*` keys, F16), `diffusers/diffusion_pytorch_model.safetensors`
(diffusers ControlNetModel names, BF16) and `reference.safetensors` with the inputs, the residuals at strength 1, and
the checkpoint UNet's prediction with the residuals added (strength 1; and two control images stacked at 0.7 and 0.4);
and an end-to-end case through `hint-a.png`/`hint-b.png` (8-bit control images) at strength 0.6, stacked at 0.7 and 0.4,
and at 0.6 in guess mode.
Weights are rounded to bfloat16 first, so both files hold them exactly.
Run: /usr/bin/python3 tools/reference/make_controlnet.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import controlnet
import sd1
from png_io import write_png
from safetensors_io import load, save



folder = sys.argv[1]
out = os.path.join(folder, "controlnet")
unet_cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
base = {k: t.float() for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items() if k.startswith(sd1.UNET)}
cn = {k: t.bfloat16().float() for k, t in controlnet.controlnet_weights(unet_cfg).items()}

os.makedirs(os.path.join(out, "diffusers"), exist_ok=True)
save(os.path.join(out, "control-ldm-fp16.safetensors"), {k: t.half() for k, t in cn.items()})
save(os.path.join(out, "diffusers", "diffusion_pytorch_model.safetensors"),
     {k: t.bfloat16() for k, t in controlnet.diffusers_names(cn, unet_cfg).items()})

g = torch.Generator().manual_seed(21)
with torch.no_grad():
    sample = torch.randn(2, 4, 8, 8, generator=g)
    timestep = torch.tensor([999.0, 17.0])
    context = torch.randn(2, 77, 64, generator=g)
    hint = torch.rand(2, 3, 64, 64, generator=g)
    hint_b = torch.rand(2, 3, 64, 64, generator=g)
    residuals = controlnet.controlnet_forward(cn, unet_cfg, sample, timestep, context, hint)
    residuals_b = controlnet.controlnet_forward(cn, unet_cfg, sample, timestep, context, hint_b)
    plain = sd1.unet_forward(base, unet_cfg, sample, timestep, context)
    controlled = sd1.unet_forward(base, unet_cfg, sample, timestep, context, residuals)
    stacked = sd1.unet_forward(base, unet_cfg, sample, timestep, context, [0.7 * a + 0.4 * b for a, b in zip(residuals, residuals_b)])
tensors = {"sample": sample, "timestep": timestep, "encoder_hidden_states": context, "controlnet_cond": hint, "controlnet_cond_b": hint_b,
           "unet.out_sample": plain, "unet.controlled": controlled, "unet.stacked": stacked}
for i, r in enumerate(residuals[:-1]):
    tensors[f"down_block_{i}"] = r
tensors["mid_block_res_sample"] = residuals[-1]
# End to end through image files: batch-1 control images quantised to 8 bits, written as PNGs that image.load reads
# back to exactly these values (byte / 255), one timestep, strength 0.6 for one ControlNet and 0.7 + 0.4 for two.
with torch.no_grad():
    e2e_sample = torch.randn(1, 4, 8, 8, generator=g)
    e2e_context = torch.randn(1, 77, 64, generator=g)
    e2e_t = torch.tensor([999.0])
    png_a = torch.randint(0, 256, (1, 3, 64, 64), generator=g, dtype=torch.uint8)
    png_b = torch.randint(0, 256, (1, 3, 64, 64), generator=g, dtype=torch.uint8)
    ra = controlnet.controlnet_forward(cn, unet_cfg, e2e_sample, e2e_t, e2e_context, png_a.float() / 255)
    rb = controlnet.controlnet_forward(cn, unet_cfg, e2e_sample, e2e_t, e2e_context, png_b.float() / 255)
    tensors.update({
        "e2e.sample": e2e_sample, "e2e.encoder_hidden_states": e2e_context, "e2e.timestep": e2e_t,
        "e2e.plain": sd1.unet_forward(base, unet_cfg, e2e_sample, e2e_t, e2e_context),
        "e2e.controlled": sd1.unet_forward(base, unet_cfg, e2e_sample, e2e_t, e2e_context, [0.6 * r for r in ra]),
        "e2e.stacked": sd1.unet_forward(base, unet_cfg, e2e_sample, e2e_t, e2e_context, [0.7 * a + 0.4 * b for a, b in zip(ra, rb)]),
        # Guess mode (the original ControlNet's control_scales): residual i of n scaled by 0.825 ** (n - 1 - i), at strength 0.6.
        "e2e.guess": sd1.unet_forward(base, unet_cfg, e2e_sample, e2e_t, e2e_context,
                                      [0.6 * 0.825 ** float(len(ra) - 1 - i) * r for i, r in enumerate(ra)]),
    })
write_png(os.path.join(out, "hint-a.png"), png_a[0])
write_png(os.path.join(out, "hint-b.png"), png_b[0])
save(os.path.join(out, "reference.safetensors"), tensors)
print({"residuals": [float(r.abs().mean()) for r in residuals], "plain": float(plain.abs().mean()),
       "controlled-plain": float((controlled - plain).abs().mean()), "stacked-plain": float((stacked - plain).abs().mean())})
