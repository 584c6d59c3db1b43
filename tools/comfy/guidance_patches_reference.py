#!/usr/bin/env python3
"""Reference values for ComfyUI's guidance model patches: APG (a pre-CFG function with a running momentum buffer),
RescaleCFG (the CFG function), CFGZeroStar and CFGNorm (post-CFG functions), run the way ComfyUI's sampling_function
runs them, written here from their published definitions in torch (float64).

A toy model stands in for the UNet: at each evaluation it gives a conditional and an unconditional ε or v prediction that
differ. ComfyUI works on denoised images (k-diffusion's x = x0 + σ·noise; ε: x0 = x − σ·ε; v: x0 = x/(σ²+1) −
v·σ/√(σ²+1)): the predictions become x0 estimates, the pre-CFG functions change the conditional one, CFG (or the
RescaleCFG function) combines them, the post-CFG functions change the result, and the result is turned back into the
model's ε or v, which is what FlowDiffusion's guider returns. At CFG scale 1 ComfyUI skips the unconditional half and
its x0 estimate is zeros (calc_cond_batch's empty output); the cases at scale 1 pass no unconditional prediction.

Usage: /usr/bin/python3 tools/comfy/guidance_patches_reference.py > tests/FlowDiffusion.Diffusion.Tests/TestData/comfy/guidance_patches.json
"""
import json
import torch

DIMS = (1, 2, 3)


def apg_function(eta, norm_threshold, momentum):
    """APG's pre-CFG function with its state: the running average restarts when sigma rises."""
    state = {"avg": None, "prev": None}

    def run(cond, uncond, cond_scale, sigma):
        if state["prev"] is not None and sigma > state["prev"]:
            state["avg"] = None
        state["prev"] = sigma
        guidance = cond - uncond
        if momentum != 0:
            state["avg"] = guidance if state["avg"] is None else momentum * state["avg"] + guidance
            guidance = state["avg"]
        if norm_threshold > 0:
            norm = torch.sqrt((guidance * guidance).sum(dim=DIMS, keepdim=True))
            guidance = guidance * torch.minimum(torch.ones_like(norm), norm_threshold / norm)
        # The guidance split along the conditional x0 estimate, each batch item on its own.
        unit = cond / torch.sqrt((cond * cond).sum(dim=DIMS, keepdim=True)).clamp(min=1e-12)
        parallel = (guidance * unit).sum(dim=DIMS, keepdim=True) * unit
        orthogonal = guidance - parallel
        return uncond + orthogonal + eta * parallel + (cond - uncond) / cond_scale

    return run


def rescale(cond_x0, uncond_x0, cond_scale, sigma, x, multiplier):
    """RescaleCFG's CFG function on x0 estimates, in v-space; returns the x0 estimate."""
    xs = x / (sigma * sigma + 1.0)
    a = (sigma * sigma + 1.0) ** 0.5
    v_cond = (xs - cond_x0) * a / sigma
    v_uncond = (xs - uncond_x0) * a / sigma
    v_cfg = v_uncond + cond_scale * (v_cond - v_uncond)
    ratio = v_cond.std(dim=DIMS, keepdim=True) / v_cfg.std(dim=DIMS, keepdim=True)
    v_final = multiplier * v_cfg * ratio + (1.0 - multiplier) * v_cfg
    return xs - v_final * sigma / a


def zero_star(denoised, cond_x0, uncond_x0, cond_scale, x):
    """CFG-Zero*: the unconditional estimate scaled by the optimised α of each batch item."""
    p = (x - cond_x0).reshape(x.shape[0], -1)
    n = (x - uncond_x0).reshape(x.shape[0], -1)
    alpha = ((p * n).sum(dim=1) / ((n * n).sum(dim=1) + 1e-8)).reshape(-1, 1, 1, 1)
    return denoised + uncond_x0 * (alpha - 1.0) + cond_scale * uncond_x0 * (1.0 - alpha)


def cfg_norm(denoised, cond_x0, strength):
    """CFGNorm: each pixel's channel vector capped at the conditional estimate's length, then scaled by strength."""
    cond_norm = torch.sqrt((cond_x0 * cond_x0).sum(dim=1, keepdim=True))
    out_norm = torch.sqrt((denoised * denoised).sum(dim=1, keepdim=True))
    return denoised * (cond_norm / (out_norm + 1e-8)).clamp(min=0.0, max=1.0) * strength


def case(name, seed, prediction, scale, sigmas, apg=None, rescale_multiplier=0.0, zero=False, norm=None, shape=(2, 4, 3, 4)):
    g = torch.Generator().manual_seed(seed)
    pre = apg_function(*apg) if apg is not None else None
    evaluations = []
    for sigma in sigmas:
        a = (sigma * sigma + 1.0) ** 0.5
        x_in = torch.randn(shape, generator=g, dtype=torch.float64).float().double()
        # The toy model: a conditional prediction, and an unconditional one that differs from it.
        cond = (0.6 * x_in + torch.randn(shape, generator=g, dtype=torch.float64)).float().double()
        uncond = (cond + 0.7 * torch.randn(shape, generator=g, dtype=torch.float64)).float().double()
        x = x_in * a

        def denoised(out):
            return x - sigma * out if prediction == "epsilon" else x / (sigma * sigma + 1.0) - out * sigma / a

        cond_x0 = denoised(cond)
        uncond_x0 = denoised(uncond) if scale != 1 else torch.zeros_like(x)
        if pre is not None:
            cond_x0 = pre(cond_x0, uncond_x0, scale, sigma)
        result = rescale(cond_x0, uncond_x0, scale, sigma, x, rescale_multiplier) if rescale_multiplier > 0 \
            else uncond_x0 + (cond_x0 - uncond_x0) * scale
        if zero:
            result = zero_star(result, cond_x0, uncond_x0, scale, x)
        if norm is not None:
            result = cfg_norm(result, cond_x0, norm)
        out = (x - result) / sigma if prediction == "epsilon" else (x / (sigma * sigma + 1.0) - result) * a / sigma
        evaluations.append({
            "sigma": sigma, "model_input": x_in.flatten().tolist(), "conditional": cond.flatten().tolist(),
            "unconditional": uncond.flatten().tolist() if scale != 1 else None, "expected": out.flatten().tolist(),
        })
    return {
        "name": name, "prediction": prediction, "scale": scale, "shape": list(shape),
        "apg": None if apg is None else {"eta": apg[0], "norm_threshold": apg[1], "momentum": apg[2]},
        "rescale": rescale_multiplier, "zero_star": zero, "cfg_norm": norm, "evaluations": evaluations,
    }


cases = [
    # Momentum across evaluations, the norm cap, and a restart where sigma rises (the fourth evaluation).
    case("apg_eps_momentum_reset", 1, "epsilon", 5.0, [14.6146, 6.0, 2.0, 9.0, 1.5, 0.2], apg=(0.4, 3.0, 0.6)),
    # ComfyUI's momentum reaches down to −5; no norm cap; a v-model.
    case("apg_v_negative_momentum", 2, "v_prediction", 3.0, [8.0, 4.0, 1.0, 0.3], apg=(1.3, 0.0, -0.5)),
    case("apg_eta_zero_small_cap", 3, "epsilon", 7.5, [10.0, 3.0, 0.5], apg=(0.0, 0.5, 0.0)),
    # Scale 1: no unconditional half, so APG runs against a zero x0 estimate, as in ComfyUI.
    case("apg_scale_one", 4, "epsilon", 1.0, [12.0, 5.0, 1.0], apg=(1.0, 2.0, 0.3)),
    case("apg_then_rescale", 5, "epsilon", 6.0, [14.0, 4.0, 0.7], apg=(0.7, 4.0, 0.2), rescale_multiplier=0.7),
    case("zero_star_eps", 6, "epsilon", 4.0, [14.0, 2.0, 0.1], zero=True),
    case("zero_star_v", 7, "v_prediction", 8.0, [6.0, 0.5], zero=True),
    case("zero_star_scale_one", 8, "epsilon", 1.0, [5.0, 1.0], zero=True),
    case("cfg_norm_v", 9, "v_prediction", 7.0, [9.0, 1.0, 0.05], norm=0.8),
    case("cfg_norm_scale_one", 10, "epsilon", 1.0, [3.0, 0.4], norm=1.5),
    case("everything", 11, "epsilon", 5.0, [11.0, 5.0, 1.0, 0.3], apg=(0.5, 2.5, 0.5), rescale_multiplier=0.5, zero=True, norm=1.0),
]
print(json.dumps({"guidance_patches": cases}))
