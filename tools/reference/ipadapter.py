"""IP-Adapter (Ye et al. 2023, "IP-Adapter: Text Compatible Image Prompt Adapter for Text-to-Image Diffusion Models")
for SD 1.x, as its released checkpoints lay out their tensors: `image_proj.proj` (CLIP image_embeds -> N tokens x the
UNet's context width, reshaped) and `image_proj.norm` (a layer norm over each token), and `ip_adapter.{i}.to_k_ip` /
`to_v_ip` for each cross-attention layer, i numbering the UNet's attention processors in diffusers' module order (down
blocks, up blocks, then the middle block; self-attention even, cross-attention odd: 1, 3, 5, ...). Decoupled
cross-attention: out = to_out(Attn(Q, K_text, V_text) + scale * Attn(Q, tokens K_ip^T, tokens V_ip^T)).
"""
import torch

import sd1
from sd1 import _layer_norm, _linear


def cross_attention_layers(cfg: sd1.UNetConfig):
    """The LDM names of the UNet's transformers in the adapter's order: input blocks, output blocks, middle block."""
    p = sd1.UNET
    down, up = [], []
    k = 1
    for level in range(len(cfg.channel_mult)):
        for _ in range(cfg.num_res_blocks):
            if level in cfg.attention_levels:
                down.append((f"{p}input_blocks.{k}.1", cfg.model_channels * cfg.channel_mult[level]))
            k += 1
        if level != len(cfg.channel_mult) - 1:
            k += 1
    k = 0
    for level in reversed(range(len(cfg.channel_mult))):
        for _ in range(cfg.num_res_blocks + 1):
            if level in cfg.attention_levels:
                up.append((f"{p}output_blocks.{k}.1", cfg.model_channels * cfg.channel_mult[level]))
            k += 1
    return down + up + [(p + "middle_block.1", cfg.model_channels * cfg.channel_mult[-1])]


def adapter_weights(cfg: sd1.UNetConfig, embed_dim, tokens=4, seed=12):
    w = sd1.Weights(seed)
    w.linear("image_proj.proj", embed_dim, tokens * cfg.context_dim)
    w.norm("image_proj.norm", cfg.context_dim)
    for n, (_, channels) in enumerate(cross_attention_layers(cfg)):
        w.linear(f"ip_adapter.{2 * n + 1}.to_k_ip", cfg.context_dim, channels, bias=False)
        w.linear(f"ip_adapter.{2 * n + 1}.to_v_ip", cfg.context_dim, channels, bias=False)
    return w.sd


def image_tokens(sd, cfg: sd1.UNetConfig, image_embeds):
    """[B, embed_dim] -> [B, N, context_dim]."""
    projected = _linear(sd, "image_proj.proj", image_embeds).reshape(image_embeds.shape[0], -1, cfg.context_dim)
    return _layer_norm(sd, "image_proj.norm", projected)


def unet_hook(sd, cfg: sd1.UNetConfig, tokens, scale):
    """The `ip` argument of sd1.unet_forward: every cross-attention layer with its adapter weights."""
    layers = {name: (sd[f"ip_adapter.{2 * n + 1}.to_k_ip.weight"], sd[f"ip_adapter.{2 * n + 1}.to_v_ip.weight"])
              for n, (name, _) in enumerate(cross_attention_layers(cfg))}
    return {"layers": layers, "tokens": tokens, "scale": torch.as_tensor(scale, dtype=torch.float32).reshape(-1)}
