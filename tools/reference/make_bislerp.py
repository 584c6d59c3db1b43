"""Writes ComfyUI's "bislerp" latent resize of seeded latents, for latent.resize, written here from its definition:
resize the width, then the height; along an axis each output vector (the C channels of one latent pixel) is a slerp
between two neighbouring input vectors, with the neighbours and the ratio taken from torch's bilinear interpolation
(align_corners=False) of the index ramp 0..n-1 (first neighbour: int(value), ratio: its fractional part; second
neighbour: int of the ramp 1..n-1,n-1 interpolated alike). The slerp acts on the unit directions, its result is scaled
by the linearly interpolated norm; nearly parallel pairs (dot > 1 - 1e-5) keep the first vector, nearly opposite ones
(dot < -1 + 1e-5) are lerped, a zero vector has a zero direction.
Input: torch.randn on a CPU generator seeded 7 (latent.noise's seed 7 at 128x128 pixels), [1, 4, 16, 16], resized to
21x24 and 10x9 latent pixels (width x height); and seed 11's [1, 4, 5, 6] (48x40 pixels) doubled by nearest-exact
(every vector repeated: the parallel edge case) and resized to 13x11.
Run: /usr/bin/python3 tools/reference/make_bislerp.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/bislerp-resize.safetensors"""
import sys

import torch
import torch.nn.functional as F

from safetensors_io import save


def neighbours(old, new):
    ramp = torch.arange(old, dtype=torch.float32).view(1, 1, 1, old)
    value = F.interpolate(ramp, size=(1, new), mode="bilinear", align_corners=False).view(new)
    shifted = torch.arange(1, old + 1, dtype=torch.float32)
    shifted[-1] = old - 1
    second = F.interpolate(shifted.view(1, 1, 1, old), size=(1, new), mode="bilinear", align_corners=False).view(new)
    return value.long(), second.long(), value - value.floor()


def slerp(a, b, t):
    # a, b: [N, C]; t: [N]
    na, nb = a.norm(dim=1), b.norm(dim=1)
    ua = torch.where(na[:, None] == 0, torch.zeros_like(a), a / na[:, None])
    ub = torch.where(nb[:, None] == 0, torch.zeros_like(b), b / nb[:, None])
    dot = (ua * ub).sum(1)
    omega = torch.acos(dot.clamp(-1, 1))
    s = torch.sin(omega)
    out = (torch.sin((1 - t) * omega) / s)[:, None] * ua + (torch.sin(t * omega) / s)[:, None] * ub
    out = out * (na * (1 - t) + nb * t)[:, None]
    out = torch.where((dot > 1 - 1e-5)[:, None], a, out)
    out = torch.where((dot < 1e-5 - 1)[:, None], a * (1 - t)[:, None] + b * t[:, None], out)
    return out


def resize_axis(x, new):
    # Resizes the last axis of x [B, C, H, W].
    B, C, H, W = x.shape
    i, j, t = neighbours(W, new)
    a = x[:, :, :, i].permute(0, 2, 3, 1).reshape(-1, C)
    b = x[:, :, :, j].permute(0, 2, 3, 1).reshape(-1, C)
    out = slerp(a, b, t.repeat(B * H))
    return out.view(B, H, new, C).permute(0, 3, 1, 2)


def bislerp(x, width, height):
    x = resize_axis(x, width)
    return resize_axis(x.transpose(2, 3), height).transpose(2, 3).contiguous()


x = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(7))
edge = F.interpolate(torch.randn(1, 4, 5, 6, generator=torch.Generator().manual_seed(11)), size=(10, 12), mode="nearest-exact")
save(sys.argv[1], {
    "noise": x,
    "up": bislerp(x, 21, 24),
    "down": bislerp(x, 10, 9),
    "edge": edge,
    "edge_up": bislerp(edge, 13, 11),
})
