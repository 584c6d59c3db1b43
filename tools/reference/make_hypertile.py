"""Reference predictions with ComfyUI's HyperTile node (comfy_extras/nodes_hypertile.py), written here from its definition:
its attn1 patch receives the self-attention's normalised input n (as queries) and n again as keys and values; when the
token count equals (H / 2^i) * (W / 2^i) for a depth i <= max_depth (H, W: the latent's sides, as floats), it takes
h = round(sqrt(n * W/H)), w = round(sqrt(n * H/W)) (Python's round), nh and nw from random_divisor(side, tile * factor,
swap_size) with tile = max(32, tile_size) // 8 and factor 2^i under scale_depth (the first option: the side over its
smallest divisor at least min(tile * factor, side); swap_size 1 and 2 always take it, torch.randint(0, 1) being 0), and
when nh * nw > 1 rearranges the queries "b (nh h nw w) c -> (b nh nw) (h w) c" (h, w the tile's sides). The keys and
values are passed on untiled; ComfyUI's attention functions view every one of q, k, v as [q's batch, -1, heads, d], so
the keys and values of tile t are the t-th contiguous run of n / (nh * nw) tokens. The output patch undoes the queries'
rearrange. Linear projections act per token, so tiling n before to_q equals tiling q after it (done here).
On the tiny SD 1.x checkpoint (TestData/sd1-tiny: attention at its second level and in the middle block, 8 heads) and the
tiny SDXL checkpoint (TestData/sdxl-tiny: two-block transformers at its second level and in the middle).
Writes `reference.safetensors`: per case `<case>.sample` (batch 2), `<case>.out_sample`, `<case>.params` (tile_size,
swap_size, max_depth, scale_depth) and `<case>.tiles` (the rows tokens, nh, nw, w of every depth the patch tiles, for the C# host code);
shared `timestep` (both rows 500) and `encoder_hidden_states`; `sdxl.*` likewise.
Run: /usr/bin/python3 tools/reference/make_hypertile.py tests/FlowDiffusion.Checkpoints.Tests/TestData"""
import math
import os
import sys

import torch

import sd1
import sdxl
from safetensors_io import load, save

data = sys.argv[1]


def random_divisor(value, min_value, max_options):
    min_value = min(min_value, value)
    divisors = [i for i in range(min_value, value + 1) if value % i == 0]
    ns = [value // i for i in divisors[:max_options]]
    idx = torch.randint(low=0, high=len(ns) - 1, size=(1,)).item() if len(ns) - 1 > 0 else 0
    assert idx == 0  # swap_size <= 2
    return ns[idx]


class HyperTile:
    """ComfyUI's patch for one latent shape, as an attn1 replacement of every transformer (f(q, k, v) after projection)."""

    def __init__(self, shape, tile_size, swap_size, max_depth, scale_depth, heads):
        self.shape, self.heads = shape, heads
        self.tile, self.swap, self.max_depth, self.scale = max(32, tile_size) // 8, swap_size, max_depth, scale_depth
        self.tiled = set()

    def get(self, name, default=None):
        return self.attend

    def apply_to(self):
        return [(self.shape[-2] / 2 ** i) * (self.shape[-1] / 2 ** i) for i in range(self.max_depth + 1)]

    def grid(self, n):
        """(h, w, nh, nw) for a token count n that the patch matched."""
        aspect = self.shape[-1] / self.shape[-2]
        h, w = round(math.sqrt(n * aspect)), round(math.sqrt(n / aspect))
        factor = 2 ** self.apply_to().index(n) if self.scale else 1
        return h, w, random_divisor(h, self.tile * factor, self.swap), random_divisor(w, self.tile * factor, self.swap)

    def table(self):
        """The rows (tokens, nh, nw, w) of every depth the patch would tile, whether or not a block has that many tokens."""
        rows = [(int(n), *self.grid(n)) for n in self.apply_to() if n == int(n) and n >= 1]
        return [(n, nh, nw, w) for n, h, w, nh, nw in rows if nh * nw > 1]

    def attend(self, q, k, v):
        heads = self.heads(q.shape[-1]) if callable(self.heads) else self.heads
        n = q.shape[1]
        if n not in self.apply_to():
            return sd1._attention(q, k, v, heads)
        h, w, nh, nw = self.grid(n)
        if nh * nw <= 1:
            return sd1._attention(q, k, v, heads)
        self.tiled.add((n, nh, nw, w))
        b, _, c = q.shape
        th, tw = h // nh, w // nw
        # b (nh h nw w) c -> (b nh nw) (h w) c
        qt = q.reshape(b, nh, th, nw, tw, c).permute(0, 1, 3, 2, 4, 5).reshape(b * nh * nw, th * tw, c)
        # ComfyUI's attention views the untiled keys and values with the queries' batch.
        out = sd1._attention(qt, k.reshape(b * nh * nw, -1, c), v.reshape(b * nh * nw, -1, c), heads)
        # (b nh nw) (h w) c -> b (nh h nw w) c
        return out.reshape(b, nh, nw, th, tw, c).permute(0, 1, 3, 2, 4, 5).reshape(b, n, c)


cases = {
    # name: latent height, width, tile_size, swap_size, max_depth, scale_depth
    "square_depth1": (16, 16, 32, 2, 1, False),  # level 1 is 8 x 8 tokens: 2 x 2 tiles of 4 x 4
    "wide_depth1": (16, 24, 32, 1, 1, False),  # 8 x 12 tokens read as a 12 x 8 grid (ComfyUI's h, w): 3 x 2 tiles
    "wide_rows_only": (16, 24, 48, 2, 1, False),  # tile 6: 12 -> 2 tiles, 8 -> 1
    "scale_depth_square": (32, 32, 32, 2, 1, True),  # level 1 16 x 16, tile 4 * 2: 2 x 2
    "small_tile_depth2": (16, 8, 8, 2, 2, False),  # tile_size 8 counts as 32; level 1 8 x 4 read as 4 x 8: 1 x 2
    "depth0_only": (16, 16, 32, 2, 0, False),  # 16 x 16 tokens tiled 4 x 4, but no block attends at level 0: plain
}

cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
sd = {k: t.float() for k, t in load(os.path.join(data, "sd1-tiny", "ldm-fp16.safetensors")).items() if k.startswith(sd1.UNET)}
g = torch.Generator().manual_seed(83)
timestep = torch.tensor([500.0, 500.0])
context = torch.randn(2, 7, 64, generator=g)
out = {"timestep": timestep, "encoder_hidden_states": context}
with torch.no_grad():
    for name, (height, width, tile_size, swap, depth, scale) in cases.items():
        sample = torch.randn(2, 4, height, width, generator=g)
        patch = HyperTile(sample.shape, tile_size, swap, depth, scale, cfg.num_heads)
        out[name + ".sample"] = sample
        out[name + ".out_sample"] = sd1.unet_forward(sd, cfg, sample, timestep, context, attn1_replace=patch)
        out[name + ".plain"] = sd1.unet_forward(sd, cfg, sample, timestep, context)
        out[name + ".params"] = torch.tensor([tile_size, swap, depth, 1.0 if scale else 0.0])
        out[name + ".tiles"] = torch.tensor(patch.table(), dtype=torch.float32).reshape(-1, 4)
        assert patch.tiled <= set(patch.table())
        changed = float((out[name + ".out_sample"] - out[name + ".plain"]).abs().max())
        assert (changed > 0.05) == bool(patch.tiled), (name, changed, patch.tiled)
        print(name, patch.table(), sorted(patch.tiled), "max change", changed)

    # SDXL: the tiny checkpoint at its UNet configuration (make_pag.py's), a 16 x 24 latent tiled at its second level.
    tiny = os.path.join(data, "sdxl-tiny")
    xl = {k: t.float() for k, t in load(os.path.join(tiny, "sdxl-fp16.safetensors")).items() if k.startswith(sdxl.UNET)}
    xl_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2), context_dim=64, pooled_dim=40)
    r = load(os.path.join(tiny, "reference.safetensors"))
    args = (r["unet.sample"], r["unet.timestep"], r["unet.encoder_hidden_states"], r["unet.text_embeds"], r["unet.time_ids"])
    assert (sdxl.unet_forward(xl, xl_cfg, *args) - r["unet.out_sample"]).abs().max() < 1e-4, "the SDXL configuration is not the checkpoint's"
    sample = torch.randn(args[0].shape[0], 4, 16, 24, generator=g)
    patch = HyperTile(sample.shape, 32, 2, 1, False, xl_cfg.heads)
    xl_args = (args[1], args[2], args[3], args[4])
    out["sdxl.sample"] = sample
    out["sdxl.timestep"], out["sdxl.encoder_hidden_states"], out["sdxl.text_embeds"], out["sdxl.time_ids"] = xl_args
    out["sdxl.out_sample"] = sdxl.unet_forward(xl, xl_cfg, sample, *xl_args, attn1_replace=patch)
    out["sdxl.plain"] = sdxl.unet_forward(xl, xl_cfg, sample, *xl_args)
    out["sdxl.tiles"] = torch.tensor(patch.table(), dtype=torch.float32).reshape(-1, 4)
    print("sdxl", sorted(patch.tiled), "max change", float((out["sdxl.out_sample"] - out["sdxl.plain"]).abs().max()))

os.makedirs(os.path.join(data, "hypertile"), exist_ok=True)
save(os.path.join(data, "hypertile", "reference.safetensors"), out)
