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


# ---------------------------------------------------------------- IP-Adapter Plus: the Resampler image projection
#
# IP-Adapter Plus (and plus-face) replaces image_proj.proj/norm by a perceiver resampler over the CLIP tower's penultimate
# hidden states (all tokens, before the post-layernorm): `image_proj.latents` [1, N, dim] (learned queries, stored as
# trained; nothing scales them at run time), `proj_in` (hidden width -> dim), `depth` layers of
# [`layers.i.0`: PerceiverAttention (norm1 on the image features, norm2 on the latents, bias-free to_q, to_kv, to_out; the
# keys and values read the image features and the latents concatenated on the token axis; heads of 64),
# `layers.i.1`: FeedForward (.0 LayerNorm, .1 Linear without bias, exact GELU, .3 Linear without bias)], each added to
# the latents, then `proj_out` (dim -> the UNet's context width) and `norm_out`. SD 1.5's is 768 wide, 12 heads, 4 layers,
# 16 queries over ViT-H's 1280-wide states; SDXL's plus is 1280 wide, 20 heads, out 2048.
HEAD_WIDTH = 64


def resampler_weights(context_dim, hidden_dim, dim, inner, depth, tokens, ff_mult=4, seed=13):
    w = sd1.Weights(seed)
    p = "image_proj."
    w.raw(p + "latents", 1, tokens, dim, scale=dim ** -0.5)
    w.linear(p + "proj_in", hidden_dim, dim)
    for i in range(depth):
        a, f = f"{p}layers.{i}.0", f"{p}layers.{i}.1"
        w.norm(a + ".norm1", dim)
        w.norm(a + ".norm2", dim)
        w.linear(a + ".to_q", dim, inner, bias=False)
        w.linear(a + ".to_kv", dim, 2 * inner, bias=False)
        w.linear(a + ".to_out", inner, dim, bias=False)
        w.norm(f + ".0", dim)
        w.linear(f + ".1", dim, dim * ff_mult, bias=False)
        w.linear(f + ".3", dim * ff_mult, dim, bias=False)
    w.linear(p + "proj_out", dim, context_dim)
    w.norm(p + "norm_out", context_dim)
    return w.sd


def resampler_tokens(sd, hidden_states):
    """[B, T, hidden] (the tower's penultimate hidden states) -> [B, N, context_dim]."""
    p = "image_proj."
    x = _linear(sd, p + "proj_in", hidden_states)
    latents = sd[p + "latents"].expand(hidden_states.shape[0], -1, -1)
    depth = len({k.split(".")[2] for k in sd if k.startswith(p + "layers.")})
    for i in range(depth):
        a, f = f"{p}layers.{i}.0", f"{p}layers.{i}.1"
        features, queries = _layer_norm(sd, a + ".norm1", x), _layer_norm(sd, a + ".norm2", latents)
        heads = sd[a + ".to_q.weight"].shape[0] // HEAD_WIDTH
        k, v = _linear(sd, a + ".to_kv", torch.cat([features, queries], dim=1)).chunk(2, dim=-1)
        latents = latents + _linear(sd, a + ".to_out", sd1._attention(_linear(sd, a + ".to_q", queries), k, v, heads))
        hidden = torch.nn.functional.gelu(_linear(sd, f + ".1", _layer_norm(sd, f + ".0", latents)))
        latents = latents + _linear(sd, f + ".3", hidden)
    return _layer_norm(sd, p + "norm_out", _linear(sd, p + "proj_out", latents))


def layer_weights(sd, cfg: sd1.UNetConfig, seed=14):
    """Adds ip_adapter.{2n+1}.to_k_ip/to_v_ip for every cross-attention layer of an SD 1.x UNet to sd."""
    w = sd1.Weights(seed)
    for n, (_, channels) in enumerate(cross_attention_layers(cfg)):
        w.linear(f"ip_adapter.{2 * n + 1}.to_k_ip", cfg.context_dim, channels, bias=False)
        w.linear(f"ip_adapter.{2 * n + 1}.to_v_ip", cfg.context_dim, channels, bias=False)
    return {**sd, **w.sd}
