"""The judge: snap to the palette, background from the border, shape colour from the main other colour, shape from its mask.

The C# test (tests/FlowDiffusion.Models.Tests/ShapesSdJudge.cs) applies the same rules to the engine's images.
"""
from collections import Counter, deque

import numpy as np

import shapes_data as D

_PALETTE = np.array([D.PALETTE[c] for c in D.COLOURS], dtype=np.float32)


def snap(image):
    """uint8/float HxWx3 (0..255) -> HxW palette indices."""
    d = ((image.astype(np.float32)[:, :, None, :] - _PALETTE[None, None]) ** 2).sum(-1)
    return d.argmin(-1)


def largest_component(mask):
    h, w = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    best = []
    for sy in range(h):
        for sx in range(w):
            if mask[sy, sx] and not seen[sy, sx]:
                seen[sy, sx] = True
                queue, comp = deque([(sy, sx)]), []
                while queue:
                    y, x = queue.popleft()
                    comp.append((y, x))
                    for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                        if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            queue.append((ny, nx))
                if len(comp) > len(best):
                    best = comp
    out = np.zeros_like(mask, dtype=bool)
    for y, x in best:
        out[y, x] = True
    return out


def classify(mask):
    ys, xs = np.nonzero(mask)
    if len(ys) < 20:
        return "none"
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    h, w = y1 - y0 + 1, x1 - x0 + 1
    fill = len(ys) / float(h * w)
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    if fill < 0.75 and not mask[cy - 1:cy + 2, cx - 1:cx + 2].any():
        return "ring"
    top = mask[y0 + h * 15 // 100, x0:x1 + 1].mean()
    bottom = mask[y1 - h * 15 // 100, x0:x1 + 1].mean()
    if bottom > 0.6 and bottom > top + 0.3:
        return "triangle"
    # Thresholds sit between the fills of the VAE's own round trips (square >= 0.85, circle 0.71-0.93, cross <= 0.62).
    if fill >= 0.87:
        return "square"
    return "circle" if fill >= 0.66 else "cross"


def judge(image):
    """(colour, shape, background) read from a uint8 HxWx3 picture."""
    idx = snap(image)
    border = np.concatenate([idx[:2].ravel(), idx[-2:].ravel(), idx[:, :2].ravel(), idx[:, -2:].ravel()])
    background = Counter(border.tolist()).most_common(1)[0][0]
    rest = idx[idx != background]
    if rest.size == 0:
        return None, "none", D.COLOURS[background]
    colour = Counter(rest.tolist()).most_common(1)[0][0]
    return D.COLOURS[colour], classify(largest_component(idx == colour)), D.COLOURS[background]


if __name__ == "__main__":
    rng = np.random.default_rng(5)
    wrong = Counter()
    for i in range(1000):
        image, c, s, b = D.sample(rng, [(c, s) for c in D.COLOURS for s in D.SHAPES])
        got = judge(image)
        if got != (c, s, b):
            wrong[(s, got[1])] += 1
    print("judge errors on ground truth (of 1000):", sum(wrong.values()), dict(wrong))
