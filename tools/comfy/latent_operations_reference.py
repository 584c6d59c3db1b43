#!/usr/bin/env python3
"""Reference values for ComfyUI's latent operations (LatentOperationTonemapReinhard, LatentOperationSharpen) as
LatentApplyOperation runs them on a LATENT, written here from their published definitions in torch (float64).

Both work on each pixel's channel vector: its length (plus a small epsilon) and its direction.
- Tonemap (Reinhard): per batch item, top = (5·std + mean)·multiplier of the lengths (std with Bessel's correction);
  each length m becomes m/top / (m/top + 1) · top.
- Sharpen: the direction field is sharpened per channel with a (2r+1)² kernel k = −10·alpha·g, its centre raised by
  1 − Σk (g: the gaussian on a −1 … 1 grid with the given sigma, normalised), the planes padded by reflection; the
  result is scaled back by the length.

Usage: /usr/bin/python3 tools/comfy/latent_operations_reference.py > tests/FlowDiffusion.Diffusion.Tests/TestData/comfy/latent_operations.json
"""
import json
import torch


def tonemap_reinhard(latent, multiplier):
    length = torch.sqrt((latent * latent).sum(dim=1, keepdim=True)) + 1e-10
    direction = latent / length
    mean = length.mean(dim=(1, 2, 3), keepdim=True)
    std = length.std(dim=(1, 2, 3), keepdim=True)
    top = (std * 5 + mean) * multiplier
    scaled = length / top
    return direction * (scaled / (scaled + 1.0) * top)


def gaussian(size, sigma):
    grid = torch.linspace(-1.0, 1.0, size, dtype=torch.float64)
    y, x = torch.meshgrid(grid, grid, indexing="ij")
    g = torch.exp(-(x * x + y * y) / (2.0 * sigma * sigma))
    return g / g.sum()


def sharpen(latent, radius, sigma, alpha):
    length = torch.sqrt((latent * latent).sum(dim=1, keepdim=True)) + 1e-6
    direction = latent / length
    size = 2 * radius + 1
    kernel = gaussian(size, sigma) * (-10.0 * alpha)
    kernel[radius, radius] += 1.0 - kernel.sum()
    channels = latent.shape[1]
    padded = torch.nn.functional.pad(direction, (radius, radius, radius, radius), mode="reflect")
    weights = kernel.expand(channels, 1, size, size)
    sharpened = torch.nn.functional.conv2d(padded, weights, groups=channels)
    return length * sharpened


def operation(spec):
    if spec[0] == "tonemap_reinhard":
        return lambda latent: tonemap_reinhard(latent, spec[1])
    return lambda latent: sharpen(latent, spec[1], spec[2], spec[3])


def describe(spec):
    if spec[0] == "tonemap_reinhard":
        return {"operation": spec[0], "multiplier": spec[1]}
    return {"operation": spec[0], "sharpen_radius": spec[1], "sigma": spec[2], "alpha": spec[3]}


def case(name, seed, spec, shape):
    g = torch.Generator().manual_seed(seed)
    latent = (torch.randn(shape, generator=g, dtype=torch.float64) * 1.3).float().double()
    result = operation(spec)(latent)
    return {"name": name, "shape": list(shape), **describe(spec), "latent": latent.flatten().tolist(), "expected": result.flatten().tolist()}


if __name__ == "__main__":
    cases = [
        case("tonemap_default", 1, ("tonemap_reinhard", 1.0), (2, 4, 6, 5)),
        case("tonemap_strong", 2, ("tonemap_reinhard", 0.3), (1, 4, 8, 8)),
        case("tonemap_weak", 3, ("tonemap_reinhard", 7.5), (2, 4, 3, 7)),
        case("sharpen_default_radius", 4, ("sharpen", 9, 1.0, 0.1), (1, 4, 12, 10)),
        case("sharpen_small", 5, ("sharpen", 2, 0.6, 0.8), (2, 4, 5, 6)),
        case("sharpen_wide_sigma", 6, ("sharpen", 3, 4.0, 2.5), (1, 4, 7, 9)),
    ]
    print(json.dumps({"latent_operations": cases}))
