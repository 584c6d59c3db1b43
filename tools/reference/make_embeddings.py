"""Writes textual-inversion embeddings for the tiny SD 1.x checkpoint's text encoder (width 64) in the formats
model.load reads from models/embeddings — A1111's `emb_params` (2 vectors, F32), `clip_l` (1 vector, F16) and
`string_to_param.*` saved as safetensors (3 vectors, F32), plus one of the wrong width (96) — and the torch reference:
the text encoder's last hidden state when the vectors replace the token embeddings at given positions.
`ti.slots` (in embeddings-reference.safetensors) lists (row, position, embedding index in the alphabetical file list, vector index); `ti.input_ids` holds
the end-of-text id at those positions, which the test replaces with the product's ids for the embeddings.
Run: /usr/bin/python3 tools/reference/make_embeddings.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import sd1
from safetensors_io import load, save

folder = sys.argv[1]
clip_cfg = sd1.ClipConfig(vocab=768, width=64, layers=2, head_width=64)  # as model.load builds it (CLIP's 64-wide heads)
sd = {k: (t.float() if t.is_floating_point() else t) for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items()}
g = torch.Generator().manual_seed(13)
style = torch.randn(2, 64, generator=g)
one = torch.randn(1, 64, generator=g).half()
sp = torch.randn(3, 64, generator=g)
out = os.path.join(folder, "embeddings")
os.makedirs(out, exist_ok=True)
save(os.path.join(out, "one-clip-l.safetensors"), {"clip_l": one, "clip_g": torch.randn(1, 96, generator=g).half()})
save(os.path.join(out, "sp.safetensors"), {"string_to_param.*": sp}, metadata={"name": "sp"})
save(os.path.join(out, "style-a1111.safetensors"), {"emb_params": style})
save(os.path.join(out, "wide.safetensors"), {"emb_params": torch.randn(1, 96, generator=g)})
vectors = [one.float(), sp, style]  # alphabetical: one-clip-l, sp, style-a1111 (wide is never used)

V, bos, eos = clip_cfg.vocab, clip_cfg.vocab - 2, clip_cfg.vocab - 1
ids = torch.full((2, 77), eos, dtype=torch.int64)
ids[0, :7] = torch.tensor([bos, 17, eos, eos, 305, eos, eos])
ids[1, :6] = torch.tensor([bos, eos, eos, eos, 42, eos])
slots = torch.tensor([[0, 2, 2, 0], [0, 3, 2, 1], [0, 5, 0, 0], [1, 1, 1, 0], [1, 2, 1, 1], [1, 3, 1, 2]], dtype=torch.int64)

# Position-wise replacement: the token embedding rows of the slots are the embedding's vectors.
table = sd[sd1.CLIP + "embeddings.token_embedding.weight"]
extra = torch.cat([table] + [torch.zeros(1, 64)])  # one spare row the ids at the slots point to, then overwritten below
spliced = ids.clone()
rows = []
for r, p, e, j in slots.tolist():
    rows.append(vectors[e][j])
    spliced[r, p] = V + len(rows)
ext = dict(sd)
ext[sd1.CLIP + "embeddings.token_embedding.weight"] = torch.cat([extra] + [v[None] for v in rows])
with torch.no_grad():
    last, states = sd1.clip_forward(ext, clip_cfg, spliced)
    final = sd1.CLIP + "final_layer_norm"
    penultimate = torch.nn.functional.layer_norm(states[-2], (64,), sd[final + ".weight"], sd[final + ".bias"], 1e-5)
    plain, _ = sd1.clip_forward(sd, clip_cfg, ids)
save(os.path.join(folder, "embeddings-reference.safetensors"), {"ti.input_ids": ids, "ti.slots": slots, "ti.last_hidden_state": last,
                                                  "ti.penultimate_hidden_state": penultimate})
print({"last": float(last.abs().mean()), "diff_from_plain": float((last - plain).abs().max())})
