"""comfyui_controlnet_aux's TEED soft-edge annotator (TEDDetector over xavysp/TEED's TED, the network of
bdsqlsz/qinglong_controlnet-lllite's Annotators/7_model.pth), restated as torch modules from its published definition,
on deterministic weights (test data only).

The network (float32, on the RGB 0..255 image as it is, no mean taken off); Smish(x) = x · tanh(ln(1 + sigmoid(x))):
  block_1  = Smish(conv2(Smish(conv1(x))))          conv1 3→16 3×3 stride 2 padding 1, conv2 16→16 3×3 padding 1
  block_2  = conv2(Smish(conv1(block_1)))           16→32, 32→32, 3×3 padding 1, no activation after
  down     = maxpool 3×3 stride 2 padding 1 of block_2;  side = side_1 (1×1 16→32, stride 2) of block_1
  block_3  = 0.5 · (conv2(Smish(conv1(Smish(down + side)))) + pre_dense_3(down))
             dense conv1 32→48 3×3 padding 2, conv2 48→48 3×3 no padding; pre_dense_3 1×1 32→48
  up_block_i: per step a 1×1 convolution (16 features, 1 at the last step), Smish, a transposed convolution at stride 2
             (kernel 2 padding 0 for one step, kernel 4 padding 1 for two): up_block_1 (16, 1 step), _2 (32, 1), _3 (48, 2)
  block_cat (DoubleFusion): a = DWconv1(Smish(cat)) (3→24, groups 3), b = DWconv2(Smish(a)) (24 groups), Smish(Σ_c (a + b))
  outputs: [up_1, up_2, up_3, block_cat]
The annotator: resize_image_with_pad at the detect resolution (aux_preprocessors.resize_with_pad), the network, each
output cv2.resize'd INTER_LINEAR to the padded size (already that size: a copy), the float32 mean of the four, a float64
sigmoid, safe_step(x, safe_steps) (⌊(n + 1)·x⌋ / n in float32) unless safe_steps is 0, ×255 clipped and truncated to a
byte, the padding cropped off.
The weights: make_hed.py's hashed(t, n, e) with t the tensor's index in KEYS (state-dict order), float16 storages (exact).

Run: /usr/bin/python3 tools/reference/make_teed.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/teed-reference.json
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
from aux_preprocessors import resize_with_pad, test_image  # noqa: E402
from make_hed import hashed, safe_step  # noqa: E402

MUTATION = None  # set by the mutation runs below


def smish(x):
    if MUTATION == "relu":
        return F.relu(x)
    return x * torch.tanh(torch.log(1 + torch.sigmoid(x)))


class DoubleConv(nn.Module):
    def __init__(self, cin, mid, cout, stride=1, act=True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, mid, 3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(mid, cout, 3, padding=1)
        self.act = act

    def forward(self, x):
        x = self.conv2(smish(self.conv1(x)))
        return smish(x) if self.act else x


class DenseLayer(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=2)
        self.conv2 = nn.Conv2d(cout, cout, 3)

    def forward(self, x1, x2):
        return 0.5 * (self.conv2(smish(self.conv1(smish(x1)))) + x2)


class DenseBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.denselayer1 = DenseLayer(32, 48)


class Single(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride=stride)

    def forward(self, x):
        return self.conv(x)


class Smish(nn.Module):
    def forward(self, x):
        return smish(x)


class Up(nn.Module):
    def __init__(self, cin, steps):
        super().__init__()
        layers = []
        for i in range(steps):
            cout = 1 if i == steps - 1 else 16
            layers += [nn.Conv2d(cin, cout, 1), Smish(), nn.ConvTranspose2d(cout, cout, 2 ** steps, stride=2, padding=[0, 0, 1][steps])]
            cin = cout
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x)


class DoubleFusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.DWconv1 = nn.Conv2d(3, 24, 3, padding=1, groups=3)
        self.DWconv2 = nn.Conv2d(24, 24, 3, padding=1, groups=24)

    def forward(self, x):
        a = self.DWconv1(smish(x))
        b = self.DWconv2(smish(a))
        return smish((a + b).sum(1, keepdim=True))


class TED(nn.Module):
    def __init__(self):
        super().__init__()
        self.block_1 = DoubleConv(3, 16, 16, stride=2)
        self.block_2 = DoubleConv(16, 32, 32, act=False)
        self.dblock_3 = DenseBlock()
        self.side_1 = Single(16, 32, 2)
        self.pre_dense_3 = Single(32, 48, 1)
        self.up_block_1 = Up(16, 1)
        self.up_block_2 = Up(32, 1)
        self.up_block_3 = Up(48, 2)
        self.block_cat = DoubleFusion()

    def forward(self, x):
        b1 = self.block_1(x)
        side = self.side_1(b1)
        b2 = self.block_2(b1)
        down = F.max_pool2d(b2, 3, stride=2, padding=1)
        b3 = self.dblock_3.denselayer1(down + side, self.pre_dense_3(down))
        outs = [self.up_block_1(b1), self.up_block_2(b2), self.up_block_3(b3)]
        outs.append(self.block_cat(torch.cat(outs, 1)))
        return outs


def exponent(name, shape):
    """2^-e per tensor: ≈ He-uniform for weights (block_1.conv1 also scaled for 0..255 input; the upsampling and fusion
    weights ×4 so the logits spread over the sigmoid), small biases."""
    if name.endswith("bias"):
        return 4
    fan_in = int(np.prod(shape[1:]))
    e = int(round(np.log2(1 / np.sqrt(6.0 / fan_in))))
    if name == "block_1.conv1.weight":
        e += 6
    if name.startswith(("up_block", "block_cat")):
        e -= 2
    return e


def model():
    m = TED()
    sd = {}
    for t, (name, p) in enumerate(m.state_dict().items()):
        sd[name] = torch.from_numpy(hashed(t, p.numel(), exponent(name, tuple(p.shape))).astype(np.float32).reshape(p.shape))
    m.load_state_dict(sd, strict=True)
    return m.eval()


def teed(m, rgb, resolution, safe_steps, mutation=None):
    global MUTATION
    MUTATION = mutation
    padded, th, tw = resize_with_pad(rgb, resolution)
    x = padded[:, :, ::-1] if mutation == "bgr" else padded
    x = torch.from_numpy(x.copy()).float().permute(2, 0, 1)[None]
    with torch.no_grad():
        edges = [e.numpy().astype(np.float32)[0, 0] for e in m(x)]
    assert all(e.shape == padded.shape[:2] for e in edges)
    edge = 1 / (1 + np.exp(-np.mean(np.stack(edges, axis=2), axis=2).astype(np.float64)))
    if safe_steps != 0 and mutation != "no_safe_step":
        edge = safe_step(edge, safe_steps)
    MUTATION = None
    return (edge * 255.0).clip(0, 255).astype(np.uint8)[:th, :tw]


def main(path):
    torch.set_num_threads(1)
    m = model()
    for name, p in m.state_dict().items():
        print("  key", name, tuple(p.shape))
    rgb = test_image()
    cases = []
    for resolution, steps in ((64, 0), (64, 2), (128, 0), (128, 5)):
        out = teed(m, rgb, resolution, steps)
        cases.append(dict(resolution=resolution, safe_steps=steps, height=out.shape[0], width=out.shape[1],
                          output=base64.b64encode(out.tobytes()).decode()))
        print(resolution, steps, out.shape, "mean", round(float(out.mean()), 2), "levels", len(np.unique(out)),
              sorted(np.unique(out).tolist())[:8], "min", int(out.min()), "max", int(out.max()))
        for mutation in ("relu", "bgr", "no_safe_step"):
            if mutation == "no_safe_step" and steps == 0:
                continue
            diff = np.abs(teed(m, rgb, resolution, steps, mutation).astype(int) - out.astype(int))
            print("  mutation", mutation, "differs at", int((diff > 1).sum()), "of", diff.size, "max", int(diff.max()))
    data = {"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()},
            "cases": cases}
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1])
