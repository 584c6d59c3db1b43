"""Reference outputs for an IP-Adapter and ControlNets acting in the same UNet step, and for an IP-Adapter on an
LCM-distilled UNet, on the tiny checkpoints and the committed tiny ControlNets and IP-Adapter (make_controlnet.py,
make_ipadapter.py, make_sdxl_controlnet.py), for the C# tests of the UNet graph variant that takes both:
`sd1-tiny/ipadapter-controlnet/reference.safetensors`
- `sd1.both`: the SD 1.x UNet on the ControlNet reference's batch-2 inputs with its residuals (strength 1) added and
  image a's adapter tokens attended at 0.7 (row 0) and 0.3 (row 1);
- `e2e.*`: end to end through the image files: make_ipadapter.py's batch-1 inputs at timestep 999, image a at 0.7, the
  ControlNet on `hint-a.png` (its pixels: `e2e.controlnet_cond`) at 0.6 (`e2e.one`) and `hint-a.png` at 0.7 stacked with `hint-b.png` at 0.4 (`e2e.stacked`);
- `lcm.adapted`: the same UNet with image a at 0.7 at timestep 700 (an LCM graph whose cond_proj maps a unit
  timestep_cond to the sinusoid difference between 250 and 700 must give it at 250: LcmUNetGraphTests' closed form);
`sdxl-tiny/ipadapter-controlnet/reference.safetensors`: a tiny SDXL IP-Adapter's decoupled keys and values
(`ip_key_n`/`ip_value_n`, random tokens through `to_k_ip`/`to_v_ip` for each cross-attention block in diffusers'
processor order) and `sdxl.both`: the SDXL UNet on the SDXL ControlNet reference's batch-2 inputs with its residuals and
those keys and values at 0.7 and 0.3.
Run: /usr/bin/python3 tools/reference/make_ipadapter_controlnet.py tests/FlowDiffusion.Checkpoints.Tests/TestData"""
import os
import sys

import torch

import controlnet
import ipadapter
import sd1
import sdxl
from png_io import read_png
from safetensors_io import load, save

data = sys.argv[1]


def floats(path, prefix=None):
    return {k: t.float() for k, t in load(path).items() if prefix is None or k.startswith(prefix)}


# SD 1.x: the checkpoint, its ControlNet and its IP-Adapter as committed.
sd1_dir = os.path.join(data, "sd1-tiny")
cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
base = floats(os.path.join(sd1_dir, "ldm-fp16.safetensors"), sd1.UNET)
cn = floats(os.path.join(sd1_dir, "controlnet", "control-ldm-fp16.safetensors"))
adapter = floats(os.path.join(sd1_dir, "ipadapter", "ip-adapter.safetensors"))
cn_ref = floats(os.path.join(sd1_dir, "controlnet", "reference.safetensors"))
ip_ref = floats(os.path.join(sd1_dir, "ipadapter", "reference.safetensors"))
residual_names = sorted((k for k in cn_ref if k.startswith("down_block_")), key=lambda k: int(k.rsplit("_", 1)[1])) + ["mid_block_res_sample"]
tokens_a = ip_ref["a.tokens"]
out = {}
with torch.no_grad():
    residuals = [cn_ref[k] for k in residual_names]
    hook = ipadapter.unet_hook(adapter, cfg, tokens_a.expand(2, -1, -1), [0.7, 0.3])
    out["sd1.both"] = sd1.unet_forward(base, cfg, cn_ref["sample"], cn_ref["timestep"], cn_ref["encoder_hidden_states"], residuals, hook)
    plain_controlled = cn_ref["unet.controlled"]

    sample, context, t = ip_ref["e2e.sample"], ip_ref["e2e.encoder_hidden_states"], ip_ref["e2e.timestep"]
    hint_a = read_png(os.path.join(sd1_dir, "controlnet", "hint-a.png")).float()[None] / 255
    hint_b = read_png(os.path.join(sd1_dir, "controlnet", "hint-b.png")).float()[None] / 255
    ra = controlnet.controlnet_forward(cn, cfg, sample, t, context, hint_a)
    rb = controlnet.controlnet_forward(cn, cfg, sample, t, context, hint_b)
    hook_a = ipadapter.unet_hook(adapter, cfg, tokens_a, 0.7)
    out["e2e.controlnet_cond"] = hint_a
    out["e2e.one"] = sd1.unet_forward(base, cfg, sample, t, context, [0.6 * r for r in ra], hook_a)
    out["e2e.stacked"] = sd1.unet_forward(base, cfg, sample, t, context, [0.7 * a + 0.4 * b for a, b in zip(ra, rb)], hook_a)
    out["e2e.controlled_only"] = sd1.unet_forward(base, cfg, sample, t, context, [0.6 * r for r in ra])
    out["lcm.adapted"] = sd1.unet_forward(base, cfg, sample, torch.tensor([700.0]), context, ip=hook_a)
os.makedirs(os.path.join(sd1_dir, "ipadapter-controlnet"), exist_ok=True)
save(os.path.join(sd1_dir, "ipadapter-controlnet", "reference.safetensors"), out)
print("sd1", {k: float(v.abs().mean()) for k, v in out.items()},
      "both-controlled", float((out["sd1.both"] - plain_controlled).abs().max()),
      "e2e one-controlled", float((out["e2e.one"] - out["e2e.controlled_only"]).abs().max()),
      "e2e one-adapted", float((out["e2e.one"] - ip_ref["e2e.adapted"]).abs().max()))

# SDXL: the checkpoint and its ControlNet reference's inputs and residuals; an adapter's keys and values for each
# cross-attention block (depths 0/2: two in the down block, four in the up blocks, two in the middle), diffusers' order.
xl_dir = os.path.join(data, "sdxl-tiny")
xcfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2), context_dim=64, pooled_dim=40)
xbase = floats(os.path.join(xl_dir, "sdxl-fp16.safetensors"), sdxl.UNET)
xref = floats(os.path.join(xl_dir, "controlnet", "reference.safetensors"))


g = torch.Generator().manual_seed(41)
blocks = sdxl.cross_attention_blocks(xcfg)
xout = {}
with torch.no_grad():
    tokens = torch.randn(2, 4, xcfg.context_dim, generator=g)
    layers = {}
    for n, (block, channels) in enumerate(blocks):
        k = (torch.randn(channels, xcfg.context_dim, generator=g) / xcfg.context_dim ** 0.5).half().float()
        v = (torch.randn(channels, xcfg.context_dim, generator=g) / xcfg.context_dim ** 0.5).half().float()
        layers[block] = (k, v)
        xout[f"ip_key_{n}"] = tokens @ k.T
        xout[f"ip_value_{n}"] = tokens @ v.T
    xnames = sorted((k for k in xref if k.startswith("down_block_")), key=lambda k: int(k.rsplit("_", 1)[1])) + ["mid_block_res_sample"]
    args = (xref["sample"], xref["timestep"], xref["encoder_hidden_states"], xref["text_embeds"], xref["time_ids"])
    hook = {"layers": layers, "tokens": tokens, "scale": torch.tensor([0.7, 0.3])}
    xout["sdxl.both"] = sdxl.unet_forward(xbase, xcfg, *args, [xref[k] for k in xnames], hook)
os.makedirs(os.path.join(xl_dir, "ipadapter-controlnet"), exist_ok=True)
save(os.path.join(xl_dir, "ipadapter-controlnet", "reference.safetensors"), xout)
print("sdxl layers", len(blocks), "both", float(xout["sdxl.both"].abs().mean()),
      "both-controlled", float((xout["sdxl.both"] - xref["unet.controlled"]).abs().max()))
