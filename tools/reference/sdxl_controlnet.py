"""ControlNet for SDXL, written from the ControlNet paper (see controlnet.py) over sdxl.py's UNet: the trainable encoder
copy is SDXL's (time embedding plus label_emb over the pooled text and the Fourier-embedded size numbers, a transformer
depth per level, linear projections, 64-wide heads), so the ControlNet takes the same text_embeds and time_ids as the
UNet. Hint block, zero convolutions and middle block out are SD 1.x's (controlnet.py). Published SDXL ControlNets are
diffusers ControlNetModel files (addition_embed_type "text_time": add_embedding.linear_1/2); `diffusers_names` gives
that layout from these LDM-style `control_model.*` names.
"""
import controlnet
import sdxl
from sd1 import _conv, Weights
from controlnet import CONTROL


def controlnet_weights(cfg: sdxl.UNetConfig, hint_channels=(8, 16, 16, 32), seed=6):
    """Random weights at the UNet's widths; the zero convolutions are random too (zeros would test nothing)."""
    encoder = sdxl.unet_weights(cfg, seed)
    sd = {CONTROL + k[len(sdxl.UNET):]: t for k, t in encoder.items()
          if k[len(sdxl.UNET):].startswith(("time_embed.", "label_emb.", "input_blocks.", "middle_block."))}
    w = Weights(seed + 100)
    convs = controlnet.hint_block_convs(cfg, hint_channels)
    for index, (cin, cout, _) in zip(range(0, 2 * len(convs), 2), convs):
        w.conv(f"{CONTROL}input_hint_block.{index}", cin, cout, 3)
    for i, c in enumerate(controlnet.encoder_channels(cfg)):
        w.conv(f"{CONTROL}zero_convs.{i}.0", c, c, 1)
    mid = cfg.model_channels * cfg.channel_mult[-1]
    w.conv(CONTROL + "middle_block_out.0", mid, mid, 1)
    sd.update(w.sd)
    return sd


def controlnet_forward(sd, cfg: sdxl.UNetConfig, x, t, context, text_embeds, time_ids, hint):
    """The residuals [down_0, ..., down_n-1, mid] for latents x [B,4,h,w] and a control image hint [B,3,8h,8w] in [0,1]."""
    p = CONTROL
    emb = sdxl.added_time_embedding(sd, cfg, p, t, text_embeds, time_ids)
    g = controlnet.hint_embedding(sd, hint)
    h = _conv(sd, p + "input_blocks.0.0", x) + g
    outs = [_conv(sd, p + "zero_convs.0.0", h)]
    k = 1
    for level in range(len(cfg.channel_mult)):
        for _ in range(cfg.num_res_blocks):
            h = sdxl.res_block(sd, f"{p}input_blocks.{k}.0", h, emb)
            if cfg.transformer_depth[level]:
                h = sdxl.spatial_transformer(sd, cfg, f"{p}input_blocks.{k}.1", h, cfg.transformer_depth[level], context)
            outs.append(_conv(sd, f"{p}zero_convs.{k}.0", h))
            k += 1
        if level != len(cfg.channel_mult) - 1:
            h = _conv(sd, f"{p}input_blocks.{k}.0.op", h, stride=2, padding=1)
            outs.append(_conv(sd, f"{p}zero_convs.{k}.0", h))
            k += 1
    h = sdxl.res_block(sd, p + "middle_block.0", h, emb)
    h = sdxl.spatial_transformer(sd, cfg, p + "middle_block.1", h, cfg.mid_depth, context)
    h = sdxl.res_block(sd, p + "middle_block.2", h, emb)
    outs.append(_conv(sd, p + "middle_block_out.0", h))
    return outs


def diffusers_names(sd, cfg):
    """control_model.* -> diffusers ControlNetModel names (label_emb -> add_embedding; the rest as controlnet.py maps it)."""
    return controlnet.diffusers_names(sd, cfg)
