"""The NormalBAE normal-map annotator (lllyasviel/Annotators' scannet.pt: Bae et al. 2021, "Estimating and Exploiting
the Aleatoric Uncertainty in Surface Normal Estimation"; comfyui_controlnet_aux's NormalBaeDetector, sd-webui-controlnet's
normal_bae), restated from its published definitions as torch operations on a state dict, on deterministic weights
(test data only).

The checkpoint: {"model": state dict}, keys "module."-prefixed (DataParallel; both loaders strip every "module.").
The network NNET = encoder + decoder, float32:
  encoder: geffnet's tf_efficientnet_b5_ap (channel multiplier 1.6, depth 2.2: stem 48, stages of 3, 5, 5, 7, 7, 9, 3
    blocks with 24, 40, 64, 128, 176, 304, 512 channels, head 2048), TensorFlow "same" padding (stride 2: the extra
    row/column at the bottom/right), BatchNorm eps 1e-3, swish x·sigmoid(x); convolutions without bias; the first stage
    depthwise-separable (dw k3, bn, swish, SE, pw, bn), the others inverted residuals (pw ×6, bn, swish, dw k, bn, swish,
    SE, pwl, bn), residual where stride 1 and in = out; SE: mean over the plane, 1×1 to in/4 (the block's input
    channels) + bias, swish, 1×1 back + bias, sigmoid gate. Features used: stage 0 (24 ch, 1/2), stage 1 (40, 1/4),
    stage 2 (64, 1/8), stage 4 (176, 1/16) and conv_head's output (2048, 1/32) before bn2 (bn2 is in the file, unused).
  decoder: conv2 (1×1 2048→2048), up1…up4 (bilinear align_corners to the skip's size, concat, 2 × (3×3 conv, BN eps 1e-5,
    LeakyReLU 0.01)) to 1024, 512, 256, 128 channels; out_conv_res8 (3×3 512→4) on up2's output, norm_normalize
    (xyz / (|xyz| + 1e-10), κ = elu(κ) + 1.01); then in eval mode every pixel is refined at 1/4, 1/2 and 1/1: the
    feature map (up2, up3, up4 outputs) and the previous prediction each ×2 bilinear align_corners, concatenated,
    four 1×1 layers (→128 ReLU →128 ReLU →128 ReLU →4) and norm_normalize. Output: the last prediction's xyz.
The annotator: resize_image_with_pad (aux_preprocessors.resize_with_pad; the extension's own is the same), /255,
ImageNet mean/std, the network, ((n + 1)·0.5).clip(0, 1)·255 truncated to bytes, RGB = (x, y, z), the padding cropped.
The weights: make_hed.py's hashed(t, n, e) with t the index in KEYS, plus an offset per kind (float16 storages, rounded
from float32 as the tests' C# rounds them).

Run: /usr/bin/python3 tools/reference/make_normal_bae.py tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/normal-bae-reference.json
"""
import base64
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aux_preprocessors import resize_with_pad, test_image  # noqa: E402
from make_hed import hashed  # noqa: E402

ENC = "encoder.original_model."
STEM = 48
# (type, repeats, kernel, stride, expansion, channels) after the B5 multipliers
STAGES = [("ds", 3, 3, 1, 1, 24), ("ir", 5, 3, 2, 6, 40), ("ir", 5, 5, 2, 6, 64), ("ir", 7, 3, 2, 6, 128),
          ("ir", 7, 5, 1, 6, 176), ("ir", 9, 5, 2, 6, 304), ("ir", 3, 3, 1, 6, 512)]
HEAD = 2048
UPS = [(2048 + 176, 1024), (1024 + 64, 512), (512 + 40, 256), (256 + 24, 128)]
REFINES = [("out_conv_res4", 512 + 4), ("out_conv_res2", 256 + 4), ("out_conv_res1", 128 + 4)]


def bn_keys(name, c):
    return [(f"{name}.{p}", (c,)) for p in ("weight", "bias", "running_mean", "running_var")]


def blocks():
    """(name, kind, in, mid, out, kernel, stride) per block, in order."""
    cin = STEM
    for s, (kind, repeats, k, stride, e, cout) in enumerate(STAGES):
        for r in range(repeats):
            yield f"{ENC}blocks.{s}.{r}", kind, cin, cin * e, cout, k, stride if r == 0 else 1
            cin = cout


def keys():
    out = [(f"{ENC}conv_stem.weight", (STEM, 3, 3, 3))] + bn_keys(f"{ENC}bn1", STEM)
    for name, kind, cin, mid, cout, k, _ in blocks():
        se = [(f"{name}.se.conv_reduce.weight", (cin // 4, mid, 1, 1)), (f"{name}.se.conv_reduce.bias", (cin // 4,)),
              (f"{name}.se.conv_expand.weight", (mid, cin // 4, 1, 1)), (f"{name}.se.conv_expand.bias", (mid,))]
        if kind == "ds":
            out += [(f"{name}.conv_dw.weight", (cin, 1, k, k))] + bn_keys(f"{name}.bn1", cin) + se
            out += [(f"{name}.conv_pw.weight", (cout, cin, 1, 1))] + bn_keys(f"{name}.bn2", cout)
        else:
            out += [(f"{name}.conv_pw.weight", (mid, cin, 1, 1))] + bn_keys(f"{name}.bn1", mid)
            out += [(f"{name}.conv_dw.weight", (mid, 1, k, k))] + bn_keys(f"{name}.bn2", mid) + se
            out += [(f"{name}.conv_pwl.weight", (cout, mid, 1, 1))] + bn_keys(f"{name}.bn3", cout)
    out += [(f"{ENC}conv_head.weight", (HEAD, 512, 1, 1))] + bn_keys(f"{ENC}bn2", HEAD)
    out += [("decoder.conv2.weight", (HEAD, HEAD, 1, 1)), ("decoder.conv2.bias", (HEAD,))]
    for i, (cin, cout) in enumerate(UPS):
        p = f"decoder.up{i + 1}._net."
        out += [(p + "0.weight", (cout, cin, 3, 3)), (p + "0.bias", (cout,))] + bn_keys(p + "1", cout)
        out += [(p + "3.weight", (cout, cout, 3, 3)), (p + "3.bias", (cout,))] + bn_keys(p + "4", cout)
    out += [("decoder.out_conv_res8.weight", (4, 512, 3, 3)), ("decoder.out_conv_res8.bias", (4,))]
    for name, cin in REFINES:
        for j, (a, b) in enumerate([(cin, 128), (128, 128), (128, 128), (128, 4)]):
            out += [(f"decoder.{name}.{2 * j}.weight", (b, a, 1)), (f"decoder.{name}.{2 * j}.bias", (b,))]
    return out


def scale(name, shape):
    """(offset, exponent) per kind: BatchNorms with small variances (so eps matters), about He-uniform weights; each
    block's last BatchNorm scaled down 4× more (its residual branch small), which keeps the activations near unit size
    through the 39 blocks (otherwise float32 and float64 runs of this network part at 128 px)."""
    if name.endswith("bn3.weight") or (".blocks.0." in name and name.endswith("bn2.weight")):
        return 2.0 ** -6, 8
    if name.endswith("running_var"):
        return 2.0 ** -8, 9
    if name.endswith("running_mean"):
        return 0.0, 6
    bn = len(shape) == 1 and (".bn" in name or "._net.1." in name or "._net.4." in name)
    if bn and name.endswith("weight"):
        return 2.0 ** -4, 6
    if bn or name.endswith("bias"):
        return 0.0, 4
    fan_in = int(np.prod(shape[1:]))
    return 0.0, int(round(math.log2(1 / math.sqrt(6.0 / fan_in))))


def weights():
    sd = {}
    for t, (name, shape) in enumerate(keys()):
        offset, e = scale(name, shape)
        v = (hashed(t, int(np.prod(shape)), e).astype(np.float32) + np.float32(offset)).astype(np.float16)
        sd[name] = torch.from_numpy(v.astype(np.float32).reshape(shape))
    return sd


def same_pad(x, k, s):
    """TensorFlow 'same': total (⌈n/s⌉ − 1)·s + k − n, the odd one at the end."""
    h, w = x.shape[2:]
    ph = max((math.ceil(h / s) - 1) * s + k - h, 0)
    pw = max((math.ceil(w / s) - 1) * s + k - w, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])


def conv(x, sd, name, stride=1, groups=1, m=None):
    w = sd[name + ".weight"]
    k = w.shape[2]
    if m == "no_same" or stride == 1:
        x = F.pad(x, [k // 2] * 4)
    else:
        x = same_pad(x, k, stride)
    return F.conv2d(x, w, sd.get(name + ".bias"), stride=stride, groups=groups)


def bn(x, sd, name, eps):
    return F.batch_norm(x, sd[name + ".running_mean"], sd[name + ".running_var"], sd[name + ".weight"], sd[name + ".bias"], False, 0.0, eps)


def swish(x):
    return x * torch.sigmoid(x)


def se(x, sd, name):
    s = x.mean((2, 3), keepdim=True)
    s = F.conv2d(swish(F.conv2d(s, sd[name + ".conv_reduce.weight"], sd[name + ".conv_reduce.bias"])), sd[name + ".conv_expand.weight"], sd[name + ".conv_expand.bias"])
    return x * torch.sigmoid(s)


def encoder(sd, x, m=None):
    eps = 1e-5 if m == "bn_eps" else 1e-3
    x = swish(bn(conv(x, sd, ENC + "conv_stem", 2, m=m), sd, ENC + "bn1", eps))
    feats = []
    for name, kind, cin, mid, cout, k, stride in blocks():
        y = x
        if kind == "ds":
            y = swish(bn(conv(y, sd, name + ".conv_dw", stride, cin, m), sd, name + ".bn1", eps))
            y = bn(conv(se(y, sd, name + ".se"), sd, name + ".conv_pw"), sd, name + ".bn2", eps)
        else:
            y = swish(bn(conv(y, sd, name + ".conv_pw"), sd, name + ".bn1", eps))
            y = swish(bn(conv(y, sd, name + ".conv_dw", stride, mid, m), sd, name + ".bn2", eps))
            y = bn(conv(se(y, sd, name + ".se"), sd, name + ".conv_pwl"), sd, name + ".bn3", eps)
        x = y + x if stride == 1 and cin == cout else y
        if name.endswith(f".{[r for _, r, *_ in STAGES][int(name.split('.')[-2])] - 1}"):
            feats.append(x)
    head = F.conv2d(x, sd[ENC + "conv_head.weight"])
    return feats[0], feats[1], feats[2], feats[4], head


def up2(x, size=None):
    return F.interpolate(x, size=size, scale_factor=None if size else 2, mode="bilinear", align_corners=True)


def norm_normalize(o):
    xyz, kappa = o[:, :3], o[:, 3:]
    n = torch.sqrt((xyz ** 2).sum(1, keepdim=True)) + 1e-10
    return torch.cat([xyz / n, F.elu(kappa) + 1.0 + 0.01], 1)


def decoder(sd, feats, m=None):
    b0, b1, b2, b3, b4 = feats
    x = F.conv2d(b4, sd["decoder.conv2.weight"], sd["decoder.conv2.bias"])
    outs = []
    for i, skip in enumerate([b3, b2, b1, b0]):
        p = f"decoder.up{i + 1}._net."
        x = torch.cat([up2(x, skip.shape[2:]), skip], 1)
        x = F.leaky_relu(bn(conv(x, sd, p + "0"), sd, p + "1", 1e-5), 0.01)
        x = F.leaky_relu(bn(conv(x, sd, p + "3"), sd, p + "4", 1e-5), 0.01)
        outs.append(x)
    pred = norm_normalize(conv(outs[1], sd, "decoder.out_conv_res8"))
    for (name, _), feat in zip(REFINES, outs[1:]):
        if m == "no_refine":
            pred = up2(pred)
            continue
        h = torch.cat([up2(feat), up2(pred)], 1)
        for j in range(4):
            h = F.conv2d(h, sd[f"decoder.{name}.{2 * j}.weight"][..., None], sd[f"decoder.{name}.{2 * j}.bias"])
            if j < 3:
                h = F.relu(h)
        pred = norm_normalize(h)
    return pred[:, :3]


MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def normal_bae(sd, rgb, resolution, m=None):
    padded, th, tw = resize_with_pad(rgb, resolution)
    x = torch.from_numpy(np.ascontiguousarray(padded)).float() / 255.0
    x = x.permute(2, 0, 1)[None]
    if m != "no_imagenet_norm":
        x = (x - torch.from_numpy(MEAN)[None, :, None, None]) / torch.from_numpy(STD)[None, :, None, None]
    n = decoder(sd, encoder(sd, x, m), m)
    if m == "bgr":
        n = n.flip(1)
    n = ((n + 1) * 0.5).clip(0, 1)
    image = (n[0].permute(1, 2, 0).numpy() * 255.0).clip(0, 255).astype(np.uint8)
    assert image.shape[:2] == padded.shape[:2]
    return np.ascontiguousarray(image[:th, :tw])


MUTATIONS = ["no_same", "bn_eps", "no_refine", "bgr", "no_imagenet_norm"]


def main(path):
    torch.set_grad_enabled(False)
    sd = weights()
    print("tensors", len(sd), "parameters", sum(v.numel() for v in sd.values()))
    rgb = test_image()
    cases = []
    for resolution in (64, 128):
        out = normal_bae(sd, rgb, resolution)
        cases.append(dict(resolution=resolution, height=out.shape[0], width=out.shape[1], normal=base64.b64encode(out.tobytes()).decode()))
        print(resolution, out.shape, "mean per channel", out.reshape(-1, 3).mean(0).round(2).tolist(), "levels", len(np.unique(out)))
        for m in MUTATIONS:
            d = np.abs(normal_bae(sd, rgb, resolution, m).astype(int) - out.astype(int))
            print("  mutation", m, "differs by > 1 at", int((d > 1).sum()), "of", d.size, "max", int(d.max()))
    data = {"image": {"height": rgb.shape[0], "width": rgb.shape[1], "rgb_hwc": base64.b64encode(rgb.tobytes()).decode()},
            "keys": [[n, list(s)] for n, s in keys()], "cases": cases}
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main(sys.argv[1])
