"""Writes small random-weight SD 1.x checkpoints at non-standard widths and their reference outputs, for the C#
checkpoint builders' tests. Weights are rounded to bfloat16 precision first, so the F16 and BF16 files hold them
exactly and every file has the same reference outputs (computed in float32 by sd1.py).
Run: /usr/bin/python3 tools/reference/make_sd1_checkpoints.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import json
import os
import sys

import torch

import diffusers_keys
import sd1
from safetensors_io import save

out = sys.argv[1]
unet_cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
clip_cfg = sd1.ClipConfig(vocab=768, width=64, layers=2, head_width=32)
vae_cfg = sd1.VaeConfig(ch=32, ch_mult=(2, 1, 1, 1), num_res_blocks=1)  # 8x like SD, so the pipeline runs it


def rounded(sd):
    return {k: (t.bfloat16().float() if t.is_floating_point() else t) for k, t in sd.items()}


sd = {}
sd.update(rounded(sd1.unet_weights(unet_cfg)))
sd.update(rounded(sd1.clip_weights(clip_cfg)))
sd.update(rounded(sd1.vae_weights(vae_cfg)))
os.makedirs(os.path.join(out, "diffusers", "unet"), exist_ok=True)
os.makedirs(os.path.join(out, "diffusers", "text_encoder"), exist_ok=True)
os.makedirs(os.path.join(out, "diffusers", "vae"), exist_ok=True)
half = {k: (t.half() if t.is_floating_point() else t) for k, t in sd.items()}
save(os.path.join(out, "ldm-fp16.safetensors"), half)
bf = {k: (t.bfloat16() if t.is_floating_point() else t) for k, t in sd.items()}
save(os.path.join(out, "diffusers", "unet", "diffusion_pytorch_model.safetensors"), diffusers_keys.unet(bf, unet_cfg))
save(os.path.join(out, "diffusers", "text_encoder", "model.safetensors"), diffusers_keys.text_encoder(bf))
save(os.path.join(out, "diffusers", "vae", "diffusion_pytorch_model.safetensors"), diffusers_keys.vae(bf, vae_cfg))

g = torch.Generator().manual_seed(7)
with torch.no_grad():
    sample = torch.randn(2, 4, 8, 8, generator=g)
    timestep = torch.tensor([999.0, 17.0])
    context = torch.randn(2, 77, 64, generator=g)
    unet_out = sd1.unet_forward(sd, unet_cfg, sample, timestep, context)
    ids = torch.full((2, 77), clip_cfg.vocab - 1, dtype=torch.int64)  # the last id stands in for the end-of-text token
    ids[0, :6] = torch.tensor([clip_cfg.vocab - 2, 17, 305, 42, 9, clip_cfg.vocab - 1])
    ids[1, :3] = torch.tensor([clip_cfg.vocab - 2, 480, clip_cfg.vocab - 1])
    last, states = sd1.clip_forward(sd, clip_cfg, ids)
    final = sd1.CLIP + "final_layer_norm"
    penultimate = torch.nn.functional.layer_norm(states[-2], (clip_cfg.width,), sd[final + ".weight"], sd[final + ".bias"], 1e-5)
    pooled = last[torch.arange(2), ids.argmax(-1)]
    image = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    mean = sd1.vae_encode_mean(sd, vae_cfg, image)
    latent = torch.randn(1, 4, 4, 4, generator=g)
    decoded = sd1.vae_decode(sd, vae_cfg, latent)
save(os.path.join(out, "reference.safetensors"), {
    "unet.sample": sample, "unet.timestep": timestep, "unet.encoder_hidden_states": context, "unet.out_sample": unet_out,
    "text_encoder.input_ids": ids, "text_encoder.last_hidden_state": last, "text_encoder.penultimate_hidden_state": penultimate,
    "text_encoder.pooled": pooled,
    "vae.image": image, "vae.mean": mean, "vae.latent_sample": latent, "vae.decoded": decoded,
})
with open(os.path.join(out, "architecture.json"), "w") as f:
    json.dump({
        "unet": {"in_channels": unet_cfg.in_channels, "model_channels": unet_cfg.model_channels, "channel_mult": list(unet_cfg.channel_mult),
                 "num_res_blocks": unet_cfg.num_res_blocks, "attention_levels": list(unet_cfg.attention_levels),
                 "num_heads": unet_cfg.num_heads, "context_dim": unet_cfg.context_dim},
        "text_encoder": {"vocab": clip_cfg.vocab, "positions": clip_cfg.positions, "width": clip_cfg.width, "layers": clip_cfg.layers,
                         "heads": clip_cfg.width // clip_cfg.head_width},
        "vae": {"ch": vae_cfg.ch, "ch_mult": list(vae_cfg.ch_mult), "num_res_blocks": vae_cfg.num_res_blocks, "z_channels": vae_cfg.z_channels},
    }, f, indent=1)
print({k: float(v.abs().mean()) for k, v in [("unet", unet_out), ("last", last), ("pen", penultimate), ("mean", mean), ("dec", decoded)]})
