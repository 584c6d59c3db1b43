"""Writes a small random-weight SDXL single-file checkpoint (SGM key layout) at non-standard widths and its reference
outputs, for the C# SDXL builders' tests. Weights are rounded to bfloat16 precision first, so the F16 file holds them
exactly and the float32 references (sdxl.py) apply to it.
Run: /usr/bin/python3 tools/reference/make_sdxl_checkpoint.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sdxl-tiny"""
import json
import os
import sys

import torch

import sd1
import sdxl
from safetensors_io import save

out = sys.argv[1]
clip_cfg = sd1.ClipConfig(vocab=768, width=32, layers=2, head_width=32)  # CLIP-L's 64-wide heads: 1 head at width 32
open_cfg = sdxl.OpenClipConfig(vocab=768, width=32, layers=2, head_width=32, projection=40)  # 1 head, as ViT-bigG's 64-wide heads give at width 32
# Level 0 is 64 wide (2 channels per norm group): at 32 channels GroupNorm(32) would remove the per-channel time and
# label embedding every residual block adds, and the size conditioning would go untested. Two levels keep the file small.
unet_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2),
                           context_dim=clip_cfg.width + open_cfg.width, pooled_dim=open_cfg.projection)
vae_cfg = sd1.VaeConfig(ch=32, ch_mult=(1, 1, 1, 1), num_res_blocks=1)  # 8x like SD, so the pipeline runs it


def rounded(sd):
    return {k: (t.bfloat16().float() if t.is_floating_point() else t) for k, t in sd.items()}


sd = {}
sd.update(rounded(sdxl.unet_weights(unet_cfg)))
sd.update(rounded(sdxl.clip_l_weights(clip_cfg)))
sd.update(rounded(sdxl.open_clip_weights(open_cfg)))
sd.update(rounded(sd1.vae_weights(vae_cfg)))
os.makedirs(out, exist_ok=True)
save(os.path.join(out, "sdxl-fp16.safetensors"), {k: (t.half() if t.is_floating_point() else t) for k, t in sd.items()},
     metadata={"modelspec.architecture": "stable-diffusion-xl-v1-base"})

g = torch.Generator().manual_seed(9)
with torch.no_grad():
    bos, eos = 753, 754  # the start- and end-of-text ids of the shipped test tokenizer (models/tiny-sd/tokenizer)
    ids = torch.full((2, 77), eos, dtype=torch.int64)  # CLIP-L's tokenizer pads with the end-of-text id
    ids[0, :6] = torch.tensor([bos, 17, 305, 42, 9, eos])
    ids[1, :3] = torch.tensor([bos, 480, eos])
    ids2 = ids.clone()  # the second tokenizer pads with 0 after the end-of-text token, as SGM's OpenCLIP embedder does
    ids2[0, 6:] = 0
    ids2[1, 3:] = 0
    hidden1 = sdxl.clip_l_penultimate(sd, clip_cfg, ids)
    hidden2, text_embeds = sdxl.open_clip_forward(sd, open_cfg, ids2)

    sample = torch.randn(2, 4, 8, 8, generator=g)
    timestep = torch.tensor([999.0, 17.0])
    unet_context = torch.randn(2, 16, unet_cfg.context_dim, generator=g)  # any token count works; 16 keeps the file small
    unet_text_embeds = torch.randn(2, unet_cfg.pooled_dim, generator=g)
    time_ids = torch.tensor([[1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0], [768.0, 1344.0, 16.0, 32.0, 896.0, 1152.0]])
    unet_out = sdxl.unet_forward(sd, unet_cfg, sample, timestep, unet_context, unet_text_embeds, time_ids)
    narrow = sdxl.UNetConfig(**{**unet_cfg.__dict__, "head_width": 16})  # 2 heads at width 32, 4 at 64
    unet_out_narrow = sdxl.unet_forward(sd, narrow, sample, timestep, unet_context, unet_text_embeds, time_ids)

    image = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    mean = sd1.vae_encode_mean(sd, vae_cfg, image)
    latent = torch.randn(1, 4, 4, 4, generator=g)
    decoded = sd1.vae_decode(sd, vae_cfg, latent)
save(os.path.join(out, "reference.safetensors"), {
    "text_encoder.input_ids": ids, "text_encoder_2.input_ids": ids2,
    "text_encoder.hidden_states": hidden1, "text_encoder_2.hidden_states": hidden2, "text_encoder_2.text_embeds": text_embeds,
    "unet.sample": sample, "unet.timestep": timestep, "unet.encoder_hidden_states": unet_context,
    "unet.text_embeds": unet_text_embeds, "unet.time_ids": time_ids, "unet.out_sample": unet_out,
    "unet.out_sample_head_width_16": unet_out_narrow,
    "vae.image": image, "vae.mean": mean, "vae.latent_sample": latent, "vae.decoded": decoded,
})
with open(os.path.join(out, "architecture.json"), "w") as f:
    json.dump({
        "unet": {**{k: (list(v) if isinstance(v, tuple) else v) for k, v in unet_cfg.__dict__.items()}, "adm_in": unet_cfg.adm_in},
        "text_encoder": {"vocab": clip_cfg.vocab, "width": clip_cfg.width, "layers": clip_cfg.layers, "heads": clip_cfg.width // clip_cfg.head_width},
        "text_encoder_2": {**open_cfg.__dict__, "heads": open_cfg.width // open_cfg.head_width},
        "vae": {"ch": vae_cfg.ch, "ch_mult": list(vae_cfg.ch_mult), "num_res_blocks": vae_cfg.num_res_blocks, "z_channels": vae_cfg.z_channels},
    }, f, indent=1)
print({k: float(v.abs().mean()) for k, v in [("unet", unet_out), ("narrow-diff", (unet_out - unet_out_narrow)), ("h1", hidden1),
                                              ("h2", hidden2), ("pooled", text_embeds), ("mean", mean), ("dec", decoded)]})
