"""Writes a tiny IP-Adapter Plus (ipadapter.py: a Resampler image projection over the CLIP tower's penultimate hidden
states) for the tiny SD 1.x checkpoint and its tiny CLIP tower (both committed by make_sd1_checkpoints.py and
make_ipadapter.py), and its references, into `ipadapter/`: `ip-adapter-plus.safetensors` (the released
ip-adapter-plus_sd15 layout, F16: 16 latents 48 wide, 2 layers of 2 heads of 64, proj_out to the context width 64) and
`plus-reference.safetensors`: the tower's penultimate hidden states of image a, image b and of zero pixel values (the
unconditional side, as the original IP-Adapter and diffusers make it), the Resampler's tokens of image a and of the zero
image, keys and values of image a, and the UNet's prediction (the same inputs as reference.safetensors' e2e.*) with image
a's tokens at 0.7, with the zero image's at 0.7, and with both images' tokens concatenated at 0.5.
Run: /usr/bin/python3 tools/reference/make_ipadapter_plus.py tests/FlowDiffusion.Checkpoints.Tests/TestData/sd1-tiny"""
import os
import sys

import torch

import clip_vision
import ipadapter
import sd1
from safetensors_io import load, save

folder = sys.argv[1]
out = os.path.join(folder, "ipadapter")
unet_cfg = sd1.UNetConfig(model_channels=32, channel_mult=(2, 1), num_res_blocks=1, attention_levels=(1,), num_heads=8, context_dim=64)
vision_cfg = clip_vision.VisionConfig()
base = {k: t.float() for k, t in load(os.path.join(folder, "ldm-fp16.safetensors")).items() if k.startswith(sd1.UNET)}
vision = {k: t.float() for k, t in load(os.path.join(out, "clip-vision", "model.safetensors")).items()}
reference = {k: t.float() for k, t in load(os.path.join(out, "reference.safetensors")).items()}
plus = ipadapter.resampler_weights(unet_cfg.context_dim, vision_cfg.width, dim=48, inner=128, depth=2, tokens=16)
plus = {k: t.half().float() for k, t in ipadapter.layer_weights(plus, unet_cfg).items()}
save(os.path.join(out, "ip-adapter-plus.safetensors"), {k: t.half() for k, t in plus.items()})

tensors = {}
with torch.no_grad():
    states = {}
    for name in ("a", "b"):
        _, _, states[name] = clip_vision.vision_forward(vision, vision_cfg, reference[f"{name}.pixel_values"])
    _, _, states["zero"] = clip_vision.vision_forward(vision, vision_cfg, torch.zeros_like(reference["a.pixel_values"]))
    tokens = {name: ipadapter.resampler_tokens(plus, s) for name, s in states.items()}

    def unet(image_tokens, scale):
        hook = ipadapter.unet_hook(plus, unet_cfg, image_tokens, scale)
        return sd1.unet_forward(base, unet_cfg, reference["e2e.sample"], reference["e2e.timestep"], reference["e2e.encoder_hidden_states"], ip=hook)

    for name, s in states.items():
        tensors[f"{name}.penultimate_hidden_states"] = s
    tensors.update({
        "a.tokens": tokens["a"], "zero.tokens": tokens["zero"],
        "e2e.adapted": unet(tokens["a"], 0.7), "e2e.uncond": unet(tokens["zero"], 0.7),
        "e2e.two_images": unet(torch.cat([tokens["a"], tokens["b"]], dim=1), 0.5),
    })
    for n, _ in enumerate(ipadapter.cross_attention_layers(unet_cfg)):
        tensors[f"a.ip_key_{n}"] = tokens["a"] @ plus[f"ip_adapter.{2 * n + 1}.to_k_ip.weight"].T
        tensors[f"a.ip_value_{n}"] = tokens["a"] @ plus[f"ip_adapter.{2 * n + 1}.to_v_ip.weight"].T
save(os.path.join(out, "plus-reference.safetensors"), tensors)
print({k: tuple(v.shape) for k, v in tensors.items() if not k.startswith("a.ip_")},
      "adapted-plain", float((tensors["e2e.adapted"] - reference["e2e.plain"]).abs().max()),
      "uncond-plain", float((tensors["e2e.uncond"] - reference["e2e.plain"]).abs().max()))
