"""Writes PyTorch-checkpoint copies of test models, as torch.save and the tools people use write them, so tests can
check that each draws exactly what its .safetensors original draws (tests/FlowDiffusion.Checkpoints.Tests/TestData/torch):
- tiny-sd.ckpt: the tiny SD 1.x checkpoint (sd1-tiny/ldm-fp16.safetensors) in a Lightning-style {state_dict, global_step}
  dictionary, as Stable Diffusion's original .ckpt files are;
- control.pth: the tiny ControlNet (sd1-tiny/controlnet/control-ldm-fp16.safetensors) as a bare state dict, as
  ControlNet 1.1's .pth files are;
- rrdb-x4.pth: the tiny ESRGAN (esrgan/rrdb-x4.safetensors) under params_ema beside a different params, as Real-ESRGAN's;
- sp.pt: the three-vector embedding sp.safetensors in AUTOMATIC1111's layout (string_to_token, string_to_param, name, step);
- one.bin: one-clip-l.safetensors's vector in diffusers' learned_embeds.bin layout ({"<token>": vector});
- ip-adapter.bin: the tiny IP-Adapter in the released .bin layout (image_proj and ip_adapter dictionaries);
- diffusers-unet.bin, diffusers-text-encoder.bin: the tiny diffusers folder's UNet and text encoder as an older diffusers
  repository stores them (diffusion_pytorch_model.bin, pytorch_model.bin).
Run: /usr/bin/python3 tools/reference/make_torch_copies.py tests/FlowDiffusion.Checkpoints.Tests/TestData"""
import os
import sys

import torch

from safetensors_io import load

data = sys.argv[1]
out = os.path.join(data, "torch")
os.makedirs(out, exist_ok=True)
tiny = load(os.path.join(data, "sd1-tiny", "ldm-fp16.safetensors"))
torch.save({"state_dict": tiny, "global_step": 0, "epoch": 0}, os.path.join(out, "tiny-sd.ckpt"))
torch.save(load(os.path.join(data, "sd1-tiny", "controlnet", "control-ldm-fp16.safetensors")), os.path.join(out, "control.pth"))
rrdb = load(os.path.join(data, "esrgan", "rrdb-x4.safetensors"))
torch.save({"params": {k: torch.zeros_like(v) for k, v in rrdb.items()}, "params_ema": rrdb}, os.path.join(out, "rrdb-x4.pth"))
sp = load(os.path.join(data, "sd1-tiny", "embeddings", "sp.safetensors"))["string_to_param.*"]
torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": sp}, "name": "sp", "step": 0}, os.path.join(out, "sp.pt"))
one = load(os.path.join(data, "sd1-tiny", "embeddings", "one-clip-l.safetensors"))["clip_l"]
torch.save({"<one>": one.reshape(-1)}, os.path.join(out, "one.bin"))
# IP-Adapter's released .bin: {"image_proj": {...}, "ip_adapter": {...}}, which the reader names image_proj.* and ip_adapter.*
adapter = load(os.path.join(data, "sd1-tiny", "ipadapter", "ip-adapter.safetensors"))
nested = {}
for key, value in adapter.items():
    group, rest = key.split(".", 1)
    nested.setdefault(group, {})[rest] = value
torch.save(nested, os.path.join(out, "ip-adapter.bin"))
# An older diffusers repository's weights: the tiny diffusers folder's UNet and text encoder as .bin state dicts.
diffusers = os.path.join(data, "sd1-tiny", "diffusers")
torch.save(load(os.path.join(diffusers, "unet", "diffusion_pytorch_model.safetensors")), os.path.join(out, "diffusers-unet.bin"))
torch.save(load(os.path.join(diffusers, "text_encoder", "model.safetensors")), os.path.join(out, "diffusers-text-encoder.bin"))
