"""Reference predictions with ComfyUI's PatchModelAddDownscale ("Kohya Deep Shrink", comfy_extras/nodes_model_downscale.py),
written here from its definition: at input block `block_number` (ids counted from conv_in, 0), while the step's sigma lies
in [percent_to_sigma(end_percent), percent_to_sigma(start_percent)], the backbone h is resized by common_upscale to
(round(w * (1 / factor)), round(h * (1 / factor))) (Python's round) with the downscale method, before the block's skip is
kept or after it (downscale_after_skip); before each decoder concatenation whose backbone height differs from the skip's,
the backbone is resized to the skip's size with the upscale method. common_upscale's methods here are torch's
F.interpolate(size=(height, width), mode=method) (align_corners False, no antialiasing; "area" is adaptive average
pooling, both ways) and, for "bislerp", comfy.utils.bislerp written below from its definition; ComfyUI's Upsample goes to
the next skip's size by "nearest".
On the tiny SD 1.x checkpoint (TestData/sd1-tiny, model_channels 32, widths 64/32: input blocks 0 conv_in, 1 res,
2 downsampler, 3 res + transformer) at seeded inputs of odd size, and on the tiny SDXL checkpoint (TestData/sdxl-tiny)
on its own reference inputs; and the resize alone (`resize.*`) at odd sizes for each method the graph has.
Writes `reference.safetensors`: inputs, the plain prediction and one per case (`<case>.out_sample`, its settings in
`<case>.params`: block, factor, after_skip, down method index, up method index; methods bicubic 0, nearest-exact 1,
bilinear 2, area 3, bislerp 4), and `bislerp.hand.*`: a 3 x 2 pair of 2-channel pixels widened to 3 x 3, whose middle
column has a closed form (checked here).
Run: /usr/bin/python3 tools/reference/make_deep_shrink.py tests/FlowDiffusion.Checkpoints.Tests/TestData"""
import os
import sys

import torch
import torch.nn.functional as F

import sd1
import sdxl
from safetensors_io import load, save

data = sys.argv[1]
methods = ["bicubic", "nearest-exact", "bilinear", "area", "bislerp"]


def neighbours(old, new):
    """comfy.utils.bislerp's generate_bilinear_data: torch's bilinear interpolation of the ramps 0 … old−1 and 1 … old−1, old−1
    (align_corners False), truncated to indices; the ratio is the first ramp's fractional part."""
    ramp = torch.arange(old, dtype=torch.float32).reshape(1, 1, 1, old)
    first = F.interpolate(ramp, size=(1, new), mode="bilinear").reshape(new)
    shifted = ramp + 1
    shifted[..., -1] -= 1
    second = F.interpolate(shifted, size=(1, new), mode="bilinear").reshape(new)
    # The graph computes these indices exactly, from ((2i + 1)·old − new) / 2new; float32 rounding must not move them here.
    exact = [min(max((2 * i + 1) * old - new, 0) // (2 * new), old - 1) for i in range(new)]
    assert first.long().tolist() == exact and second.long().tolist() == [min(e + 1, old - 1) for e in exact], (old, new)
    return first.long(), second.long(), first - first.floor()


def slerp(a, b, r):
    """comfy.utils.bislerp's slerp over rows of [rows, channels] at ratios r [rows, 1]."""
    channels = a.shape[-1]
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na, b / nb
    ua[na.expand(-1, channels) == 0.0] = 0.0
    ub[nb.expand(-1, channels) == 0.0] = 0.0
    dot = (ua * ub).sum(1)
    omega = torch.acos(dot)
    so = torch.sin(omega)
    out = (torch.sin((1.0 - r.squeeze(1)) * omega) / so).unsqueeze(1) * ua + (torch.sin(r.squeeze(1) * omega) / so).unsqueeze(1) * ub
    out *= (na * (1.0 - r) + nb * r).expand(-1, channels)
    out[dot > 1 - 1e-5] = a[dot > 1 - 1e-5]
    out[dot < 1e-5 - 1] = (a * (1.0 - r) + b * r)[dot < 1e-5 - 1]
    return out


def bislerp(x, width, height):
    """comfy.utils.bislerp: the width pass, then the height pass, each a slerp of gathered neighbour vectors."""
    n, c, h, w = x.shape
    first, second, ratio = neighbours(w, width)
    a = x[:, :, :, first].movedim(1, -1).reshape(-1, c)
    b = x[:, :, :, second].movedim(1, -1).reshape(-1, c)
    x = slerp(a, b, ratio.expand(n, h, width).reshape(-1, 1)).reshape(n, h, width, c).movedim(-1, 1)
    first, second, ratio = neighbours(h, height)
    a = x[:, :, first, :].movedim(1, -1).reshape(-1, c)
    b = x[:, :, second, :].movedim(1, -1).reshape(-1, c)
    ratio = ratio.reshape(1, height, 1).expand(n, height, width).reshape(-1, 1)
    return slerp(a, b, ratio).reshape(n, height, width, c).movedim(-1, 1)


def common_upscale(x, width, height, method):
    return bislerp(x, width, height) if method == "bislerp" else F.interpolate(x, size=(height, width), mode=method)


def deep_shrink(block_number, factor, after_skip, down, up):
    """The patch inside its sigma window: (input patch, after-skip patch, output patch) as the forwards take them."""
    def input_block_patch(h, block):
        if block == block_number:
            h = common_upscale(h, round(h.shape[-1] * (1.0 / factor)), round(h.shape[-2] * (1.0 / factor)), down)
        return h

    def output_block_patch(h, hsp):
        if h.shape[2] != hsp.shape[2]:
            h = common_upscale(h, hsp.shape[-1], hsp.shape[-2], up)
        return h, hsp

    patches = {"output_patch": output_block_patch}
    patches["input_patch_after_skip" if after_skip else "input_patch"] = input_block_patch
    return patches


cases = {
    # name: block, factor, after skip, down, up
    "defaults_block1": (1, 2.0, True, "bicubic", "bicubic"),
    "block2_bilinear_nearest": (2, 1.5, True, "bilinear", "nearest-exact"),
    "block1_before_skip": (1, 2.0, False, "nearest-exact", "bilinear"),
    "block3_odd": (3, 1.7, True, "bicubic", "bilinear"),
    "block2_before_skip_bicubic": (2, 2.5, False, "bicubic", "bicubic"),
    # Block 2's output is 11 x 9: halved, 5.5 rounds to 6 and 4.5 to 4 (half to even, not half up).
    "block2_ties": (2, 2.0, True, "bilinear", "bicubic"),
    "block1_area": (1, 2.0, True, "area", "area"),
    "block2_area_odd": (2, 1.5, False, "area", "bilinear"),
    "block1_bislerp": (1, 2.0, True, "bislerp", "bislerp"),
    "block2_bislerp_odd": (2, 1.7, False, "bislerp", "area"),
}

cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
sd = {k: t.float() for k, t in load(os.path.join(data, "sd1-tiny", "ldm-fp16.safetensors")).items() if k.startswith(sd1.UNET)}
g = torch.Generator().manual_seed(71)
sample = torch.randn(2, 4, 22, 18, generator=g)
timestep = torch.tensor([999.0, 17.0])
context = torch.randn(2, 7, 64, generator=g)
out = {"sample": sample, "timestep": timestep, "encoder_hidden_states": context}
with torch.no_grad():
    out["plain.out_sample"] = sd1.unet_forward(sd, cfg, sample, timestep, context)
    for name, (block, factor, after, down, up) in cases.items():
        out[name + ".out_sample"] = sd1.unet_forward(sd, cfg, sample, timestep, context, **deep_shrink(block, factor, after, down, up))
        out[name + ".params"] = torch.tensor([block, factor, 1.0 if after else 0.0, methods.index(down), methods.index(up)])

    # SDXL: the tiny checkpoint at its UNet configuration (make_pag.py's), ComfyUI's default methods at block 2.
    tiny = os.path.join(data, "sdxl-tiny")
    xl = {k: t.float() for k, t in load(os.path.join(tiny, "sdxl-fp16.safetensors")).items() if k.startswith(sdxl.UNET)}
    xl_cfg = sdxl.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, transformer_depth=(0, 2), context_dim=64, pooled_dim=40)
    r = load(os.path.join(tiny, "reference.safetensors"))
    args = (r["unet.sample"], r["unet.timestep"], r["unet.encoder_hidden_states"], r["unet.text_embeds"], r["unet.time_ids"])
    assert (sdxl.unet_forward(xl, xl_cfg, *args) - r["unet.out_sample"]).abs().max() < 1e-4, "the SDXL configuration is not the checkpoint's"
    out["sdxl.out_sample"] = sdxl.unet_forward(xl, xl_cfg, *args, **deep_shrink(2, 2.0, True, "bicubic", "bicubic"))
    out["sdxl.params"] = torch.tensor([2, 2.0, 1.0, 0, 0])
    out["sdxl_area_bislerp.out_sample"] = sdxl.unet_forward(xl, xl_cfg, *args, **deep_shrink(1, 2.0, True, "bislerp", "area"))
    out["sdxl_bislerp_area.out_sample"] = sdxl.unet_forward(xl, xl_cfg, *args, **deep_shrink(2, 1.5, False, "area", "bislerp"))

    # The resize alone: [1, 3, 7, 9] to odd sizes, down and up, and [1, 2, 16, 16] halved.
    x = torch.randn(1, 3, 7, 9, generator=g)
    y = torch.randn(1, 2, 16, 16, generator=g)
    out["resize.x"], out["resize.y"] = x, y
    for method in methods:
        for (height, width) in [(4, 5), (11, 13), (3, 9), (1, 2)]:
            out[f"resize.x.{method}.{height}x{width}"] = common_upscale(x, width, height, method)
        out[f"resize.y.{method}.8x8"] = common_upscale(y, 8, 8, method)

    # bislerp by hand: rows (1, 0) → (0, 2) (a right angle, lengths 1 and 2), (1, 0) → (−3, 0) (opposite: lerped) and
    # (0, 0) → (0, 2) (a zero vector: its direction is 0) widened from 2 to 3 columns. The middle column's source is
    # (1 + ½)·2/3 − ½ = ½: ratio ½ between columns 0 and 1, so the slerps are sin(π/4)·(1, 0) + sin(π/4)·(0, 1) times
    # the mean length 1.5, the lerp (−1, 0), and sin(π/4)·(0, 1) times the mean length 1; the outer columns (sources
    # 0 and 7/6 → the last column) keep their pixels, and 3 rows to 3 keep every row.
    hand = torch.tensor([[[1.0, 0.0], [1.0, -3.0], [0.0, 0.0]], [[0.0, 2.0], [0.0, 0.0], [0.0, 2.0]]]).unsqueeze(0)
    widened = bislerp(hand, 3, 3)
    half = 2 ** -0.5
    expected_middle = torch.tensor([[1.5 * half, -1.0, 0.0], [1.5 * half, 0.0, half]])
    assert (widened[0, :, :, 1] - expected_middle).abs().max() < 1e-6, widened
    assert (widened[0, :, :, 0] - hand[0, :, :, 0]).abs().max() < 1e-6 and (widened[0, :, :, 2] - hand[0, :, :, 1]).abs().max() < 1e-6
    out["bislerp.hand.x"], out["bislerp.hand.y"] = hand, widened

# Python's round is half to even: 5 / 2 = 2.5 -> 2, 7 / 2 = 3.5 -> 4; the graph must round the same way.
assert round(5 * (1.0 / 2.0)) == 2 and round(7 * (1.0 / 2.0)) == 4
os.makedirs(os.path.join(data, "deep-shrink"), exist_ok=True)
save(os.path.join(data, "deep-shrink", "reference.safetensors"), out)
print({k: float((v - out["plain.out_sample"]).abs().max()) for k, v in out.items() if k.endswith(".out_sample") and not k.startswith("sdxl")})
