"""Stable Diffusion XL networks written from the SDXL paper (Podell et al. 2023) and the published SGM single-file key
layout, as plain functions over a state dict with the single-file names. Builds on sd1.py's layers (residual blocks,
attention, GroupNorm/LayerNorm); no diffusers, transformers, open_clip or sgm code.

What SDXL changes against SD 1.x:
- UNet: a transformer *depth* per level (SDXL: 0, 2, 10 at widths 320, 640, 1280; the middle takes the last level's),
  no attention at the first level, linear proj_in/proj_out, heads 64 wide (heads = width / 64), and `label_emb`: an
  MLP (Linear, SiLU, Linear) over y = [pooled text embedding, Fourier(original h, w), Fourier(crop top, left),
  Fourier(target h, w)], each size number embedded by the 256-wide sinusoid (cos first), added to the time embedding.
- Two text encoders: CLIP ViT-L (`conditioner.embedders.0.transformer.text_model.`, quick_gelu) and OpenCLIP ViT-bigG
  (`conditioner.embedders.1.model.`: token_embedding, positional_embedding, transformer.resblocks.N with a fused
  attn.in_proj, exact GELU, ln_final, text_projection used as x @ P). The UNet's context is both encoders' penultimate
  layer outputs (hidden_states[-2], *without* the final layer norm) concatenated on the feature axis; the pooled
  vector is OpenCLIP's final-normed state at the end-of-text token (first argmax of the ids) times text_projection.
- The VAE is SD's architecture (scaling factor 0.13025 instead of 0.18215).
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import sd1
from sd1 import _attention, _conv, _group_norm, _layer_norm, _linear, timestep_embedding

UNET = sd1.UNET
CLIP_L = "conditioner.embedders.0.transformer.text_model."
OPEN_CLIP = "conditioner.embedders.1.model."
VAE = sd1.VAE
TIME_ID_WIDTH = 256  # each of the six size numbers is embedded 256 wide
HEAD_WIDTH = 64  # SDXL's num_head_channels


@dataclass
class UNetConfig:
    in_channels: int = 4
    out_channels: int = 4
    model_channels: int = 32
    channel_mult: tuple = (1, 2, 2)
    num_res_blocks: int = 2
    transformer_depth: tuple = (0, 1, 2)  # per level; the middle block uses the last level's unless middle_depth says
    context_dim: int = 96
    pooled_dim: int = 48
    head_width: int = HEAD_WIDTH
    time_ids: int = 6  # base: original h, w, crop top, left, target h, w; refiner: original h, w, crop top, left, aesthetic score
    middle_depth: int = 0  # 0: the last level's depth (base); the refiner's last level has none but its middle has 4
    # The distilled UNets (SSD-1B, Vega, KOALA) as ComfyUI's model_detection counts them from the keys. input_depths: the
    # depth of each input block with a residual block, in order (transformer_depth); output_depths: each output block's, in
    # output order (0: no transformer). middle: transformer_depth_middle (n >= 0: res, n blocks, res; -1: one res block;
    # -2: no middle block). None: the per-level depths above, mirrored, and the middle of mid_depth.
    input_depths: tuple = None
    output_depths: tuple = None
    middle: int = None

    @property
    def adm_in(self):
        return self.pooled_dim + self.time_ids * TIME_ID_WIDTH

    @property
    def mid_depth(self):
        return self.middle_depth or self.transformer_depth[-1]

    def heads(self, channels):
        return max(1, channels // self.head_width)

    def in_depth(self, level, i):
        """Transformer blocks after residual block i of input level `level`."""
        return self.input_depths[level * self.num_res_blocks + i] if self.input_depths else self.transformer_depth[level]

    def out_depth(self, k, level):
        """Transformer blocks after output block k's residual block (k counts from the deepest level)."""
        return self.output_depths[k] if self.output_depths else self.transformer_depth[level]

    @property
    def middle_blocks(self):
        """ComfyUI's transformer_depth_middle: n >= 0 transformer blocks, -1 a lone residual block, -2 none."""
        return self.mid_depth if self.middle is None else self.middle


@dataclass
class OpenClipConfig:
    vocab: int = 768
    positions: int = 77
    width: int = 64
    layers: int = 3
    head_width: int = 64  # ViT-bigG: 20 heads at width 1280
    projection: int = 48


def unet_weights(cfg: UNetConfig, seed=1):
    w = sd1.Weights(seed)
    p = UNET
    mc = cfg.model_channels
    ted = mc * 4
    w.linear(p + "time_embed.0", mc, ted)
    w.linear(p + "time_embed.2", ted, ted)
    w.linear(p + "label_emb.0.0", cfg.adm_in, ted)
    w.linear(p + "label_emb.0.2", ted, ted)
    w.conv(p + "input_blocks.0.0", cfg.in_channels, mc, 3)

    def res(name, cin, cout):
        w.norm(name + ".in_layers.0", cin)
        w.conv(name + ".in_layers.2", cin, cout, 3)
        w.linear(name + ".emb_layers.1", ted, cout)
        w.norm(name + ".out_layers.0", cout)
        w.conv(name + ".out_layers.3", cout, cout, 3)
        if cin != cout:
            w.conv(name + ".skip_connection", cin, cout, 1)

    def transformer(name, c, depth):
        w.norm(name + ".norm", c)
        w.linear(name + ".proj_in", c, c)
        for d in range(depth):
            b = f"{name}.transformer_blocks.{d}"
            w.linear(b + ".attn1.to_q", c, c, bias=False)
            w.linear(b + ".attn1.to_k", c, c, bias=False)
            w.linear(b + ".attn1.to_v", c, c, bias=False)
            w.linear(b + ".attn1.to_out.0", c, c)
            w.linear(b + ".ff.net.0.proj", c, c * 8)
            w.linear(b + ".ff.net.2", c * 4, c)
            w.linear(b + ".attn2.to_q", c, c, bias=False)
            w.linear(b + ".attn2.to_k", cfg.context_dim, c, bias=False)
            w.linear(b + ".attn2.to_v", cfg.context_dim, c, bias=False)
            w.linear(b + ".attn2.to_out.0", c, c)
            for n in ("norm1", "norm2", "norm3"):
                w.norm(b + "." + n, c)
        w.linear(name + ".proj_out", c, c)

    chans = [mc]
    ch = mc
    k = 1
    for level, mult in enumerate(cfg.channel_mult):
        for i in range(cfg.num_res_blocks):
            res(f"{p}input_blocks.{k}.0", ch, mc * mult)
            ch = mc * mult
            if cfg.in_depth(level, i):
                transformer(f"{p}input_blocks.{k}.1", ch, cfg.in_depth(level, i))
            chans.append(ch)
            k += 1
        if level != len(cfg.channel_mult) - 1:
            w.conv(f"{p}input_blocks.{k}.0.op", ch, ch, 3)
            chans.append(ch)
            k += 1
    if cfg.middle_blocks >= -1:
        res(p + "middle_block.0", ch, ch)
    if cfg.middle_blocks >= 0:
        transformer(p + "middle_block.1", ch, cfg.middle_blocks)
        res(p + "middle_block.2", ch, ch)
    k = 0
    for level in reversed(range(len(cfg.channel_mult))):
        for i in range(cfg.num_res_blocks + 1):
            skip = chans.pop()
            res(f"{p}output_blocks.{k}.0", ch + skip, mc * cfg.channel_mult[level])
            ch = mc * cfg.channel_mult[level]
            j = 1
            if cfg.out_depth(k, level):
                transformer(f"{p}output_blocks.{k}.1", ch, cfg.out_depth(k, level))
                j = 2
            if level and i == cfg.num_res_blocks:
                w.conv(f"{p}output_blocks.{k}.{j}.conv", ch, ch, 3)
            k += 1
    w.norm(p + "out.0", ch)
    w.conv(p + "out.2", ch, cfg.out_channels, 3)
    return w.sd


def clip_l_weights(cfg: sd1.ClipConfig, seed=2):
    """CLIP ViT-L's tower under SDXL's first-embedder prefix (same names as SD 1.x after the prefix)."""
    return {CLIP_L + k[len(sd1.CLIP):]: v for k, v in sd1.clip_weights(cfg, seed).items()}


def open_clip_weights(cfg: OpenClipConfig, seed=4, p=OPEN_CLIP):
    """OpenCLIP's tower under prefix p (the base's second embedder; the refiner's only one, conditioner.embedders.0.model.)."""
    w = sd1.Weights(seed)
    w.raw(p + "token_embedding.weight", cfg.vocab, cfg.width, scale=0.5)
    w.raw(p + "positional_embedding", cfg.positions, cfg.width, scale=0.1)
    for i in range(cfg.layers):
        b = f"{p}transformer.resblocks.{i}"
        w.norm(b + ".ln_1", cfg.width)
        w.raw(b + ".attn.in_proj_weight", 3 * cfg.width, cfg.width, scale=1 / math.sqrt(cfg.width))
        w.raw(b + ".attn.in_proj_bias", 3 * cfg.width, scale=0.1)
        w.linear(b + ".attn.out_proj", cfg.width, cfg.width)
        w.norm(b + ".ln_2", cfg.width)
        w.linear(b + ".mlp.c_fc", cfg.width, cfg.width * 4)
        w.linear(b + ".mlp.c_proj", cfg.width * 4, cfg.width)
    w.norm(p + "ln_final", cfg.width)
    w.raw(p + "text_projection", cfg.width, cfg.projection, scale=1 / math.sqrt(cfg.width))
    w.sd[p + "logit_scale"] = torch.tensor(4.6052)  # real files carry it; no text path uses it
    return w.sd


# ---------------------------------------------------------------- forward passes

def fourier_time_ids(time_ids):
    """[B, 6] size numbers -> [B, 6 * 256]: each number's sinusoid (cos first), in order."""
    b, n = time_ids.shape
    return timestep_embedding(time_ids.reshape(-1), TIME_ID_WIDTH).reshape(b, n * TIME_ID_WIDTH)


def res_block(sd, name, h, emb):
    """LDM's ResBlock: GroupNorm, SiLU, 3x3 conv, plus the projected time embedding, again, and the (1x1) skip."""
    y = _conv(sd, name + ".in_layers.2", F.silu(_group_norm(sd, name + ".in_layers.0", h, 1e-5)))
    y = y + _linear(sd, name + ".emb_layers.1", F.silu(emb))[:, :, None, None]
    y = _conv(sd, name + ".out_layers.3", F.silu(_group_norm(sd, name + ".out_layers.0", y, 1e-5)))
    skip = _conv(sd, name + ".skip_connection", h) if name + ".skip_connection.weight" in sd else h
    return skip + y


def spatial_transformer(sd, cfg: UNetConfig, name, h, depth, context, ip=None, attn1_replace=None):
    """SDXL's spatial transformer: linear proj_in/proj_out around `depth` blocks (self-attention, cross-attention, GEGLU).
    ip: as sd1.unet_forward's, its layers keyed by transformer *block* ("<name>.transformer_blocks.<d>").
    attn1_replace: f(q, k, v) replacing the self-attention of every block (sd1.unet_forward's, for this transformer)."""
    b, c, hh, ww = h.shape
    heads = cfg.heads(c)
    y = _group_norm(sd, name + ".norm", h, 1e-6).reshape(b, c, hh * ww).transpose(1, 2)
    y = _linear(sd, name + ".proj_in", y)
    for d in range(depth):
        blk = f"{name}.transformer_blocks.{d}"
        n1 = _layer_norm(sd, blk + ".norm1", y)
        attention = attn1_replace or (lambda q, k, v: _attention(q, k, v, heads))
        y = y + _linear(sd, blk + ".attn1.to_out.0", attention(
            _linear(sd, blk + ".attn1.to_q", n1), _linear(sd, blk + ".attn1.to_k", n1), _linear(sd, blk + ".attn1.to_v", n1)))
        n2 = _layer_norm(sd, blk + ".norm2", y)
        q = _linear(sd, blk + ".attn2.to_q", n2)
        attended = _attention(q, _linear(sd, blk + ".attn2.to_k", context), _linear(sd, blk + ".attn2.to_v", context), heads)
        if ip is not None and blk in ip["layers"]:
            k_ip, v_ip = ip["layers"][blk]
            tokens = ip["tokens"]
            attended = attended + ip["scale"][:, None, None] * _attention(q, tokens @ k_ip.T, tokens @ v_ip.T, heads)
        y = y + _linear(sd, blk + ".attn2.to_out.0", attended)
        a, gate = _linear(sd, blk + ".ff.net.0.proj", _layer_norm(sd, blk + ".norm3", y)).chunk(2, dim=-1)
        y = y + _linear(sd, blk + ".ff.net.2", a * F.gelu(gate))
    y = _linear(sd, name + ".proj_out", y)
    return h + y.transpose(1, 2).reshape(b, c, hh, ww)


def added_time_embedding(sd, cfg: UNetConfig, p, t, text_embeds, time_ids):
    """The time embedding plus label_emb over [pooled text, Fourier(size numbers)], under prefix p."""
    emb = _linear(sd, p + "time_embed.2", F.silu(_linear(sd, p + "time_embed.0", timestep_embedding(t, cfg.model_channels))))
    if text_embeds is None:  # a UNet without label_emb (SD 2.x's, sd2.py)
        return emb
    y = torch.cat([text_embeds, fourier_time_ids(time_ids)], dim=-1)
    return emb + _linear(sd, p + "label_emb.0.2", F.silu(_linear(sd, p + "label_emb.0.0", y)))


def unet_forward(sd, cfg: UNetConfig, x, t, context, text_embeds, time_ids, control=None, ip=None, attn1_replace=None,
                 input_patch=None, input_patch_after_skip=None, output_patch=None):
    """control: ControlNet residuals [down_0, ..., down_n-1, mid], added to the skips and the middle block output.
    ip: IP-Adapter decoupled cross-attention (spatial_transformer's).
    attn1_replace: {transformer name: f(q, k, v)}, as sd1.unet_forward's.
    input_patch, input_patch_after_skip, output_patch: as sd1.unet_forward's."""
    p = UNET
    control = list(control) if control is not None else None

    def res(name, h, emb):
        return res_block(sd, name, h, emb)

    def transformer(name, h, depth):
        return spatial_transformer(sd, cfg, name, h, depth, context, ip, (attn1_replace or {}).get(name))

    emb = added_time_embedding(sd, cfg, p, t, text_embeds, time_ids)
    skips = []

    def keep(h):
        block = len(skips)
        h = input_patch(h, block) if input_patch is not None else h
        skips.append(h)
        return input_patch_after_skip(h, block) if input_patch_after_skip is not None else h

    h = keep(_conv(sd, p + "input_blocks.0.0", x))
    k = 1
    for level in range(len(cfg.channel_mult)):
        for i in range(cfg.num_res_blocks):
            h = res(f"{p}input_blocks.{k}.0", h, emb)
            if cfg.in_depth(level, i):
                h = transformer(f"{p}input_blocks.{k}.1", h, cfg.in_depth(level, i))
            h = keep(h)
            k += 1
        if level != len(cfg.channel_mult) - 1:
            h = _conv(sd, f"{p}input_blocks.{k}.0.op", h, stride=2, padding=1)
            h = keep(h)
            k += 1
    if cfg.middle_blocks >= -1:  # -2: no middle block, the last input block's output goes straight on
        h = res(p + "middle_block.0", h, emb)
    if cfg.middle_blocks >= 0:
        h = transformer(p + "middle_block.1", h, cfg.middle_blocks)
        h = res(p + "middle_block.2", h, emb)
    if control is not None:
        h = h + control.pop()
        skips = [s + c for s, c in zip(skips, control)]
    k = 0
    for level in reversed(range(len(cfg.channel_mult))):
        for i in range(cfg.num_res_blocks + 1):
            skip = skips.pop()
            if output_patch is not None:
                h, skip = output_patch(h, skip)
            h = res(f"{p}output_blocks.{k}.0", torch.cat([h, skip], dim=1), emb)
            j = 1
            if cfg.out_depth(k, level):
                h = transformer(f"{p}output_blocks.{k}.1", h, cfg.out_depth(k, level))
                j = 2
            if level and i == cfg.num_res_blocks:
                h = _conv(sd, f"{p}output_blocks.{k}.{j}.conv", F.interpolate(h, size=skips[-1].shape[-2:], mode="nearest"))
            k += 1
    return _conv(sd, p + "out.2", F.silu(_group_norm(sd, p + "out.0", h, 1e-5)))


def clip_l_penultimate(sd, cfg: sd1.ClipConfig, ids):
    """CLIP ViT-L's hidden_states[-2]: the input of its last layer, no final layer norm."""
    renamed = {sd1.CLIP + k[len(CLIP_L):]: v for k, v in sd.items() if k.startswith(CLIP_L)}
    _, states = sd1.clip_forward(renamed, cfg, ids)
    return states[-2]


def open_clip_forward(sd, cfg: OpenClipConfig, ids, p=OPEN_CLIP):
    """OpenCLIP's text tower: (penultimate layer output without ln_final, pooled = ln_final(last)[eos] @ text_projection)."""
    states = open_clip_states(sd, cfg, ids, p)
    last = _layer_norm(sd, p + "ln_final", states[-1])
    pooled = last[torch.arange(ids.shape[0]), ids.argmax(-1)] @ sd[p + "text_projection"]
    return states[-2], pooled


def open_clip_states(sd, cfg: OpenClipConfig, ids, p=OPEN_CLIP):
    """OpenCLIP's text transformer: the embeddings and every layer's output (no ln_final), as a list."""
    n = ids.shape[1]
    h = sd[p + "token_embedding.weight"][ids] + sd[p + "positional_embedding"][:n]
    mask = torch.full((n, n), float("-inf")).triu(1)
    heads = cfg.width // cfg.head_width
    states = [h]
    for i in range(cfg.layers):
        b = f"{p}transformer.resblocks.{i}"
        x = _layer_norm(sd, b + ".ln_1", h)
        q, k, v = F.linear(x, sd[b + ".attn.in_proj_weight"], sd[b + ".attn.in_proj_bias"]).chunk(3, dim=-1)
        h = h + _linear(sd, b + ".attn.out_proj", _attention(q, k, v, heads, mask))
        m = _linear(sd, b + ".mlp.c_fc", _layer_norm(sd, b + ".ln_2", h))
        h = h + _linear(sd, b + ".mlp.c_proj", F.gelu(m))
        states.append(h)
    return states


def cross_attention_blocks(cfg: UNetConfig):
    """Every transformer block with cross-attention, in LDM names, in diffusers' attention-processor order (the order
    IP-Adapter numbers its layers by): input blocks, output blocks, then the middle block; each block's depth in order.
    Block n's cross-attention is processor 2n + 1 (its self-attention 2n). SDXL base: 4 + 20 + 30 + 6 + 10 = 70."""
    p = UNET
    down, up = [], []
    k = 1
    for level in range(len(cfg.channel_mult)):
        for i in range(cfg.num_res_blocks):
            depth = cfg.in_depth(level, i)
            down += [(f"{p}input_blocks.{k}.1.transformer_blocks.{d}", cfg.model_channels * cfg.channel_mult[level]) for d in range(depth)]
            k += 1
        k += 1 if level != len(cfg.channel_mult) - 1 else 0
    k = 0
    for level in reversed(range(len(cfg.channel_mult))):
        for _ in range(cfg.num_res_blocks + 1):
            depth = cfg.out_depth(k, level)
            up += [(f"{p}output_blocks.{k}.1.transformer_blocks.{d}", cfg.model_channels * cfg.channel_mult[level]) for d in range(depth)]
            k += 1
    middle = [(f"{p}middle_block.1.transformer_blocks.{d}", cfg.model_channels * cfg.channel_mult[-1]) for d in range(max(0, cfg.middle_blocks))]
    return down + up + middle
