"""Writes a full-size SDXL base single-file checkpoint (SGM key layout, every tensor at SDXL 1.0's real shape: UNet
320/640/1280 with transformer depths 0/2/10, CLIP ViT-L, OpenCLIP ViT-bigG, VAE; F16 random values, about 6.9 GB) for
benchmarks and memory measurements. It is not test data and not for the shared 2-core/24 GiB machine's tests: the
converted float32 folder is about 13.9 GB. Streams the data in chunks, so it needs well under 200 MB itself.
With --count it writes nothing and prints the parameter counts per network, from the shapes alone (torch's meta device
allocates nothing); they must equal the published ones (diffusers' UNet2DConditionModel for SDXL base: 2,567,463,684).
Run: /usr/bin/python3 tools/reference/make_big_sdxl_checkpoint.py /tmp/sdxl-random.safetensors   (or --count)"""
import json
import struct
import sys

import torch

import sd1
import sdxl

_randn = torch.randn
sd1.torch.randn = lambda *shape, generator=None: torch.empty(*shape, device="meta")
clip_cfg = sd1.ClipConfig(vocab=49408, width=768, layers=12, head_width=64)
open_cfg = sdxl.OpenClipConfig(vocab=49408, width=1280, layers=32, head_width=64, projection=1280)
unet_cfg = sdxl.UNetConfig(model_channels=320, channel_mult=(1, 2, 4), num_res_blocks=2, transformer_depth=(0, 2, 10),
                           context_dim=768 + 1280, pooled_dim=1280)
parts = {
    "unet": sdxl.unet_weights(unet_cfg),
    "clip-l": sdxl.clip_l_weights(clip_cfg),
    "open-clip": sdxl.open_clip_weights(open_cfg),
    "vae": sd1.vae_weights(sd1.VaeConfig(ch=128, ch_mult=(1, 2, 4, 4), num_res_blocks=2)),
}
sd1.torch.randn = _randn
sd = {k: v for part in parts.values() for k, v in part.items()}


def count(tensors, skip=()):
    return sum(t.numel() for k, t in tensors.items() if t.is_floating_point() and not any(s in k for s in skip))


if sys.argv[1] == "--count":
    # transformers' text models count no position_ids buffer and OpenCLIP's logit_scale belongs to no text path.
    print({"unet": count(parts["unet"]), "clip-l": count(parts["clip-l"]), "open-clip": count(parts["open-clip"], ("logit_scale",)),
           "vae": count(parts["vae"]), "tensors": len(sd), "bytes_f16": 2 * count(sd)})
    sys.exit(0)

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
