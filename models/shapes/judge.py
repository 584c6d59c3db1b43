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
    # A square fills its box's corners, a circle leaves them empty; the VAE's own round trips blur both (corner
    # coverage: squares 0.38-1.00, circles 0.02-0.62; fill: squares 0.85-1.00, circles 0.71-0.93), and the sum
    # corner + 2 x fill >= 2 separates them best on those round trips (all squares, 98% of circles).
    if corner_fill(mask, y0, y1, x0, x1) + 2 * fill >= 2.0:
        return "square"
    return "circle" if fill >= 0.66 else "cross"


def corner_fill(mask, y0, y1, x0, x1):
    """Mean coverage of the four corner boxes (a fifth of the box's shorter side) of the mask's bounding box."""
    k = max(1, round(0.2 * min(y1 - y0 + 1, x1 - x0 + 1)))
    boxes = (mask[y0:y0 + k, x0:x0 + k], mask[y0:y0 + k, x1 - k + 1:x1 + 1],
             mask[y1 - k + 1:y1 + 1, x0:x0 + k], mask[y1 - k + 1:y1 + 1, x1 - k + 1:x1 + 1])
    return sum(float(b.mean()) for b in boxes) / 4.0


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
