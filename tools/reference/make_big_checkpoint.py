"""Writes a full-size SD 1.5 single-file checkpoint (LDM key layout, every tensor at SD 1.5's real shape, F16 random
values, about 2.1 GB) for measuring the memory `flowdiffusion import` needs (docs/models.md). Streams the data in
chunks, so it needs well under 200 MB itself. The file is not test data: write it to a temp folder and delete it.
Run: /usr/bin/python3 tools/reference/make_big_checkpoint.py /tmp/sd15-random.safetensors"""
import json
import struct
import sys

import torch

import sd1

# Shapes only: the weight builders run on torch's meta device, which allocates nothing.
_randn = torch.randn
sd1.torch.randn = lambda *shape, generator=None: torch.empty(*shape, device="meta")
sd = {}
sd.update(sd1.unet_weights(sd1.UNetConfig(model_channels=320, channel_mult=(1, 2, 4, 4), num_res_blocks=2, attention_levels=(0, 1, 2), num_heads=8, context_dim=768)))
sd.update(sd1.clip_weights(sd1.ClipConfig(vocab=49408, width=768, layers=12, head_width=64)))
sd.update(sd1.vae_weights(sd1.VaeConfig(ch=128, ch_mult=(1, 2, 4, 4), num_res_blocks=2)))
sd1.torch.randn = _randn

header, offset = {}, 0
for name in sorted(sd):
    t = sd[name]
    dtype, size = ("F16", 2) if t.is_floating_point() else ("I64", 8)
    header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + t.numel() * size]}
    offset += t.numel() * size
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
g = torch.Generator().manual_seed(0)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for name in sorted(sd):
        t = sd[name]
        if not t.is_floating_point():
            f.write(torch.arange(t.numel(), dtype=torch.int64).reshape(t.shape).numpy().tobytes())
            continue
        left = t.numel()
        while left:
            n = min(left, 1 << 24)
            f.write((_randn(n, generator=g) * 0.02).half().numpy().tobytes())
            left -= n
print(f"{sys.argv[1]}: {len(sd)} tensors, {offset / 2**30:.2f} GiB of data, {sum(t.numel() for t in sd.values()) / 1e6:.0f} M values")
