"""Writes a small random-weight SD 2.x single file (LDM key layout: `cond_stage_model.model.` OpenCLIP text tower with its
fused in_proj, `model.diffusion_model.` UNet with linear projections, `first_stage_model.` VAE) and its reference outputs,
for the C# SD 2.x conversion's tests (sd2.py). Weights are rounded to bfloat16 precision first, so the F16 file holds
them exactly and the float32 references apply to it.

The UNet keeps SD 2's block layout (4 levels, 2 residual blocks, attention at the first three) at 32 channels, so its
keys are the released files' indices (`output_blocks.11.1.transformer_blocks.0.norm1.bias`, which ComfyUI's SD20 reads to
tell 768-v from 512-base, is there, with a standard deviation of 0.12: a v model, as SD 2.1 768-v).
Also writes `lora/kohya-a.safetensors` (kohya names: text-encoder modules are transformers CLIP's, q/k/v rows of the fused
in_proj; UNet modules diffusers', a linear proj_in, a 3x3 LoCon; one module of the tower's last layer, which SD 2 never
runs) and `embeddings/sd2-style.safetensors` (A1111's emb_params, 2 vectors 128 wide).

reference.safetensors:
- text_encoder.*: ids padded with 0 after the end-of-text token (ComfyUI's SD2 tokenizer), the penultimate layer through
  ln_final (the context; clip skip 1 of the converted 2-layer tower) and the layer before it through ln_final (skip 2);
- unet.*: one prediction at the product's 64-wide heads (1 head at 32 channels) and at 16-wide heads (2);
- txt2img.*: workflows/recipe-txt2img.yaml in torch (ids of "a red circle" / "blue" from the tiny tokenizer, CFG 5,
  diffusers' Euler over 4 linspace steps, torch.randn seed 7, 64x64): the v-prediction image (the file's own type), the
  epsilon image (prediction type overridden), and the v image with the kohya LoRA merged at 0.8 and the embedding in the
  prompt ("embedding:sd2-style a red circle").
Run: /usr/bin/python3 tools/reference/make_sd2_checkpoint.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd2-tiny models/tiny-sd/tokenizer"""
import json
import os
import sys

import torch

import sd1
import sd2
import sdxl
from safetensors_io import save

out, tokenizer = sys.argv[1], sys.argv[2]
text_cfg = sdxl.OpenClipConfig(vocab=768, width=128, layers=3, head_width=64, projection=128)  # 2 heads of 64, as ViT-H's 16
unet_cfg = sd2.unet_config(model_channels=32, channel_mult=(1, 1, 1, 1), num_res_blocks=2, attention_levels=(0, 1, 2), context_dim=text_cfg.width)
vae_cfg = sd1.VaeConfig(ch=32, ch_mult=(1, 1, 1, 1), num_res_blocks=1)
SEED, STEPS, CFG, SIZE, LORA_STRENGTH = 7, 4, 5.0, 64, 0.8
V_KEY = sd2.UNET + "output_blocks.11.1.transformer_blocks.0.norm1.bias"


def rounded(sd):
    return {k: (t.bfloat16().float() if t.is_floating_point() else t) for k, t in sd.items()}


sd = {}
sd.update(sd2.unet_weights(unet_cfg))
sd.update(sd2.text_weights(text_cfg))
sd.update(sd1.vae_weights(vae_cfg))
sd[V_KEY] = (sd[V_KEY] - sd[V_KEY].mean()) / sd[V_KEY].std(unbiased=False) * 0.12
sd = rounded(sd)
assert float(sd[V_KEY].std(unbiased=False)) > 0.09
os.makedirs(out, exist_ok=True)
save(os.path.join(out, "sd2-fp16.safetensors"), {k: (t.half() if t.is_floating_point() else t) for k, t in sd.items()})

# ---------------------------------------------------------------- a kohya LoRA and an embedding
g = torch.Generator().manual_seed(11)
W = text_cfg.width
T = sd2.TEXT + "transformer.resblocks."
U = sd2.UNET
# kohya module -> (LDM weight, rows of it or None)
modules = {
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj": (T + "0.attn.in_proj_weight", (0, W)),
    "lora_te_text_model_encoder_layers_1_self_attn_v_proj": (T + "1.attn.in_proj_weight", (2 * W, 3 * W)),
    "lora_te_text_model_encoder_layers_0_self_attn_out_proj": (T + "0.attn.out_proj.weight", None),
    "lora_te_text_model_encoder_layers_1_mlp_fc1": (T + "1.mlp.c_fc.weight", None),
    "lora_te_text_model_encoder_layers_2_mlp_fc2": (T + "2.mlp.c_proj.weight", None),  # the last layer: SD 2 never runs it
    "lora_unet_down_blocks_0_attentions_0_proj_in": (U + "input_blocks.1.1.proj_in.weight", None),
    "lora_unet_down_blocks_1_attentions_1_transformer_blocks_0_attn2_to_k": (U + "input_blocks.5.1.transformer_blocks.0.attn2.to_k.weight", None),
    "lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn1_to_q": (U + "output_blocks.11.1.transformer_blocks.0.attn1.to_q.weight", None),
    "lora_unet_mid_block_attentions_0_proj_out": (U + "middle_block.1.proj_out.weight", None),
    "lora_unet_down_blocks_0_resnets_1_conv1": (U + "input_blocks.2.0.in_layers.2.weight", None),
}
lora, merged = {}, dict(sd)
for name, (key, rows) in modules.items():
    weight = sd[key] if rows is None else sd[key][rows[0]:rows[1]]
    rank, alpha = 4, 2.0
    if weight.dim() == 4:
        down = torch.randn(rank, weight.shape[1], 3, 3, generator=g) * 0.3
        up = torch.randn(weight.shape[0], rank, 1, 1, generator=g) * 0.3
    else:
        down = torch.randn(rank, weight.shape[1], generator=g) * 0.3
        up = torch.randn(weight.shape[0], rank, generator=g) * 0.3
    down, up = down.bfloat16().float(), up.bfloat16().float()
    lora[name + ".lora_down.weight"], lora[name + ".lora_up.weight"], lora[name + ".alpha"] = down, up, torch.tensor(alpha)
    delta = LORA_STRENGTH * alpha / rank * (up.reshape(up.shape[0], rank) @ down.reshape(rank, -1)).reshape(weight.shape)
    target = merged[key].clone()
    if rows is None:
        target = target + delta
    else:
        target[rows[0]:rows[1]] += delta
    merged[key] = target
os.makedirs(os.path.join(out, "lora"), exist_ok=True)
save(os.path.join(out, "lora", "kohya-a.safetensors"), {k: (v.half() if v.dim() else v.float()) for k, v in lora.items()})
embedding = (torch.randn(2, W, generator=g) * 0.5).bfloat16().float()
os.makedirs(os.path.join(out, "embeddings"), exist_ok=True)
save(os.path.join(out, "embeddings", "sd2-style.safetensors"), {"emb_params": embedding.half()})

# ---------------------------------------------------------------- references
vocab = json.load(open(os.path.join(tokenizer, "vocab.json"), encoding="utf-8"))
bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]


def ids(body):
    """BOS, the body's ids, EOS, then id 0 to 77 (SD 2's tokenizer pads with "!", id 0)."""
    return torch.tensor([[bos] + body + [eos] + [0] * (77 - 2 - len(body))], dtype=torch.int64)


def word(w):
    return vocab[w + "</w>"]


gen = torch.Generator().manual_seed(9)
with torch.no_grad():
    text_ids = torch.cat([ids([17, 305, 42, 9]), ids([480])])
    last = sd2.text_hidden_states(sd, text_cfg, text_ids, skip=1)
    penultimate = sd2.text_hidden_states(sd, text_cfg, text_ids, skip=2)

    sample = torch.randn(2, 4, 8, 8, generator=gen)
    timestep = torch.tensor([999.0, 17.0])
    context = torch.randn(2, 16, text_cfg.width, generator=gen)
    unet_out = sd2.unet_forward(sd, unet_cfg, sample, timestep, context)
    narrow = sdxl.UNetConfig(**{**unet_cfg.__dict__, "head_width": 16})
    unet_out_narrow = sd2.unet_forward(sd, narrow, sample, timestep, context)

    # diffusers' EulerDiscreteScheduler: linspace timesteps over the 1000 training steps, sigmas interpolated, then 0.
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float32) ** 2
    alphas_cumprod = torch.cumprod(1 - betas, 0)
    all_sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
    timesteps = torch.linspace(0, 999, STEPS, dtype=torch.float64).flip(0)
    assert all(float(t).is_integer() for t in timesteps)
    sigmas = torch.cat([all_sigmas.double()[timesteps.long()], torch.zeros(1, dtype=torch.float64)]).float()
    noise = torch.randn(1, 4, SIZE // 8, SIZE // 8, generator=torch.Generator().manual_seed(SEED))

    def txt2img(weights, positive_ids, negative_ids, prediction, table=None):
        w = dict(weights)
        if table is not None:  # the embedding's vectors numbered from the encoder's vocabulary size on
            token = sd2.TEXT + "token_embedding.weight"
            w[token] = torch.cat([w[token], table])
        positive = sd2.text_hidden_states(w, text_cfg, positive_ids)
        negative = sd2.text_hidden_states(w, text_cfg, negative_ids)
        x = noise * sigmas.max()
        for i, t in enumerate(timesteps.float()):
            sigma = sigmas[i]
            scaled = x / (sigma ** 2 + 1) ** 0.5
            out_ = sd2.unet_forward(w, unet_cfg, torch.cat([scaled, scaled]), torch.stack([t, t]), torch.cat([negative, positive]))
            out_ = out_[:1] + CFG * (out_[1:] - out_[:1])
            # x0 from the prediction (diffusers' Euler): eps -> x - sigma * eps; v -> x / (sigma^2 + 1) - v * sigma / sqrt(sigma^2 + 1)
            x0 = x - sigma * out_ if prediction == "epsilon" else x / (sigma ** 2 + 1) - out_ * sigma / (sigma ** 2 + 1) ** 0.5
            x = x + (x - x0) / sigma * (sigmas[i + 1] - sigma)
        image = (sd1.vae_decode(w, vae_cfg, x / 0.18215) * 0.5 + 0.5).clamp(0, 1)
        return positive, x, image

    positive_ids, negative_ids = ids([word("a"), word("red"), word("circle")]), ids([word("blue")])
    positive_v, latent_v, image_v = txt2img(sd, positive_ids, negative_ids, "v_prediction")
    _, latent_eps, image_eps = txt2img(sd, positive_ids, negative_ids, "epsilon")
    styled_ids = ids([text_cfg.vocab, text_cfg.vocab + 1, word("a"), word("red"), word("circle")])
    positive_lora, latent_lora, image_lora = txt2img(merged, styled_ids, negative_ids, "v_prediction", embedding)

save(os.path.join(out, "reference.safetensors"), {
    "text_encoder.input_ids": text_ids, "text_encoder.last_hidden_state": last, "text_encoder.penultimate_hidden_state": penultimate,
    "unet.sample": sample, "unet.timestep": timestep, "unet.encoder_hidden_states": context,
    "unet.out_sample": unet_out, "unet.out_sample_head_width_16": unet_out_narrow,
    "txt2img.positive_ids": positive_ids, "txt2img.negative_ids": negative_ids, "txt2img.styled_ids": styled_ids, "txt2img.noise": noise,
    "txt2img.v.positive": positive_v, "txt2img.v.latent": latent_v, "txt2img.v.image": image_v,
    "txt2img.eps.latent": latent_eps, "txt2img.eps.image": image_eps,
    "txt2img.lora.positive": positive_lora, "txt2img.lora.latent": latent_lora, "txt2img.lora.image": image_lora,
})
print({k: float(v.abs().mean()) for k, v in [("last", last), ("unet", unet_out), ("narrow-diff", unet_out - unet_out_narrow),
                                              ("image_v", image_v), ("image_eps", image_eps), ("v-eps", image_v - image_eps),
                                              ("lora-v", image_lora - image_v), ("latent_v", latent_v)]})
