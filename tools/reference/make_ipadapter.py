"""Writes a tiny CLIP image tower and a tiny IP-Adapter for the tiny SD 1.x checkpoint (make_sd1_checkpoints.py: widths
64/32, attention on the second level: four cross-attention layers) and reference outputs, for the C# builders' tests:
`clip-vision/` (model.safetensors in CLIPVisionModelWithProjection names, F16, and config.json), `ip-adapter.safetensors` (the released
ip-adapter_sd15 layout, F16), two 8-bit images (`image-a.png` 56x40, shrunk and cropped; `image-b.png` 24x24, enlarged)
and `reference.safetensors`: each image's preprocessed pixels and image_embeds, the adapter's tokens for image a and for
zero embeddings (the unconditional side), and the checkpoint UNet's prediction without the adapter, with image a at 0.7,
with the zero-embedding tokens at 0.7, and with both images' tokens concatenated at 0.5.
Weights are rounded to float16 first, so the files hold them exactly.
Run: /usr/bin/python3 tools/reference/make_ipadapter.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import json
import os
import sys

import torch

import clip_vision
import ipadapter
import sd1
from png_io import write_png
from safetensors_io import load, save

folder = sys.argv[1]
out = os.path.join(folder, "ipadapter")
os.makedirs(out, exist_ok=True)
unet_cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
vision_cfg = clip_vision.VisionConfig()
base = {k: t.float() for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items() if k.startswith(sd1.UNET)}
vision = {k: (t.half().float() if t.is_floating_point() else t) for k, t in clip_vision.vision_weights(vision_cfg).items()}
adapter = {k: t.half().float() for k, t in ipadapter.adapter_weights(unet_cfg, vision_cfg.projection).items()}
# The tower as IP-Adapter's image_encoder folder: model.safetensors and the config.json that names heads and activation.
os.makedirs(os.path.join(out, "clip-vision"), exist_ok=True)
save(os.path.join(out, "clip-vision", "model.safetensors"), {k: (t.half() if t.is_floating_point() else t) for k, t in vision.items()})
with open(os.path.join(out, "clip-vision", "config.json"), "w") as f:
    json.dump({"architectures": ["CLIPVisionModelWithProjection"], "hidden_act": "gelu", "hidden_size": vision_cfg.width,
               "image_size": vision_cfg.image, "intermediate_size": 4 * vision_cfg.width, "layer_norm_eps": 1e-05,
               "num_attention_heads": vision_cfg.heads, "num_hidden_layers": vision_cfg.layers, "patch_size": vision_cfg.patch,
               "projection_dim": vision_cfg.projection}, f, indent=2)
save(os.path.join(out, "ip-adapter.safetensors"), {k: t.half() for k, t in adapter.items()})

g = torch.Generator().manual_seed(31)
# Smooth images (a low-resolution random field, enlarged) so the resize has something to keep, quantised to 8 bits.
png_a = (torch.nn.functional.interpolate(torch.rand(1, 3, 5, 7, generator=g), size=(40, 56), mode="bilinear") * 255).round().to(torch.uint8)
png_b = torch.randint(0, 256, (1, 3, 24, 24), generator=g, dtype=torch.uint8)
write_png(os.path.join(out, "image-a.png"), png_a[0])
write_png(os.path.join(out, "image-b.png"), png_b[0])

tensors = {}
with torch.no_grad():
    embeds = {}
    for name, png in (("a", png_a), ("b", png_b)):
        pixels = clip_vision.preprocess(png.float() / 255, vision_cfg.image)
        image_embeds, last, penultimate = clip_vision.vision_forward(vision, vision_cfg, pixels)
        embeds[name] = image_embeds
        tensors.update({f"{name}.pixel_values": pixels, f"{name}.image_embeds": image_embeds, f"{name}.last_hidden_state": last})
    tokens_a = ipadapter.image_tokens(adapter, unet_cfg, embeds["a"])
    tokens_b = ipadapter.image_tokens(adapter, unet_cfg, embeds["b"])
    uncond = ipadapter.image_tokens(adapter, unet_cfg, torch.zeros_like(embeds["a"]))
    sample = torch.randn(1, 4, 8, 8, generator=g)
    context = torch.randn(1, 77, 64, generator=g)
    t = torch.tensor([999.0])

    def unet(tokens=None, scale=0.0):
        hook = None if tokens is None else ipadapter.unet_hook(adapter, unet_cfg, tokens, scale)
        return sd1.unet_forward(base, unet_cfg, sample, t, context, ip=hook)

    tensors.update({
        "a.tokens": tokens_a, "uncond.tokens": uncond,
        "e2e.sample": sample, "e2e.encoder_hidden_states": context, "e2e.timestep": t,
        "e2e.plain": unet(), "e2e.adapted": unet(tokens_a, 0.7), "e2e.uncond": unet(uncond, 0.7),
        "e2e.two_images": unet(torch.cat([tokens_a, tokens_b], dim=1), 0.5),
    })
    for n, (name, _) in enumerate(ipadapter.cross_attention_layers(unet_cfg)):
        k, v = adapter[f"ip_adapter.{2 * n + 1}.to_k_ip.weight"], adapter[f"ip_adapter.{2 * n + 1}.to_v_ip.weight"]
        tensors[f"a.ip_key_{n}"] = tokens_a @ k.T
        tensors[f"a.ip_value_{n}"] = tokens_a @ v.T
save(os.path.join(out, "reference.safetensors"), tensors)
print({k: float(v.abs().mean()) for k, v in tensors.items() if k.startswith("e2e.") and v.dim() == 4},
      "adapted-plain", float((tensors["e2e.adapted"] - tensors["e2e.plain"]).abs().max()))
