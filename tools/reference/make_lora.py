"""Writes two small LoRAs for the tiny SD 1.x checkpoint (make_sd1_checkpoints.py) and reference outputs of the
checkpoint with the LoRAs merged offline: W + s * (alpha / rank) * up @ down, convolution kernels flattened to
[out, in*kh*kw]. A is kohya format (lora_unet_*/lora_te_*, .lora_down/.lora_up/.alpha, F16, a linear, a 1x1 and a 3x3
LoCon convolution, one module without alpha, one module the checkpoint lacks); B is diffusers/PEFT format (unet.*
lora_A/lora_B, text_encoder.* lora.down/lora.up, F32, no alpha so the scale is 1).
The text encoder runs at CLIP's 64-wide heads (1 head at width 64), as model.load builds it for this checkpoint.
Run: /usr/bin/python3 tools/reference/make_lora.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import diffusers_keys
import sd1
from safetensors_io import load, save

folder = sys.argv[1]
unet_cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
clip_cfg = sd1.ClipConfig(vocab=768, width=64, layers=2, head_width=64)
base = {k: (t.float() if t.is_floating_point() else t) for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items()}
# diffusers name -> LDM name (the renaming passes values through, so the LDM names ride along as values)
to_ldm = {d: l for d, l in diffusers_keys.unet({k: k for k in base}, unet_cfg).items()}
to_ldm.update({d: l for d, l in diffusers_keys.text_encoder({k: k for k in base}).items()})

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


gi = torch.Generator().manual_seed(5)
sample = torch.randn(1, 4, 8, 8, generator=gi)
timestep = torch.tensor([500.0])
context = torch.randn(1, 77, 64, generator=gi)
ids = torch.full((1, 77), clip_cfg.vocab - 1, dtype=torch.int64)
ids[0, :6] = torch.tensor([clip_cfg.vocab - 2, 17, 305, 42, 9, clip_cfg.vocab - 1])
out = {"unet.sample": sample, "unet.timestep": timestep, "unet.encoder_hidden_states": context, "text_encoder.input_ids": ids}
cases = {"base": [], "a": [(a_deltas, 0.8, 0.6)], "ab": [(a_deltas, 0.8, 0.6), (b_deltas, 1.0, 1.0)]}
with torch.no_grad():
    for case, loras in cases.items():
        sd = merged(loras)
        out[f"{case}.out_sample"] = sd1.unet_forward(sd, unet_cfg, sample, timestep, context)
        out[f"{case}.last_hidden_state"] = sd1.clip_forward(sd, clip_cfg, ids)[0]
lora = os.path.join(folder, "lora")
os.makedirs(lora, exist_ok=True)
save(os.path.join(lora, "kohya-a.safetensors"), a_file, {"ss_network_dim": "4"})
save(os.path.join(lora, "peft-b.safetensors"), b_file)
save(os.path.join(lora, "reference.safetensors"), out)
print({k: float((out[k] - out["base." + k.split(".", 1)[1]]).abs().max()) for k in out if k.startswith(("a.", "ab."))})
