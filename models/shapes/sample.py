"""Python-side sampling (Euler, as diffusers' EulerDiscreteScheduler with linspace timesteps) for quick checks and grids."""
import numpy as np
import torch

import shapes_data as D
from judge import judge


def euler(text, unet, vae, vocab, scale, prompts, steps=30, cfg=7.5, seed=0):
    ab = torch.cumprod(1 - torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2, 0)
    sig_all = ((1 - ab) / ab).sqrt().numpy()
    ts = np.linspace(0, 999, steps)[::-1].copy()
    sigmas = np.append(np.interp(ts, np.arange(1000), sig_all), 0.0)
    g = torch.Generator().manual_seed(seed)
    n = len(prompts)
    x = torch.randn(n, 4, 8, 8, generator=g) * float(sigmas[0])
    with torch.no_grad():
        ids = torch.tensor([vocab.encode(p) for p in prompts] + [vocab.encode("")] * n, dtype=torch.int64)
        ctx = text(ids)
        for i, t in enumerate(ts):
            s = float(sigmas[i])
            inp = torch.cat([x, x]) / (s * s + 1) ** 0.5
            eps = unet(inp, torch.full((2 * n,), float(t)), ctx)
            cond, uncond = eps[:n], eps[n:]
            eps = uncond + cfg * (cond - uncond)
            x = x + eps * (float(sigmas[i + 1]) - s)
        img = vae.decoder(x / scale)
    return ((img.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def all_prompts(rng, per_pair=1):
    """(prompt, colour, shape, background, held_out) over every colour/shape pair."""
    out = []
    for c in D.COLOURS:
        for s in D.SHAPES:
            for _ in range(per_pair):
                b = c
                while b == c:
                    b = D.COLOURS[rng.integers(len(D.COLOURS))]
                out.append((D.caption(c, s, b), c, s, b, (c, s) in D.HELD_OUT))
    return out


def score(images, cases):
    seen, held = [0, 0], [0, 0]
    parts = {"colour": 0, "shape": 0, "background": 0}
    for image, (_, c, s, b, h) in zip(images, cases):
        got = judge(image)
        ok = got == (c, s, b)
        parts["colour"] += got[0] == c
        parts["shape"] += got[1] == s
        parts["background"] += got[2] == b
        bucket = held if h else seen
        bucket[0] += ok
        bucket[1] += 1
    return seen, held, parts
