"""Reference predictions of the tiny SD 1.x checkpoint (make_sd1_checkpoints.py: model_channels 32, widths 64/32) with
ComfyUI's FreeU and FreeU_V2 at their default factors (freeu.py), alone and on top of the kohya LoRA A at strength 0.8
(make_lora.py's file, merged here as W + strength * alpha/rank * up @ down; alpha defaults to the rank). Its decoder meets
the model_channels x 2 width once (b2, s2); no level is model_channels x 4 wide, so b1 and s1 act nowhere, as in ComfyUI.
Inputs are lora/reference.safetensors' unet.* tensors; writes freeu-reference.safetensors (base, v1, v2, a_v1 out_sample).
Run: /usr/bin/python3 tools/reference/make_freeu_sd1.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import diffusers_keys
import freeu
import sd1
from safetensors_io import load, save

folder = sys.argv[1]
cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
base = {k: (t.float() if t.is_floating_point() else t) for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items()}
to_ldm = diffusers_keys.unet({k: k for k in base}, cfg)  # diffusers name -> LDM name
inputs = load(os.path.join(folder, "lora", "reference.safetensors"))
sample, timestep, context = inputs["unet.sample"], inputs["unet.timestep"], inputs["unet.encoder_hidden_states"]


def with_lora(path, strength):
    lora = {k: t.float() for k, t in load(path).items()}
    sd = dict(base)
    for name, ldm in to_ldm.items():
        key = "lora_unet_" + name.removesuffix(".weight").replace(".", "_")
        if not name.endswith(".weight") or key + ".lora_up.weight" not in lora:
            continue
        up, down = lora[key + ".lora_up.weight"], lora[key + ".lora_down.weight"]
        rank = down.shape[0]
        alpha = float(lora[key + ".alpha"]) if key + ".alpha" in lora else rank
        delta = up.reshape(up.shape[0], rank) @ down.reshape(rank, -1)
        sd[ldm] = sd[ldm] + strength * alpha / rank * delta.reshape(sd[ldm].shape)
    return sd


comfy_freeu = (1.1, 1.2, 0.9, 0.2, 1)     # ComfyUI's FreeU defaults (b1, b2, s1, s2) and version 1
comfy_freeu_v2 = (1.3, 1.4, 0.9, 0.2, 2)  # FreeU_V2's defaults
lora_a = with_lora(os.path.join(folder, "lora", "kohya-a.safetensors"), 0.8)
out = {}
with torch.no_grad():
    out["base.out_sample"] = sd1.unet_forward(base, cfg, sample, timestep, context)
    out["v1.out_sample"] = sd1.unet_forward(base, cfg, sample, timestep, context, output_patch=freeu.freeu(cfg.model_channels, *comfy_freeu))
    out["v2.out_sample"] = sd1.unet_forward(base, cfg, sample, timestep, context, output_patch=freeu.freeu(cfg.model_channels, *comfy_freeu_v2))
    out["a.out_sample"] = sd1.unet_forward(lora_a, cfg, sample, timestep, context)
    out["a_v1.out_sample"] = sd1.unet_forward(lora_a, cfg, sample, timestep, context, output_patch=freeu.freeu(cfg.model_channels, *comfy_freeu))
# The LoRA merge must agree with make_lora.py's own.
assert torch.allclose(out["a.out_sample"], inputs["a.out_sample"], atol=1e-5)
assert torch.allclose(out["base.out_sample"], inputs["base.out_sample"], atol=1e-5)
save(os.path.join(folder, "freeu-reference.safetensors"), out)
print({k: float((v - out["base.out_sample"]).abs().max()) for k, v in out.items()})
