"""Assembles a labelled PNG grid from the guidance sweep's PPM pictures (see docs/shapes-sd.md).

    /usr/bin/python3 models/shapes/grid.py SWEEP_FOLDER 7.5 docs/shapes-sd-grid.png

One picture per colour/shape pair (the first background the sweep drew it on); held-out pairs are marked '*'.
"""
import glob
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

import shapes_data as D
from judge import judge


def main(folder, cfg, out, columns=10, zoom=2):
    files, pairs = [], set()
    for path in sorted(glob.glob(os.path.join(folder, f"cfg{cfg}_*.ppm"))):
        pair = tuple(os.path.splitext(os.path.basename(path))[0].split("_")[2:4])
        if pair not in pairs:
            pairs.add(pair)
            files.append(path)
    cell_w, cell_h = 64 * zoom, 64 * zoom + 24
    rows = (len(files) + columns - 1) // columns
    grid = Image.new("RGB", (columns * cell_w, rows * cell_h), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for i, path in enumerate(files):
        _, _, colour, shape, background = os.path.splitext(os.path.basename(path))[0].split("_")
        picture = Image.open(path).convert("RGB")
        verdict = judge(np.asarray(picture))
        right = verdict == (colour, shape, background)
        x, y = (i % columns) * cell_w, (i // columns) * cell_h
        grid.paste(picture.resize((64 * zoom, 64 * zoom), Image.NEAREST), (x, y))
        held = "*" if (colour, shape) in D.HELD_OUT else ""
        draw.text((x + 2, y + 64 * zoom + 1), f"{held}{colour} {shape}", fill=(0, 0, 0))
        draw.text((x + 2, y + 64 * zoom + 12), f"on {background} {'ok' if right else 'X'}", fill=(0, 110, 0) if right else (200, 0, 0))
    grid.save(out)
    print(f"{len(files)} pictures -> {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
