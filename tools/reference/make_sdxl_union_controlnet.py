"""Writes a tiny SDXL union ControlNet (xinsir's ControlNet++ layout, as ComfyUI loads it) for the tiny SDXL checkpoint
(make_sdxl_checkpoint.py) and reference outputs, for the C# union ControlNet tests:
`union/diffusion_pytorch_model.safetensors` (diffusers ControlNetModel names plus the union parts — task_embedding,
transformer_layes.0.*, spatial_ch_projs, control_add_embedding — for 8 control types, BF16, the layout published) and
`union/reference.safetensors` with the residuals for "auto" (no type), canny (3) and repaint (7) on the inputs of
make_sdxl_controlnet.py's reference, and an end-to-end case through `hint-a.png` (8-bit) at strength 0.6 with the tile
type (6): the checkpoint UNet's prediction with the residuals added.
Weights are rounded to bfloat16 first, so the file holds them exactly.
Run after make_sdxl_controlnet.py: /usr/bin/python3 tools/reference/make_sdxl_union_controlnet.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sdxl-tiny"""
import os
import sys

import torch

import sdxl
import sdxl_controlnet
from png_io import read_png
from safetensors_io import load, save

folder = sys.argv[1]
out = os.path.join(folder, "controlnet", "union")
unet_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2), context_dim=64, pooled_dim=40)
base = {k: t.float() for k, t in load(os.path.join(folder, "sdxl-fp16.safetensors")).items() if k.startswith(sdxl.UNET)}
cn = {k: t.bfloat16().float() for k, t in sdxl_controlnet.controlnet_weights(unet_cfg, seed=16).items()}
union = {k: t.bfloat16().float() for k, t in sdxl_controlnet.union_weights(unet_cfg).items()}

os.makedirs(out, exist_ok=True)
published = {**sdxl_controlnet.diffusers_names(cn, unet_cfg), **union}
save(os.path.join(out, "diffusion_pytorch_model.safetensors"), {k: t.bfloat16() for k, t in published.items()})

reference = load(os.path.join(folder, "controlnet", "reference.safetensors"))
args = tuple(reference[k] for k in ("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"))
hint = reference["controlnet_cond"]
tensors = {}
with torch.no_grad():
    for name, control_type in (("auto", None), ("canny", 3), ("repaint", 7)):
        residuals = sdxl_controlnet.controlnet_forward(cn, unet_cfg, *args, hint, union=(union, control_type))
        for i, r in enumerate(residuals[:-1]):
            tensors[f"{name}.down_block_{i}"] = r
        tensors[f"{name}.mid_block_res_sample"] = residuals[-1]
    e2e = tuple(reference[f"e2e.{k}"] for k in ("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"))
    png = read_png(os.path.join(folder, "controlnet", "hint-a.png")).unsqueeze(0).float() / 255
    tile = sdxl_controlnet.controlnet_forward(cn, unet_cfg, *e2e, png, union=(union, 6))
    tensors["e2e.tile"] = sdxl.unet_forward(base, unet_cfg, *e2e, [0.6 * r for r in tile])
    auto = sdxl_controlnet.controlnet_forward(cn, unet_cfg, *e2e, png, union=(union, None))
    tensors["e2e.auto"] = sdxl.unet_forward(base, unet_cfg, *e2e, [0.6 * r for r in auto])
save(os.path.join(out, "reference.safetensors"), tensors)
print({k: float(v.abs().mean()) for k, v in tensors.items() if "mid" in k or "e2e" in k},
      "canny-auto", float((tensors["canny.down_block_0"] - tensors["auto.down_block_0"]).abs().max()),
      "tile-auto", float((tensors["e2e.tile"] - tensors["e2e.auto"]).abs().max()),
      "e2e-plain", float((tensors["e2e.tile"] - reference["e2e.plain"]).abs().max()))
