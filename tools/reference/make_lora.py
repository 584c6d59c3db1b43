"""Writes two small LoRAs for the tiny SD 1.x checkpoint (make_sd1_checkpoints.py) and reference outputs of the
checkpoint with the LoRAs merged offline: W + s * (alpha / rank) * up @ down, convolution kernels flattened to
[out, in*kh*kw]. A is kohya format (lora_unet_*/lora_te_*, .lora_down/.lora_up/.alpha, F16, a linear, a 1x1 and a 3x3
LoCon convolution, one module without alpha, one module the checkpoint lacks); B is diffusers/PEFT format (unet.*
lora_A/lora_B, text_encoder.* lora.down/lora.up, F32, no alpha so the scale is 1).
Run: /usr/bin/python3 tools/reference/make_lora.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import tiny_sd1
from safetensors_io import save

folder = sys.argv[1]
base, to_ldm = tiny_sd1.load_base(folder)

g = torch.Generator().manual_seed(11)


def pair(weight, rank, scale=0.3):
    w = base[to_ldm[weight + ".weight"]]
    out, rest = w.shape[0], w[0].numel()
    down = torch.randn(rank, *w.shape[1:], generator=g) * scale
    up = torch.randn(out, rank, *([1, 1] if w.dim() == 4 else []), generator=g) * scale
    return up, down


A_UNET = ["down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",
          "mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0", "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj",
          "up_blocks.0.attentions.0.proj_in", "down_blocks.0.resnets.0.conv1", "down_blocks.0.resnets.0.time_emb_proj"]
A_TE = ["text_model.encoder.layers.0.self_attn.q_proj", "text_model.encoder.layers.1.self_attn.v_proj", "text_model.encoder.layers.1.mlp.fc1"]
B_UNET = ["down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", "up_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v"]
B_TE = ["text_model.encoder.layers.0.self_attn.q_proj", "text_model.encoder.layers.0.mlp.fc2"]

a_file, a_deltas = {}, {"unet": {}, "te": {}}
for part, names, prefix in (("unet", A_UNET, "lora_unet_"), ("te", A_TE, "lora_te_")):
    for i, name in enumerate(names):
        rank = 4
        up, down = pair(name, rank)
        up, down = up.half(), down.half()
        key = prefix + name.replace(".", "_")
        a_file[key + ".lora_up.weight"] = up
        a_file[key + ".lora_down.weight"] = down
        alpha = None if i == 1 else 2.0 + i  # the second module of each part has no alpha: alpha = rank, scale 1
        if alpha is not None:
            a_file[key + ".alpha"] = torch.tensor(alpha, dtype=torch.float16)
        scale = (alpha if alpha is not None else rank) / rank
        a_deltas[part][name] = scale * (up.float().reshape(up.shape[0], rank) @ down.float().reshape(rank, -1))
# a module the checkpoint does not have: both keys must be reported unmatched
a_file["lora_unet_down_blocks_5_attentions_0_proj_in.lora_up.weight"] = torch.zeros(4, 4, dtype=torch.float16)
a_file["lora_unet_down_blocks_5_attentions_0_proj_in.lora_down.weight"] = torch.zeros(4, 4, dtype=torch.float16)

b_file, b_deltas = {}, {"unet": {}, "te": {}}
for name in B_UNET:
    up, down = pair(name, 2)
    b_file[f"unet.{name}.lora_A.weight"] = down
    b_file[f"unet.{name}.lora_B.weight"] = up
    b_deltas["unet"][name] = up @ down
for name in B_TE:
    up, down = pair(name, 2)
    b_file[f"text_encoder.{name}.lora.down.weight"] = down
    b_file[f"text_encoder.{name}.lora.up.weight"] = up
    b_deltas["te"][name] = up @ down


def merged(loras):
    sd = dict(base)
    for deltas, s_unet, s_te in loras:
        for part, strength in (("unet", s_unet), ("te", s_te)):
            for name, delta in deltas[part].items():
                key = to_ldm[name + ".weight"]
                sd[key] = sd[key] + strength * delta.reshape(sd[key].shape)
    return sd


out = tiny_sd1.reference_inputs()
cases = {"base": [], "a": [(a_deltas, 0.8, 0.6)], "ab": [(a_deltas, 0.8, 0.6), (b_deltas, 1.0, 1.0)]}
for case, loras in cases.items():
    out[f"{case}.out_sample"], out[f"{case}.last_hidden_state"] = tiny_sd1.outputs(merged(loras), out)
lora = os.path.join(folder, "lora")
os.makedirs(lora, exist_ok=True)
save(os.path.join(lora, "kohya-a.safetensors"), a_file, {"ss_network_dim": "4"})
save(os.path.join(lora, "peft-b.safetensors"), b_file)
save(os.path.join(lora, "reference.safetensors"), out)
print({k: float((out[k] - out["base." + k.split(".", 1)[1]]).abs().max()) for k in out if k.startswith(("a.", "ab."))})
