"""SD 1.x-shaped networks, small: a KL VAE (8x), a CLIP-style text encoder and a cross-attention UNet.

Debian's torch uses the reference BLAS, so every per-position projection is a 1x1 convolution (fast oneDNN path)
rather than nn.Linear.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def norm(c):
    return nn.GroupNorm(min(16, c // 4), c)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb=0):
        super().__init__()
        self.n1, self.c1 = norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Conv2d(temb, cout, 1) if temb else None
        self.n2, self.c2 = norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, t=None):
        h = self.c1(F.silu(self.n1(x)))
        if self.t is not None:
            h = h + self.t(F.silu(t))
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


# ---------------------------------------------------------------- VAE

def space_to_depth(x, r):
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // r, r, w // r, r).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, c * r * r, h // r, w // r)


def depth_to_space(x, r):
    b, c, h, w = x.shape
    x = x.reshape(b, c // (r * r), r, r, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c // (r * r), h * r, w * r)


class Encoder(nn.Module):
    """64x64x3 -> (4x4 blocks) 16x16 convs -> (2x2 blocks) 8x8 convs -> mean and log-variance."""

    def __init__(self, c1=32, c2=96, latent=4):
        super().__init__()
        self.in16 = nn.Conv2d(48, c1, 3, padding=1)
        self.r16 = ResBlock(c1, c1)
        self.in8 = nn.Conv2d(4 * c1, c2, 3, padding=1)
        self.r8 = ResBlock(c2, c2)
        self.out = nn.Sequential(norm(c2), nn.SiLU(), nn.Conv2d(c2, 2 * latent, 3, padding=1))

    def forward(self, x):
        x = self.r16(self.in16(space_to_depth(x, 4)))
        x = self.r8(self.in8(space_to_depth(x, 2)))
        return self.out(x)


class Decoder(nn.Module):
    """Mirror of the encoder: 8x8 convs, 2x2 depth-to-space, 16x16 convs, 4x4 depth-to-space to RGB."""

    def __init__(self, c1=32, c2=96, latent=4):
        super().__init__()
        self.in8 = nn.Conv2d(latent, c2, 3, padding=1)
        self.r8a, self.r8b = ResBlock(c2, c2), ResBlock(c2, c2)
        self.to16 = nn.Conv2d(c2, 4 * c1, 1)
        self.r16a, self.r16b = ResBlock(c1, c1), ResBlock(c1, c1)
        self.out = nn.Sequential(norm(c1), nn.SiLU(), nn.Conv2d(c1, 48, 3, padding=1))

    def forward(self, z):
        x = self.r8b(self.r8a(self.in8(z)))
        x = self.r16b(self.r16a(depth_to_space(self.to16(x), 2)))
        return depth_to_space(self.out(x), 4)


class Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = Encoder(), Decoder()

    def moments(self, x):
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)


class VaeEncoderExport(nn.Module):
    """vae_encoder: sample [B,3,H,W] in [-1,1] -> latent_sample [B,4,H/8,W/8] (the posterior mean, unscaled)."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        return self.vae.moments(sample)[0]


class VaeDecoderExport(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.decoder = vae.decoder

    def forward(self, latent_sample):
        return self.decoder(latent_sample)


# ---------------------------------------------------------------- text encoder

class Attention(nn.Module):
    """Multi-head attention over [B,C,N] queries and [B,D,M] context, projections as 1x1 conv1d."""

    def __init__(self, c, context, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = nn.Conv1d(c, c, 1, bias=False), nn.Conv1d(context, c, 1, bias=False), nn.Conv1d(context, c, 1, bias=False)
        self.o = nn.Conv1d(c, c, 1)

    def forward(self, x, ctx, mask=None):
        b, c, n = x.shape
        d = c // self.heads
        q = self.q(x).reshape(b * self.heads, d, -1).transpose(1, 2)
        k = self.k(ctx).reshape(b * self.heads, d, -1)
        v = self.v(ctx).reshape(b * self.heads, d, -1).transpose(1, 2)
        w = torch.bmm(q, k) * (1.0 / math.sqrt(d))
        if mask is not None:
            w = w + mask
        out = torch.bmm(w.softmax(dim=-1), v).transpose(1, 2).reshape(b, c, -1)
        return self.o(out)


class TextLayer(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        # GroupNorm(1, d) here is swapped for TokenNorm by make_text_encoder (per-token LayerNorm).
        self.n1, self.attn = nn.GroupNorm(1, d), Attention(d, d, heads)
        self.n2 = nn.GroupNorm(1, d)
        self.mlp = nn.Sequential(nn.Conv1d(d, 4 * d, 1), nn.GELU(), nn.Conv1d(4 * d, d, 1))

    def forward(self, x, mask):
        h = self.n1(x)
        x = x + self.attn(h, h, mask)
        return x + self.mlp(self.n2(x))


class TextEncoder(nn.Module):
    """CLIP-shaped: token + position embeddings, causal pre-norm layers, final norm; pooled at the end token."""

    def __init__(self, vocab, d=64, layers=1, heads=4, length=77):
        super().__init__()
        self.token = nn.Embedding(vocab, d)
        self.position = nn.Parameter(torch.randn(1, d, length) * 0.01)
        self.layers = nn.ModuleList([TextLayer(d, heads) for _ in range(layers)])
        self.final = nn.GroupNorm(1, d)

    def forward(self, ids):
        n = ids.shape[1]
        x = self.token(ids).transpose(1, 2) + self.position[:, :, :n]
        pos = torch.arange(n, device=ids.device)
        causal = (pos[None, :] > pos[:, None]).float() * -1e4  # arange comparison exports more simply than triu
        for layer in self.layers:
            x = layer(x, causal)
        return self.final(x)


class TokenNorm(nn.Module):
    """LayerNorm over channels of [B,C,N] without a Linear: per-position mean/var over C."""

    def __init__(self, c):
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.ones(1, c, 1)), nn.Parameter(torch.zeros(1, c, 1))

    def forward(self, x):
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-5) * self.weight + self.bias


def _use_token_norm(module):
    for name, child in module.named_children():
        if isinstance(child, nn.GroupNorm) and child.num_groups == 1:
            setattr(module, name, TokenNorm(child.num_channels))
        else:
            _use_token_norm(child)


class TextEncoderExport(nn.Module):
    """text_encoder: input_ids int32 [B,S] -> last_hidden_state [B,S,D], pooler_output [B,D]."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids):
        ids = input_ids.long()
        hidden = self.encoder(ids).transpose(1, 2)
        end = ids.float().argmax(dim=-1)  # like CLIP: the end-of-text token has the largest id
        index = end.view(-1, 1, 1).expand(-1, 1, hidden.shape[2])
        pooled = torch.gather(hidden, 1, index).squeeze(1)
        return hidden, pooled


# ---------------------------------------------------------------- UNet

def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class CrossBlock(nn.Module):
    def __init__(self, c, context, heads=4):
        super().__init__()
        self.n = TokenNorm(c)
        self.attn = Attention(c, context, heads)
        self.n2 = TokenNorm(c)
        self.mlp = nn.Sequential(nn.Conv1d(c, 2 * c, 1), nn.GELU(), nn.Conv1d(2 * c, c, 1))

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        y = x.reshape(b, c, h * w)
        y = y + self.attn(self.n(y), ctx)
        y = y + self.mlp(self.n2(y))
        return y.reshape(b, c, h, w)


class UNet(nn.Module):
    def __init__(self, ch=(48, 96), context=64, temb=192):
        super().__init__()
        c1, c2 = ch
        self.tdim = c1
        self.time = nn.Sequential(nn.Conv2d(c1, temb, 1), nn.SiLU(), nn.Conv2d(temb, temb, 1))
        self.conv_in = nn.Conv2d(4, c1, 3, padding=1)
        self.d1 = ResBlock(c1, c1, temb)  # no attention on the way down at full latent size: it costs the most there
        self.down = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.d2, self.a2 = ResBlock(c1, c2, temb), CrossBlock(c2, context)
        self.m1, self.ma, self.m2 = ResBlock(c2, c2, temb), CrossBlock(c2, context), ResBlock(c2, c2, temb)
        self.u2, self.ua2 = ResBlock(2 * c2, c2, temb), CrossBlock(c2, context)
        self.up = nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(c2, c2, 3, padding=1))
        self.u1, self.ua1 = ResBlock(c2 + c1, c1, temb), CrossBlock(c1, context)
        self.out = nn.Sequential(norm(c1), nn.SiLU(), nn.Conv2d(c1, 4, 3, padding=1))

    def forward(self, sample, timestep, context):
        """sample [B,4,h,w], timestep [B], context [B,D,S] (channels first)."""
        t = self.time(timestep_embedding(timestep, self.tdim)[:, :, None, None])
        x = self.conv_in(sample)
        s1 = self.d1(x, t)
        x = self.down(s1)
        s2 = self.a2(self.d2(x, t), context)
        x = self.m2(self.ma(self.m1(s2, t), context), t)
        x = self.ua2(self.u2(torch.cat([x, s2], 1), t), context)
        x = self.up(x)
        x = self.ua1(self.u1(torch.cat([x, s1], 1), t), context)
        return self.out(x)


class UNetExport(nn.Module):
    """unet: sample, timestep float32 [B], encoder_hidden_states [B,S,D] -> out_sample (epsilon)."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        t = timestep.float().reshape(-1).expand(sample.shape[0])
        return self.unet(sample, t, encoder_hidden_states.transpose(1, 2))


def make_text_encoder(vocab):
    encoder = TextEncoder(vocab)
    _use_token_norm(encoder)
    return encoder


def count(module):
    return sum(p.numel() for p in module.parameters())
