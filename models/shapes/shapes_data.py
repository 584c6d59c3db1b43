"""Synthetic shapes: palette, shape masks, captions and the held-out colour/shape pairs."""
import numpy as np

SIZE = 64

# Eight well-separated colours; the judge snaps every pixel to the nearest of these.
PALETTE = {
    "red": (230, 30, 30),
    "green": (30, 180, 40),
    "blue": (30, 60, 230),
    "yellow": (240, 220, 30),
    "cyan": (40, 220, 230),
    "magenta": (220, 40, 220),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
}
COLOURS = list(PALETTE)
SHAPES = ["circle", "square", "triangle", "ring", "cross"]

# 4 of the 40 colour/shape pairs (10%) never appear in training, each colour and shape still seen elsewhere.
HELD_OUT = {("red", "triangle"), ("green", "ring"), ("blue", "cross"), ("yellow", "square")}

RADIUS_MIN, RADIUS_MAX = 11, 21


def caption(colour, shape, background):
    return f"a {colour} {shape} on a {background} background"


def shape_mask(shape, cx, cy, r, size=SIZE):
    """Boolean mask of one shape of 'radius' r centred at (cx, cy), sampled at pixel centres."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dx, dy = x - cx, y - cy
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "square":
        h = r * 0.85
        return (np.abs(dx) <= h) & (np.abs(dy) <= h)
    if shape == "ring":
        d2 = dx * dx + dy * dy
        return (d2 <= r * r) & (d2 >= (0.55 * r) ** 2)
    if shape == "cross":
        arm = r * 0.32
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))
    if shape == "triangle":
        # Apex up; base at cy + 0.8 r spanning +-r; inside when below both slanted edges.
        top, base = cy - r, cy + 0.8 * r
        frac = (y - top) / (base - top)
        return (y >= top) & (y <= base) & (np.abs(dx) <= frac * r)
    raise ValueError(shape)


def training_pairs():
    return [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in HELD_OUT]


def sample(rng, pairs=None):
    """One random example: (uint8 HxWx3 image, colour, shape, background)."""
    pairs = pairs or training_pairs()
    colour, shape = pairs[rng.integers(len(pairs))]
    background = colour
    while background == colour:
        background = COLOURS[rng.integers(len(COLOURS))]
    r = float(rng.uniform(RADIUS_MIN, RADIUS_MAX))
    cx = float(rng.uniform(r + 1, SIZE - r - 1))
    cy = float(rng.uniform(r + 1, SIZE - r - 1))
    mask = shape_mask(shape, cx, cy, r)
    image = np.empty((SIZE, SIZE, 3), np.uint8)
    image[:] = PALETTE[background]
    image[mask] = PALETTE[colour]
    return image, colour, shape, background


def batch(rng, n, pairs=None):
    """n examples as float32 [n,3,64,64] in [-1,1] plus their captions."""
    images, captions = [], []
    for _ in range(n):
        image, c, s, b = sample(rng, pairs)
        images.append(image)
        captions.append(caption(c, s, b))
    x = np.stack(images).astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0
    return x, captions
