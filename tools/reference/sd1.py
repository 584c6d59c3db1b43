"""Stable Diffusion 1.x networks written from the published architecture (CompVis latent-diffusion `openaimodel.py`,
`attention.py`, `model.py`; OpenAI CLIP's text transformer), as plain functions over a state dict with the LDM
single-file key names. No diffusers or transformers code: an independent reference for FlowDiffusion's ONNX builders.

Key prefixes: UNet `model.diffusion_model.`, text encoder `cond_stage_model.transformer.text_model.`, VAE `first_stage_model.`.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

UNET = "model.diffusion_model."
CLIP = "cond_stage_model.transformer.text_model."
VAE = "first_stage_model."


@dataclass
class UNetConfig:
    in_channels: int = 4
    out_channels: int = 4
    model_channels: int = 32
    channel_mult: tuple = (1, 2)
    num_res_blocks: int = 2
    attention_levels: tuple = (0,)
    num_heads: int = 8
    context_dim: int = 64


@dataclass
class ClipConfig:
    vocab: int = 1000
    positions: int = 77
    width: int = 64
    layers: int = 3
    head_width: int = 64  # CLIP-L's convention: 12 heads at width 768


@dataclass
class VaeConfig:
    ch: int = 32
    ch_mult: tuple = (1, 2)
    num_res_blocks: int = 1
    z_channels: int = 4
    in_channels: int = 3


# ---------------------------------------------------------------- random weights with LDM names

class Weights:
    """Fills a state dict in a fixed order from one seeded generator; norms get scale ~1 and shift ~0."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)
        self.sd = {}

    def linear(self, name, fan_in, fan_out, bias=True):
        self.sd[name + ".weight"] = torch.randn(fan_out, fan_in, generator=self.g) / math.sqrt(fan_in)
        if bias:
            self.sd[name + ".bias"] = torch.randn(fan_out, generator=self.g) * 0.1

    def conv(self, name, cin, cout, k):
        self.sd[name + ".weight"] = torch.randn(cout, cin, k, k, generator=self.g) / math.sqrt(cin * k * k)
        self.sd[name + ".bias"] = torch.randn(cout, generator=self.g) * 0.1

    def norm(self, name, c):
        self.sd[name + ".weight"] = 1 + torch.randn(c, generator=self.g) * 0.1
        self.sd[name + ".bias"] = torch.randn(c, generator=self.g) * 0.1

    def raw(self, name, *shape, scale=1.0):
        self.sd[name] = torch.randn(*shape, generator=self.g) * scale


def unet_weights(cfg: UNetConfig, seed=1):
    w = Weights(seed)
    p = UNET
    mc = cfg.model_channels
    ted = mc * 4
    w.linear(p + "time_embed.0", mc, ted)
    w.linear(p + "time_embed.2", ted, ted)
    w.conv(p + "input_blocks.0.0", cfg.in_channels, mc, 3)

    def res(name, cin, cout):
        w.norm(name + ".in_layers.0", cin)
        w.conv(name + ".in_layers.2", cin, cout, 3)
        w.linear(name + ".emb_layers.1", ted, cout)
        w.norm(name + ".out_layers.0", cout)
        w.conv(name + ".out_layers.3", cout, cout, 3)
        if cin != cout:
            w.conv(name + ".skip_connection", cin, cout, 1)

    def transformer(name, c):
        w.norm(name + ".norm", c)
        w.conv(name + ".proj_in", c, c, 1)
        b = name + ".transformer_blocks.0"
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
        w.conv(name + ".proj_out", c, c, 1)

    chans = [mc]
    ch = mc
    k = 1
    for level, mult in enumerate(cfg.channel_mult):
        for _ in range(cfg.num_res_blocks):
            res(f"{p}input_blocks.{k}.0", ch, mc * mult)
            ch = mc * mult
            if level in cfg.attention_levels:
                transformer(f"{p}input_blocks.{k}.1", ch)
            chans.append(ch)
            k += 1
        if level != len(cfg.channel_mult) - 1:
            w.conv(f"{p}input_blocks.{k}.0.op", ch, ch, 3)
            chans.append(ch)
            k += 1
    res(p + "middle_block.0", ch, ch)
    transformer(p + "middle_block.1", ch)
    res(p + "middle_block.2", ch, ch)
    k = 0
    for level in reversed(range(len(cfg.channel_mult))):
        for i in range(cfg.num_res_blocks + 1):
            skip = chans.pop()
            res(f"{p}output_blocks.{k}.0", ch + skip, mc * cfg.channel_mult[level])
            ch = mc * cfg.channel_mult[level]
            j = 1
            if level in cfg.attention_levels:
                transformer(f"{p}output_blocks.{k}.1", ch)
                j = 2
            if level and i == cfg.num_res_blocks:
                w.conv(f"{p}output_blocks.{k}.{j}.conv", ch, ch, 3)
            k += 1
    w.norm(p + "out.0", ch)
    w.conv(p + "out.2", ch, cfg.out_channels, 3)
    return w.sd


def clip_weights(cfg: ClipConfig, seed=2):
    w = Weights(seed)
    p = CLIP
    w.raw(p + "embeddings.token_embedding.weight", cfg.vocab, cfg.width, scale=0.5)
    w.raw(p + "embeddings.position_embedding.weight", cfg.positions, cfg.width, scale=0.1)
    for i in range(cfg.layers):
        b = f"{p}encoder.layers.{i}"
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            w.linear(f"{b}.self_attn.{n}", cfg.width, cfg.width)
        w.norm(b + ".layer_norm1", cfg.width)
        w.linear(b + ".mlp.fc1", cfg.width, cfg.width * 4)
        w.linear(b + ".mlp.fc2", cfg.width * 4, cfg.width)
        w.norm(b + ".layer_norm2", cfg.width)
    w.norm(p + "final_layer_norm", cfg.width)
    # Real checkpoints carry this buffer (int64 0..76); a loader must ignore or accept it.
    w.sd[p + "embeddings.position_ids"] = torch.arange(cfg.positions).unsqueeze(0)
    return w.sd


def vae_weights(cfg: VaeConfig, seed=3):
    w = Weights(seed)
    p = VAE

    def res(name, cin, cout):
        w.norm(name + ".norm1", cin)
        w.conv(name + ".conv1", cin, cout, 3)
        w.norm(name + ".norm2", cout)
        w.conv(name + ".conv2", cout, cout, 3)
        if cin != cout:
            w.conv(name + ".nin_shortcut", cin, cout, 1)

    def attn(name, c):
        w.norm(name + ".norm", c)
        for n in ("q", "k", "v", "proj_out"):
            w.conv(f"{name}.{n}", c, c, 1)

    levels = len(cfg.ch_mult)
    w.conv(p + "encoder.conv_in", cfg.in_channels, cfg.ch, 3)
    in_mult = (1,) + tuple(cfg.ch_mult)
    for i in range(levels):
        cin, cout = cfg.ch * in_mult[i], cfg.ch * cfg.ch_mult[i]
        for j in range(cfg.num_res_blocks):
            res(f"{p}encoder.down.{i}.block.{j}", cin, cout)
            cin = cout
        if i != levels - 1:
            w.conv(f"{p}encoder.down.{i}.downsample.conv", cout, cout, 3)
    top = cfg.ch * cfg.ch_mult[-1]
    res(p + "encoder.mid.block_1", top, top)
    attn(p + "encoder.mid.attn_1", top)
    res(p + "encoder.mid.block_2", top, top)
    w.norm(p + "encoder.norm_out", top)
    w.conv(p + "encoder.conv_out", top, 2 * cfg.z_channels, 3)
    w.conv(p + "quant_conv", 2 * cfg.z_channels, 2 * cfg.z_channels, 1)
    w.conv(p + "post_quant_conv", cfg.z_channels, cfg.z_channels, 1)
    w.conv(p + "decoder.conv_in", cfg.z_channels, top, 3)
    res(p + "decoder.mid.block_1", top, top)
    attn(p + "decoder.mid.attn_1", top)
    res(p + "decoder.mid.block_2", top, top)
    cin = top
    for i in reversed(range(levels)):
        cout = cfg.ch * cfg.ch_mult[i]
        for j in range(cfg.num_res_blocks + 1):
            res(f"{p}decoder.up.{i}.block.{j}", cin, cout)
            cin = cout
        if i != 0:
            w.conv(f"{p}decoder.up.{i}.upsample.conv", cout, cout, 3)
    w.norm(p + "decoder.norm_out", cfg.ch * cfg.ch_mult[0])
    w.conv(p + "decoder.conv_out", cfg.ch * cfg.ch_mult[0], cfg.in_channels, 3)
    return w.sd


# ---------------------------------------------------------------- forward passes

def _linear(sd, name, x):
    return F.linear(x, sd[name + ".weight"], sd.get(name + ".bias"))


def _conv(sd, name, x, stride=1, padding=None):
    weight = sd[name + ".weight"]
    pad = weight.shape[-1] // 2 if padding is None else padding
    return F.conv2d(x, weight, sd[name + ".bias"], stride=stride, padding=pad)


def _group_norm(sd, name, x, eps):
    return F.group_norm(x, 32, sd[name + ".weight"], sd[name + ".bias"], eps)


def _layer_norm(sd, name, x):
    return F.layer_norm(x, x.shape[-1:], sd[name + ".weight"], sd[name + ".bias"], 1e-5)


def _attention(q, k, v, heads, mask=None):
    b, n, c = q.shape
    d = c // heads
    q, k, v = (t.reshape(b, -1, heads, d).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    if mask is not None:
        scores = scores + mask
    out = scores.softmax(-1) @ v
    return out.transpose(1, 2).reshape(b, n, c)


def timestep_embedding(t, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # LDM puts cos first


def unet_forward(sd, cfg: UNetConfig, x, t, context, control=None, ip=None, adapter=None, output_patch=None, attn1_replace=None,
                 input_patch=None, input_patch_after_skip=None):
    """attn1_replace: {transformer name: f(q, k, v) -> attention output before to_out}, replacing the self-attention of
    every block of that transformer (ComfyUI's patches_replace["attn1"] under a (block, number) key; PAG's is v).
    output_patch: a function (h, skip) -> (h, skip) applied before each decoder concatenation, after the control
    residual is added to the skip (ComfyUI's output_block_patch; FreeU is one).
    input_patch, input_patch_after_skip: functions (h, block id) -> h applied to each input block's output (ids counted from
    conv_in, 0) before or after it is kept as a skip (ComfyUI's input_block_patch and input_block_patch_after_skip; Deep
    Shrink is one). The decoder upsamples to the next skip's size (ComfyUI's Upsample with output_shape).
    control: ControlNet residuals [down_0, ..., down_n-1, mid], added to the skips and the middle block output.
    adapter: T2I-Adapter features (t2i_adapter.py), added inside the encoder in order: at a level with attention after its
    last residual block and transformer (so into that skip and the downsampler's input), at a level without attention after
    the whole level (its downsampler's output when it has one, which is also that skip); one left over whose shape matches
    the middle block's output is added there.
    ip: IP-Adapter decoupled cross-attention (ipadapter.py): {"layers": {transformer name: (to_k_ip, to_v_ip)},
    "tokens": [B, T, context_dim], "scale": [B]}; each listed cross-attention adds scale * Attn(Q, K_ip, V_ip) before to_out,
    or, with "attend": f(name, Q, K_ip, V_ip), what f returns (the IPAdapter_plus pack's per-layer weights and scalings)."""
    p = UNET
    control = list(control) if control is not None else None
    adapter = list(adapter) if adapter is not None else []

    def res(name, h, emb):
        y = _conv(sd, name + ".in_layers.2", F.silu(_group_norm(sd, name + ".in_layers.0", h, 1e-5)))
        y = y + _linear(sd, name + ".emb_layers.1", F.silu(emb))[:, :, None, None]
        y = _conv(sd, name + ".out_layers.3", F.silu(_group_norm(sd, name + ".out_layers.0", y, 1e-5)))
        skip = _conv(sd, name + ".skip_connection", h) if name + ".skip_connection.weight" in sd else h
        return skip + y

    def transformer(name, h):
        b, c, hh, ww = h.shape
        y = _conv(sd, name + ".proj_in", _group_norm(sd, name + ".norm", h, 1e-6))
        y = y.reshape(b, c, hh * ww).transpose(1, 2)
        blk = name + ".transformer_blocks.0"
        n1 = _layer_norm(sd, blk + ".norm1", y)
        attention = (attn1_replace or {}).get(name, lambda q, k, v: _attention(q, k, v, cfg.num_heads))
        y = y + _linear(sd, blk + ".attn1.to_out.0", attention(
            _linear(sd, blk + ".attn1.to_q", n1), _linear(sd, blk + ".attn1.to_k", n1), _linear(sd, blk + ".attn1.to_v", n1)))
        n2 = _layer_norm(sd, blk + ".norm2", y)
        q = _linear(sd, blk + ".attn2.to_q", n2)
        attended = _attention(q, _linear(sd, blk + ".attn2.to_k", context), _linear(sd, blk + ".attn2.to_v", context), cfg.num_heads)
        if ip is not None and name in ip["layers"]:
            k_ip, v_ip = ip["layers"][name]
            tokens = ip["tokens"]
            if "attend" in ip:
                attended = attended + ip["attend"](name, q, tokens @ k_ip.T, tokens @ v_ip.T)
            else:
                attended = attended + ip["scale"][:, None, None] * _attention(q, tokens @ k_ip.T, tokens @ v_ip.T, cfg.num_heads)
        y = y + _linear(sd, blk + ".attn2.to_out.0", attended)
        a, gate = _linear(sd, blk + ".ff.net.0.proj", _layer_norm(sd, blk + ".norm3", y)).chunk(2, dim=-1)
        y = y + _linear(sd, blk + ".ff.net.2", a * F.gelu(gate))
        y = y.transpose(1, 2).reshape(b, c, hh, ww)
        return h + _conv(sd, name + ".proj_out", y)

    emb = _linear(sd, p + "time_embed.2", F.silu(_linear(sd, p + "time_embed.0", timestep_embedding(t, cfg.model_channels))))
    skips = []

    def keep(h):
        block = len(skips)
        h = input_patch(h, block) if input_patch is not None else h
        skips.append(h)
        return input_patch_after_skip(h, block) if input_patch_after_skip is not None else h

    h = keep(_conv(sd, p + "input_blocks.0.0", x))
    k = 1
    for level in range(len(cfg.channel_mult)):
        for _ in range(cfg.num_res_blocks):
            h = res(f"{p}input_blocks.{k}.0", h, emb)
            if level in cfg.attention_levels:
                h = transformer(f"{p}input_blocks.{k}.1", h)
                if _ == cfg.num_res_blocks - 1 and adapter:
                    h = h + adapter.pop(0)
            h = keep(h)
            k += 1
        if level != len(cfg.channel_mult) - 1:
            h = _conv(sd, f"{p}input_blocks.{k}.0.op", h, stride=2, padding=1)
            h = keep(h)
            k += 1
        if level not in cfg.attention_levels and adapter:
            h = h + adapter.pop(0)
            skips[-1] = h
    h = res(p + "middle_block.2", transformer(p + "middle_block.1", res(p + "middle_block.0", h, emb)), emb)
    if adapter and adapter[0].shape == h.shape:
        h = h + adapter.pop(0)
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
            if level in cfg.attention_levels:
                h = transformer(f"{p}output_blocks.{k}.1", h)
                j = 2
            if level and i == cfg.num_res_blocks:
                h = _conv(sd, f"{p}output_blocks.{k}.{j}.conv", F.interpolate(h, size=skips[-1].shape[-2:], mode="nearest"))
            k += 1
    return _conv(sd, p + "out.2", F.silu(_group_norm(sd, p + "out.0", h, 1e-5)))


def clip_forward(sd, cfg: ClipConfig, ids):
    """Returns (last_hidden_state after the final layer norm, every layer's raw output [embeddings, layer 1, ...])."""
    p = CLIP
    n = ids.shape[1]
    h = sd[p + "embeddings.token_embedding.weight"][ids] + sd[p + "embeddings.position_embedding.weight"][:n]
    mask = torch.full((n, n), float("-inf")).triu(1)
    heads = cfg.width // cfg.head_width
    states = [h]
    for i in range(cfg.layers):
        b = f"{p}encoder.layers.{i}"
        x = _layer_norm(sd, b + ".layer_norm1", h)
        a = _attention(_linear(sd, b + ".self_attn.q_proj", x), _linear(sd, b + ".self_attn.k_proj", x), _linear(sd, b + ".self_attn.v_proj", x), heads, mask)
        h = h + _linear(sd, b + ".self_attn.out_proj", a)
        m = _linear(sd, b + ".mlp.fc1", _layer_norm(sd, b + ".layer_norm2", h))
        h = h + _linear(sd, b + ".mlp.fc2", m * torch.sigmoid(1.702 * m))  # quick_gelu
        states.append(h)
    return _layer_norm(sd, p + "final_layer_norm", h), states


def _vae_res(sd, name, h):
    y = _conv(sd, name + ".conv1", F.silu(_group_norm(sd, name + ".norm1", h, 1e-6)))
    y = _conv(sd, name + ".conv2", F.silu(_group_norm(sd, name + ".norm2", y, 1e-6)))
    skip = _conv(sd, name + ".nin_shortcut", h) if name + ".nin_shortcut.weight" in sd else h
    return skip + y


def _vae_attn(sd, name, h):
    b, c, hh, ww = h.shape
    x = _group_norm(sd, name + ".norm", h, 1e-6)
    q, k, v = (_conv(sd, f"{name}.{n}", x).reshape(b, c, hh * ww).transpose(1, 2) for n in ("q", "k", "v"))
    out = _attention(q, k, v, 1).transpose(1, 2).reshape(b, c, hh, ww)
    return h + _conv(sd, name + ".proj_out", out)


def vae_encode_mean(sd, cfg: VaeConfig, x):
    p = VAE
    h = _conv(sd, p + "encoder.conv_in", x)
    for i in range(len(cfg.ch_mult)):
        for j in range(cfg.num_res_blocks):
            h = _vae_res(sd, f"{p}encoder.down.{i}.block.{j}", h)
        if i != len(cfg.ch_mult) - 1:
            h = _conv(sd, f"{p}encoder.down.{i}.downsample.conv", F.pad(h, (0, 1, 0, 1)), stride=2, padding=0)
    h = _vae_res(sd, p + "encoder.mid.block_2", _vae_attn(sd, p + "encoder.mid.attn_1", _vae_res(sd, p + "encoder.mid.block_1", h)))
    h = _conv(sd, p + "encoder.conv_out", F.silu(_group_norm(sd, p + "encoder.norm_out", h, 1e-6)))
    moments = _conv(sd, p + "quant_conv", h)
    return moments[:, :cfg.z_channels]


def vae_decode(sd, cfg: VaeConfig, z):
    p = VAE
    h = _conv(sd, p + "decoder.conv_in", _conv(sd, p + "post_quant_conv", z))
    h = _vae_res(sd, p + "decoder.mid.block_2", _vae_attn(sd, p + "decoder.mid.attn_1", _vae_res(sd, p + "decoder.mid.block_1", h)))
    for i in reversed(range(len(cfg.ch_mult))):
        for j in range(cfg.num_res_blocks + 1):
            h = _vae_res(sd, f"{p}decoder.up.{i}.block.{j}", h)
        if i != 0:
            h = _conv(sd, f"{p}decoder.up.{i}.upsample.conv", F.interpolate(h, scale_factor=2.0, mode="nearest"))
    return _conv(sd, p + "decoder.conv_out", F.silu(_group_norm(sd, p + "decoder.norm_out", h, 1e-6)))
