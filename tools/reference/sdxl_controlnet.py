"""ControlNet for SDXL, written from the ControlNet paper (see controlnet.py) over sdxl.py's UNet: the trainable encoder
copy is SDXL's (time embedding plus label_emb over the pooled text and the Fourier-embedded size numbers, a transformer
depth per level, linear projections, 64-wide heads), so the ControlNet takes the same text_embeds and time_ids as the
UNet. Hint block, zero convolutions and middle block out are SD 1.x's (controlnet.py). Published SDXL ControlNets are
diffusers ControlNetModel files (addition_embed_type "text_time": add_embedding.linear_1/2); `diffusers_names` gives
that layout from these LDM-style `control_model.*` names.
"""
import controlnet
import sdxl
import torch
import torch.nn.functional as F

from sd1 import _attention, _conv, _layer_norm, _linear, timestep_embedding, Weights
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


def controlnet_forward(sd, cfg: sdxl.UNetConfig, x, t, context, text_embeds, time_ids, hint, union=None):
    """The residuals [down_0, ..., down_n-1, mid] for latents x [B,4,h,w] and a control image hint [B,3,8h,8w] in [0,1].
    union: (union weights, control type index or None) for a union ControlNet (ControlNet++): see union_embedding and
    union_hint."""
    p = CONTROL
    emb = sdxl.added_time_embedding(sd, cfg, p, t, text_embeds, time_ids)
    g = controlnet.hint_embedding(sd, hint)
    if union is not None:
        weights, control_type = union
        emb = emb + union_embedding(weights, control_type)
        g = union_hint(weights, g, control_type)
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


# Union ControlNets (xinsir's ControlNet++, as ComfyUI's cldm.py runs them): one ControlNet for several control types.
UNION_ADD_WIDTH = 256  # each control type's sinusoid width in control_add_embedding
UNION_HEADS = 8


def union_weights(cfg: sdxl.UNetConfig, types=8, seed=41):
    """The union parts, diffusers names as published (attn.in_proj_weight/_bias unsplit): task_embedding [types, c],
    one transformer layer (ln_1, attention in/out projections, ln_2, a 4x MLP), spatial_ch_projs c -> c, and
    control_add_embedding (types x 256 sinusoid features -> the time embedding's width), c being model_channels."""
    c = cfg.model_channels
    w = Weights(seed)
    w.raw("task_embedding", types, c)
    t = "transformer_layes.0."
    w.norm(t + "ln_1", c)
    w.linear(t + "attn.in_proj", c, 3 * c)
    w.linear(t + "attn.out_proj", c, c)
    w.norm(t + "ln_2", c)
    w.linear(t + "mlp.c_fc", c, 4 * c)
    w.linear(t + "mlp.c_proj", 4 * c, c)
    w.linear("spatial_ch_projs", c, c)
    w.linear("control_add_embedding.linear_1", types * UNION_ADD_WIDTH, 4 * c)
    w.linear("control_add_embedding.linear_2", 4 * c, 4 * c)
    sd = dict(w.sd)
    for suffix in ("weight", "bias"):
        sd[f"{t}attn.in_proj_{suffix}"] = sd.pop(f"{t}attn.in_proj.{suffix}")
    return sd


def union_embedding(u, control_type):
    """control_add_embedding: a one-hot over the types (all zeros for "auto"), each entry's 256-wide timestep sinusoid,
    flattened, through linear_1, SiLU, linear_2; added to the time embedding of every row."""
    types = u["task_embedding"].shape[0]
    one_hot = torch.zeros(types)
    if control_type is not None:
        one_hot[control_type] = 1.0
    features = timestep_embedding(one_hot, UNION_ADD_WIDTH).reshape(1, types * UNION_ADD_WIDTH)
    return _linear(u, "control_add_embedding.linear_2", F.silu(_linear(u, "control_add_embedding.linear_1", features)))


def union_hint(u, g, control_type):
    """With a control type: the embedded control image's spatial mean plus the type's task embedding, a one-token
    sequence through the transformer layer (pre-norm attention and QuickGELU MLP), projected by spatial_ch_projs and
    added to the embedded image at every pixel. "auto" leaves the embedded image as it is."""
    if control_type is None:
        return g
    t = "transformer_layes.0."
    x = (g.mean(dim=(2, 3)) + u["task_embedding"][control_type]).unsqueeze(1)
    h = F.layer_norm(x, x.shape[-1:], u[t + "ln_1.weight"], u[t + "ln_1.bias"], 1e-5)
    q, k, v = F.linear(h, u[t + "attn.in_proj_weight"], u[t + "attn.in_proj_bias"]).chunk(3, dim=-1)
    x = x + _linear(u, t + "attn.out_proj", _attention(q, k, v, UNION_HEADS))
    h = _linear(u, t + "mlp.c_fc", _layer_norm(u, t + "ln_2", x))
    x = x + _linear(u, t + "mlp.c_proj", h * torch.sigmoid(1.702 * h))
    return g + _linear(u, "spatial_ch_projs", x[:, 0])[:, :, None, None]
