"""Writes tiny T2I-Adapters for the tiny SD 1.x checkpoint (make_sd1_checkpoints.py: widths 64/32, one block per level,
attention on the second level) and reference outputs, for the C# T2I-Adapter builder's tests:
`adapter-fp16.safetensors` (TencentARC's names, F16) and `diffusers/diffusion_pytorch_model.safetensors` (diffusers'
T2IAdapter names, BF16) of an SDXL-style adapter (r = 16, no downsampling at these two levels: the tiny UNet's first
level has no attention, so its feature is added after its downsampler, at half the latent size, as SDXL's first level),
`sd1-gray-fp16.safetensors` (an SD 1.x-style one, r = 8, one input channel, downsampling at its second level), and
`reference.safetensors` with the inputs, the features, and the checkpoint UNet's prediction without them, with them at
strength 1, and with two control images' features stacked at 0.7 and 0.4; end to end through `hint-a.png` (8-bit) at 0.6.
Weights are rounded to bfloat16 first, so both files hold them exactly.
Run: /usr/bin/python3 tools/reference/make_t2i_adapter.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import json
import os
import sys

import torch

import sd1
import t2i_adapter
from png_io import write_png
from safetensors_io import load, save

folder = sys.argv[1]
out = os.path.join(folder, "t2i-adapter")
unet_cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
base = {k: t.float() for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items() if k.startswith(sd1.UNET)}
channels = [64, 32]
xl = {k: t.bfloat16().float() for k, t in t2i_adapter.adapter_weights(channels, 3, 16).items()}
gray = {k: t.bfloat16().float() for k, t in t2i_adapter.adapter_weights(channels, 1, 8, seed=10).items()}

os.makedirs(os.path.join(out, "diffusers"), exist_ok=True)
save(os.path.join(out, "adapter-fp16.safetensors"), {k: t.half() for k, t in xl.items()})
save(os.path.join(out, "sd1-gray-fp16.safetensors"), {k: t.half() for k, t in gray.items()})
save(os.path.join(out, "diffusers", "diffusion_pytorch_model.safetensors"), {k: t.bfloat16() for k, t in t2i_adapter.diffusers_names(xl).items()})
with open(os.path.join(out, "diffusers", "config.json"), "w") as f:
    json.dump({"_class_name": "T2IAdapter", "adapter_type": "full_adapter_xl", "channels": channels, "downscale_factor": 16,
               "in_channels": 3, "num_res_blocks": 2}, f, indent=2)

g = torch.Generator().manual_seed(23)
with torch.no_grad():
    sample = torch.randn(2, 4, 8, 8, generator=g)
    timestep = torch.tensor([999.0, 17.0])
    context = torch.randn(2, 77, 64, generator=g)
    hint = torch.rand(2, 3, 64, 64, generator=g)
    hint_b = torch.rand(2, 3, 64, 64, generator=g)
    hint_gray = torch.rand(1, 1, 40, 48, generator=g)
    features = t2i_adapter.adapter_forward(xl, hint, 16, 2)
    features_b = t2i_adapter.adapter_forward(xl, hint_b, 16, 2)
    gray_features = t2i_adapter.adapter_forward(gray, hint_gray, 8, 2)
    plain = sd1.unet_forward(base, unet_cfg, sample, timestep, context)
    adapted = sd1.unet_forward(base, unet_cfg, sample, timestep, context, adapter=features)
    stacked = sd1.unet_forward(base, unet_cfg, sample, timestep, context, adapter=[0.7 * a + 0.4 * b for a, b in zip(features, features_b)])
tensors = {"sample": sample, "timestep": timestep, "encoder_hidden_states": context, "hint": hint, "hint_b": hint_b, "hint_gray": hint_gray,
           "unet.out_sample": plain, "unet.adapted": adapted, "unet.stacked": stacked}
for i, f in enumerate(features):
    tensors[f"feature_{i}"] = f
for i, f in enumerate(gray_features):
    tensors[f"gray.feature_{i}"] = f
with torch.no_grad():
    e2e_sample = torch.randn(1, 4, 8, 8, generator=g)
    e2e_context = torch.randn(1, 77, 64, generator=g)
    e2e_t = torch.tensor([999.0])
    png = torch.randint(0, 256, (1, 3, 64, 64), generator=g, dtype=torch.uint8)
    fa = t2i_adapter.adapter_forward(xl, png.float() / 255, 16, 2)
    tensors.update({
        "e2e.sample": e2e_sample, "e2e.encoder_hidden_states": e2e_context, "e2e.timestep": e2e_t,
        "e2e.plain": sd1.unet_forward(base, unet_cfg, e2e_sample, e2e_t, e2e_context),
        "e2e.adapted": sd1.unet_forward(base, unet_cfg, e2e_sample, e2e_t, e2e_context, adapter=[0.6 * f for f in fa]),
    })
write_png(os.path.join(out, "hint-a.png"), png[0])
save(os.path.join(out, "reference.safetensors"), tensors)
print({"features": [tuple(f.shape) for f in features], "gray": [tuple(f.shape) for f in gray_features],
       "plain": float(plain.abs().mean()), "adapted-plain": float((adapted - plain).abs().mean()),
       "stacked-plain": float((stacked - plain).abs().mean())})
