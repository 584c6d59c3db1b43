"""Reference predictions with ComfyUI's TomePatchModel (comfy_extras/nodes_tomesd.py, after Bolya & Hoffman's tomesd),
written here from its definition, with the dst rule FlowDiffusion uses: the first (top-left) token of each 2 x 2 cell,
tomesd's no_rand (ComfyUI draws each cell's dst with torch.randint at every call, which cannot be reproduced).

ComfyUI's attn1 patch receives the block's normed hidden states n (as q; k and v are n too). With the latent's H x W
(extra_options["original_shape"]) and the block's N tokens it takes downsample = ceil(sqrt(H*W // N)); only where that is
<= 1 (max_downsample 1: the full-resolution blocks) it merges, with w = ceil(W / downsample), h = ceil(H / downsample),
r = int(N * ratio), strides 2 x 2, and nothing when r <= 0, w == 1 or h == 1. Bipartite soft matching: the first token of
each of the (h // 2) x (w // 2) cells is a dst, every other token (the leftover row and column of an odd side included) a
src; cosine similarity of every src to every dst, each src's best dst (the first on ties), the r = min(r, #src) srcs with
the highest best scores merged into their dst by scatter_reduce "mean" including the dst itself; the queries are then
[unmerged srcs, dsts]. Keys and values stay the full n. After to_out the output patch copies each dst's row back to the
srcs merged into it. Here the merge acts on n before to_q and the unmerge on the attention before to_out: both are affine
per token and a mean's weights sum to 1, so this equals ComfyUI's order (the C# graph merges after to_q instead).

On the tiny SD 2.x checkpoint (TestData/sd2-tiny: attention at levels 0, 1 and 2, one 32-wide head), whose first level
attends at full resolution (the tiny SD 1.x and SDXL checkpoints have no attention there, so ToMe leaves them unchanged).
Writes `tome/reference.safetensors`: per case `<case>.sample` (batch 2), `<case>.out_sample`, `<case>.plain`,
`<case>.params` (ratio, r); shared `timestep` (both rows 500) and `encoder_hidden_states`.
Run: /usr/bin/python3 tools/reference/make_tome.py tests/FlowDiffusion.Checkpoints.Tests/TestData"""
import math
import os
import sys

import torch

import sd1
import sd2
import sdxl
from safetensors_io import load, save

data = sys.argv[1]


def matching(metric, height, width, ratio):
    """ComfyUI's get_functions + bipartite_soft_matching_random2d (no_rand) for one block: (merge, unmerge, r) or None."""
    b, n, _ = metric.shape
    downsample = int(math.ceil(math.sqrt(height * width // n)))
    if downsample > 1:
        return None
    w, h = int(math.ceil(width / downsample)), int(math.ceil(height / downsample))
    r = int(n * ratio)
    if r <= 0 or w == 1 or h == 1:
        return None
    cells_h, cells_w = h // 2, w // 2
    # -1 marks a dst (the cell's first token), 0 a src; a stable argsort puts the dsts first.
    marks = torch.zeros(h, w, dtype=torch.int64)
    marks[0:cells_h * 2:2, 0:cells_w * 2:2] = -1
    order = marks.reshape(-1).argsort(stable=True)
    dsts = cells_h * cells_w
    dst_idx, src_idx = order[:dsts], order[dsts:]

    unit = metric / metric.norm(dim=-1, keepdim=True)
    scores = unit[:, src_idx] @ unit[:, dst_idx].transpose(-1, -2)
    r = min(r, src_idx.shape[0])
    best, partner = scores.max(dim=-1)
    ranked = best.argsort(dim=-1, descending=True)
    kept, merged = ranked[:, r:], ranked[:, :r]
    target = partner.gather(1, merged)

    def rows(x, idx):
        return x.gather(1, idx[..., None].expand(-1, -1, x.shape[-1]))

    def merge(x):
        src, dst = x[:, src_idx], x[:, dst_idx]
        dst = dst.scatter_reduce(1, target[..., None].expand(-1, -1, x.shape[-1]), rows(src, merged), reduce="mean", include_self=True)
        return torch.cat([rows(src, kept), dst], dim=1)

    def unmerge(y):
        c = y.shape[-1]
        unm, dst = y[:, :kept.shape[1]], y[:, kept.shape[1]:]
        out = torch.zeros(b, n, c, dtype=y.dtype)
        out[:, dst_idx] = dst
        out.scatter_(1, src_idx[kept][..., None].expand(-1, -1, c), unm)
        out.scatter_(1, src_idx[merged][..., None].expand(-1, -1, c), rows(dst, target))
        return out

    return merge, unmerge, r


class TokenMerge:
    """The patch for one latent shape as sdxl.spatial_transformer's attn1 replacement; n1 comes from the recorded norm1."""

    def __init__(self, sd, cfg, shape, ratio):
        self.sd, self.cfg, self.height, self.width, self.ratio = sd, cfg, shape[-2], shape[-1], ratio
        self.normed = None
        self.merged = []  # (tokens, r) of every block that merged

    def get(self, name, default=None):
        return lambda q, k, v: self.attend(name, q, k, v)

    def attend(self, name, q, k, v):
        heads = self.cfg.heads(q.shape[-1])
        n1 = self.normed
        m = matching(n1, self.height, self.width, self.ratio)
        if m is None:
            return sd1._attention(q, k, v, heads)
        merge, unmerge, r = m
        self.merged.append((n1.shape[1], r))
        queries = sd1._linear(self.sd, name + ".transformer_blocks.0.attn1.to_q", merge(n1))
        return unmerge(sd1._attention(queries, k, v, heads))


def recording(patch):
    """sdxl's layer norm, keeping each norm1 output (the self-attention's n) for the patch."""
    plain = sd1._layer_norm

    def norm(sd, name, x):
        y = plain(sd, name, x)
        if name.endswith(".norm1"):
            patch.normed = y
        return y

    return norm


cases = {
    # name: latent height, width, ratio
    "square_03": (16, 16, 0.3),  # 256 tokens at level 0: 64 dsts, r = 76
    "square_05": (16, 16, 0.5),  # r = 128
    "odd_wide_05": (9, 13, 0.5),  # 4 x 6 cells, the 9th row and 13th column src-only: 24 dsts, 93 srcs, r = 58
    "square_09": (16, 16, 0.9),  # int(230.4) = 230 > 192 srcs: every src merged
}

tiny = os.path.join(data, "sd2-tiny")
cfg = sd2.unet_config(model_channels=32, channel_mult=(1, 1, 1, 1), num_res_blocks=2, attention_levels=(0, 1, 2), context_dim=128)
sd = {k: t.float() for k, t in load(os.path.join(tiny, "sd2-fp16.safetensors")).items() if k.startswith(sd2.UNET)}
r = load(os.path.join(tiny, "reference.safetensors"))
assert (sd2.unet_forward(sd, cfg, r["unet.sample"], r["unet.timestep"], r["unet.encoder_hidden_states"]) - r["unet.out_sample"]).abs().max() < 1e-4, \
    "the SD 2.x configuration is not the checkpoint's"
g = torch.Generator().manual_seed(97)
timestep = torch.tensor([500.0, 500.0])
context = torch.randn(2, 7, 128, generator=g)
out = {"timestep": timestep, "encoder_hidden_states": context}
with torch.no_grad():
    for name, (height, width, ratio) in cases.items():
        sample = torch.randn(2, 4, height, width, generator=g)
        patch = TokenMerge(sd, cfg, sample.shape, ratio)
        sdxl._layer_norm = recording(patch)
        merged = sdxl.unet_forward(sd, cfg, sample, timestep, context, None, None, attn1_replace=patch)
        sdxl._layer_norm = sd1._layer_norm
        out[name + ".sample"] = sample
        out[name + ".out_sample"] = merged
        out[name + ".plain"] = sd2.unet_forward(sd, cfg, sample, timestep, context)
        rs = {r for _, r in patch.merged}
        assert len(patch.merged) == 5 and len(rs) == 1, patch.merged  # 2 encoder + 3 decoder transformers at level 0
        out[name + ".params"] = torch.tensor([ratio, float(rs.pop())])
        changed = float((out[name + ".out_sample"] - out[name + ".plain"]).abs().max())
        assert changed > 0.05, (name, changed)
        print(name, patch.merged[0], "max change", changed)

os.makedirs(os.path.join(data, "tome"), exist_ok=True)
save(os.path.join(data, "tome", "reference.safetensors"), out)
