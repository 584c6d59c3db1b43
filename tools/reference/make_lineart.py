"""The ControlNet annotators' realistic, coarse and anime lineart (comfyui_controlnet_aux's LineartDetector and
LineartAnimeDetector, sd-webui-controlnet's lineart_realistic, lineart_coarse and lineart_anime), restated in torch from
the published definitions, on deterministic weights in the published key layout (test data only).

Weights: as make_hed.py's, a hash of (tensor index t, element index i), exact in float16, stored float32 as the published
files are:
  h = murmur3's 32-bit finaliser of (i · 2654435761 + (t + 1 + OFFSET) · 0x9E3779B9) mod 2³²
  value = ((h >> 21) − 1024) / 1024 · 2^-e,  e = 4 for biases, else round(log2(1 / sqrt(6 / fan_in)))
with fan_in the product of a convolution weight's dims after the first, and for a transposed convolution (weight
[in, out, k, k]) in · k · k; OFFSET 0 for sk_model.pth, 1000 for sk_model2.pth, 2000 for netG.pth; t counts the
tensors in state-dict order.

Realistic / coarse (sk_model.pth / sk_model2.pth): informative-drawings' Generator(3, 1, n_residual_blocks=3), every
norm nn.InstanceNorm2d (no affine, no running stats): model0 = ReflectionPad2d(3), Conv2d(3, 64, 7), IN, ReLU;
model1 = 2 × [Conv2d(c, 2c, 3, stride 2, padding 1), IN, ReLU]; model2 = 3 residual blocks x + [ReflectionPad2d(1),
Conv2d(256, 256, 3), IN, ReLU, ReflectionPad2d(1), Conv2d(256, 256, 3), IN](x); model3 = 2 × [ConvTranspose2d(c, c/2, 3,
stride 2, padding 1, output_padding 1), IN, ReLU]; model4 = ReflectionPad2d(3), Conv2d(64, 1, 7), Sigmoid.
Annotator: resize_image_with_pad (aux_preprocessors.resize_with_pad), the bytes as float / 255 into the network,
(line · 255).clip(0, 255) truncated to bytes, 255 − that, the padding cropped off.

Anime (netG.pth, keys prefixed module.): pix2pix's UnetGenerator(3, 1, num_downs 8, ngf 64) with
InstanceNorm2d(affine False, track_running_stats False), so every convolution has a bias; LeakyReLU(0.2) and ReLU in place
as published (the skip connection then reads the LeakyReLU'd input; the parent's ReLU makes that no different). Annotator (aux): resize_image_with_pad, then cv2 INTER_CUBIC to multiples of 256, the
bytes / 127.5 − 1 into the network, out · 127.5 + 127.5 clipped and truncated, cv2 INTER_AREA back to the padded size,
255 − that, cropped. The extension's lineart_anime instead resizes the float map back with INTER_CUBIC before clipping.

Run: /usr/bin/python3 tools/reference/make_lineart.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/lineart-reference.json [--anime] [--check]
"""
import base64
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aux_preprocessors import resize, resize_with_pad, test_image  # noqa: E402
from make_hed import hashed  # noqa: E402

OFFSETS = {"realistic": 0, "coarse": 1000, "anime": 2000}


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv_block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(True),
                                        nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))

    def forward(self, x):
        return x + self.conv_block(x)


class Generator(nn.Module):
    def __init__(self, blocks=3, mutation=None):
        super().__init__()
        self.model0 = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(3, 64, 7), nn.InstanceNorm2d(64), nn.ReLU(True))
        self.model1 = nn.Sequential(nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.InstanceNorm2d(128), nn.ReLU(True),
                                    nn.Conv2d(128, 256, 3, stride=2, padding=1), nn.InstanceNorm2d(256), nn.ReLU(True))
        self.model2 = nn.Sequential(*[Residual(256) for _ in range(blocks)])
        self.model3 = nn.Sequential(nn.ConvTranspose2d(256, 128, 3, stride=2, padding=1, output_padding=1), nn.InstanceNorm2d(128), nn.ReLU(True),
                                    nn.ConvTranspose2d(128, 64, 3, stride=2, padding=1, output_padding=1), nn.InstanceNorm2d(64), nn.ReLU(True))
        pad = nn.ZeroPad2d(3) if mutation == "zero_pad" else nn.ReflectionPad2d(3)
        self.model4 = nn.Sequential(pad, nn.Conv2d(64, 1, 7), nn.Sigmoid())
        self.mutation = mutation

    def forward(self, x):
        h = self.model1(self.model0(x))
        if self.mutation != "no_residual":
            h = self.model2(h)
        return self.model4(self.model3(h))


class Skip(nn.Module):
    """pix2pix's UnetSkipConnectionBlock with InstanceNorm (so biased convolutions), no dropout."""

    def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False, innermost=False, mutation=None):
        super().__init__()
        self.outermost = outermost
        input_nc = input_nc or outer
        down = nn.Conv2d(input_nc, inner, 4, stride=2, padding=1)
        up_norm = nn.Identity() if mutation == "no_up_norm" else nn.InstanceNorm2d(outer)
        if outermost:
            model = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1), nn.Tanh()]
        elif innermost:
            model = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1), up_norm]
        else:
            model = [nn.LeakyReLU(0.2, True), down, nn.InstanceNorm2d(inner), sub, nn.ReLU(True),
                     nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1), up_norm]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    def __init__(self, mutation=None):
        super().__init__()
        block = Skip(512, 512, innermost=True, mutation=mutation)
        for _ in range(3):
            block = Skip(512, 512, sub=block, mutation=mutation)
        block = Skip(256, 512, sub=block, mutation=mutation)
        block = Skip(128, 256, sub=block, mutation=mutation)
        block = Skip(64, 128, sub=block, mutation=mutation)
        self.model = Skip(1, 64, input_nc=3, sub=block, outermost=True, mutation=mutation)

    def forward(self, x):
        return self.model(x)


def exponent(name, shape, transposed):
    if name.endswith(".bias"):
        return 4
    fan_in = shape[0] * shape[2] * shape[3] if transposed else int(np.prod(shape[1:]))
    return int(round(np.log2(1 / np.sqrt(6.0 / fan_in))))


def state_dict(model, variant, prefix=""):
    """The deterministic weights of `model`'s state dict, in its order, as float32 arrays keyed as the file has them."""
    sd = {}
    transposed = {n + ".weight" for n, m in model.named_modules() if isinstance(m, nn.ConvTranspose2d)}
    for t, (name, p) in enumerate(model.state_dict().items()):
        shape = tuple(p.shape)
        sd[prefix + name] = hashed(t + OFFSETS[variant], int(np.prod(shape)), exponent(name, shape, name in transposed)).astype(np.float32).reshape(shape)
    return sd


def load(model, sd, prefix=""):
    model.load_state_dict({k[len(prefix):]: torch.from_numpy(v) for k, v in sd.items()})
    return model.eval()


def lineart(model, rgb, resolution):
    padded, th, tw = resize_with_pad(rgb, resolution)
    with torch.no_grad():
        x = torch.from_numpy(padded).float() / 255.0
        line = model(x.permute(2, 0, 1)[None])[0][0].numpy()
    line = (line * 255.0).clip(0, 255).astype(np.uint8)
    return (255 - line)[:th, :tw]


def anime(model, rgb, resolution, extension=False):
    padded, th, tw = resize_with_pad(rgb, resolution)
    H, W = padded.shape[:2]
    Hn, Wn = 256 * int(np.ceil(H / 256.0)), 256 * int(np.ceil(W / 256.0))
    img = resize(padded, Wn, Hn, "cubic")
    with torch.no_grad():
        x = torch.from_numpy(img).float() / 127.5 - 1.0
        line = (model(x.permute(2, 0, 1)[None])[0, 0] * 127.5 + 127.5).numpy()
    if extension:
        import cv2
        line = cv2.resize(line, (W, H), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)
    else:
        line = line.clip(0, 255).astype(np.uint8)
        line = resize(np.repeat(line[:, :, None], 3, axis=2), W, H, "area")[:, :, 0]
    return (255 - line)[:th, :tw]


def case(out, **fields):
    print(fields, out.shape, "mean", round(float(out.mean()), 2), "levels", len(np.unique(out)))
    return dict(fields, height=out.shape[0], width=out.shape[1], output=base64.b64encode(np.ascontiguousarray(out).tobytes()).decode())


def main(path, with_anime=False, check=False):
    torch.set_num_threads(2)
    rgb = test_image()
    cases = []
    for variant, resolution in (("realistic", 64), ("realistic", 96), ("coarse", 64)):
        sd = state_dict(Generator(), variant)
        out = lineart(load(Generator(), sd), rgb, resolution)
        cases.append(case(out, model=variant, resolution=resolution))
        for m in ("zero_pad", "no_residual"):
            diff = np.abs(lineart(load(Generator(mutation=m), sd), rgb, resolution).astype(int) - out.astype(int))
            print("  mutation", m, "differs at", int((diff > 1).sum()), "of", diff.size, "max", int(diff.max()))
        other = "coarse" if variant == "realistic" else "realistic"
        diff = np.abs(lineart(load(Generator(), state_dict(Generator(), other)), rgb, resolution).astype(int) - out.astype(int))
        print("  the", other, "weights differ at", int((diff > 1).sum()), "of", diff.size)
    data = {"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()}, "cases": cases}
    if with_anime:
        sd = state_dict(UnetGenerator(), "anime", "module.")
        net = load(UnetGenerator(), sd, "module.")
        anime_cases = []
        for resolution in (64, 96):
            out = anime(net, rgb, resolution)
            anime_cases.append(case(out, model="anime", resolution=resolution))
            diff = np.abs(anime(load(UnetGenerator("no_up_norm"), sd, "module."), rgb, resolution).astype(int) - out.astype(int))
            print("  mutation no_up_norm differs at", int((diff > 1).sum()), "of", diff.size, "max", int(diff.max()))
            if check:
                ext = anime(net, rgb, resolution, extension=True)
                print("  the extension's cubic resize back differs at", int((ext != out).sum()), "of", out.size)
        data["anime"] = anime_cases
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1], "--anime" in sys.argv[2:], "--check" in sys.argv[2:])
