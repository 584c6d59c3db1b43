"""Writes a swapped VAE for the tiny SD 1.x checkpoint (make_sd1_checkpoints.py): the same VAE shape with other random
weights, as a standalone file in the LDM layout without prefix (encoder.*, decoder.*, quant_conv.*, post_quant_conv.*
— the layout of vae-ft-mse-840000-ema-pruned.safetensors; F16, plus a training-loss key a loader must skip), and the
torch reference outputs of that VAE on the checkpoint's reference inputs (vae.image, vae.latent_sample).
Run: /usr/bin/python3 tools/reference/make_vae.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import sd1
from safetensors_io import load, save

folder = sys.argv[1]
vae_cfg = sd1.VaeConfig(ch=32, ch_mult=(2, 1, 1, 1), num_res_blocks=1)  # as make_sd1_checkpoints.py
sd = {k: t.half().float() for k, t in sd1.vae_weights(vae_cfg, seed=5).items()}  # F16-exact weights
ref = load(os.path.join(folder, "reference.safetensors"))
with torch.no_grad():
    mean = sd1.vae_encode_mean(sd, vae_cfg, ref["vae.image"])
    decoded = sd1.vae_decode(sd, vae_cfg, ref["vae.latent_sample"])
os.makedirs(os.path.join(folder, "vae"), exist_ok=True)
standalone = {k[len(sd1.VAE):]: t.half() for k, t in sd.items()}
standalone["loss.logvar"] = torch.zeros(())
save(os.path.join(folder, "vae", "swapped-vae.safetensors"), standalone)
save(os.path.join(folder, "vae", "reference.safetensors"), {"swapped.mean": mean, "swapped.decoded": decoded})
print({"mean": float(mean.abs().mean()), "decoded": float(decoded.abs().mean()), "own": float(ref["vae.decoded"].abs().mean()),
       "diff": float((decoded - ref["vae.decoded"]).abs().max())})
