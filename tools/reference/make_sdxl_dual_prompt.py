"""Writes the torch reference of SDXL's two towers taking different prompts (ComfyUI's CLIPTextEncodeSDXL with text_l and
text_g) on the tiny SDXL checkpoint: CLIP ViT-L encodes text_l's windows, OpenCLIP text_g's (padded with 0 after the
end-of-text token), and where one prompt has fewer 77-token windows it is padded with the empty prompt's window (BOS,
EOS, EOS padding) to the other's count, as ComfyUI pads the shorter token list with tokenize(""). Each window's
penultimate states sit side by side, each tower's features scaled by its own prompt's weights, then the window's mean is
restored (A1111's weighting); the pooled projection comes from text_g's first window.
Run: /usr/bin/python3 tools/reference/make_sdxl_dual_prompt.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sdxl-tiny models/tiny-sd/tokenizer"""
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
vocab = json.load(open(os.path.join(tokenizer, "vocab.json"), encoding="utf-8"))
bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]

# Each case: text_l's and text_g's windows as [(word, weight)] lists (the C# test tokenizes the same prompts).
CASES = {
    # text_l "green", text_g "a (red:1.3) circle BREAK blue square": text_l gets an empty window.
    "short_l": ([[("green", 1.0)]], [[("a", 1.0), ("red", 1.3), ("circle", 1.0)], [("blue", 1.0), ("square", 1.0)]]),
    # text_l "black BREAK (green:0.8) circle", text_g "blue square": text_g gets an empty window.
    "short_g": ([[("black", 1.0)], [("green", 0.8), ("circle", 1.0)]], [[("blue", 1.0), ("square", 1.0)]]),
}


def window(words):
    ids = torch.full((1, 77), eos, dtype=torch.int64)
    weights = torch.ones(77)
    ids[0, 0] = bos
    for i, (word, weight) in enumerate(words):
        ids[0, 1 + i] = vocab[word + "</w>"]
        weights[1 + i] = weight
    ids[0, 1 + len(words)] = eos
    return ids, weights


out = {}
with torch.no_grad():
    for name, (text_l, text_g) in CASES.items():
        n = max(len(text_l), len(text_g))
        text_l = text_l + [[]] * (n - len(text_l))  # the empty prompt's window
        text_g = text_g + [[]] * (n - len(text_g))
        states, ids_l, ids_g = [], [], []
        for c in range(n):
            il, wl = window(text_l[c])
            ig, wg = window(text_g[c])
            ig2 = ig.clone()
            ig2[0, len(text_g[c]) + 2:] = 0  # OpenCLIP's ids: 0 after the end-of-text token
            h1 = sdxl.clip_l_penultimate(sd, clip_cfg, il)
            h2, pooled = sdxl.open_clip_forward(sd, open_cfg, ig2)
            z = torch.cat([h1, h2], dim=-1)
            if (wl != 1).any() or (wg != 1).any():
                before = z.double().sum()
                z = torch.cat([h1 * wl[None, :, None], h2 * wg[None, :, None]], dim=-1)
                z = z * (before / z.double().sum()).float()
            states.append(z)
            ids_l.append(il)
            ids_g.append(ig)
            if c == 0:
                out[name + ".text_embeds"] = pooled
        out[name + ".context"] = torch.cat(states, dim=1)
        out[name + ".input_ids"] = torch.cat(ids_l)
        out[name + ".input_ids_g"] = torch.cat(ids_g)

save(os.path.join(folder, "dual-prompt-reference.safetensors"), out)
print({k: (list(v.shape), float(v.float().abs().mean())) for k, v in out.items()})
