"""Writes a LyCORIS file for the tiny SD 1.x checkpoint (make_sd1_checkpoints.py) and reference outputs of the
checkpoint with it merged offline, each algorithm restated here from LyCORIS's definitions as ComfyUI applies them:
- LoHa: dW = (w1_a @ w1_b) * (w2_a @ w2_b); with Tucker cores each product is einsum("ijkl,jr,ip->prkl", t, w_b, w_a);
  scale alpha / rows of w1_b.
- LoKr: dW = kron(w1, w2), w1 whole or w1_a @ w1_b, w2 whole, w2_a @ w2_b or the Tucker rebuild; scale alpha over the
  rows of w2_b (else w1_b) when a factor is decomposed, else 1.
- Tucker LoCon: dW[o,i,y,x] = sum_ab up[o,a] mid[a,b,y,x] down[b,i]; scale alpha / rank.
- DoRA (dora_scale): W' = W + scale*dW; norm per output row of W (dora_scale [out,1]) or per input column of W' over the
  other axes (dora_scale [1,in]), plus float32 eps; W'' = W' * dora_scale / norm; W + s*(W'' - W).
Plain updates: W + s * scale * dW. Factors are stored F16 and merged in float32 from the stored values.
Run: /usr/bin/python3 tools/reference/make_lycoris.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import tiny_sd1
from lycoris import decompose
from safetensors_io import save

folder = sys.argv[1]
base, to_ldm = tiny_sd1.load_base(folder)

g = torch.Generator().manual_seed(23)


def rnd(*shape, scale=0.3):
    # stored as F16: the reference merges the values the file holds
    return (torch.randn(*shape, generator=g) * scale).half()


def weight(name):
    return base[to_ldm[name + ".weight"]]


def tucker(t, wa, wb):
    return torch.einsum("ijkl,jr,ip->prkl", t.float(), wb.float(), wa.float()).contiguous()


file = {}
patches = {"unet": [], "te": []}  # (name, scaled delta, dora_scale or None)


def add(part, name, prefix, tensors, delta, dora=None):
    key = prefix + name.replace(".", "_")
    for suffix, value in tensors.items():
        file[f"{key}.{suffix}"] = value
    if dora is not None:
        file[f"{key}.dora_scale"] = dora
    patches[part].append((name, delta, None if dora is None else dora.float()))


def alpha(value):
    return torch.tensor(value, dtype=torch.float16)


# LoHa on a linear layer, rank 4 and 2, alpha 3 (scale 3 / 4)
w = weight("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q")
w1a, w1b, w2a, w2b = rnd(w.shape[0], 4), rnd(4, w.shape[1]), rnd(w.shape[0], 2), rnd(2, w.shape[1])
add("unet", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", "lora_unet_",
    {"hada_w1_a": w1a, "hada_w1_b": w1b, "hada_w2_a": w2a, "hada_w2_b": w2b, "alpha": alpha(3.0)},
    (3.0 / 4) * (w1a.float() @ w1b.float()) * (w2a.float() @ w2b.float()))

# LoHa with Tucker cores on a 3x3 convolution [64, 32, 3, 3], rank 3, alpha 1.5
w = weight("down_blocks.0.resnets.0.conv1")
t1, t2 = rnd(3, 3, 3, 3), rnd(3, 3, 3, 3)
a1, b1, a2, b2 = rnd(3, w.shape[0]), rnd(3, w.shape[1]), rnd(3, w.shape[0]), rnd(3, w.shape[1])
add("unet", "down_blocks.0.resnets.0.conv1", "lora_unet_",
    {"hada_w1_a": a1, "hada_w1_b": b1, "hada_w2_a": a2, "hada_w2_b": b2, "hada_t1": t1, "hada_t2": t2, "alpha": alpha(1.5)},
    (1.5 / 3) * tucker(t1, a1, b1) * tucker(t2, a2, b2))

# LoKr on a linear layer [256, 32]: w1 whole [4, 2], w2 = w2_a [64, 2] @ w2_b [2, 16], alpha 1 (scale 1 / 2)
w1, w2a, w2b = rnd(4, 2), rnd(64, 2), rnd(2, 16)
add("unet", "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj", "lora_unet_",
    {"lokr_w1": w1, "lokr_w2_a": w2a, "lokr_w2_b": w2b, "alpha": alpha(1.0)},
    0.5 * torch.kron(w1.float(), w2a.float() @ w2b.float()))

# LoKr on a 3x3 convolution [32, 64, 3, 3]: w1 = w1_a [2, 1] @ w1_b [1, 4], w2 from a Tucker core
# (t2 [2, 2, 3, 3], w2_a [2, 16], w2_b [2, 16]), alpha 4 over w2_b's 2 rows
w1a, w1b = rnd(2, 1), rnd(1, 4)
t2, w2a, w2b = rnd(2, 2, 3, 3), rnd(2, 16), rnd(2, 16)
w1 = (w1a.float() @ w1b.float()).unsqueeze(2).unsqueeze(2)
add("unet", "up_blocks.0.resnets.0.conv1", "lora_unet_",
    {"lokr_w1_a": w1a, "lokr_w1_b": w1b, "lokr_t2": t2, "lokr_w2_a": w2a, "lokr_w2_b": w2b, "alpha": alpha(4.0)},
    2.0 * torch.kron(w1, tucker(t2, w2a, w2b)))

# LoKr on a 1x1 convolution [32, 32, 1, 1], both factors whole (w2 with its kernel axes): alpha is not used
w1, w2 = rnd(4, 8), rnd(8, 4, 1, 1)
add("unet", "up_blocks.0.attentions.0.proj_in", "lora_unet_",
    {"lokr_w1": w1, "lokr_w2": w2, "alpha": alpha(7.0)},
    torch.kron(w1.float().unsqueeze(2).unsqueeze(2), w2.float()))

# Tucker LoCon on a 3x3 convolution [32, 32, 3, 3]: down [2, 32, 1, 1], mid [2, 2, 3, 3], up [32, 2, 1, 1], alpha 1
down, mid, up = rnd(2, 32, 1, 1), rnd(2, 2, 3, 3), rnd(32, 2, 1, 1)
add("unet", "mid_block.resnets.0.conv1", "lora_unet_",
    {"lora_down.weight": down, "lora_mid.weight": mid, "lora_up.weight": up, "alpha": alpha(1.0)},
    0.5 * torch.einsum("oa,abyx,bi->oiyx", up.float()[:, :, 0, 0], mid.float(), down.float()[:, :, 0, 0]))

# DoRA, magnitudes per input column ([1, in], kohya's layout), on a LoRA [32, 32], rank 4, alpha 4
w = weight("mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0")
up, down = rnd(32, 4), rnd(4, 32)
dora = (w.norm(dim=0, keepdim=True) * (1 + 0.2 * torch.randn(1, 32, generator=g))).half()
add("unet", "mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0", "lora_unet_",
    {"lora_up.weight": up, "lora_down.weight": down, "alpha": alpha(4.0)}, up.float() @ down.float(), dora)

# DoRA, magnitudes per output row ([out, 1]), on a LoHa [32, 64], rank 2, no alpha
w = weight("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k")
w1a, w1b, w2a, w2b = rnd(32, 2), rnd(2, 64), rnd(32, 2), rnd(2, 64)
dora = (w.norm(dim=1, keepdim=True) * (1 + 0.2 * torch.randn(32, 1, generator=g))).half()
add("unet", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k", "lora_unet_",
    {"hada_w1_a": w1a, "hada_w1_b": w1b, "hada_w2_a": w2a, "hada_w2_b": w2b},
    (w1a.float() @ w1b.float()) * (w2a.float() @ w2b.float()), dora)

# text encoder: LoKr [64, 64] (w1 [8, 8] whole, w2 = [8, 2] @ [2, 8], alpha 2 / 2), LoHa [256, 64] with DoRA per input column
w1, w2a, w2b = rnd(8, 8), rnd(8, 2), rnd(2, 8)
add("te", "text_model.encoder.layers.0.self_attn.q_proj", "lora_te_",
    {"lokr_w1": w1, "lokr_w2_a": w2a, "lokr_w2_b": w2b, "alpha": alpha(2.0)},
    torch.kron(w1.float(), w2a.float() @ w2b.float()))
w = weight("text_model.encoder.layers.1.mlp.fc1")
w1a, w1b, w2a, w2b = rnd(256, 3), rnd(3, 64), rnd(256, 3), rnd(3, 64)
dora = (w.norm(dim=0, keepdim=True) * (1 + 0.2 * torch.randn(1, 64, generator=g))).half()
add("te", "text_model.encoder.layers.1.mlp.fc1", "lora_te_",
    {"hada_w1_a": w1a, "hada_w1_b": w1b, "hada_w2_a": w2a, "hada_w2_b": w2b, "alpha": alpha(1.5)},
    0.5 * (w1a.float() @ w1b.float()) * (w2a.float() @ w2b.float()), dora)


def merged(s_unet, s_te):
    sd = dict(base)
    for part, strength in (("unet", s_unet), ("te", s_te)):
        for name, delta, dora in patches[part]:
            key = to_ldm[name + ".weight"]
            w = sd[key]
            delta = delta.reshape(w.shape)
            sd[key] = w + strength * delta if dora is None else decompose(w, delta, dora, strength)
    return sd


out = tiny_sd1.reference_inputs()
for case, (s_unet, s_te) in {"base": (0.0, 0.0), "c": (0.8, 0.6), "c1": (1.0, 1.0)}.items():
    out[f"{case}.out_sample"], out[f"{case}.last_hidden_state"] = tiny_sd1.outputs(merged(s_unet, s_te), out)
lora = os.path.join(folder, "lora")
save(os.path.join(lora, "lycoris-c.safetensors"), file, {"ss_network_module": "lycoris.kohya"})
save(os.path.join(lora, "lycoris-reference.safetensors"), out)
print(len(file), "keys;", {k: float((out[k] - out["base." + k.split(".", 1)[1]]).abs().max()) for k in out if k.startswith(("c.", "c1."))})

# File D, LyCORIS's whole-weight keys (the full algorithm's diff and diff_b, train_norm's w_norm and b_norm), each
# added to its weight or bias times the strength, and a LoRA module with a diff key beside it: ComfyUI's load_lora
# assigns the diff after the LoRA, so the diff alone is applied.
d_file, d_patches = {}, {"unet": [], "te": []}


def whole(part, module, target, value):
    d_file[module] = value
    d_patches[part].append((target, value.float()))


ff2 = "mid_block.attentions.0.transformer_blocks.0.ff.net.2"
whole("unet", f"lora_unet_{ff2.replace('.', '_')}.diff", to_ldm[ff2 + ".weight"], rnd(*weight(ff2).shape, scale=0.05))
whole("unet", f"lora_unet_{ff2.replace('.', '_')}.diff_b", to_ldm[ff2 + ".bias"], rnd(*base[to_ldm[ff2 + ".bias"]].shape, scale=0.05))
norm = "down_blocks.0.resnets.0.norm1"
whole("unet", f"lora_unet_{norm.replace('.', '_')}.w_norm", to_ldm[norm + ".weight"], rnd(*weight(norm).shape, scale=0.2))
whole("unet", f"lora_unet_{norm.replace('.', '_')}.b_norm", to_ldm[norm + ".bias"], rnd(*base[to_ldm[norm + ".bias"]].shape, scale=0.2))
ln = "text_model.encoder.layers.0.layer_norm1"
whole("te", f"lora_te_{ln.replace('.', '_')}.w_norm", to_ldm[ln + ".weight"], rnd(*weight(ln).shape, scale=0.2))
whole("te", f"lora_te_{ln.replace('.', '_')}.b_norm", to_ldm[ln + ".bias"], rnd(*base[to_ldm[ln + ".bias"]].shape, scale=0.2))
out_proj = "text_model.encoder.layers.1.self_attn.out_proj"
whole("te", f"lora_te_{out_proj.replace('.', '_')}.diff_b", to_ldm[out_proj + ".bias"], rnd(*base[to_ldm[out_proj + ".bias"]].shape, scale=0.1))
to_v = "mid_block.attentions.0.transformer_blocks.0.attn1.to_v"
up, down = rnd(32, 2), rnd(2, 32)
d_file[f"lora_unet_{to_v.replace('.', '_')}.lora_up.weight"] = up
d_file[f"lora_unet_{to_v.replace('.', '_')}.lora_down.weight"] = down
stray = rnd(32, 32)
d_file[f"lora_unet_{to_v.replace('.', '_')}.diff"] = stray
d_patches["unet"].append((to_ldm[to_v + ".weight"], stray.float()))


def merged_d(s_unet, s_te):
    sd = dict(base)
    for part, strength in (("unet", s_unet), ("te", s_te)):
        for key, delta in d_patches[part]:
            sd[key] = sd[key] + strength * delta.reshape(sd[key].shape)
    return sd


out_d = tiny_sd1.reference_inputs()
for case, (s_unet, s_te) in {"base": (0.0, 0.0), "d": (0.8, 0.6)}.items():
    out_d[f"{case}.out_sample"], out_d[f"{case}.last_hidden_state"] = tiny_sd1.outputs(merged_d(s_unet, s_te), out_d)
save(os.path.join(lora, "lycoris-d.safetensors"), d_file, {"ss_network_module": "lycoris.kohya"})
save(os.path.join(lora, "lycoris-d-reference.safetensors"), out_d)
print(len(d_file), "keys in D;", {k: float((out_d[k] - out_d["base." + k.split(".", 1)[1]]).abs().max()) for k in out_d if k.startswith("d.")})
