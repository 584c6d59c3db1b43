"""A tiny InstructPix2Pix checkpoint from the tiny SD 1.x one (make_sd1_checkpoints.py): the same LDM single file with the
UNet's first convolution (input_blocks.0.0.weight) widened from 4 to 8 input channels, the 4 new ones seeded random weights
(the image latents an instruct-pix2pix UNet reads after the noisy latents, as the InstructPix2Pix paper concatenates them).
Writes ip2p/ldm-fp16.safetensors (F16, like its source) and ip2p/reference.safetensors: seeded [2, 4, 8, 8] latents and
image latents, the source reference's timesteps and context, and the UNet's prediction of the two concatenated (8 channels,
latents first) — and of the latents with zero image latents, which ComfyUI feeds when a conditioning has none.
Run: /usr/bin/python3 tools/reference/make_ip2p.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import sd1
from safetensors_io import load, save

folder = sys.argv[1]
cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
source = load(os.path.join(folder, "ldm-fp16.safetensors"))
conv_in = "model.diffusion_model.input_blocks.0.0.weight"
generator = torch.Generator().manual_seed(2020)
weight = source[conv_in]
extra = torch.randn(weight.shape[0], 4, *weight.shape[2:], generator=generator) * 0.2
widened = dict(source)
widened[conv_in] = torch.cat([weight, extra.to(weight.dtype)], dim=1)
os.makedirs(os.path.join(folder, "ip2p"), exist_ok=True)
save(os.path.join(folder, "ip2p", "ldm-fp16.safetensors"), widened)

sd = {k: (t.float() if t.is_floating_point() else t) for k, t in widened.items()}
inputs = load(os.path.join(folder, "reference.safetensors"))
timestep, context = inputs["unet.timestep"], inputs["unet.encoder_hidden_states"]
sample = torch.randn(2, 4, 8, 8, generator=generator)
image = torch.randn(2, 4, 8, 8, generator=generator)
with torch.no_grad():
    out = {
        "unet.sample": sample,
        "unet.image_latent": image,
        "unet.timestep": timestep,
        "unet.encoder_hidden_states": context,
        "unet.out_sample": sd1.unet_forward(sd, cfg, torch.cat([sample, image], dim=1), timestep, context),
        "unet.zero_image_out_sample": sd1.unet_forward(sd, cfg, torch.cat([sample, torch.zeros_like(image)], dim=1), timestep, context),
    }
save(os.path.join(folder, "ip2p", "reference.safetensors"), out)
print({k: tuple(v.shape) for k, v in out.items()}, float((out["unet.out_sample"] - out["unet.zero_image_out_sample"]).abs().max()))
