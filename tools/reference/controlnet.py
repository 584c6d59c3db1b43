"""ControlNet for SD 1.x written from the paper (Zhang, Rao & Agrawala 2023, "Adding Conditional Control to
Text-to-Image Diffusion Models") and the published LDM key layout of its checkpoints (`control_model.*`): a trainable
copy of the UNet's encoder (time_embed, input_blocks, middle_block) whose input is the noisy latent plus an embedding
of the control image, and one zero-initialised 1x1 convolution per encoder output (zero_convs.i.0) and after the middle
block (middle_block_out.0). The control image goes through input_hint_block: 3x3 convolutions with SiLU between them,
three of stride 2 (image resolution -> latent resolution), the last one zero-initialised and without activation.
Its outputs are added to the UNet's skip connections (in order) and to its middle block output.
Functions over state dicts with the LDM names; no diffusers or ControlNet repository code.
"""
import torch
import torch.nn.functional as F

import sd1
from sd1 import _attention, _conv, _group_norm, _layer_norm, _linear

CONTROL = "control_model."


def controlnet_weights(cfg: sd1.UNetConfig, hint_channels=(8, 16, 16, 32), seed=4):
    """Random ControlNet weights at the UNet's widths. The encoder copy comes from sd1.unet_weights with another seed;
    the zero convolutions are random (a trained ControlNet's are not zero, and zeros would test nothing)."""
    encoder = sd1.unet_weights(cfg, seed)
    sd = {CONTROL + k[len(sd1.UNET):]: t for k, t in encoder.items()
          if k[len(sd1.UNET):].startswith(("time_embed.", "input_blocks.", "middle_block."))}
    w = sd1.Weights(seed + 100)
    convs = hint_block_convs(cfg, hint_channels)
    for index, (cin, cout, _) in zip(range(0, 2 * len(convs), 2), convs):
        w.conv(f"{CONTROL}input_hint_block.{index}", cin, cout, 3)
    for i, c in enumerate(encoder_channels(cfg)):
        w.conv(f"{CONTROL}zero_convs.{i}.0", c, c, 1)
    mid = cfg.model_channels * cfg.channel_mult[-1]
    w.conv(CONTROL + "middle_block_out.0", mid, mid, 1)
    sd.update(w.sd)
    return sd


def hint_block_convs(cfg, hint_channels):
    """(in, out, stride) of the hint block's convolutions, as cldm.py lays them out for (16, 32, 96, 256)."""
    convs = [(3, hint_channels[0], 1)]
    for a, b in zip(hint_channels, hint_channels[1:]):
        convs += [(a, a, 1), (a, b, 2)]
    return convs + [(hint_channels[-1], cfg.model_channels, 1)]


def encoder_channels(cfg):
    """The width of each input block's output (conv_in, then each res block and downsampler)."""
    mc = cfg.model_channels
    chans = [mc]
    for level, mult in enumerate(cfg.channel_mult):
        chans += [mc * mult] * cfg.num_res_blocks
        if level != len(cfg.channel_mult) - 1:
            chans.append(mc * mult)
    return chans


def _res(sd, name, h, emb):
    y = _conv(sd, name + ".in_layers.2", F.silu(_group_norm(sd, name + ".in_layers.0", h, 1e-5)))
    y = y + _linear(sd, name + ".emb_layers.1", F.silu(emb))[:, :, None, None]
    y = _conv(sd, name + ".out_layers.3", F.silu(_group_norm(sd, name + ".out_layers.0", y, 1e-5)))
    skip = _conv(sd, name + ".skip_connection", h) if name + ".skip_connection.weight" in sd else h
    return skip + y


def _transformer(sd, cfg, name, h, context):
    b, c, hh, ww = h.shape
    y = _conv(sd, name + ".proj_in", _group_norm(sd, name + ".norm", h, 1e-6)).reshape(b, c, hh * ww).transpose(1, 2)
    blk = name + ".transformer_blocks.0"
    n1 = _layer_norm(sd, blk + ".norm1", y)
    y = y + _linear(sd, blk + ".attn1.to_out.0", _attention(
        _linear(sd, blk + ".attn1.to_q", n1), _linear(sd, blk + ".attn1.to_k", n1), _linear(sd, blk + ".attn1.to_v", n1), cfg.num_heads))
    n2 = _layer_norm(sd, blk + ".norm2", y)
    y = y + _linear(sd, blk + ".attn2.to_out.0", _attention(
        _linear(sd, blk + ".attn2.to_q", n2), _linear(sd, blk + ".attn2.to_k", context), _linear(sd, blk + ".attn2.to_v", context), cfg.num_heads))
    a, gate = _linear(sd, blk + ".ff.net.0.proj", _layer_norm(sd, blk + ".norm3", y)).chunk(2, dim=-1)
    y = y + _linear(sd, blk + ".ff.net.2", a * F.gelu(gate))
    return h + _conv(sd, name + ".proj_out", y.transpose(1, 2).reshape(b, c, hh, ww))


def hint_embedding(sd, hint):
    """input_hint_block: 3x3 convolutions with SiLU between them, the (2n)th of stride 2 for 0 < n < last."""
    p = CONTROL
    g = hint
    count = sum(1 for k in sd if k.startswith(p + "input_hint_block.") and k.endswith(".weight"))
    for n in range(count):  # sequential indices 0, 2, 4, ...: SiLU modules sit between the convolutions
        stride = 2 if 0 < n < count - 1 and n % 2 == 0 else 1
        g = _conv(sd, f"{p}input_hint_block.{2 * n}", g, stride=stride, padding=1)
        if n < count - 1:
            g = F.silu(g)
    return g


def controlnet_forward(sd, cfg: sd1.UNetConfig, x, t, context, hint):
    """The residuals [down_0, ..., down_n-1, mid] for latents x [B,4,h,w] and a control image hint [B,3,8h,8w] in [0,1]."""
    p = CONTROL
    emb = _linear(sd, p + "time_embed.2", F.silu(_linear(sd, p + "time_embed.0", sd1.timestep_embedding(t, cfg.model_channels))))
    h = _conv(sd, p + "input_blocks.0.0", x) + hint_embedding(sd, hint)
    outs = [_conv(sd, p + "zero_convs.0.0", h)]
    k = 1
    for level in range(len(cfg.channel_mult)):
        for _ in range(cfg.num_res_blocks):
            h = _res(sd, f"{p}input_blocks.{k}.0", h, emb)
            if level in cfg.attention_levels:
                h = _transformer(sd, cfg, f"{p}input_blocks.{k}.1", h, context)
            outs.append(_conv(sd, f"{p}zero_convs.{k}.0", h))
            k += 1
        if level != len(cfg.channel_mult) - 1:
            h = _conv(sd, f"{p}input_blocks.{k}.0.op", h, stride=2, padding=1)
            outs.append(_conv(sd, f"{p}zero_convs.{k}.0", h))
            k += 1
    h = _res(sd, p + "middle_block.2", _transformer(sd, cfg, p + "middle_block.1", _res(sd, p + "middle_block.0", h, emb), context), emb)
    outs.append(_conv(sd, p + "middle_block_out.0", h))
    return outs


def diffusers_names(sd, cfg):
    """LDM control_model.* -> the diffusers ControlNetModel names: the encoder as the UNet's (conv_in, time_embedding,
    down_blocks, mid_block), input_hint_block -> controlnet_cond_embedding (conv_in, blocks.i, conv_out),
    zero_convs.i.0 -> controlnet_down_blocks.i, middle_block_out.0 -> controlnet_mid_block."""
    import diffusers_keys
    encoder = {sd1.UNET + k[len(CONTROL):]: t for k, t in sd.items()
               if k[len(CONTROL):].startswith(("time_embed.", "label_emb.", "input_blocks.", "middle_block."))}
    out = diffusers_keys.unet(encoder, cfg)
    hints = sorted({int(k[len(CONTROL + "input_hint_block."):].split(".")[0]) for k in sd if k.startswith(CONTROL + "input_hint_block.")})
    for n, index in enumerate(hints):
        target = "conv_in" if n == 0 else "conv_out" if n == len(hints) - 1 else f"blocks.{n - 1}"
        for suffix in ("weight", "bias"):
            out[f"controlnet_cond_embedding.{target}.{suffix}"] = sd[f"{CONTROL}input_hint_block.{index}.{suffix}"]
    for k, t in sd.items():
        rest = k[len(CONTROL):]
        if rest.startswith("zero_convs."):
            i, _, suffix = rest[len("zero_convs."):].split(".")
            out[f"controlnet_down_blocks.{i}.{suffix}"] = t
        elif rest.startswith("middle_block_out.0."):
            out["controlnet_mid_block." + rest[len("middle_block_out.0."):]] = t
    return out
