"""TAESD, madebyollin's Tiny AutoEncoder for Stable Diffusion, restated in torch from its published definition (as
ComfyUI's comfy/taesd/taesd.py runs it), on deterministic weights (test data only).

The network (both halves nn.Sequential; every conv 3×3 with padding 1):
  Block(64, 64) = ReLU(conv-ReLU-conv-ReLU-conv (x) + x)            keys N.conv.{0,2,4}.weight/bias
  Encoder: conv(3, 64), Block, 3 × [conv(64, 64, stride 2, no bias), Block, Block, Block], conv(64, 4)
  Decoder: Clamp = tanh(x / 3) · 3, conv(4, 64), ReLU, 3 × [Block, Block, Block, Upsample ×2 nearest,
           conv(64, 64, no bias)], Block, conv(64, 3)
ComfyUI's VAE with TAESD (load_taesd: vae_scale 0.18215 for taesd, 0.13025 for taesdxl; shift 0): its LATENT is the
raw latent x; decode = decoder(x · scale), then (y − 0.5) · 2, then the VAE's clamp((y + 1) / 2, 0, 1); encode of an
image in [0, 1] = encoder(((2p − 1) · 0.5 + 0.5)) / scale. The engine's latents are scaled (x · scale), so the test's
inputs here are the scaled latents and the expected outputs ComfyUI's for raw = scaled / scale.

Weights: make_hed.hashed(t, n, e) of each tensor in state-dict order (t from 0 for the decoder, 100 for the encoder),
e ≈ He-uniform's bound (log2 of 1/sqrt(6 / fan_in), rounded; + 3 for a block's conv.4, + 4 and + 2 for the last
convolutions 19 and 14), 6 for biases; the decoder's 19.bias
plus 0.5 — exact in float16, stored as float32.

Run: /usr/bin/python3 tools/reference/make_taesd.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/taesd-reference.json
"""
import base64
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_hed import hashed  # noqa: E402

SCALES = {"taesd": 0.18215, "taesdxl": 0.13025}
ENCODER_OFFSET = 100


def conv(n_in, n_out, **kwargs):
    return nn.Conv2d(n_in, n_out, 3, padding=1, **kwargs)


class Clamp(nn.Module):
    def forward(self, x):
        return torch.tanh(x / 3) * 3


class Block(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.conv = nn.Sequential(conv(n_in, n_out), nn.ReLU(), conv(n_out, n_out), nn.ReLU(), conv(n_out, n_out))
        self.skip = nn.Conv2d(n_in, n_out, 1, bias=False) if n_in != n_out else nn.Identity()
        self.fuse = nn.ReLU()

    def forward(self, x):
        return self.fuse(self.conv(x) + self.skip(x))


def encoder():
    down = lambda: [conv(64, 64, stride=2, bias=False), Block(64, 64), Block(64, 64), Block(64, 64)]
    return nn.Sequential(conv(3, 64), Block(64, 64), *down(), *down(), *down(), conv(64, 4))


def decoder(mutation=None):
    up = lambda: [Block(64, 64), Block(64, 64), Block(64, 64),
                  nn.Upsample(scale_factor=2, mode="bilinear" if mutation == "bilinear" else "nearest"), conv(64, 64, bias=False)]
    first = nn.Identity() if mutation == "no_clamp" else Clamp()
    return nn.Sequential(first, conv(4, 64), nn.ReLU(), *up(), *up(), *up(), Block(64, 64), conv(64, 3))


def exponent(name, shape):
    if name.endswith(".bias"):
        return 6
    fan_in = int(np.prod(shape[1:]))
    e = int(round(np.log2(1 / np.sqrt(6.0 / fan_in))))
    # A block's last convolution small, so that twenty residual blocks keep the activations near 1.
    # and each half's last convolution (decoder 19, encoder 14) small, for outputs about 0.5 ± 0.5 and latents about ± 1.
    return e + 3 if name.endswith("conv.4.weight") else e + 4 if name == "19.weight" else e + 2 if name == "14.weight" else e


def load(module, offset):
    state = module.state_dict()
    for t, (name, value) in enumerate(state.items()):
        w = hashed(offset + t, value.numel(), exponent(name, tuple(value.shape))).astype(np.float32).reshape(tuple(value.shape))
        if offset == 0 and name == "19.bias":
            w = w + np.float32(0.5)  # the decoder's output about 0.5, as a trained TAESD's image
        state[name] = torch.from_numpy(w)
    module.load_state_dict(state)
    return module.eval()


def pattern(shape, a, b, scale):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    return (np.sin(i * a + b) * scale).astype(np.float32).reshape(shape)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, np.float32).tobytes()).decode()


@torch.no_grad()
def main(path):
    latent = pattern((1, 4, 6, 8), 0.37, 0.5, 2.5)        # scaled latents, as the sampler hands them to the VAE
    # An 8-bit image (a PNG the test writes), as image.load hands it on: bytes / 255.
    rgb = np.round((pattern((48, 64, 3), 0.011, 0.2, 0.5) + 0.5).clip(0, 1) * 255).astype(np.uint8)
    image = (rgb.astype(np.float32) / 255).transpose(2, 0, 1)[None].copy()
    data = {"latent": b64(latent), "latent_shape": list(latent.shape),
            "image": {"height": 48, "width": 64, "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()}, "cases": []}
    enc = load(encoder(), ENCODER_OFFSET)
    for name, scale in SCALES.items():
        dec = load(decoder(), 0)
        raw = torch.from_numpy(latent) / scale                 # ComfyUI's LATENT
        y = dec(raw * scale).sub(0.5).mul(2)                    # TAESD.decode
        decoded = torch.clamp((y + 1.0) / 2.0, 0.0, 1.0)        # VAE.decode's process_output
        pixels = torch.from_numpy(image) * 2 - 1                # VAE.encode's process_input
        encoded = enc(pixels * 0.5 + 0.5) / scale * scale       # TAESD.encode, then the model's scale (process_in)
        print(name, "decoded mean", float(decoded.mean()), "clipped", float(((decoded == 0) | (decoded == 1)).float().mean()),
              "encoded std", float(encoded.std()))
        for m in ("no_clamp", "bilinear"):
            mutated = torch.clamp(load(decoder(m), 0)(raw * scale), 0, 1)
            print("  mutation", m, "max diff", float((mutated - decoded).abs().max()))
        data["cases"].append({"name": name, "scaling_factor": scale, "decoded": b64(decoded.numpy()), "encoded": b64(encoded.numpy())})
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1])
