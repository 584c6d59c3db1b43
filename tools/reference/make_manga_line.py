"""MangaLineExtraction's res_skip network (ljsabc/MangaLineExtraction_PyTorch; lllyasviel/Annotators' erika.pth), which
comfyui_controlnet_aux's Manga2Anime_LineArt_Preprocessor (LineartMangaDetector) and sd-webui-controlnet's
lineart_anime_denoise (MangaLineExtration) run, restated as torch modules from its published definition, on
deterministic weights (test data only); the engine's image.manga_lineart is tested against the maps it writes.

The network (float32, on the grey 0..255 image as it is, one channel): residual blocks of _bn_relu_conv units
(BatchNorm eps 1e-3 in eval mode, LeakyReLU 0.2, a zero-padded conv), a 1×1 shortcut convolution where the channels or
the stride change; encoder block0…4 (1→24 ×2 at stride 1, 24→48 ×3, 48→96 ×5, 96→192 ×7, 192→384 ×12; the last unit of
blocks 1…4 at stride 2), decoder block5…8 (384→192 ×7, 192→96 ×5, 96→48 ×3, 48→24 ×2; the first unit's conv and shortcut
followed by nearest ×2 upsampling) each added to the encoder map of its size (res1…4, no weights), block9 (24→16 ×2) and
conv15 (BN, LeakyReLU, 1×1 to one channel). The output is the line drawing (dark lines on white) on 0..255, not clipped.
The annotators (they differ; checked against comfyui_controlnet_aux's manga_line/__init__.py LineartMangaDetector and
sd-webui-controlnet's processor.py lineart_anime_denoise with annotator/manga_line MangaLineExtration):
  aux:        resize_image_with_pad(rgb, 256·⌈resolution / 256⌉), cv2 RGB2GRAY, the network, clipped to 0..255 and
              truncated to a byte, 255 − that, cropped: 255 − ⌊line⌋, i.e. ⌈255 − line⌉ where line is inside 0..255.
  extension:  resize_image_with_pad(rgb, resolution) (the extension's own, the same scaling and edge padding to multiples
              of 64), the same grey and network, 255 − output, then clipped and truncated: ⌊255 − line⌋, one level below
              aux's wherever the line is fractional. Both are white lines on black in the end.
The weights: make_hed.py's hashed(t, n, e) per tensor in state-dict order; BatchNorm running_var = |hashed| + 0.5, the
BatchNorm scales 1 + hashed, conv15's bias + 256 (so the line spreads over 0..255 and past both ends); every value then
rounded to float16 (the file the tests write holds float16); num_batches_tracked (int64 0) is not read by the network.

Run: /usr/bin/python3 tools/reference/make_manga_line.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/manga-line-reference.json
"""
import base64
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aux_preprocessors import gray, resize_with_pad, test_image  # noqa: E402
from make_hed import hashed  # noqa: E402


MUTATION = None  # set by the mutation runs below (before the model is built)


class BnReluConv(nn.Module):
    def __init__(self, cin, cout, k, stride=1, upsample=False):
        super().__init__()
        bn = nn.BatchNorm2d(cin, eps=1e-5 if MUTATION == "eps" else 1e-3)
        act = nn.ReLU() if MUTATION == "relu" else nn.LeakyReLU(0.2)
        layers = [bn, act, nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)]
        if upsample:
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class Shortcut(nn.Module):
    def __init__(self, cin, cout, stride=1, upsample=False):
        super().__init__()
        self.model = None
        if cin != cout or (stride != 1 and not upsample):
            layers = [nn.Conv2d(cin, cout, 1, stride=stride)]
            if upsample:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
            self.model = nn.Sequential(*layers)

    def forward(self, x, y):
        return (self.model(x) if self.model is not None else x) + y


class Basic(nn.Module):
    def __init__(self, cin, cout, stride=1, upsample=False):
        super().__init__()
        self.conv1 = BnReluConv(cin, cout, 3, stride, upsample)
        self.residual = BnReluConv(cout, cout, 3)
        self.shortcut = Shortcut(cin, cout, stride, upsample)

    def forward(self, x):
        return self.shortcut(x, self.residual(self.conv1(x)))


class Blocks(nn.Module):
    def __init__(self, cin, cout, n, first=False, up=False):
        super().__init__()
        units = []
        for i in range(n):
            stride = 2 if (i == n - 1 and not first and not up) else 1
            units.append(Basic(cin if i == 0 else cout, cout, stride, up and i == 0))
        self.model = nn.Sequential(*units)

    def forward(self, x):
        return self.model(x)


class ResSkip(nn.Module):
    def __init__(self):
        super().__init__()
        self.block0 = Blocks(1, 24, 2, first=True)
        self.block1 = Blocks(24, 48, 3)
        self.block2 = Blocks(48, 96, 5)
        self.block3 = Blocks(96, 192, 7)
        self.block4 = Blocks(192, 384, 12)
        self.block5 = Blocks(384, 192, 7, up=True)
        self.block6 = Blocks(192, 96, 5, up=True)
        self.block7 = Blocks(96, 48, 3, up=True)
        self.block8 = Blocks(48, 24, 2, up=True)
        self.block9 = Blocks(24, 16, 2, first=True)
        self.conv15 = BnReluConv(16, 1, 1)

    def forward(self, x):
        x0 = self.block0(x)
        x1 = self.block1(x0)
        x2 = self.block2(x1)
        x3 = self.block3(x2)
        x4 = self.block4(x3)
        r = self.block5(x4) + x3
        r = self.block6(r) + x2
        r = self.block7(r) + x1
        r = self.block8(r) + x0
        return self.conv15(self.block9(r))


def exponent(name, shape):
    """2^-e per tensor: half He-uniform for convolutions (the first two also scaled for 0..255 input; conv15 ×2^10 so the
    output spreads over 0..255), small vectors."""
    if len(shape) == 4:
        e = int(round(np.log2(1 / np.sqrt(6.0 / int(np.prod(shape[1:])))))) + 1
        if name in ("block0.model.0.conv1.model.2.weight", "block0.model.0.shortcut.model.0.weight"):
            e += 8
        if name == "conv15.model.2.weight":
            e -= 10
        return e
    return 4


def model():
    m = ResSkip()
    sd = {}
    for t, (name, p) in enumerate(m.state_dict().items()):
        if name.endswith("num_batches_tracked"):
            sd[name] = torch.tensor(0, dtype=torch.long)
            continue
        v = hashed(t, p.numel(), 0 if name.endswith("running_var") else exponent(name, tuple(p.shape))).astype(np.float32)
        if name.endswith("running_var"):
            v = np.abs(v) + 0.5
        if name.endswith(".0.weight") and p.ndim == 1:  # BatchNorm scale around 1
            v = v + 1
        if name == "conv15.model.2.bias":
            v = v + 256
        sd[name] = torch.from_numpy(v.astype(np.float16).astype(np.float32).reshape(p.shape))
    m.load_state_dict(sd, strict=True)
    return m.eval()


def manga(m, rgb, resolution, variant, mutation=None):
    target = 256 * int(np.ceil(resolution / 256.0)) if variant == "aux" and mutation != "no_256" else resolution
    padded, th, tw = resize_with_pad(rgb, target)
    x = torch.from_numpy(gray(padded).astype(np.float32))[None, None]
    with torch.no_grad():
        line = m(x).numpy()[0, 0]
    if (variant == "aux") != (mutation == "inversion_order"):
        out = 255 - line.clip(0, 255).astype(np.uint8)
    else:
        out = (255 - line).clip(0, 255).astype(np.uint8)
    return out[:th, :tw]


def main(path):
    global MUTATION
    torch.set_num_threads(2)
    m = model()
    print("tensors", len(m.state_dict()), "parameters", sum(p.numel() for p in m.parameters()))
    mutants = {}
    for mutation in ("eps", "relu"):
        MUTATION = mutation
        mutants[mutation] = model()
    MUTATION = None
    rgb = test_image()
    cases = []
    for resolution, variant in ((64, "aux"), (64, "webui"), (128, "webui")):
        out = manga(m, rgb, resolution, variant)
        cases.append(dict(resolution=resolution, variant=variant, height=out.shape[0], width=out.shape[1],
                          output=base64.b64encode(out.tobytes()).decode()))
        print(resolution, variant, out.shape, "mean", round(float(out.mean()), 2), "levels", len(np.unique(out)),
              "at 0", int((out == 0).sum()), "at 255", int((out == 255).sum()), "of", out.size)
        for mutation in ("eps", "relu", "inversion_order", "no_256"):
            if mutation == "no_256" and variant != "aux":
                continue
            other = manga(mutants.get(mutation, m), rgb, resolution, variant, mutation)
            if other.shape != out.shape:
                print("  mutation", mutation, "size", other.shape)
                continue
            diff = np.abs(other.astype(int) - out.astype(int))
            print("  mutation", mutation, "differs at", int((diff > 0).sum()), "by > 1 at", int((diff > 1).sum()),
                  "of", diff.size, "max", int(diff.max()))
    with open(path, "w") as f:
        json.dump({"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()},
                   "cases": cases}, f)


if __name__ == "__main__":
    main(sys.argv[1])
