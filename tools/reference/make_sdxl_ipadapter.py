"""Writes tiny SDXL IP-Adapters for the tiny SDXL checkpoint (make_sdxl_checkpoint.py: cross-attention only at the second
level, depth 2, and in the depth-2 middle block: 8 layers, ip_adapter.1 ... 15) and references, into `sdxl-tiny/ipadapter/`:
`ip-adapter_sdxl.safetensors` (the base layout: image_proj.proj/norm over the 48-wide image embeds of sd1-tiny's tiny CLIP
tower -> 4 tokens of the UNet's 64-wide context; F16), `ip-adapter-plus_sdxl.safetensors` (a Resampler 40 wide, 2 heads
of 64, one layer, 16 queries over that tower's 64-wide penultimate states, out 64 -- SDXL's plus is 1280 wide with out
2048; F16), and `reference.safetensors`: the UNet's prediction (row 0 of the checkpoint reference's UNet inputs, with
text_embeds and time_ids) with the base adapter's tokens of sd1-tiny's image a at 0.7, with the Plus adapter's tokens of
it at 0.6, and the tokens themselves.
Run: /usr/bin/python3 tools/reference/make_sdxl_ipadapter.py tests/FlowDiffusion.Checkpoints.Tests/TestData"""
import os
import sys

import torch

import ipadapter
import sd1
import sdxl
from safetensors_io import load, save

data = sys.argv[1]
out = os.path.join(data, "sdxl-tiny", "ipadapter")
os.makedirs(out, exist_ok=True)
cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2), context_dim=64, pooled_dim=40)
sd = {k: t.float() for k, t in load(os.path.join(data, "sdxl-tiny", "sdxl-fp16.safetensors")).items() if k.startswith(sdxl.UNET)}
ref = {k: t.float() for k, t in load(os.path.join(data, "sdxl-tiny", "reference.safetensors")).items()}
sd1_ref = {k: t.float() for k, t in load(os.path.join(data, "sd1-tiny", "ipadapter", "reference.safetensors")).items()}
plus_ref = {k: t.float() for k, t in load(os.path.join(data, "sd1-tiny", "ipadapter", "plus-reference.safetensors")).items()}
blocks = sdxl.cross_attention_blocks(cfg)
big = sdxl.cross_attention_blocks(sdxl.UNetConfig(model_channels=320, channel_mult=(1, 2, 4), num_res_blocks=2, transformer_depth=(0, 2, 10)))
assert len(big) == 70, len(big)


def layers(seed):
    w = sd1.Weights(seed)
    for n, (_, channels) in enumerate(blocks):
        w.linear(f"ip_adapter.{2 * n + 1}.to_k_ip", cfg.context_dim, channels, bias=False)
        w.linear(f"ip_adapter.{2 * n + 1}.to_v_ip", cfg.context_dim, channels, bias=False)
    return w.sd


w = sd1.Weights(21)
w.linear("image_proj.proj", 48, 4 * cfg.context_dim)
w.norm("image_proj.norm", cfg.context_dim)
base = {k: t.half().float() for k, t in {**w.sd, **layers(22)}.items()}
plus = ipadapter.resampler_weights(cfg.context_dim, 64, dim=40, inner=128, depth=1, tokens=16, seed=23)
plus = {k: t.half().float() for k, t in {**plus, **layers(24)}.items()}
save(os.path.join(out, "ip-adapter_sdxl.safetensors"), {k: t.half() for k, t in base.items()})
save(os.path.join(out, "ip-adapter-plus_sdxl.safetensors"), {k: t.half() for k, t in plus.items()})


def hook(weights, tokens, scale):
    return {"layers": {name: (weights[f"ip_adapter.{2 * n + 1}.to_k_ip.weight"], weights[f"ip_adapter.{2 * n + 1}.to_v_ip.weight"])
                       for n, (name, _) in enumerate(blocks)},
            "tokens": tokens, "scale": torch.as_tensor(scale, dtype=torch.float32).reshape(-1)}


with torch.no_grad():
    inputs = {k: ref["unet." + k][:1] for k in ("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids")}

    def unet(ip=None):
        return sdxl.unet_forward(sd, cfg, inputs["sample"], inputs["timestep"], inputs["encoder_hidden_states"], inputs["text_embeds"], inputs["time_ids"], ip=ip)

    base_tokens = ipadapter.image_tokens(base, sd1.UNetConfig(context_dim=cfg.context_dim), sd1_ref["a.image_embeds"])
    plus_tokens = ipadapter.resampler_tokens(plus, plus_ref["a.penultimate_hidden_states"])
    tensors = {**{"unet." + k: v for k, v in inputs.items()},
               "base.tokens": base_tokens, "plus.tokens": plus_tokens, "unet.plain": unet(),
               "base.adapted": unet(hook(base, base_tokens, 0.7)), "plus.adapted": unet(hook(plus, plus_tokens, 0.6))}
save(os.path.join(out, "reference.safetensors"), tensors)
print(len(blocks), "layers;", {k: float((tensors[k] - tensors["unet.plain"]).abs().max()) for k in ("base.adapted", "plus.adapted")})
