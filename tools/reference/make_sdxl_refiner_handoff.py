"""SDXL's base → refiner hand-off (the "ensemble of expert denoisers") end to end in torch, for workflows/sdxl-refiner.yaml on
the tiny base (sdxl-tiny) and tiny refiner (sdxl-refiner-tiny). Written from the published definitions:
- the cut: discrete cutoff = round(T - fraction * T) (T = 1000 training steps); the base runs the timesteps >= cutoff and
  returns its still-noisy latents (denoising_end); the refiner sets the same schedule and runs the timesteps < cutoff from
  those latents without adding noise (denoising_start);
- both models' schedule as the converted folders carry it: SDXL's scaled_linear betas 0.00085..0.012, "leading" spacing
  with steps_offset 1, Euler (sigma interpolated at the timesteps, then 0; x starts at noise * sqrt(sigma_max^2 + 1));
- classifier-free guidance over the batch [negative, positive];
- the base's conditioning: CLIP ViT-L's and OpenCLIP's penultimate states side by side, OpenCLIP's pooled projection, and
  time_ids (image h, w, crop 0, 0, image h, w); the refiner's: OpenCLIP alone, its pooled projection, and time_ids (image h,
  w, crop 0, 0, aesthetic score) with diffusers' scores 6 (positive) and 2.5 (negative);
- token ids from the tiny tokenizer's vocab.json (BOS, the words, EOS, padded with EOS for CLIP ViT-L and with 0 after the
  EOS for OpenCLIP), the noise torch.randn from a generator seeded with the seed.
Writes handoff-reference.safetensors beside the refiner: the ids, the base's latents at the hand-off and the final latents.
Run: /usr/bin/python3 tools/reference/make_sdxl_refiner_handoff.py tests/FlowDiffusion.Checkpoints.Tests/TestData models/tiny-sd/tokenizer"""
import json
import os
import sys

import torch

import sd1
import sdxl
from safetensors_io import load, save

data, tokenizer = sys.argv[1], sys.argv[2]
SEED, STEPS, CFG, SIZE, SWITCH = 7, 7, 5.0, 64, 0.8
POSITIVE, NEGATIVE = ["a", "red", "circle"], ["blue"]
AESTHETIC, NEGATIVE_AESTHETIC = 6.0, 2.5

# The tiny models' shapes (make_sdxl_checkpoint.py, make_sdxl_refiner.py).
clip_cfg = sd1.ClipConfig(vocab=768, width=32, layers=2, head_width=32)
open_cfg = sdxl.OpenClipConfig(vocab=768, width=32, layers=2, head_width=32, projection=40)
base_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2),
                           context_dim=64, pooled_dim=40)
refiner_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(1, 2, 1), num_res_blocks=1, transformer_depth=(0, 1, 0), middle_depth=2,
                              context_dim=32, pooled_dim=40, time_ids=5)
REFINER_CLIP = "conditioner.embedders.0.model."


def weights(path):
    return {k: (t.float() if t.is_floating_point() else t) for k, t in load(path).items()}


base = weights(os.path.join(data, "sdxl-tiny", "sdxl-fp16.safetensors"))
refiner = weights(os.path.join(data, "sdxl-refiner-tiny", "refiner-fp16.safetensors"))

vocab = json.load(open(os.path.join(tokenizer, "vocab.json"), encoding="utf-8"))
bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]


def ids(words):
    body = [vocab[w + "</w>"] for w in words]
    first = torch.tensor([[bos] + body + [eos] * (77 - 1 - len(body))], dtype=torch.int64)
    second = first.clone()
    second[0, len(body) + 2:] = 0
    return first, second


# diffusers EulerDiscreteScheduler with SDXL's configuration: leading spacing, steps_offset 1.
betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float32) ** 2
alphas_cumprod = torch.cumprod(1 - betas, 0)
all_sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
timesteps = (torch.arange(0, STEPS) * (1000 // STEPS)).flip(0) + 1
sigmas = torch.cat([all_sigmas.double()[timesteps], torch.zeros(1, dtype=torch.float64)]).float()
cutoff = int(round(1000 - SWITCH * 1000))
base_steps = [i for i, t in enumerate(timesteps) if t >= cutoff]
refiner_steps = [i for i, t in enumerate(timesteps) if t < cutoff]
assert base_steps and refiner_steps and base_steps[-1] + 1 == refiner_steps[0]


def euler(x, steps, predict):
    for i in steps:
        t = timesteps[i].float()
        scaled = x / (sigmas[i] ** 2 + 1) ** 0.5
        eps = predict(torch.cat([scaled, scaled]), torch.stack([t, t]))
        eps = eps[:1] + CFG * (eps[1:] - eps[:1])
        x = x + eps * (sigmas[i + 1] - sigmas[i])
    return x


with torch.no_grad():
    (pos1, pos2), (neg1, neg2) = ids(POSITIVE), ids(NEGATIVE)

    def base_condition(first, second):
        hidden2, pooled = sdxl.open_clip_forward(base, open_cfg, second)
        return torch.cat([sdxl.clip_l_penultimate(base, clip_cfg, first), hidden2], dim=-1), pooled

    (bp, bp_pooled), (bn, bn_pooled) = base_condition(pos1, pos2), base_condition(neg1, neg2)
    base_context, base_pooled = torch.cat([bn, bp]), torch.cat([bn_pooled, bp_pooled])
    base_time_ids = torch.tensor([[SIZE, SIZE, 0.0, 0.0, SIZE, SIZE]] * 2)
    rp, rp_pooled = sdxl.open_clip_forward(refiner, open_cfg, pos2, p=REFINER_CLIP)
    rn, rn_pooled = sdxl.open_clip_forward(refiner, open_cfg, neg2, p=REFINER_CLIP)
    refiner_context, refiner_pooled = torch.cat([rn, rp]), torch.cat([rn_pooled, rp_pooled])
    refiner_time_ids = torch.tensor([[SIZE, SIZE, 0.0, 0.0, NEGATIVE_AESTHETIC], [SIZE, SIZE, 0.0, 0.0, AESTHETIC]])

    noise = torch.randn(1, 4, SIZE // 8, SIZE // 8, generator=torch.Generator().manual_seed(SEED))
    x = noise * (sigmas.max() ** 2 + 1) ** 0.5
    handed = euler(x, base_steps, lambda s, t: sdxl.unet_forward(base, base_cfg, s, t, base_context, base_pooled, base_time_ids))
    final = euler(handed, refiner_steps, lambda s, t: sdxl.unet_forward(refiner, refiner_cfg, s, t, refiner_context, refiner_pooled, refiner_time_ids))

save(os.path.join(data, "sdxl-refiner-tiny", "handoff-reference.safetensors"), {
    "handoff.positive_ids": pos1, "handoff.negative_ids": neg1, "handoff.timesteps": timesteps,
    "handoff.noise": noise, "handoff.base_latent": handed, "handoff.latent": final})
print({"timesteps": timesteps.tolist(), "cutoff": cutoff, "base": [int(timesteps[i]) for i in base_steps],
       "refiner": [int(timesteps[i]) for i in refiner_steps], "handed_abs": float(handed.abs().mean()), "final_abs": float(final.abs().mean())})
