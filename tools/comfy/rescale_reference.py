#!/usr/bin/env python3
"""Reference values for ComfyUI's RescaleCFG, computed with torch (float64) the way ComfyUI's data flows: the model's
ε or v predictions are turned into denoised images (k-diffusion's x = x0 + σ·noise; ε: x0 = x − σ·ε; v: x0 = x/(σ²+1) −
v·σ/√(σ²+1)), ComfyUI's cfg function hands the sampler_cfg_function cond = x − x0_cond and uncond = x − x0_uncond, the
RescaleCFG function (written from its published definition) returns the noise, cfg_result = x − noise, and the result is
turned back into the model's ε or v. FlowDiffusion computes it in the model's terms instead, so this checks that algebra.

Usage: /usr/bin/python3 tools/comfy/rescale_reference.py > tests/FlowDiffusion.Diffusion.Tests/TestData/comfy/rescale_cfg.json
"""
import json
import torch

def rescale_cfg(cond, uncond, cond_scale, sigma, x_orig, multiplier):
    # ComfyUI comfy_extras/nodes_model_advanced.py RescaleCFG: the noises cond/uncond moved to v-space, rescaled there.
    x = x_orig / (sigma * sigma + 1.0)
    cond = ((x - (x_orig - cond)) * (sigma ** 2 + 1.0) ** 0.5) / sigma
    uncond = ((x - (x_orig - uncond)) * (sigma ** 2 + 1.0) ** 0.5) / sigma
    x_cfg = uncond + cond_scale * (cond - uncond)
    ro_pos = torch.std(cond, dim=(1, 2, 3), keepdim=True)
    ro_cfg = torch.std(x_cfg, dim=(1, 2, 3), keepdim=True)
    x_rescaled = x_cfg * (ro_pos / ro_cfg)
    x_final = multiplier * x_rescaled + (1.0 - multiplier) * x_cfg
    return x_orig - (x - x_final * sigma / (sigma * sigma + 1.0) ** 0.5)

def case(seed, prediction, sigma, scale, multiplier, shape=(2, 4, 5, 6)):
    g = torch.Generator().manual_seed(seed)
    x_in = torch.randn(shape, generator=g, dtype=torch.float64)
    cond = torch.randn(shape, generator=g, dtype=torch.float64)
    uncond = cond + 0.5 * torch.randn(shape, generator=g, dtype=torch.float64)
    x_in, cond, uncond = (t.float().double() for t in (x_in, cond, uncond))  # the values the C# test gets, in float32
    a = (sigma * sigma + 1.0) ** 0.5
    x_orig = x_in * a
    def denoised(out):
        return x_orig - sigma * out if prediction == "epsilon" else x_orig / (sigma * sigma + 1.0) - out * sigma / a
    noise = rescale_cfg(x_orig - denoised(cond), x_orig - denoised(uncond), scale, sigma, x_orig, multiplier)
    result = x_orig - noise
    out = (x_orig - result) / sigma if prediction == "epsilon" else (x_orig / (sigma * sigma + 1.0) - result) * a / sigma
    plain = uncond + scale * (cond - uncond)
    return {
        "prediction": prediction, "sigma": sigma, "scale": scale, "multiplier": multiplier, "shape": list(shape),
        "model_input": x_in.flatten().tolist(), "conditional": cond.flatten().tolist(), "unconditional": uncond.flatten().tolist(),
        "guided": plain.flatten().tolist(), "expected": out.flatten().tolist(),
    }

cases = [
    case(1, "epsilon", 14.614641, 7.0, 0.7),
    case(2, "epsilon", 0.0292, 3.0, 1.0),
    case(3, "v_prediction", 2.5, 5.0, 0.7),
    case(4, "v_prediction", 0.5, 1.5, 0.3),
]
print(json.dumps({"rescale_cfg": cases}))
