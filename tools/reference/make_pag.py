"""Writes a tiny SD 1.x UNet and its predictions with ComfyUI's PerturbedAttentionGuidance patch applied, and the same
patch on the tiny SDXL checkpoint (TestData/sdxl-tiny, whose middle transformer stacks two blocks), for the C# tests of
the UNet graph's pag_mask input.
PAG, from ComfyUI's comfy_extras/nodes_pag.py: patches_replace["attn1"][("middle", 0)] = lambda q, k, v: v, and
BasicTransformerBlock falls back from (block, number, index) to (block, number), so every transformer block of the
middle block computes its self-attention as to_out(to_v(x)) (softmax replaced by the identity).
Writes `ldm-unet.safetensors` (F16 weights, UNet keys only) and `reference.safetensors` (inputs; plain and perturbed
predictions for SD 1.x; the perturbed prediction of the SDXL checkpoint on its own reference inputs).
Run: /usr/bin/python3 tools/reference/make_pag.py tests/FlowDiffusion.Checkpoints.Tests/TestData/pag"""
import os
import sys

import torch

import sd1
import sdxl
from safetensors_io import load, save

out = sys.argv[1]
identity = {sd1.UNET + "middle_block.1": lambda q, k, v: v}

# SD 1.x: two levels, attention on the second, so the middle transformer (64 wide, 8 heads) sees 3x2 tokens.
cfg = sd1.UNetConfig(model_channels=32, channel_mult=(1, 2), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=16)
sd = {k: t.half().float() for k, t in sd1.unet_weights(cfg, seed=53).items()}
g = torch.Generator().manual_seed(59)
sample = torch.randn(2, 4, 12, 8, generator=g)
timestep = torch.tensor([411.0, 411.0])
context = torch.randn(2, 5, 16, generator=g)
tensors = {"sample": sample, "timestep": timestep, "encoder_hidden_states": context}
with torch.no_grad():
    tensors["plain"] = sd1.unet_forward(sd, cfg, sample, timestep, context)
    tensors["perturbed"] = sd1.unet_forward(sd, cfg, sample, timestep, context, attn1_replace=identity)

# SDXL: the checkpoint make_sdxl_checkpoint.py writes, at its UNet configuration.
tiny = os.path.join(os.path.dirname(os.path.abspath(out)), "sdxl-tiny")
xl = {k: t.float() for k, t in load(os.path.join(tiny, "sdxl-fp16.safetensors")).items() if k.startswith(sdxl.UNET)}
xl_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2), context_dim=64, pooled_dim=40)
r = load(os.path.join(tiny, "reference.safetensors"))
with torch.no_grad():
    args = (r["unet.sample"], r["unet.timestep"], r["unet.encoder_hidden_states"], r["unet.text_embeds"], r["unet.time_ids"])
    plain_xl = sdxl.unet_forward(xl, xl_cfg, *args)
    assert (plain_xl - r["unet.out_sample"]).abs().max() < 1e-4, "the SDXL configuration is not the checkpoint's"
    tensors["sdxl.perturbed"] = sdxl.unet_forward(xl, xl_cfg, *args, attn1_replace=identity)
os.makedirs(out, exist_ok=True)
save(os.path.join(out, "ldm-unet.safetensors"), {k: t.half() for k, t in sd.items()})
save(os.path.join(out, "reference.safetensors"), tensors)
print({"sd1": float((tensors["perturbed"] - tensors["plain"]).abs().mean()),
       "sdxl": float((tensors["sdxl.perturbed"] - plain_xl).abs().mean())})
