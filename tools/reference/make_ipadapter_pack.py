"""Reference predictions of the tiny SD 1.x UNet with the tiny IP-Adapter (make_ipadapter.py) weighted as ComfyUI's
IPAdapter_plus pack weights it (its CrossAttentionPatch, restated here): per layer a weight from the weight type by the
transformer's running index t (input blocks, middle, output; 16 in the ease formulas, SD 1.5's layer tables), the weight
scaling the attention output ("V only") or the image keys and values ("K+V"; "w/ C penalty" times width / 1280;
"K+mean(V)" the keys and each image's mean value), and several images' embeddings (image a and its inverse) combined
before the projection.
Writes `pack-reference.safetensors` beside the adapter: the prediction at the sample, context and timestep of
reference.safetensors for each case named below.
Run: /usr/bin/python3 tools/reference/make_ipadapter_pack.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import clip_vision
import ipadapter
import sd1
from png_io import read_png
from safetensors_io import load, save

folder = sys.argv[1]
out = os.path.join(folder, "ipadapter")
unet_cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
base = {k: t.float() for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items() if k.startswith(sd1.UNET)}
adapter = {k: t.float() for k, t in load(os.path.join(out, "ip-adapter.safetensors")).items()}
ref = load(os.path.join(out, "reference.safetensors"))
sample, context, t = ref["e2e.sample"].float(), ref["e2e.encoder_hidden_states"].float(), ref["e2e.timestep"].float()
vision_cfg = clip_vision.VisionConfig()
vision = {k: (t.float() if t.is_floating_point() else t) for k, t in load(os.path.join(out, "clip-vision", "model.safetensors")).items()}
# Image a and its inverse (255 − each value: image.invert's 1 − x, rounded to 8 bits as the preprocessing does), one batch.
png_a = read_png(os.path.join(out, "image-a.png")).unsqueeze(0)
with torch.no_grad():
    embeds_a = clip_vision.vision_forward(vision, vision_cfg, clip_vision.preprocess(png_a.float() / 255, vision_cfg.image))[0]
    embeds_b = clip_vision.vision_forward(vision, vision_cfg, clip_vision.preprocess((255 - png_a).float() / 255, vision_cfg.image))[0]
assert (embeds_a - ref["a.image_embeds"].float()).abs().max() < 1e-5

# The transformers in the order ComfyUI runs them, which is its transformer_index: input blocks, middle, output blocks.
layers = ipadapter.cross_attention_layers(unet_cfg)
running = sorted((name for name, _ in layers), key=lambda n: (0 if ".input_blocks." in n else 1 if ".middle_block." in n else 2, int(n.split(".")[-2]) if "middle" not in n else 0))
t_idx = {name: i for i, name in enumerate(running)}
block = {name: "input" if ".input_blocks." in name else "middle" if ".middle_block." in name else "output" for name, _ in layers}
count = 16  # the pack's layer count for an adapter without key 101


def layer_weight(weight_type, weight, name):
    i, b = t_idx[name], block[name]
    if weight_type == "ease in":
        return weight * (0.05 + 0.95 * (1 - i / count))
    if weight_type == "ease out":
        return weight * (0.05 + 0.95 * (i / count))
    if weight_type == "ease in-out":
        return weight * (0.05 + 0.95 * (1 - abs(i - count / 2) / (count / 2)))
    if weight_type == "weak input":
        return weight * 0.2 if b == "input" else weight
    if weight_type == "strong middle":
        return weight * 0.2 if b in ("input", "output") else weight
    if weight_type == "composition":
        return {4: weight * 0.25, 5: weight}.get(i, 0)
    return weight


def attend(weight_type, weight, scaling, images):
    def f(name, q, ip_k, ip_v):
        w = layer_weight(weight_type, weight, name)
        if w == 0:
            return torch.zeros_like(q)
        if scaling == "V only":
            return sd1._attention(q, ip_k, ip_v, unet_cfg.num_heads) * w
        if scaling.endswith("C penalty"):
            w = w * (ip_k.shape[2] / 1280.0)
        ip_k = ip_k * w
        if scaling.startswith("K+mean(V)"):
            v = ip_v.reshape(ip_v.shape[0] * images, -1, ip_v.shape[2])
            mean = v.mean(dim=1, keepdim=True)
            ip_v = ((v - mean) + mean * w).reshape(ip_v.shape)
        else:
            ip_v = ip_v * w
        return sd1._attention(q, ip_k, ip_v, unet_cfg.num_heads)
    return f


def predict(embeds, weight_type="linear", weight=0.9, scaling="V only"):
    tokens = ipadapter.image_tokens(adapter, unet_cfg, embeds).reshape(1, -1, unet_cfg.context_dim)
    hook = ipadapter.unet_hook(adapter, unet_cfg, tokens, 0.0)
    hook["attend"] = attend(weight_type, weight, scaling, embeds.shape[0])
    return sd1.unet_forward(base, unet_cfg, sample, t, context, ip=hook)


both = torch.cat([embeds_a, embeds_b])
with torch.no_grad():
    tensors = {
        "ease_in": predict(embeds_a, "ease in"),
        "ease_in_out": predict(embeds_a, "ease in-out"),
        "weak_input": predict(embeds_a, "weak input"),
        "strong_middle": predict(embeds_a, "strong middle"),
        "composition": predict(embeds_a, "composition"),
        "k_v": predict(embeds_a, scaling="K+V"),
        "k_v_penalty": predict(embeds_a, weight=3.0, scaling="K+V w/ C penalty"),
        "k_mean_v_penalty": predict(both, weight=3.0, scaling="K+mean(V) w/ C penalty"),
        "add": predict(both.sum(0, keepdim=True)),
        "subtract": predict((both[0] - both[1:].mean(0)).unsqueeze(0)),
        "average": predict(both.mean(0, keepdim=True)),
        "norm_average": predict((both / torch.norm(both, dim=0, keepdim=True)).mean(0, keepdim=True)),
    }
save(os.path.join(out, "pack-reference.safetensors"), tensors)
print({k: float((v - ref["e2e.plain"].float()).abs().max()) for k, v in tensors.items()})
