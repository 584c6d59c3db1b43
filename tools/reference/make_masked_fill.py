"""Writes the oracle for FlowDiffusion's A1111 masked fill (image.masked_fill, A1111MaskedFill): A1111's masking.fill, which
its inpainting_fill 0, 2 and 3 apply to the init image, restated in numpy from its definition and Pillow 9.4/9.5's C code:

- the RGB image premultiplied through the inverted L mask, as Pillow pastes onto transparent black: DIV255(v * (255 - m))
  per channel and for the alpha (255), DIV255(x) = ((x + 128) >> 8 + x + 128) >> 8;
- for (sigma, repeats) in (256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1): Pillow's GaussianBlur(sigma), that is an
  extended box of radius l + a (Gwosdek et al., in float32: sigma2 = sigma^2 / 3, L = sqrt(12 sigma2 + 1) in double,
  l = floor((L - 1) / 2), a = (2l + 1)(l(l + 1) - 3 sigma2) / (6(sigma2 - (l + 1)^2))) run three times along each row,
  then three times along each column, each pass (window sum * ww + the two pixels beyond it * fw + 2^23) >> 24 with
  ww = uint(2^24 / (2 r + 1)) in float32, fw = (2^24 - (2 int(r) + 1) ww) / 2, the line's ends repeated; all four channels;
- each blurred image un-premultiplied (255 c // a, at most 255, where a is neither 0 nor 255) and alpha-composited repeats
  times over an accumulator that starts transparent black (Pillow's integer alpha_composite with 7 extra bits);
- the accumulator's RGB is the result.

The window sums come from cumulative sums over the edge-padded line (not Pillow's sliding accumulator). `--check` also runs
the same steps with Pillow itself (Debian's python3-pil, 9.4; A1111 1.10 pins 9.5, whose blur, paste, conversion and
alpha_composite code is the same) on these cases and on seeded random ones, and requires equal bytes; Pillow is not needed
to write the file.
Run: /usr/bin/python3 tools/reference/make_masked_fill.py tests/FlowDiffusion.Imaging.Tests/TestData/masked-fill.json [--check]"""
import base64
import json
import sys

import numpy as np

CASCADE = [(256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)]


def box_radius(sigma, passes=3):
    f = np.float32
    sigma2 = f(sigma) * f(sigma) / f(passes)
    length = f(np.sqrt(12.0 * float(sigma2) + 1.0))
    whole = f(np.floor((float(length) - 1.0) / 2.0))
    fraction = (f(2) * whole + f(1)) * (whole * (whole + f(1)) - f(3) * sigma2)
    fraction = fraction / (f(6) * (sigma2 - (whole + f(1)) * (whole + f(1))))
    return f(whole + fraction)


def box_pass(lines, radius):
    """One extended-box pass along the last axis of int64 lines."""
    r = int(radius)
    ww = int(np.float32(16777216) / (radius * np.float32(2) + np.float32(1)))
    fw = (16777216 - (2 * r + 1) * ww) // 2
    n = lines.shape[-1]
    padded = np.concatenate([np.repeat(lines[..., :1], r + 1, -1), lines, np.repeat(lines[..., -1:], r + 1, -1)], -1)
    sums = np.concatenate([np.zeros(lines.shape[:-1] + (1,), np.int64), np.cumsum(padded, -1)], -1)
    x = np.arange(n)
    window = sums[..., x + 2 * r + 2] - sums[..., x + 1]
    beyond = padded[..., x] + padded[..., x + 2 * r + 2]
    return (window * ww + beyond * fw + (1 << 23)) >> 24


def gaussian_blur(rgba, sigma):
    """rgba: int64 [h, w, 4]."""
    radius = box_radius(sigma)
    planes = np.moveaxis(rgba, 2, 0)  # [4, h, w]
    for _ in range(3):
        planes = box_pass(planes, radius)
    planes = np.swapaxes(planes, 1, 2)
    for _ in range(3):
        planes = box_pass(planes, radius)
    return np.moveaxis(np.swapaxes(planes, 1, 2), 0, 2)


def div255(x):
    x = x + 128
    return ((x >> 8) + x) >> 8


def unpremultiply(rgba):
    out = rgba.copy()
    a = rgba[..., 3:4]
    partial = (a != 0) & (a != 255)
    out[..., :3] = np.where(partial, np.minimum(255 * rgba[..., :3] // np.maximum(a, 1), 255), rgba[..., :3])
    return out


def alpha_composite(dst, src):
    sa, da = src[..., 3:4], dst[..., 3:4]
    outa255 = sa * 255 + da * (255 - sa)
    coef1 = sa * 255 * 255 * 128 // np.maximum(outa255, 1)
    coef2 = 255 * 128 - coef1
    tmp = src[..., :3] * coef1 + dst[..., :3] * coef2
    rgb = (((tmp + (128 << 7)) >> 8) + tmp + (128 << 7)) >> 8 >> 7
    alpha = (((outa255 + 128) >> 8) + outa255 + 128) >> 8
    out = np.concatenate([rgb, alpha], -1)
    return np.where(sa == 0, dst, out)


def fill(image, mask):
    """image: uint8 [h, w, 3]; mask: uint8 [h, w] (255 filled) -> uint8 [h, w, 3]."""
    keep = 255 - mask.astype(np.int64)[..., None]
    rgba = np.concatenate([image.astype(np.int64), np.full(mask.shape + (1,), 255, np.int64)], -1)
    masked = div255(rgba * keep)
    accumulator = np.zeros_like(masked)
    for sigma, repeats in CASCADE:
        blurred = unpremultiply(gaussian_blur(masked, sigma))
        for _ in range(repeats):
            accumulator = alpha_composite(accumulator, blurred)
    return accumulator[..., :3].astype(np.uint8)


def pillow_fill(image, mask):
    """The same steps with Pillow itself (A1111's masking.fill, restated)."""
    from PIL import Image, ImageFilter, ImageOps
    picture, levels = Image.fromarray(image, "RGB"), Image.fromarray(mask, "L")
    result = Image.new("RGBA", picture.size)
    masked = Image.new("RGBa", picture.size)
    masked.paste(picture.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(levels))
    for sigma, repeats in CASCADE:
        blurred = masked.filter(ImageFilter.GaussianBlur(sigma)).convert("RGBA")
        for _ in range(repeats):
            result.alpha_composite(blurred)
    return np.asarray(result.convert("RGB"))


def test_image(h, w, seed):
    g = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1), 128 + 100 * np.sin(x / 3.0 + y / 5.0)], -1)
    return np.clip(base + g.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def cases():
    h, w = 28, 40
    image = test_image(h, w, 5)
    y, x = np.mgrid[0:h, 0:w]
    # White blocks on the right and top edges and in the bottom-left corner.
    edge = np.where(((x >= 28) & (y < 12)) | ((x < 6) & (y >= 22)), 255, 0).astype(np.uint8)
    # Soft values: a cone of 255 · (1 − distance / 11) around (17, 13) and a ramp along the bottom rows.
    cone = 255 * np.clip(1 - np.hypot(x - 17, y - 13) / 11, 0, 1)
    soft = np.round(np.maximum(cone, np.where(y >= 25, 3 * x, 0))).astype(np.uint8)
    everything = np.full((h, w), 255, np.uint8)
    wide = test_image(4, 530, 6)
    wide_mask = np.zeros((4, 530), np.uint8)
    wide_mask[:, 250:300] = 255
    wide_mask[1, 20] = 100
    return [("edge", image, edge), ("soft", image, soft), ("everything", image, everything), ("wide", wide, wide_mask)]


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, np.uint8).tobytes()).decode()


def main():
    out = []
    for name, image, mask in cases():
        filled = fill(image, mask)
        out.append({"name": name, "height": image.shape[0], "width": image.shape[1], "image": b64(image), "mask": b64(mask), "filled": b64(filled)})
    radii = [{"sigma": s, "radius": float(box_radius(s))} for s, _ in CASCADE]
    if "--check" in sys.argv:
        import PIL
        checked = [(name, image, mask) for name, image, mask in cases()]
        g = np.random.default_rng(9)
        for trial in range(6):
            h, w = int(g.integers(1, 70)), int(g.integers(1, 70))
            image = g.integers(0, 256, (h, w, 3), dtype=np.uint8)
            mask = (g.integers(0, 256, (h, w)) * (g.random((h, w)) < 0.4)).astype(np.uint8)
            checked.append((f"random {trial}", image, mask))
        for name, image, mask in checked:
            ours, theirs = fill(image, mask), pillow_fill(image, mask)
            assert np.array_equal(ours, theirs), f"{name}: {np.count_nonzero(ours != theirs)} bytes differ from Pillow {PIL.__version__}"
        print(f"{len(checked)} cases equal to Pillow {PIL.__version__}")
    with open(sys.argv[1], "w") as f:
        json.dump({"box_radii": radii, "cases": out}, f)
    print(len(out), [r["radius"] for r in radii])


if __name__ == "__main__":
    main()
