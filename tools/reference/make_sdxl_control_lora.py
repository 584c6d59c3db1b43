"""Writes a tiny SDXL Control-LoRA (Stability AI's control-lora layout, as ComfyUI's ControlLora reads it) for the tiny
SDXL checkpoint (make_sdxl_checkpoint.py) and reference outputs, for the C# Control-LoRA tests:
`control-lora/control-lora.safetensors` holds the `lora_controlnet` marker and, under the ControlNet's LDM names without
a prefix: the hint block, zero convolutions and middle block out in full; for every linear and convolution weight of the
encoder copy (time_embed, label_emb, input_blocks, middle_block) a rank-2 `<module>.up` / `<module>.down` pair; every
bias and every other norm weight in full (the rest of the norms are left out: they come from the UNet).
ComfyUI builds the ControlNet from the sampled model's UNet weights, replaces those the file holds in full and adds
up·down (flattened to matrices, reshaped to the weight) to each weight with a pair; no scale.
`control-lora/reference.safetensors`: the checkpoint UNet's prediction on make_sdxl_controlnet.py's end-to-end inputs with
that ControlNet's residuals × 0.6 (control image hint-a.png), and the residuals themselves; and the same with the UNet
patched by `lora/kohya-a.safetensors` at 0.8 first (`e2e.lora_controlled`): ComfyUI copies the patched weights, so the
ControlNet's encoder carries the LoRA too.
Run after make_sdxl_controlnet.py: /usr/bin/python3 tools/reference/make_sdxl_control_lora.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sdxl-tiny"""
import math
import os
import sys

import torch

import controlnet
import sdxl
import sdxl_controlnet
from controlnet import CONTROL
from png_io import read_png
from safetensors_io import load, save

folder = sys.argv[1]
out = os.path.join(folder, "controlnet", "control-lora")
unet_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2), context_dim=64, pooled_dim=40)
base = {k: t.float() for k, t in load(os.path.join(folder, "sdxl-fp16.safetensors")).items() if k.startswith(sdxl.UNET)}
ENCODER = ("time_embed.", "label_emb.", "input_blocks.", "middle_block.")
encoder = {k[len(sdxl.UNET):]: t for k, t in base.items() if k[len(sdxl.UNET):].startswith(ENCODER)}

g = torch.Generator().manual_seed(57)
rank = 2
lora = {"lora_controlnet": torch.zeros(())}
full = {}  # the ControlNet as ComfyUI assembles it, LDM names without prefix
for name, weight in sorted(encoder.items()):
    module, _, kind = name.rpartition(".")
    if kind == "weight" and weight.dim() >= 2:
        out_ch = weight.shape[0]
        fan_in = weight[0].numel()
        up = (torch.randn(out_ch, rank, generator=g) * 0.3).bfloat16().float()
        down = (torch.randn(rank, fan_in, generator=g) / math.sqrt(fan_in)).bfloat16().float()
        if weight.dim() == 4:
            up, down = up.reshape(out_ch, rank, 1, 1), down.reshape(rank, *weight.shape[1:])
        lora[module + ".up"], lora[module + ".down"] = up, down
        full[name] = weight + (up.flatten(1) @ down.flatten(1)).reshape(weight.shape)
    elif kind == "bias":
        replaced = (weight + torch.randn(weight.shape, generator=g) * 0.05).bfloat16().float()
        lora[name] = replaced
        full[name] = replaced
    else:
        full[name] = weight  # norms: the UNet's
# Every other norm weight in full (by sorted position), so some norms come from the file and some from the UNet.
norms = sorted(k for k in full if k.endswith(".weight") and full[k].dim() == 1)
for k in norms[::2]:
    replaced = (full[k] + torch.randn(full[k].shape, generator=g) * 0.05).bfloat16().float()
    lora[k], full[k] = replaced, replaced
extra = {k[len(CONTROL):]: t.bfloat16().float() for k, t in sdxl_controlnet.controlnet_weights(unet_cfg, seed=26).items()
         if k[len(CONTROL):].startswith(("input_hint_block.", "zero_convs.", "middle_block_out."))}
lora.update(extra)
full.update(extra)

os.makedirs(out, exist_ok=True)
save(os.path.join(out, "control-lora.safetensors"), {k: (t if k == "lora_controlnet" else t.bfloat16()) for k, t in lora.items()})



def control_net(unet):
    """The ControlNet ComfyUI assembles over `unet` (LDM names under sdxl.UNET): its encoder, the file's full weights,
    each pair's up·down added."""
    net = {}
    for name, weight in unet.items():
        name = name[len(sdxl.UNET):]
        if not name.startswith(ENCODER):
            continue
        module = name.rpartition(".")[0]
        weight = lora[name] if name in lora else weight
        if module + ".up" in lora and name.endswith(".weight"):
            weight = weight + (lora[module + ".up"].flatten(1) @ lora[module + ".down"].flatten(1)).reshape(weight.shape)
        net[CONTROL + name] = weight
    net.update({CONTROL + k: t for k, t in extra.items()})
    return net


def kohya_patched(unet, path, strength):
    """`unet` with a kohya LoRA merged at `strength` (scale alpha / rank, rank the rows of lora_down)."""
    file = load(path)
    patched = dict(unet)
    for key, weight in unet.items():
        module = key[len(sdxl.UNET):].rpartition(".")[0]
        stem = "lora_unet_" + module.replace(".", "_")
        if not key.endswith(".weight") or stem + ".lora_up.weight" not in file:
            continue
        up, down = file[stem + ".lora_up.weight"].float(), file[stem + ".lora_down.weight"].float()
        rank = down.shape[0]
        alpha = float(file[stem + ".alpha"]) if stem + ".alpha" in file else rank
        patched[key] = weight + strength * alpha / rank * (up.flatten(1) @ down.flatten(1)).reshape(weight.shape)
    return patched


cn = {CONTROL + k: t for k, t in full.items()}
assert all(torch.equal(cn[k], v) for k, v in control_net(base).items())
reference = load(os.path.join(folder, "controlnet", "reference.safetensors"))
e2e = tuple(reference[f"e2e.{k}"] for k in ("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"))
png = read_png(os.path.join(folder, "controlnet", "hint-a.png")).unsqueeze(0).float() / 255
with torch.no_grad():
    residuals = sdxl_controlnet.controlnet_forward(cn, unet_cfg, *e2e, png)
    controlled = sdxl.unet_forward(base, unet_cfg, *e2e, [0.6 * r for r in residuals])
    patched = kohya_patched(base, os.path.join(folder, "lora", "kohya-a.safetensors"), 0.8)
    lora_residuals = sdxl_controlnet.controlnet_forward(control_net(patched), unet_cfg, *e2e, png)
    lora_controlled = sdxl.unet_forward(patched, unet_cfg, *e2e, [0.6 * r for r in lora_residuals])
    lora_plain = sdxl.unet_forward(patched, unet_cfg, *e2e)
tensors = {"e2e.controlled": controlled, "e2e.lora_controlled": lora_controlled}
for i, r in enumerate(residuals[:-1]):
    tensors[f"down_block_{i}"] = r
tensors["mid_block_res_sample"] = residuals[-1]
save(os.path.join(out, "reference.safetensors"), tensors)
print({"pairs": sum(1 for k in lora if k.endswith(".up")), "full": sum(1 for k in lora if not k.endswith((".up", ".down"))),
       "controlled-plain": float((controlled - reference["e2e.plain"]).abs().max()),
      "lora: controlled-plain": float((lora_controlled - lora_plain).abs().max()),
      "lora residual change": max(float((a - b).abs().max()) for a, b in zip(lora_residuals, residuals)),
      "patched": sum(1 for k in patched if not torch.equal(patched[k], base[k]))})
