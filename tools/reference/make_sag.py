"""Writes the references for self-attention guidance (ComfyUI's SelfAttentionGuidance, comfy_extras/nodes_sag.py), restated
here from its definition, on the tiny SD 1.x UNet of TestData/pag and the tiny SDXL checkpoint of TestData/sdxl-tiny, for
the C# tests of the UNet graph's sag_attention output and of the guided step.
SAG: the self-attention (attn1) of the middle block's first transformer block is computed with its probabilities kept
(scores q.k/sqrt(d), softmax over the keys); for the unconditional rows the map is those probabilities averaged over the
heads and summed over the queries, and the tokens whose sum exceeds 1 are blurred. The mask is reshaped to the middle
block's size (ratio = 2 ** (ceil(sqrt(h*w / tokens)) - 1).bit_length(), size ceil(h / ratio) x ceil(w / ratio)), upsampled
nearest to the latent size, and mixes a 9-tap gaussian blur (reflect padding) of the unconditional x0 estimate with the
estimate itself. That degraded estimate, re-noised with the unconditional noise (degraded + x - uncond_x0), is predicted
again with the negative conditioning, and the post-CFG result is cfg_result + (degraded - sag_x0) * scale.
Writes `reference.safetensors`: the inputs, the map of the unconditional rows, the degraded estimate, the guided x0
estimate and one euler step, and the SDXL checkpoint's map of every row of its reference inputs.
Run: /usr/bin/python3 tools/reference/make_sag.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sag"""
import math
import os
import sys

import torch
import torch.nn.functional as F

import sd1
import sdxl
from safetensors_io import load, save

out = sys.argv[1]
data = os.path.dirname(os.path.abspath(out))


def recorder(heads, kept):
    """An attn1 replacement that attends as usual and keeps the first call's probabilities, [b * heads, tokens, tokens]."""
    def attend(q, k, v):
        b, n, c = q.shape
        d = c // heads
        q4, k4, v4 = (t.reshape(b, -1, heads, d).transpose(1, 2) for t in (q, k, v))
        probabilities = (q4 @ k4.transpose(-1, -2) * d ** -0.5).softmax(-1)
        if not kept:
            kept.append(probabilities.reshape(b * heads, n, n))
        return (probabilities @ v4).transpose(1, 2).reshape(b, n, c)
    return attend


def attention_map(probabilities, rows):
    _, tokens, _ = probabilities.shape
    return probabilities.reshape(rows, -1, tokens, tokens).mean(1).sum(1)


def gaussian_blur(x, sigma, size=9):
    taps = torch.linspace(-(size - 1) / 2, (size - 1) / 2, size)
    pdf = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = pdf / pdf.sum()
    kernel2d = (kernel[:, None] @ kernel[None, :]).expand(x.shape[1], 1, size, size)
    return F.conv2d(F.pad(x, [size // 2] * 4, mode="reflect"), kernel2d, groups=x.shape[1])


def degrade(x0, mass, sigma):
    b, _, lh, lw = x0.shape
    tokens = mass.shape[1]
    ratio = 2 ** (math.ceil(math.sqrt(lh * lw / tokens)) - 1).bit_length()
    mask = (mass > 1.0).reshape(b, math.ceil(lh / ratio), math.ceil(lw / ratio)).unsqueeze(1).float()
    mask = F.interpolate(mask, (lh, lw))
    return gaussian_blur(x0, sigma) * mask + x0 * (1 - mask)


# SD 1.x: make_pag.py's UNet (two levels, the middle transformer 64 wide with 8 heads), a 12x8 latent: 6x4 middle tokens.
cfg = sd1.UNetConfig(model_channels=32, channel_mult=(1, 2), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=16)
sd = {k: t.float() for k, t in load(os.path.join(data, "pag", "ldm-unet.safetensors")).items()}
g = torch.Generator().manual_seed(61)
x = torch.randn(2, 4, 12, 8, generator=g) * 2.5
negative = torch.randn(2, 5, 16, generator=g)
positive = torch.randn(2, 5, 16, generator=g)
sigma, sigma_next, timestep = 2.5, 1.5, 411.0
cfg_scale, sag_scale, blur_sigma = 4.0, 0.75, 2.0
middle = sd1.UNET + "middle_block.1"

with torch.no_grad():
    c_in = 1 / math.sqrt(sigma * sigma + 1)
    kept = []
    eps = sd1.unet_forward(sd, cfg, torch.cat([x, x]) * c_in, torch.full((4,), timestep), torch.cat([negative, positive]),
                           attn1_replace={middle: recorder(cfg.num_heads, kept)})
    uncond, cond = x - sigma * eps[:2], x - sigma * eps[2:]
    mass = attention_map(kept[0][: 2 * cfg.num_heads], 2)
    cfg_result = uncond + (cond - uncond) * cfg_scale
    degraded = degrade(uncond, mass, blur_sigma)
    noised = degraded + x - uncond
    sag = noised - sigma * sd1.unet_forward(sd, cfg, noised * c_in, torch.full((2,), timestep), negative)
    guided = cfg_result + (degraded - sag) * sag_scale
    stepped = x + (x - guided) / sigma * (sigma_next - sigma)

tensors = {"x": x, "negative": negative, "positive": positive, "mass": mass, "degraded": degraded, "guided": guided, "stepped": stepped,
           "cfg_result": cfg_result, "settings": torch.tensor([sigma, sigma_next, timestep, cfg_scale, sag_scale, blur_sigma])}

# SDXL: the checkpoint make_sdxl_checkpoint.py writes; its middle transformer stacks two blocks, the first one is mapped.
xl = {k: t.float() for k, t in load(os.path.join(data, "sdxl-tiny", "sdxl-fp16.safetensors")).items() if k.startswith(sdxl.UNET)}
xl_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2), context_dim=64, pooled_dim=40)
r = load(os.path.join(data, "sdxl-tiny", "reference.safetensors"))
with torch.no_grad():
    kept = []
    args = (r["unet.sample"], r["unet.timestep"], r["unet.encoder_hidden_states"], r["unet.text_embeds"], r["unet.time_ids"])
    plain = sdxl.unet_forward(xl, xl_cfg, *args, attn1_replace={sdxl.UNET + "middle_block.1": recorder(xl_cfg.heads(xl_cfg.model_channels * xl_cfg.channel_mult[-1]), kept)})
    assert (plain - r["unet.out_sample"]).abs().max() < 1e-4, "the SDXL configuration is not the checkpoint's"
    rows = r["unet.sample"].shape[0]
    tensors["sdxl.mass"] = attention_map(kept[0], rows)

os.makedirs(out, exist_ok=True)
save(os.path.join(out, "reference.safetensors"), tensors)
print({"tokens": mass.shape[1], "blurred": int((mass > 1).sum()), "min |mass-1|": float((mass - 1).abs().min()),
       "sag term": float(((degraded - sag) * sag_scale).abs().mean()), "sdxl tokens": tensors["sdxl.mass"].shape,
       "sdxl min |mass-1|": float((tensors["sdxl.mass"] - 1).abs().min())})
