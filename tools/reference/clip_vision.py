"""The CLIP image tower (Radford et al. 2021, ViT image encoder) as transformers' CLIPVisionModelWithProjection lays out
its state dict: a patch convolution without bias, a class embedding, learned positions, a pre-layernorm
(`pre_layrnorm`, transformers' spelling), encoder layers (pre-norm self-attention without a mask, MLP), a post-layernorm
on the class token and a bias-free visual projection -> image_embeds. And its preprocessing as ComfyUI's clip_preprocess
does it: shortest side to the tower's size by antialiased bicubic, centre crop, 8-bit rounding, CLIP mean/std.
Functions over state dicts; no transformers code.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import sd1
from sd1 import _attention, _layer_norm, _linear

PREFIX = "vision_model."
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class VisionConfig:
    width: int = 64
    layers: int = 2
    heads: int = 2
    patch: int = 8
    image: int = 32
    projection: int = 48
    exact_gelu: bool = True  # OpenCLIP ViT-H/bigG: gelu; OpenAI ViT-L/B: quick_gelu


def vision_weights(cfg: VisionConfig, seed=11):
    w = sd1.Weights(seed)
    p = PREFIX
    w.raw(p + "embeddings.class_embedding", cfg.width, scale=0.5)
    w.raw(p + "embeddings.patch_embedding.weight", cfg.width, 3, cfg.patch, cfg.patch, scale=1 / math.sqrt(3 * cfg.patch * cfg.patch))
    positions = (cfg.image // cfg.patch) ** 2 + 1
    w.raw(p + "embeddings.position_embedding.weight", positions, cfg.width, scale=0.1)
    w.norm(p + "pre_layrnorm", cfg.width)
    for i in range(cfg.layers):
        b = f"{p}encoder.layers.{i}"
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            w.linear(f"{b}.self_attn.{n}", cfg.width, cfg.width)
        w.norm(b + ".layer_norm1", cfg.width)
        w.linear(b + ".mlp.fc1", cfg.width, cfg.width * 4)
        w.linear(b + ".mlp.fc2", cfg.width * 4, cfg.width)
        w.norm(b + ".layer_norm2", cfg.width)
    w.norm(p + "post_layernorm", cfg.width)
    w.linear("visual_projection", cfg.width, cfg.projection, bias=False)
    w.sd[p + "embeddings.position_ids"] = torch.arange(positions).unsqueeze(0)
    return w.sd


def vision_forward(sd, cfg: VisionConfig, pixels):
    """pixels [B, 3, S, S] (normalised) -> (image_embeds [B, projection], last_hidden_state, penultimate hidden state)."""
    p = PREFIX
    patches = F.conv2d(pixels, sd[p + "embeddings.patch_embedding.weight"], stride=cfg.patch).flatten(2).transpose(1, 2)
    cls = sd[p + "embeddings.class_embedding"].expand(pixels.shape[0], 1, -1)
    h = torch.cat([cls, patches], dim=1) + sd[p + "embeddings.position_embedding.weight"]
    h = _layer_norm(sd, p + "pre_layrnorm", h)
    states = [h]
    for i in range(cfg.layers):
        b = f"{p}encoder.layers.{i}"
        x = _layer_norm(sd, b + ".layer_norm1", h)
        a = _attention(_linear(sd, b + ".self_attn.q_proj", x), _linear(sd, b + ".self_attn.k_proj", x), _linear(sd, b + ".self_attn.v_proj", x), cfg.heads)
        h = h + _linear(sd, b + ".self_attn.out_proj", a)
        m = _linear(sd, b + ".mlp.fc1", _layer_norm(sd, b + ".layer_norm2", h))
        h = h + _linear(sd, b + ".mlp.fc2", F.gelu(m) if cfg.exact_gelu else m * torch.sigmoid(1.702 * m))
        states.append(h)
    pooled = _layer_norm(sd, p + "post_layernorm", h[:, 0])
    return F.linear(pooled, sd["visual_projection.weight"]), h, states[-2]


def preprocess(image, size):
    """image [B, 3, H, W] in 0..1 -> [B, 3, size, size]: shortest side to size (bicubic, antialiased), centre crop,
    rounded to 8 bits, normalised with CLIP's mean and std."""
    _, _, h, w = image.shape
    scale = size / min(h, w)
    resized = F.interpolate(image, size=(round(scale * h), round(scale * w)), mode="bicubic", antialias=True, align_corners=False)
    top, left = (resized.shape[2] - size) // 2, (resized.shape[3] - size) // 2
    crop = resized[:, :, top:top + size, left:left + size]
    crop = torch.clip(255.0 * crop, 0, 255).round() / 255.0
    return (crop - torch.tensor(MEAN)[None, :, None, None]) / torch.tensor(STD)[None, :, None, None]
