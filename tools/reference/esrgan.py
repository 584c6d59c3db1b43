"""ESRGAN's generator (RRDBNet), written from the paper (Wang et al. 2018, "ESRGAN: Enhanced Super-Resolution Generative
Adversarial Networks", section 3.1 and figure 4) as functions over a state dict in the names its published weights use
(Real-ESRGAN's `conv_first`, `body.N.rdb1..3.conv1..5`, `conv_body`, `conv_up1/2`, `conv_hr`, `conv_last`); `old_names`
gives the original ESRGAN repository's sequential layout (`model.0`, `model.1.sub.N.RDB1.conv1.0`, ...). No ESRGAN,
BasicSR or spandrel code.

- Residual dense block: five 3x3 convolutions, the k-th seeing the block input and every earlier output concatenated;
  the first four followed by LeakyReLU(0.2); the block returns x + 0.2 * conv5 (residual scaling).
- RRDB: three dense blocks in sequence, returning x + 0.2 * their output.
- Trunk: conv_first, N RRDBs, conv_body, added to conv_first's output; then per factor 2 a nearest x2 upsampling and
  a 3x3 convolution with LeakyReLU(0.2); conv_hr with LeakyReLU(0.2), conv_last.
- Real-ESRGAN's x2 and x1 models first pixel-unshuffle the image (factor 2 or 4) and keep the x4 upsampling.
"""
import torch
import torch.nn.functional as F

from sd1 import Weights

SLOPE = 0.2
RESIDUAL_SCALE = 0.2


def weights(in_nc=3, out_nc=3, nf=8, gc=4, blocks=2, upsamples=2, unshuffle=1, seed=31):
    w = Weights(seed)
    w.conv("conv_first", in_nc * unshuffle * unshuffle, nf, 3)
    for b in range(blocks):
        for r in (1, 2, 3):
            for k in range(1, 6):
                w.conv(f"body.{b}.rdb{r}.conv{k}", nf + (k - 1) * gc, gc if k < 5 else nf, 3)
    w.conv("conv_body", nf, nf, 3)
    for u in range(1, upsamples + 1):
        w.conv(f"conv_up{u}", nf, nf, 3)
    w.conv("conv_hr", nf, nf, 3)
    w.conv("conv_last", nf, out_nc, 3)
    w.sd["conv_last.bias"] += 0.5  # outputs around mid-grey, as an image's are, so the clamped result is not mostly 0
    return w.sd


def _conv(sd, name, x):
    return F.conv2d(x, sd[name + ".weight"], sd[name + ".bias"], padding=1)


def _lrelu(x):
    return F.leaky_relu(x, SLOPE)


def _dense(sd, name, x):
    feats = [x]
    for k in range(1, 5):
        feats.append(_lrelu(_conv(sd, f"{name}.conv{k}", torch.cat(feats, 1))))
    return x + RESIDUAL_SCALE * _conv(sd, f"{name}.conv5", torch.cat(feats, 1))


def forward(sd, x, unshuffle=1):
    if unshuffle > 1:
        x = F.pixel_unshuffle(x, unshuffle)
    feat = _conv(sd, "conv_first", x)
    h = feat
    blocks = len({k.split(".")[1] for k in sd if k.startswith("body.")})
    for b in range(blocks):
        y = h
        for r in (1, 2, 3):
            y = _dense(sd, f"body.{b}.rdb{r}", y)
        h = h + RESIDUAL_SCALE * y
    h = feat + _conv(sd, "conv_body", h)
    u = 1
    while f"conv_up{u}.weight" in sd:
        h = _lrelu(_conv(sd, f"conv_up{u}", F.interpolate(h, scale_factor=2.0, mode="nearest")))
        u += 1
    return _conv(sd, "conv_last", _lrelu(_conv(sd, "conv_hr", h)))


def old_names(sd):
    """The original ESRGAN layout: model.0 conv_first; model.1.sub.N.RDBr.convk.0 the blocks and model.1.sub.<blocks>
    conv_body (one ShortcutBlock); then per upsampling [Upsample, conv, LeakyReLU] so the convolutions sit at model.3,
    model.6, ...; then conv_hr, LeakyReLU, conv_last."""
    blocks = len({k.split(".")[1] for k in sd if k.startswith("body.")})
    ups = len({k.split(".")[0] for k in sd if k.startswith("conv_up")})
    out = {}
    for key, t in sd.items():
        module, _, suffix = key.rpartition(".")
        parts = module.split(".")
        if module == "conv_first":
            name = "model.0"
        elif parts[0] == "body":
            name = f"model.1.sub.{parts[1]}.RDB{parts[2][3:]}.{parts[3]}.0"
        elif module == "conv_body":
            name = f"model.1.sub.{blocks}"
        elif module.startswith("conv_up"):
            name = f"model.{3 * int(module[7:])}"
        elif module == "conv_hr":
            name = f"model.{3 * ups + 2}"
        else:
            name = f"model.{3 * ups + 4}"
        out[f"{name}.{suffix}"] = t
    return out
