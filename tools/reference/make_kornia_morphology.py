"""Writes the oracle for FlowDiffusion's ComfyUI Morphology, ImageRGBToYUV/ImageYUVToRGB and ImageColorToMask nodes,
computed with torch from the published definitions, written here (kornia is not imported):
- kornia.morphology with an all-ones k x k kernel, origin [k // 2, k // 2] and the default "geodesic" border: the
  image padded with +inf (erosion) or -inf (dilation) so outside pixels never win; erosion pads [o, k - o - 1] per axis
  (before, after) and takes the window minimum; dilation reflects the kernel (Minkowski) and pads [k - o - 1, o], window
  maximum; open = dilation(erosion), close = erosion(dilation), gradient = dilation - erosion, top_hat = x - open,
  bottom_hat = close - x.
- kornia.color.rgb_to_ycbcr (bias + weighted sum with its folded coefficients) and ycbcr_to_rgb (clamped to 0..1),
  with ComfyUI's channel means on the way back.
- ComfyUI's ImageColorToMask: (clamp(x, 0, 1) * 255).round() to int, (r << 16) + (g << 8) + b == color.
Inputs: a seeded random RGB image, a byte-valued one (k / 255, as a PNG upload gives) and one with values on the
colour rounding boundaries.
Run: /usr/bin/python3 tools/reference/make_kornia_morphology.py tests/FlowDiffusion.Imaging.Tests/TestData/kornia-morphology.json"""
import base64
import json
import sys

import numpy as np
from scipy import ndimage
import torch
import torch.nn.functional as F


def window(x, k, before, after, fill):
    # F.pad's order is (left, right, top, bottom); unfold gives every k x k window.
    padded = F.pad(x, [before, after, before, after], mode="constant", value=fill)
    return padded.unfold(2, k, 1).unfold(3, k, 1)


def erosion(x, k):
    o = k // 2
    return window(x, k, o, k - o - 1, float("inf")).amin(dim=(-2, -1))


def dilation(x, k):
    o = k // 2
    return window(x, k, k - o - 1, o, -float("inf")).amax(dim=(-2, -1))


OPERATIONS = {
    "erode": erosion,
    "dilate": dilation,
    "open": lambda x, k: dilation(erosion(x, k), k),
    "close": lambda x, k: erosion(dilation(x, k), k),
    "gradient": lambda x, k: dilation(x, k) - erosion(x, k),
    "top_hat": lambda x, k: x - dilation(erosion(x, k), k),
    "bottom_hat": lambda x, k: erosion(dilation(x, k), k) - x,
}


def to_ycbcr(x):
    w = torch.tensor([[0.299, 0.587, 0.114], [-0.168636, -0.331068, 0.499704], [0.499813, -0.418531, -0.081282]])
    b = torch.tensor([0.0, 0.5, 0.5])
    return torch.stack([b[i] + w[i, 0] * x[:, 0] + w[i, 1] * x[:, 1] + w[i, 2] * x[:, 2] for i in range(3)], 1)


def to_rgb(y, u, v):
    # ComfyUI averages each input image's three channels first.
    y, u, v = (t.mean(dim=1) for t in (y, u, v))
    r = y + 1.403 * v - 0.7015
    g = y - 0.714 * v - 0.344 * u + 0.529
    b = y + 1.773 * u - 0.8865
    return torch.stack([r, g, b], 1).clamp(0, 1)


def colour_mask(x, colour):
    t = (torch.clamp(x, 0, 1.0) * 255.0).round().to(torch.int)
    t = torch.bitwise_left_shift(t[:, 0], 16) + torch.bitwise_left_shift(t[:, 1], 8) + t[:, 2]
    return torch.where(t == colour, 1.0, 0.0).float()


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, np.float32).tobytes()).decode()


generator = torch.Generator().manual_seed(5)
random = torch.rand(2, 3, 9, 11, generator=generator)
# Blocks of colour with a few single bright and dark pixels, in whole 255ths.
byte = torch.randint(0, 4, (1, 3, 6, 5), generator=generator).float() * 60
byte = byte.repeat_interleave(3, 2).repeat_interleave(4, 3)[:, :, :13, :15]
byte[0, :, 4, 7] = 255
byte[0, :, 11, 3] = 0
byte[0, 1, 9, 12] = 17
byte = byte / 255
images = []
for name, x, sizes in [("random", random, [3, 4, 5, 8, 40]), ("bytes", byte, [3, 4, 7, 999])]:
    cases = []
    for k in sizes:
        # An independent check of the windows: scipy's grey morphology with a flat footprint, whose 'nearest' border only
        # repeats pixels already in the window (so equals leaving the outside out), anchors even sizes as kornia does.
        footprint = np.ones((1, 1, k, k), bool)
        assert np.array_equal(erosion(x, k).numpy(), ndimage.grey_erosion(x.numpy(), footprint=footprint, mode="nearest"))
        assert np.array_equal(dilation(x, k).numpy(), ndimage.grey_dilation(x.numpy(), footprint=footprint, mode="nearest"))
        for op, f in OPERATIONS.items():
            cases.append({"operation": op, "kernel_size": k, "result": b64(f(x, k).numpy())})
    yuv = to_ycbcr(x)
    grey = [yuv[:, i:i + 1].expand(-1, 3, -1, -1) for i in range(3)]
    back = to_rgb(*grey)
    # Y, U, V images whose three channels differ, to pin the channel means.
    mixed = to_rgb(x, x.flip(1), x.roll(1, 1))
    images.append({"name": name, "batch": x.shape[0], "height": x.shape[2], "width": x.shape[3], "rgb": b64(x.numpy()), "cases": cases,
                   "yuv": b64(yuv.numpy()), "rgb_again": b64(back.numpy()), "rgb_from_mixed": b64(mixed.numpy())})

# Values either side of the rounding points (n + 0.5) / 255 and outside 0..1, as float32; half rounds to even.
edges = torch.tensor([0.0, 0.5 / 255, 1.5 / 255, 2.5 / 255, 0.00196, 0.00197, 127.5 / 255, 128.5 / 255, 1.0, 1.2, -0.1, 254.5 / 255], dtype=torch.float32)
colour_image = torch.stack(torch.meshgrid(edges, edges, indexing="ij") + (edges.flip(0)[:, None].expand(-1, edges.numel()),), 0)[None]
colours = []
flat = (torch.clamp(colour_image, 0, 1) * 255).round().to(torch.int)
for y, x in [(0, 0), (1, 2), (3, 7), (6, 7), (8, 8), (9, 10), (11, 5), (2, 11)]:
    colour = int((flat[0, 0, y, x] << 16) + (flat[0, 1, y, x] << 8) + flat[0, 2, y, x])
    colours.append({"color": colour, "mask": b64(colour_mask(colour_image, colour).numpy())})
colours.append({"color": 0x123456, "mask": b64(colour_mask(colour_image, 0x123456).numpy())})
with open(sys.argv[1], "w") as f:
    json.dump({"torch": torch.__version__, "images": images,
               "colour": {"height": edges.numel(), "width": edges.numel(), "rgb": b64(colour_image.numpy()), "cases": colours}}, f)
print([(c["color"], int(np.frombuffer(base64.b64decode(c["mask"]), np.float32).sum())) for c in colours])
