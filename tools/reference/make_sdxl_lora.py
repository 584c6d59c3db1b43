"""Writes two small LoRAs for the tiny SDXL checkpoint (make_sdxl_checkpoint.py) and reference outputs of the checkpoint
with the LoRAs merged offline into its single-file (SGM) tensors: W + s * (alpha / rank) * up @ down, convolution kernels
flattened to [out, in*kh*kw].
A is kohya's SDXL format: lora_unet_* in SGM module names (input_blocks/middle_block/output_blocks, transformer_blocks
at depth index 1, a 3x3 upsampler and resnet LoCon, a 1x1 skip connection), lora_te1_* (CLIP ViT-L) and lora_te2_*
(OpenCLIP ViT-bigG in transformers names: q/k/v are row ranges of the fused attn.in_proj, fc1/fc2 are c_fc/c_proj), F16,
one module without alpha and one module the checkpoint lacks.
B is diffusers/PEFT: unet.* (diffusers UNet names), text_encoder.* and text_encoder_2.*, lora_A/lora_B, F32, no alpha.
Run: /usr/bin/python3 tools/reference/make_sdxl_lora.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sdxl-tiny"""
import os
import sys

import torch

import sd1
import sdxl
from safetensors_io import load, save

folder = sys.argv[1]
clip_cfg = sd1.ClipConfig(vocab=768, width=32, layers=2, head_width=32)
open_cfg = sdxl.OpenClipConfig(vocab=768, width=32, layers=2, head_width=32, projection=40)
unet_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2),
                           context_dim=clip_cfg.width + open_cfg.width, pooled_dim=open_cfg.projection)
base = {k: (t.float() if t.is_floating_point() else t) for k, t in load(os.path.join(folder, "sdxl-fp16.safetensors")).items()}
W = open_cfg.width
OPEN_LAYER = {"mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj", "self_attn.out_proj": "attn.out_proj"}
QKV = {"q_proj": 0, "k_proj": 1, "v_proj": 2}

# The few diffusers UNet names B uses, written out by hand for this UNet (levels 64/32, 1 res block, depth 0/2):
# input block 3 is level 1's first position, output block 1 is the first up level's second position.
DIFFUSERS_TO_SGM = {
    "down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_v": "input_blocks.3.1.transformer_blocks.1.attn2.to_v",
    "up_blocks.0.resnets.1.conv2": "output_blocks.1.0.out_layers.3",
    "mid_block.attentions.0.proj_out": "middle_block.1.proj_out",
}


def target(part, name):
    """(single-file key, row slice or None) of a LoRA module's weight."""
    if part == "unet":
        return sdxl.UNET + name + ".weight", None
    if part == "te1":
        return sdxl.CLIP_L + name[len("text_model."):] + ".weight", None
    layer, module = name[len("text_model.encoder.layers."):].split(".", 1)
    prefix = f"{sdxl.OPEN_CLIP}transformer.resblocks.{layer}."
    if module.startswith("self_attn.") and module.split(".")[1] in QKV:
        i = QKV[module.split(".")[1]]
        return prefix + "attn.in_proj_weight", slice(i * W, (i + 1) * W)
    return prefix + OPEN_LAYER[module] + ".weight", None


def weight(part, name):
    key, rows = target(part, name)
    return base[key] if rows is None else base[key][rows]


g = torch.Generator().manual_seed(21)


def pair(part, name, rank, scale=0.3):
    w = weight(part, name)
    down = torch.randn(rank, *w.shape[1:], generator=g) * scale
    up = torch.randn(w.shape[0], rank, *([1, 1] if w.dim() == 4 else []), generator=g) * scale
    return up, down


A = {
    "unet": ["input_blocks.3.1.transformer_blocks.1.attn1.to_q", "input_blocks.3.1.transformer_blocks.0.attn2.to_k",
             "middle_block.1.transformer_blocks.1.ff.net.0.proj", "middle_block.1.proj_in",
             "output_blocks.1.1.transformer_blocks.0.attn1.to_out.0", "output_blocks.1.2.conv", "input_blocks.1.0.in_layers.2",
             "input_blocks.1.0.skip_connection", "output_blocks.3.0.emb_layers.1"],
    "te1": ["text_model.encoder.layers.0.self_attn.q_proj", "text_model.encoder.layers.0.mlp.fc1"],
    "te2": ["text_model.encoder.layers.0.self_attn.k_proj", "text_model.encoder.layers.1.self_attn.v_proj",
            "text_model.encoder.layers.0.mlp.fc2", "text_model.encoder.layers.1.self_attn.out_proj"],
}
PREFIX = {"unet": "lora_unet_", "te1": "lora_te1_", "te2": "lora_te2_"}
a_file, a_deltas = {}, {p: {} for p in A}
for part, names in A.items():
    for i, name in enumerate(names):
        rank = 4
        up, down = pair(part, name, rank)
        up, down = up.half(), down.half()
        key = PREFIX[part] + name.replace(".", "_")
        a_file[key + ".lora_up.weight"] = up
        a_file[key + ".lora_down.weight"] = down
        alpha = None if i == 1 else 2.0 + i  # the second module of each part has no alpha: alpha = rank, scale 1
        if alpha is not None:
            a_file[key + ".alpha"] = torch.tensor(alpha, dtype=torch.float16)
        scale = (alpha if alpha is not None else rank) / rank
        a_deltas[part][name] = scale * (up.float().reshape(up.shape[0], rank) @ down.float().reshape(rank, -1))
# a module the checkpoint does not have: both keys must be reported unmatched
a_file["lora_unet_input_blocks_9_1_proj_in.lora_up.weight"] = torch.zeros(4, 4, dtype=torch.float16)
a_file["lora_unet_input_blocks_9_1_proj_in.lora_down.weight"] = torch.zeros(4, 4, dtype=torch.float16)

b_file, b_deltas = {}, {p: {} for p in A}
for diffusers, sgm in DIFFUSERS_TO_SGM.items():
    up, down = pair("unet", sgm, 2)
    b_file[f"unet.{diffusers}.lora_A.weight"] = down
    b_file[f"unet.{diffusers}.lora_B.weight"] = up
    b_deltas["unet"][sgm] = up.reshape(up.shape[0], 2) @ down.reshape(2, -1)
for part, prefix, names in (("te1", "text_encoder.", ["text_model.encoder.layers.0.self_attn.v_proj"]),
                            ("te2", "text_encoder_2.", ["text_model.encoder.layers.0.self_attn.q_proj", "text_model.encoder.layers.1.mlp.fc1"])):
    for name in names:
        up, down = pair(part, name, 2)
        b_file[f"{prefix}{name}.lora_A.weight"] = down
        b_file[f"{prefix}{name}.lora_B.weight"] = up
        b_deltas[part][name] = up @ down


def merged(loras):
    sd = dict(base)
    for deltas, s_unet, s_te in loras:
        for part, strength in (("unet", s_unet), ("te1", s_te), ("te2", s_te)):
            for name, delta in deltas[part].items():
                key, rows = target(part, name)
                w = sd[key].clone()
                if rows is None:
                    w = w + strength * delta.reshape(w.shape)
                else:
                    w[rows] = w[rows] + strength * delta.reshape(w[rows].shape)
                sd[key] = w
    return sd


ref = load(os.path.join(folder, "reference.safetensors"))
ids, ids2 = ref["text_encoder.input_ids"][:1], ref["text_encoder_2.input_ids"][:1]
gi = torch.Generator().manual_seed(23)
sample = torch.randn(1, 4, 8, 8, generator=gi)
timestep = torch.tensor([500.0])
context = torch.randn(1, 16, unet_cfg.context_dim, generator=gi)
text_embeds = torch.randn(1, unet_cfg.pooled_dim, generator=gi)
time_ids = torch.tensor([[1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0]])
out = {"unet.sample": sample, "unet.timestep": timestep, "unet.encoder_hidden_states": context, "unet.text_embeds": text_embeds,
       "unet.time_ids": time_ids, "text_encoder.input_ids": ids, "text_encoder_2.input_ids": ids2}
cases = {"base": [], "a": [(a_deltas, 0.8, 0.6)], "ab": [(a_deltas, 0.8, 0.6), (b_deltas, 1.0, 1.0)]}
with torch.no_grad():
    for case, loras in cases.items():
        sd = merged(loras)
        out[f"{case}.out_sample"] = sdxl.unet_forward(sd, unet_cfg, sample, timestep, context, text_embeds, time_ids)
        out[f"{case}.hidden_states"] = sdxl.clip_l_penultimate(sd, clip_cfg, ids)
        out[f"{case}.hidden_states_2"], out[f"{case}.text_embeds"] = sdxl.open_clip_forward(sd, open_cfg, ids2)
lora = os.path.join(folder, "lora")
os.makedirs(lora, exist_ok=True)
save(os.path.join(lora, "kohya-a.safetensors"), a_file, {"ss_network_dim": "4", "ss_base_model_version": "sdxl_base_v1-0"})
save(os.path.join(lora, "peft-b.safetensors"), b_file)
save(os.path.join(lora, "reference.safetensors"), out)
print({k: float((out[k] - out["base." + k.split(".", 1)[1]]).abs().max()) for k in out if k.startswith(("a.", "ab."))})
