"""Writes file E for the tiny SD 1.x checkpoint (make_sd1_checkpoints.py) — LyCORIS's OFT, BOFT and GLoRA and the
whole-weight set_weight — and reference outputs of the checkpoint with it merged offline, each algorithm restated here
from its definition as ComfyUI's current merge (comfy/weight_adapter/{oft,boft,glora}.py, comfy/lora.py) computes it:
- Cayley rotation of a block B: Q = B - B^T, scaled to norm alpha when alpha > 0 and |Q| + 1e-8 > alpha (|Q| the
  Frobenius norm over all of a module's blocks); R = (I + Q)(I - Q)^-1.
- OFT (oft_blocks [n, b, b]): the output rows in blocks of b, each block of rows turned by R^T; W + s^2 (R^T - I) W, the
  strength taken twice as ComfyUI takes it. rescale is read but not applied by ComfyUI's OFT merge (file E holds one).
- BOFT (oft_blocks [m, n, b, b], rescale [out, 1...]): stage i, k = 2^i * b/2, lists each run of 2k rows as rows
  j, j + k side by side, turns each b consecutive listed rows by s R + (1 - s) I and lists them back; M = the product of
  the stages; W + s (rescale * (M W) - W).
- GLoRA: current layout dW = W x_in (a1 @ a2) + b1 @ b2 (x_in on the input-channel axis); old LyCORIS layout
  dW = b2 @ b1 + W @ a2 @ a1 over the flattened kernel; scale alpha / rank; W + s * scale * dW.
- set_weight: the weight becomes the tensor, at any strength (0 too, where the other network's strength is not 0).
- DoRA beside GLoRA: decompose(W, scale * dW); beside OFT: decompose(W, alpha * s (R^T - I) W) (ComfyUI passes OFT's
  alpha, the constraint, where other algorithms pass their scale).
The rotations are built as dense block-diagonal and permutation matrices here, unlike the product's block-by-block
products. Factors are stored F16 and merged in float32 from the stored values.
Run: /usr/bin/python3 tools/reference/make_lycoris_oft.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import tiny_sd1
from lycoris import decompose
from safetensors_io import save

folder = sys.argv[1]
base, to_ldm = tiny_sd1.load_base(folder)
g = torch.Generator().manual_seed(31)


def rnd(*shape, scale=0.3):
    return (torch.randn(*shape, generator=g) * scale).half()


def alpha(value):
    return torch.tensor(value, dtype=torch.float16)


def weight(name):
    return base[to_ldm[name + ".weight"]]


def cayley(blocks, constraint):
    q = blocks.float() - blocks.float().transpose(-1, -2)
    norm = torch.norm(q) + 1e-8
    if constraint > 0 and norm > constraint:
        q = q * constraint / norm
    eye = torch.eye(q.shape[-1])
    return (eye + q) @ torch.linalg.inv(eye - q)


def oft_change(blocks, constraint, w, s):
    """s (R^T - I) W with R the block-diagonal rotation."""
    rotation = torch.block_diag(*cayley(blocks, constraint))
    flat = w.reshape(w.shape[0], -1)
    return (s * (rotation.T - torch.eye(w.shape[0])) @ flat).reshape(w.shape)


def butterfly_order(rows, k):
    """order[p] = the row listed at position p: each run of 2k rows as j, j + k side by side."""
    return [start + half * k + j for start in range(0, rows, 2 * k) for j in range(k) for half in range(2)]


def boft_matrix(blocks, constraint, rows, s):
    r = cayley(blocks, constraint)
    stages, _, b, _ = blocks.shape
    total = torch.eye(rows)
    for i in range(stages):
        lerped = s * r[i] + (1 - s) * torch.eye(b)
        listing = torch.zeros(rows, rows)  # listing @ W lists the rows in butterfly order
        for p, row in enumerate(butterfly_order(rows, 2 ** i * (b // 2))):
            listing[p, row] = 1
        total = listing.T @ torch.block_diag(*lerped) @ listing @ total
    return total


file = {}
patches = {"unet": [], "te": []}  # (name, function(w, s) -> merged w)


def add(part, name, prefix, tensors, merge):
    key = prefix + name.replace(".", "_")
    for suffix, value in tensors.items():
        file[f"{key}.{suffix}"] = value
    patches[part].append((name, merge))


def oft(part, name, prefix, blocks, constraint, extra=None, dora=None):
    tensors = {"oft_blocks": blocks, **({} if constraint is None else {"alpha": alpha(constraint)}), **(extra or {})}
    if dora is not None:
        tensors["dora_scale"] = dora
    c = 0.0 if constraint is None else float(alpha(constraint))

    def merge(w, s):
        if dora is None:
            return w + s * oft_change(blocks, c, w, s)
        return decompose(w, c * oft_change(blocks, c, w, s), dora.float(), s)
    add(part, name, prefix, tensors, merge)


def boft(part, name, prefix, blocks, constraint, rescale=None):
    tensors = {"oft_blocks": blocks, "alpha": alpha(constraint)}
    if rescale is not None:
        tensors["rescale"] = rescale
    c = float(alpha(constraint))

    def merge(w, s):
        turned = (boft_matrix(blocks, c, w.shape[0], s) @ w.reshape(w.shape[0], -1)).reshape(w.shape)
        if rescale is not None:
            turned = turned * rescale.float()
        return w + s * (turned - w)
    add(part, name, prefix, tensors, merge)


def glora(part, name, prefix, a1, a2, b1, b2, constraint, old, dora=None):
    tensors = {"a1.weight": a1, "a2.weight": a2, "b1.weight": b1, "b2.weight": b2}
    if constraint is not None:
        tensors["alpha"] = alpha(constraint)
    if dora is not None:
        tensors["dora_scale"] = dora
    a1, a2, b1, b2 = (t.float().flatten(1) for t in (a1, a2, b1, b2))
    rank = a1.shape[0] if old else a2.shape[0]
    scale = 1.0 if constraint is None else float(alpha(constraint)) / rank

    def merge(w, s):
        if old:
            dw = (b2 @ b1 + w.reshape(w.shape[0], -1) @ a2 @ a1).reshape(w.shape)
        else:
            dw = torch.einsum("oi...,ij->oj...", w, a1 @ a2) + (b1 @ b2).reshape(w.shape)
        return w + s * scale * dw if dora is None else decompose(w, scale * dw, dora.float(), s)
    add(part, name, prefix, tensors, merge)


def set_weight(part, name, prefix, value):
    add(part, name, prefix, {"set_weight": value}, lambda w, s: value.float().reshape(w.shape))


U, T = "lora_unet_", "lora_te_"
# OFT on a linear layer [32, 32]: 4 blocks of 8, alpha 0.5 constrains |Q|
oft("unet", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", U, rnd(4, 8, 8), 0.5)
# OFT on a 3x3 convolution [64, 32, 3, 3]: 8 blocks of 8 output channels, alpha 100 (no constraint), with a rescale
# ComfyUI's OFT merge does not apply
oft("unet", "down_blocks.0.resnets.0.conv1", U, rnd(8, 8, 8, scale=0.15), 100.0, {"rescale": (1 + rnd(64, 1, 1, 1, scale=0.2).float()).half()})
# BOFT on a linear layer [256, 32]: 3 stages of 32 blocks of 8, alpha 3, rescale [256, 1]
boft("unet", "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj", U, rnd(3, 32, 8, 8, scale=0.1), 3.0, (1 + rnd(256, 1, scale=0.2).float()).half())
# BOFT on a 1x1 convolution [32, 32, 1, 1]: 2 stages of 8 blocks of 4, rescale [32, 1, 1, 1]
boft("unet", "up_blocks.0.attentions.0.proj_in", U, rnd(2, 8, 4, 4), 100.0, (1 + rnd(32, 1, 1, 1, scale=0.2).float()).half())
# GLoRA (current layout) on a linear layer [32, 64], rank 4, alpha 2, with DoRA per output row
w = weight("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k")
glora("unet", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k", U, rnd(64, 4), rnd(4, 64), rnd(32, 4), rnd(4, 64), 2.0, False,
      (w.norm(dim=1, keepdim=True) * (1 + 0.2 * torch.randn(32, 1, generator=g))).half())
# GLoRA (current layout) on a 3x3 convolution [32, 32, 3, 3], rank 2, no alpha
glora("unet", "mid_block.resnets.0.conv1", U, rnd(32, 2, 1, 1), rnd(2, 32, 1, 1), rnd(32, 2, 1, 1), rnd(2, 32, 3, 3, scale=0.1), None, False)
# set_weight on a 1x1 convolution [32, 32, 1, 1]
set_weight("unet", "down_blocks.1.attentions.0.proj_out", U, rnd(32, 32, 1, 1))
# text encoder: OFT [256, 64] (16 blocks of 16, alpha 2) with DoRA per input column; old-layout GLoRA on a square
# [64, 64] (rank 3, alpha 1.5); BOFT [64, 256] without rescale; set_weight on a linear layer and a LayerNorm
w = weight("text_model.encoder.layers.0.mlp.fc1")
oft("te", "text_model.encoder.layers.0.mlp.fc1", T, rnd(16, 16, 16, scale=0.1), 2.0,
    dora=(w.norm(dim=0, keepdim=True) * (1 + 0.2 * torch.randn(1, 64, generator=g))).half())
glora("te", "text_model.encoder.layers.1.self_attn.q_proj", T, rnd(3, 64), rnd(64, 3), rnd(3, 64), rnd(64, 3), 1.5, True)
boft("te", "text_model.encoder.layers.1.mlp.fc2", T, rnd(2, 16, 4, 4), 1.0)
set_weight("te", "text_model.encoder.layers.0.self_attn.v_proj", T, rnd(64, 64, scale=0.1))
set_weight("te", "text_model.encoder.layers.1.layer_norm2", T, (1 + rnd(64, scale=0.3).float()).half())


def merged(s_unet, s_te):
    sd = dict(base)
    for part, strength in (("unet", s_unet), ("te", s_te)):
        for name, merge in patches[part]:
            key = to_ldm[name + ".weight"]
            sd[key] = merge(sd[key], strength)
    return sd


out = tiny_sd1.reference_inputs()
# e0: the UNet at strength 0 beside a non-zero text-encoder strength takes set_weight alone, as ComfyUI's patches do
for case, (s_unet, s_te) in {"base": (0.0, 0.0), "e": (0.8, 0.6), "e1": (1.0, 1.0), "e0": (0.0, 0.6)}.items():
    sd = base if case == "base" else merged(s_unet, s_te)
    out[f"{case}.out_sample"], out[f"{case}.last_hidden_state"] = tiny_sd1.outputs(sd, out)
lora = os.path.join(folder, "lora")
save(os.path.join(lora, "lycoris-e.safetensors"), file, {"ss_network_module": "lycoris.kohya"})
save(os.path.join(lora, "lycoris-e-reference.safetensors"), out)
print(len(file), "keys;", {k: float((out[k] - out["base." + k.split(".", 1)[1]]).abs().max()) for k in out if k.startswith(("e.", "e1.", "e0."))})
