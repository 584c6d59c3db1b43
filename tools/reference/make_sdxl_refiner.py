"""Writes a small random-weight SDXL *refiner* single file (SGM key layout) and its reference outputs. The refiner differs
from the base: one text encoder, OpenCLIP ViT-bigG, as the first embedder (conditioner.embedders.0.model.); the UNet's
context is that tower's penultimate hidden states alone; its added embedding takes five numbers (original h, w, crop
top, left and the aesthetic score: diffusers' requires_aesthetics_score) after the pooled projection; the last level has
no attention while the middle block has its own depth. Like the published refiner file it carries a VAE (the same
small shape as the base's, its own seed), so it loads as a model. Weights are rounded to bfloat16 precision first (F16 file).
Run: /usr/bin/python3 tools/reference/make_sdxl_refiner.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sdxl-refiner-tiny"""
import json
import os
import sys

import torch

import sd1
import sdxl
from safetensors_io import save

out = sys.argv[1]
REFINER_CLIP = "conditioner.embedders.0.model."
open_cfg = sdxl.OpenClipConfig(vocab=768, width=32, layers=2, head_width=32, projection=40)
unet_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(1, 2, 1), num_res_blocks=1, transformer_depth=(0, 1, 0), middle_depth=2,
                           context_dim=open_cfg.width, pooled_dim=open_cfg.projection, time_ids=5)
vae_cfg = sd1.VaeConfig(ch=32, ch_mult=(1, 1, 1, 1), num_res_blocks=1)


def rounded(sd):
    return {k: (t.bfloat16().float() if t.is_floating_point() else t) for k, t in sd.items()}


sd = {}
sd.update(rounded(sdxl.unet_weights(unet_cfg, seed=31)))
sd.update(rounded(sdxl.open_clip_weights(open_cfg, seed=32, p=REFINER_CLIP)))
sd.update(rounded(sd1.vae_weights(vae_cfg, seed=33)))
os.makedirs(out, exist_ok=True)
save(os.path.join(out, "refiner-fp16.safetensors"), {k: (t.half() if t.is_floating_point() else t) for k, t in sd.items()},
     metadata={"modelspec.architecture": "stable-diffusion-xl-v1-refiner"})

g = torch.Generator().manual_seed(34)
with torch.no_grad():
    bos, eos = 753, 754
    ids = torch.zeros((2, 77), dtype=torch.int64)  # OpenCLIP pads with 0 after the end-of-text token
    ids[0, :6] = torch.tensor([bos, 17, 305, 42, 9, eos])
    ids[1, :3] = torch.tensor([bos, 480, eos])
    hidden, text_embeds = sdxl.open_clip_forward(sd, open_cfg, ids, p=REFINER_CLIP)

    sample = torch.randn(2, 4, 8, 8, generator=g)
    timestep = torch.tensor([199.0, 17.0])
    context = torch.randn(2, 16, unet_cfg.context_dim, generator=g)
    unet_text_embeds = torch.randn(2, unet_cfg.pooled_dim, generator=g)
    time_ids = torch.tensor([[1024.0, 1024.0, 0.0, 0.0, 6.0], [768.0, 1344.0, 16.0, 32.0, 2.5]])
    unet_out = sdxl.unet_forward(sd, unet_cfg, sample, timestep, context, unet_text_embeds, time_ids)
save(os.path.join(out, "reference.safetensors"), {
    "text_encoder_2.input_ids": ids, "text_encoder_2.hidden_states": hidden, "text_encoder_2.text_embeds": text_embeds,
    "unet.sample": sample, "unet.timestep": timestep, "unet.encoder_hidden_states": context,
    "unet.text_embeds": unet_text_embeds, "unet.time_ids": time_ids, "unet.out_sample": unet_out,
})
with open(os.path.join(out, "architecture.json"), "w") as f:
    json.dump({
        "unet": {**{k: (list(v) if isinstance(v, tuple) else v) for k, v in unet_cfg.__dict__.items()}, "adm_in": unet_cfg.adm_in},
        "text_encoder_2": {**open_cfg.__dict__, "heads": open_cfg.width // open_cfg.head_width},
    }, f, indent=1)
print({k: float(v.abs().mean()) for k, v in [("unet", unet_out), ("h2", hidden), ("pooled", text_embeds)]})
