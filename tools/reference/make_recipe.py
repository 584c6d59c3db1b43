"""The Civitai recipe end to end in torch, for workflows/recipe-txt2img.yaml on the tiny SD 1.x checkpoint: the
checkpoint with two LoRAs merged offline (kohya-a at 0.8, peft-b at 0.6, both networks; W + s * alpha/rank * up @ down,
read from the committed LoRA files), textual-inversion vectors in place of the token embeddings (the committed
embeddings, numbered past the encoder's vocabulary in file-name order as model.load numbers them), CLIP skip 2 (the
penultimate layer, then the final layer norm), classifier-free guidance, diffusers' Euler sampler on the converted
model's schedule (scaled_linear 0.00085..0.012, linspace spacing), the seeded torch.randn noise, and the swapped VAE.
Writes recipe-reference.safetensors: the prompts' token ids (from the tiny tokenizer's vocab.json), the conditionings,
the UNet's prediction at the first step, the final latents and the decoded image.
Run: /usr/bin/python3 tools/reference/make_recipe.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny models/tiny-sd/tokenizer"""
import json
import os
import sys

import torch

import diffusers_keys
import sd1
from safetensors_io import load, save

folder, tokenizer = sys.argv[1], sys.argv[2]
unet_cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
clip_cfg = sd1.ClipConfig(vocab=768, width=64, layers=2, head_width=64)
vae_cfg = sd1.VaeConfig(ch=32, ch_mult=(2, 1, 1, 1), num_res_blocks=1)
LORAS = [("kohya-a.safetensors", 0.8), ("peft-b.safetensors", 0.6)]
SEED, STEPS, CFG, SIZE = 7, 4, 6.0, 64
POSITIVE, NEGATIVE = "embedding:style-a1111 a sp", "embedding:one-clip-l"

base = {k: (t.float() if t.is_floating_point() else t) for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items()}
to_ldm = dict(diffusers_keys.unet({k: k for k in base}, unet_cfg))
to_ldm.update(diffusers_keys.text_encoder({k: k for k in base}))
modules = {n[:-len(".weight")] for n in to_ldm if n.endswith(".weight")}
kohya = {("lora_unet_" if not n.startswith("text_model.") else "lora_te_") + n.replace(".", "_"): n for n in modules}


def deltas(path):
    """diffusers module name -> alpha/rank * up @ down, from a kohya or PEFT file."""
    t = {k: v.float() for k, v in load(path).items()}
    out = {}
    for key in t:
        if key.endswith(".lora_down.weight"):
            stem = key[:-len(".lora_down.weight")]
            name = kohya.get(stem)
            if name is None:
                continue  # the module the checkpoint lacks
            down, up = t[key], t[stem + ".lora_up.weight"]
            alpha = float(t[stem + ".alpha"]) if stem + ".alpha" in t else down.shape[0]
        elif key.endswith((".lora_A.weight", ".lora.down.weight")):
            stem = key[:-len(".lora_A.weight")] if key.endswith(".lora_A.weight") else key[:-len(".lora.down.weight")]
            name = stem.split(".", 1)[1]
            down = t[key]
            up = t[stem + (".lora_B.weight" if key.endswith(".lora_A.weight") else ".lora.up.weight")]
            alpha = down.shape[0]
        else:
            continue
        rank = down.shape[0]
        out[name] = alpha / rank * (up.reshape(up.shape[0], rank) @ down.reshape(rank, -1))
    return out


sd = dict(base)
for file, strength in LORAS:
    for name, delta in deltas(os.path.join(folder, "lora", file)).items():
        key = to_ldm[name + ".weight"]
        sd[key] = sd[key] + strength * delta.reshape(sd[key].shape)

# Embeddings in file-name order, their vectors numbered from the encoder's vocabulary size on.
vectors = {}
for file in sorted(os.listdir(os.path.join(folder, "embeddings"))):
    t = load(os.path.join(folder, "embeddings", file))
    v = t.get("emb_params", t.get("clip_l", t.get("string_to_param.*"))).float()
    vectors[file[:-len(".safetensors")]] = v
ids_of, table = {}, []
for name, v in vectors.items():
    ids_of[name] = list(range(clip_cfg.vocab + len(table), clip_cfg.vocab + len(table) + v.shape[0]))
    table.extend(v)
token = sd1.CLIP + "embeddings.token_embedding.weight"
sd[token] = torch.cat([sd[token]] + [row[None] if row.shape[0] == 64 else torch.zeros(1, 64) for row in table])

vocab = json.load(open(os.path.join(tokenizer, "vocab.json"), encoding="utf-8"))
bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]


def ids(words):
    """BOS, the words (an embedding's ids, or a one-character word's id), EOS, padded with EOS to 77."""
    body = []
    for w in words:
        body += ids_of[w] if w in ids_of else [vocab[w + "</w>"]]
    return torch.tensor([[bos] + body + [eos] * (77 - 1 - len(body))], dtype=torch.int64)


positive_ids, negative_ids = ids(["style-a1111", "a", "sp"]), ids(["one-clip-l"])


def encode(i):
    _, states = sd1.clip_forward(sd, clip_cfg, i)
    final = sd1.CLIP + "final_layer_norm"
    return torch.nn.functional.layer_norm(states[-2], (64,), sd[final + ".weight"], sd[final + ".bias"], 1e-5)


# diffusers EulerDiscreteScheduler: linspace timesteps over the 1000 training steps, sigmas interpolated, then 0.
betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float32) ** 2
alphas_cumprod = torch.cumprod(1 - betas, 0)
all_sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
timesteps = torch.linspace(0, 999, STEPS, dtype=torch.float64).flip(0)
assert all(float(t).is_integer() for t in timesteps), "pick STEPS so the linspace timesteps are whole numbers"
sigmas = torch.cat([all_sigmas.double()[timesteps.long()], torch.zeros(1, dtype=torch.float64)]).float()

with torch.no_grad():
    positive, negative = encode(positive_ids), encode(negative_ids)
    noise = torch.randn(1, 4, SIZE // 8, SIZE // 8, generator=torch.Generator().manual_seed(SEED))
    x = noise * sigmas.max()
    first = None
    for i, t in enumerate(timesteps.float()):
        scaled = x / (sigmas[i] ** 2 + 1) ** 0.5
        eps = sd1.unet_forward(sd, unet_cfg, torch.cat([scaled, scaled]), torch.stack([t, t]), torch.cat([negative, positive]))
        eps = eps[:1] + CFG * (eps[1:] - eps[:1])
        first = eps if first is None else first
        x = x + eps * (sigmas[i + 1] - sigmas[i])
    vae = {sd1.VAE + k: t.float() for k, t in load(os.path.join(folder, "vae", "swapped-vae.safetensors")).items()}
    image = (sd1.vae_decode(vae, vae_cfg, x / 0.18215) * 0.5 + 0.5).clamp(0, 1)

save(os.path.join(folder, "recipe-reference.safetensors"), {
    "recipe.positive_ids": positive_ids, "recipe.negative_ids": negative_ids, "recipe.positive": positive, "recipe.negative": negative,
    "recipe.noise": noise, "recipe.first_guided_eps": first, "recipe.latent": x, "recipe.image": image})
print({"image_mean": float(image.mean()), "latent_abs": float(x.abs().mean()), "positive_ids": positive_ids[0, :9].tolist()})
