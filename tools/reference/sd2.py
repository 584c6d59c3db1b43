"""Stable Diffusion 2.x networks from the SD 2 release configs (Stability AI's v2-inference.yaml and v2-inference-v.yaml)
and the published single-file key layout, as plain functions over a state dict with the single-file names. Builds on
sdxl.py's and sd1.py's layers; no diffusers, transformers, open_clip or ldm code.

What SD 2.x changes against SD 1.x:
- Text encoder: OpenCLIP ViT-H/14's text tower under `cond_stage_model.model.` (token_embedding, positional_embedding,
  transformer.resblocks.N with a fused attn.in_proj, exact GELU, ln_final; 1024 wide, 16 heads of 64, 24 layers). The
  UNet's context is the *penultimate* layer's output *through* ln_final (FrozenOpenCLIPEmbedder, layer "penultimate").
  The tokenizer is CLIP's BPE, padding with id 0 ("!") after the end-of-text token rather than with end-of-text.
- UNet: SD 1.x's levels (320 wide, mult 1, 2, 4, 4, two residual blocks, attention at the first three levels, one
  transformer block each) with linear proj_in/proj_out (use_linear_in_transformer), heads 64 wide (num_head_channels
  64: 5, 10, 20) and a 1024-wide context; no label_emb. That is sdxl.py's UNet at depth (1, 1, 1, 0) without the added
  embedding.
- 768-v models predict v (v = alpha * eps - sigma * x0), the 512 base predicts eps; same training schedule and VAE.
"""
import torch

import sd1
import sdxl
from sd1 import _layer_norm

UNET = sd1.UNET
TEXT = "cond_stage_model.model."
VAE = sd1.VAE
HEAD_WIDTH = 64  # num_head_channels


def unet_config(model_channels, channel_mult, num_res_blocks, attention_levels, context_dim, head_width=HEAD_WIDTH):
    """SD 2.x's UNet as sdxl.UNetConfig: one transformer block at each attention level and in the middle."""
    depth = tuple(1 if level in attention_levels else 0 for level in range(len(channel_mult)))
    return sdxl.UNetConfig(model_channels=model_channels, channel_mult=channel_mult, num_res_blocks=num_res_blocks,
                           transformer_depth=depth, context_dim=context_dim, pooled_dim=0, head_width=head_width, middle_depth=1)


def unet_weights(cfg, seed=1):
    return {k: v for k, v in sdxl.unet_weights(cfg, seed).items() if ".label_emb." not in k}


def unet_forward(sd, cfg, x, t, context):
    return sdxl.unet_forward(sd, cfg, x, t, context, None, None)


def text_weights(cfg: sdxl.OpenClipConfig, seed=4):
    """The OpenCLIP text tower under SD 2's prefix, with text_projection and logit_scale as the released files carry them."""
    return sdxl.open_clip_weights(cfg, seed, TEXT)


def text_hidden_states(sd, cfg: sdxl.OpenClipConfig, ids, skip=1):
    """The UNet's context: the output of the layer `skip` before the last one (1: the penultimate), through ln_final."""
    states = sdxl.open_clip_states(sd, cfg, ids, TEXT)
    return _layer_norm(sd, TEXT + "ln_final", states[-1 - skip])
