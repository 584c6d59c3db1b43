"""T2I-Adapter written from the paper (Mou et al. 2023, "T2I-Adapter: Learning Adapters to Dig out More Controllable
Ability for Text-to-Image Diffusion Models") and the published layout of its checkpoints (TencentARC's `Adapter`:
`conv_in`, `body.k.{in_conv,block1,block2}`): the control image pixel-unshuffled by r (8 for SD 1.x, 16 for SDXL's
adapters), a 3x3 convolution, then per level `nrb` residual blocks (x + conv1x1(relu(conv3x3(x))), the first of a level
opening with a 1x1 `in_conv` when the width changes and, where the level downsamples, a 2x2 average pool with ceil
mode); each level's output is one feature. SD 1.x adapters (r = 8) downsample at every level after the first; SDXL's
(r = 16) at the third only. Functions over state dicts with the original names; no diffusers or T2I-Adapter code.
"""
import math

import torch
import torch.nn.functional as F

from sd1 import Weights, _conv


def downsamples(r, levels):
    """Which levels open with the average pool: every level after the first for SD 1.x (r = 8); the third for SDXL (r = 16)."""
    return [level == 2 if r == 16 else level > 0 for level in range(levels)]


def adapter_weights(channels, in_channels=3, r=8, nrb=2, seed=9):
    w = Weights(seed)
    w.conv("conv_in", in_channels * r * r, channels[0], 3)
    for i, c in enumerate(channels):
        for j in range(nrb):
            k = i * nrb + j
            previous = channels[i - 1] if i > 0 else channels[0]
            if j == 0 and previous != c:
                w.conv(f"body.{k}.in_conv", previous, c, 1)
            w.conv(f"body.{k}.block1", c, c, 3)
            w.conv(f"body.{k}.block2", c, c, 1)
    return w.sd


def adapter_forward(sd, x, r, levels, nrb=2):
    x = _conv(sd, "conv_in", F.pixel_unshuffle(x, r))
    features = []
    for i, down in enumerate(downsamples(r, levels)):
        for j in range(nrb):
            k = i * nrb + j
            if j == 0 and down:
                x = F.avg_pool2d(x, 2, 2, ceil_mode=True)
            if f"body.{k}.in_conv.weight" in sd:
                x = _conv(sd, f"body.{k}.in_conv", x)
            x = x + _conv(sd, f"body.{k}.block2", F.relu(_conv(sd, f"body.{k}.block1", x)))
        features.append(x)
    return features


def diffusers_names(sd, nrb=2):
    """body.k -> adapter.body.{k // nrb} (in_conv) and adapter.body.{k // nrb}.resnets.{k % nrb} (block1, block2); conv_in -> adapter.conv_in."""
    out = {}
    for key, t in sd.items():
        if key.startswith("body."):
            k, module, suffix = key[len("body."):].split(".")
            k = int(k)
            name = f"adapter.body.{k // nrb}.in_conv" if module == "in_conv" else f"adapter.body.{k // nrb}.resnets.{k % nrb}.{module}"
            out[f"{name}.{suffix}"] = t
        else:
            out["adapter." + key] = t
    return out
