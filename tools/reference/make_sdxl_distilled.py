"""Writes tiny random-weight UNets shaped like the distilled SDXL models ComfyUI loads as SDXL (supported_models.py's
SSD1B and Segmind_Vega; model_detection.py counts each input and output block's transformer depth from the keys and
calls a middle block without middle_block.1 a lone residual block, transformer_depth_middle -1), with their torch
references, for the C# per-attention depth tests:
- ssd1b-fp16.safetensors: a whole SGM single file (the tiny SDXL checkpoint's two text towers and VAE, same seeds) whose
  UNet has SSD-1B's shape in small: no attention at the first level, one depth per encoder level, a decoder whose depths
  differ from block to block (SSD-1B's are not the encoder's mirrored), and a middle block that is one residual block.
- vega-unet.safetensors: a UNet alone in diffusers' names (a diffusers folder's unet/diffusion_pytorch_model.safetensors,
  BF16) shaped like Segmind Vega in small: per-level depths, mirrored in the decoder, and the lone middle residual block;
  the reference also holds its prediction without a middle block at all (ComfyUI's transformer_depth_middle -2), and
  the SSD-shaped UNet's with random ControlNet residuals added to its skips and middle block.
The UNets take the tiny SDXL checkpoint's context (two 32-wide towers) and pooled width (40). Weights are rounded to
bfloat16 first, so both files hold them exactly and the float32 references apply.
Run: /usr/bin/python3 tools/reference/make_sdxl_distilled.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sdxl-distilled-tiny"""
import os
import sys

import torch

import controlnet
import diffusers_keys
import sd1
import sdxl
from safetensors_io import save

out = sys.argv[1]
clip_cfg = sd1.ClipConfig(vocab=768, width=32, layers=2, head_width=32)  # as make_sdxl_checkpoint.py
open_cfg = sdxl.OpenClipConfig(vocab=768, width=32, layers=2, head_width=32, projection=40)
vae_cfg = sd1.VaeConfig(ch=32, ch_mult=(1, 1, 1, 1), num_res_blocks=1)
# Three levels as SDXL's (64, 32, 32 wide: the first level twice the model channels so its GroupNorm keeps the time
# embedding per channel), one residual block per encoder level and two per decoder level (SDXL's 2 and 3 make the files
# twice as big and test nothing more).
shape = dict(model_channels=32, channel_mult=(2, 1, 1), num_res_blocks=1, transformer_depth=(0, 1, 2),
             context_dim=clip_cfg.width + open_cfg.width, pooled_dim=open_cfg.projection, middle=-1)
# SSD-1B in small: encoder 0 | 1 | 2; decoder (output blocks 0-5, deepest level first) 3, 1 | 2, 1 | 0, 0: no
# decoder attention has its level's encoder depth on both sides.
ssd_cfg = sdxl.UNetConfig(**shape, input_depths=(0, 1, 2), output_depths=(3, 1, 2, 1, 0, 0))
# Vega in small: the per-level depths mirrored (output blocks 2, 2 | 1, 1 | 0, 0).
vega_cfg = sdxl.UNetConfig(**shape)


def rounded(sd):
    return {k: (t.bfloat16().float() if t.is_floating_point() else t) for k, t in sd.items()}


ssd = rounded(sdxl.unet_weights(ssd_cfg, seed=21))
assert not any(k.startswith(sdxl.UNET + "middle_block.1.") or k.startswith(sdxl.UNET + "middle_block.2.") for k in ssd)
vega = rounded(sdxl.unet_weights(vega_cfg, seed=22))
checkpoint = dict(ssd)
checkpoint.update(rounded(sdxl.clip_l_weights(clip_cfg)))
checkpoint.update(rounded(sdxl.open_clip_weights(open_cfg)))
checkpoint.update(rounded(sd1.vae_weights(vae_cfg)))
os.makedirs(out, exist_ok=True)
save(os.path.join(out, "ssd1b-fp16.safetensors"), {k: (t.half() if t.is_floating_point() else t) for k, t in checkpoint.items()},
     metadata={"modelspec.architecture": "stable-diffusion-xl-v1-base"})
save(os.path.join(out, "vega-unet.safetensors"), {k: t.bfloat16() for k, t in diffusers_keys.unet(vega, vega_cfg).items()})

g = torch.Generator().manual_seed(23)
with torch.no_grad():
    sample = torch.randn(2, 4, 8, 8, generator=g)
    timestep = torch.tensor([999.0, 17.0])
    context = torch.randn(2, 16, shape["context_dim"], generator=g)
    text_embeds = torch.randn(2, shape["pooled_dim"], generator=g)
    time_ids = torch.tensor([[1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0], [768.0, 1344.0, 16.0, 32.0, 896.0, 1152.0]])
    ssd_out = sdxl.unet_forward(ssd, ssd_cfg, sample, timestep, context, text_embeds, time_ids)
    vega_out = sdxl.unet_forward(vega, vega_cfg, sample, timestep, context, text_embeds, time_ids)
    # The Vega-shaped weights without their middle block (the test drops mid_block.* from the file): ComfyUI's
    # transformer_depth_middle -2, where the encoder's last output goes straight to the decoder.
    bare_cfg = sdxl.UNetConfig(**{**shape, "middle": -2})
    bare = {k: v for k, v in vega.items() if not k.startswith(sdxl.UNET + "middle_block.")}
    bare_out = sdxl.unet_forward(bare, bare_cfg, sample, timestep, context, text_embeds, time_ids)
    # Cross-attention layers in diffusers' order (what an IP-Adapter would number): encoder 1 + 2, decoder 3 + 1 + 2 + 1, no middle.
    assert len(sdxl.cross_attention_blocks(ssd_cfg)) == 1 + 2 + 4 + 3 + 0, len(sdxl.cross_attention_blocks(ssd_cfg))
    # ControlNet residuals at the skips' widths and sizes (conv_in and level 0 at 8x8, level 1 at 4x4, level 2 and the
    # middle at 2x2): the SSD-shaped UNet with them added, as an SDXL ControlNet's would be.
    sizes = [8, 8, 4, 4, 2, 2]
    residuals = [torch.randn(2, c, s, s, generator=g) * 0.5 for c, s in zip(controlnet.encoder_channels(ssd_cfg), sizes)]
    residuals.append(torch.randn(2, 32, 2, 2, generator=g) * 0.5)
    ssd_controlled = sdxl.unet_forward(ssd, ssd_cfg, sample, timestep, context, text_embeds, time_ids, control=residuals)
    assert len(residuals) == len(sizes) + 1
tensors = {f"down_block_{i}": r for i, r in enumerate(residuals[:-1])}
tensors["mid_block_res_sample"] = residuals[-1]
tensors["ssd1b.controlled"] = ssd_controlled
save(os.path.join(out, "reference.safetensors"), {**tensors,
    "unet.sample": sample, "unet.timestep": timestep, "unet.encoder_hidden_states": context,
    "unet.text_embeds": text_embeds, "unet.time_ids": time_ids, "ssd1b.out_sample": ssd_out, "vega.out_sample": vega_out,
    "vega_without_middle.out_sample": bare_out,
})
print({"ssd": float(ssd_out.abs().mean()), "vega": float(vega_out.abs().mean()), "ssd-vs-vega": float((ssd_out - vega_out).abs().mean())})
