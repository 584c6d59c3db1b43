"""The tiny SD 1.x checkpoint (make_sd1_checkpoints.py) as the LoRA reference scripts use it: its configuration, its
weights in float32 with a diffusers -> LDM name map, and the fixed UNet and text-encoder inputs their outputs are
computed on (the same in every reference file, so the tests feed one set)."""
import os

import torch

import diffusers_keys
import sd1
from safetensors_io import load

UNET_CFG = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
# The text encoder runs at CLIP's 64-wide heads (1 head at width 64), as model.load builds it for this checkpoint.
CLIP_CFG = sd1.ClipConfig(vocab=768, width=64, layers=2, head_width=64)


def load_base(folder):
    """The checkpoint's tensors (floating point ones as float32) and the map from diffusers weight names to LDM keys."""
    base = {k: (t.float() if t.is_floating_point() else t) for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items()}
    # the renaming passes values through, so the LDM names ride along as values
    to_ldm = {d: l for d, l in diffusers_keys.unet({k: k for k in base}, UNET_CFG).items()}
    to_ldm.update({d: l for d, l in diffusers_keys.text_encoder({k: k for k in base}).items()})
    return base, to_ldm


def reference_inputs():
    """unet.sample, unet.timestep, unet.encoder_hidden_states and text_encoder.input_ids."""
    gi = torch.Generator().manual_seed(5)
    sample = torch.randn(1, 4, 8, 8, generator=gi)
    timestep = torch.tensor([500.0])
    context = torch.randn(1, 77, 64, generator=gi)
    ids = torch.full((1, 77), CLIP_CFG.vocab - 1, dtype=torch.int64)
    ids[0, :6] = torch.tensor([CLIP_CFG.vocab - 2, 17, 305, 42, 9, CLIP_CFG.vocab - 1])
    return {"unet.sample": sample, "unet.timestep": timestep, "unet.encoder_hidden_states": context, "text_encoder.input_ids": ids}


def outputs(sd, inputs):
    """The UNet's prediction and the text encoder's last hidden state of the weights sd on the reference inputs."""
    with torch.no_grad():
        out_sample = sd1.unet_forward(sd, UNET_CFG, inputs["unet.sample"], inputs["unet.timestep"], inputs["unet.encoder_hidden_states"])
        last_hidden_state = sd1.clip_forward(sd, CLIP_CFG, inputs["text_encoder.input_ids"])[0]
    return out_sample, last_hidden_state
