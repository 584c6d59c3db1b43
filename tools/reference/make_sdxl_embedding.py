"""Writes an SDXL textual-inversion embedding for the tiny SDXL checkpoint — one .safetensors with `clip_l` [2, 32] for
CLIP ViT-L and `clip_g` [2, 32] for OpenCLIP (the layout SDXL embeddings are published in; here both towers are 32 wide,
so only the names tell the tables apart) — and the torch reference of a prompt naming it: each tower's token table
extended with its own vectors (ids from the vocabulary size on, as model.load numbers them), the UNet's context (both
penultimate hidden states side by side) and the pooled projection, taken at the end-of-text token (the largest id of the
vocabulary: the appended ids are not the end of the text, as in ComfyUI and A1111, whose embedding ids never exceed it).
Run: /usr/bin/python3 tools/reference/make_sdxl_embedding.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sdxl-tiny models/tiny-sd/tokenizer"""
import json
import os
import sys

import torch

import sd1
import sdxl
from safetensors_io import load, save

folder, tokenizer = sys.argv[1], sys.argv[2]
clip_cfg = sd1.ClipConfig(vocab=768, width=32, layers=2, head_width=32)
open_cfg = sdxl.OpenClipConfig(vocab=768, width=32, layers=2, head_width=32, projection=40)
sd = {k: (t.float() if t.is_floating_point() else t) for k, t in load(os.path.join(folder, "sdxl-fp16.safetensors")).items()}
g = torch.Generator().manual_seed(21)
clip_l, clip_g = torch.randn(2, 32, generator=g), torch.randn(2, 32, generator=g)
os.makedirs(os.path.join(folder, "embeddings"), exist_ok=True)
save(os.path.join(folder, "embeddings", "sdxl-style.safetensors"), {"clip_g": clip_g, "clip_l": clip_l})

vocab = json.load(open(os.path.join(tokenizer, "vocab.json"), encoding="utf-8"))
bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
body = [768, 769, vocab["a</w>"], vocab["red</w>"]]  # "embedding:sdxl-style a red"
ids = torch.tensor([[bos] + body + [eos] * (77 - 1 - len(body))], dtype=torch.int64)
ids2 = ids.clone()
ids2[0, len(body) + 2:] = 0

with torch.no_grad():
    first = dict(sd)
    key = sdxl.CLIP_L + "embeddings.token_embedding.weight"
    first[key] = torch.cat([sd[key], clip_l])
    hidden1 = sdxl.clip_l_penultimate(first, clip_cfg, ids)
    second = dict(sd)
    key = sdxl.OPEN_CLIP + "token_embedding.weight"
    second[key] = torch.cat([sd[key], clip_g])
    hidden2, _ = sdxl.open_clip_forward(second, open_cfg, ids2)
    # The pooled projection at the end-of-text token: ids past the vocabulary do not count.
    masked = torch.where(ids2 < open_cfg.vocab, ids2, torch.zeros_like(ids2))
    n = ids2.shape[1]
    h = second[sdxl.OPEN_CLIP + "token_embedding.weight"][ids2] + second[sdxl.OPEN_CLIP + "positional_embedding"][:n]
    _, pooled_argmax = sdxl.open_clip_forward(second, open_cfg, ids2)
    # Recompute the final-normed last layer to pool at the end-of-text token.
    mask = torch.full((n, n), float("-inf")).triu(1)
    for i in range(open_cfg.layers):
        b = f"{sdxl.OPEN_CLIP}transformer.resblocks.{i}"
        x = sd1._layer_norm(second, b + ".ln_1", h)
        q, k, v = torch.nn.functional.linear(x, second[b + ".attn.in_proj_weight"], second[b + ".attn.in_proj_bias"]).chunk(3, dim=-1)
        h = h + sd1._linear(second, b + ".attn.out_proj", sd1._attention(q, k, v, open_cfg.width // open_cfg.head_width, mask))
        m = sd1._linear(second, b + ".mlp.c_fc", sd1._layer_norm(second, b + ".ln_2", h))
        h = h + sd1._linear(second, b + ".mlp.c_proj", torch.nn.functional.gelu(m))
    last = sd1._layer_norm(second, sdxl.OPEN_CLIP + "ln_final", h)
    pooled = last[torch.arange(1), masked.argmax(-1)] @ second[sdxl.OPEN_CLIP + "text_projection"]
    context = torch.cat([hidden1, hidden2], dim=-1)

save(os.path.join(folder, "embedding-reference.safetensors"), {"ti.input_ids": ids, "ti.context": context, "ti.text_embeds": pooled})
print({"eos_at": int(masked.argmax(-1)), "argmax_at": int(ids2.argmax(-1)), "pooled_differs": float((pooled - pooled_argmax).abs().max()), "context_abs": float(context.abs().mean())})
