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

The second list ("more_guidance_patches") adds TCFG and LatentApplyOperationCFG (pre-CFG functions, run after APG's
place in FlowDiffusion's fixed order: TCFG, the latent operation, then APG) and Mahiro and EpsilonScaling (post-CFG
functions, after CFGZeroStar and CFGNorm: Mahiro, then EpsilonScaling); the first list is unchanged.

Usage: /usr/bin/python3 tools/comfy/guidance_patches_reference.py > tests/FlowDiffusion.Diffusion.Tests/TestData/comfy/guidance_patches.json
"""
import json
import torch
import latent_operations_reference as latent_operations

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


def tangential_damping(cond_x0, uncond_x0, x):
    """TCFG: the unconditional score x − u projected onto the first right singular vector of [x − u; x − c], per item."""
    batch = x.shape[0]
    scores = torch.cat(((x - uncond_x0).reshape(batch, 1, -1), (x - cond_x0).reshape(batch, 1, -1)), dim=1)
    _, _, vh = torch.linalg.svd(scores, full_matrices=False)
    v1 = vh[:, 0:1, :]
    uncond_score = scores[:, 0:1, :]
    damped = (uncond_score @ v1.transpose(-2, -1)) * v1
    return x - damped.reshape_as(x)


def mahiro(denoised, cond_x0, uncond_x0, cond_scale):
    """Mahiro: the guided estimate mixed with s·c by how alike (signed square roots, cosine over channels) s·u and their mean are."""
    leap = cond_x0 * cond_scale
    merge = (leap + denoised) / 2
    root_u = torch.sqrt((uncond_x0 * cond_scale).abs()) * (uncond_x0 * cond_scale).sign()
    root_m = torch.sqrt(merge.abs()) * merge.sign()
    similarity = torch.nn.functional.cosine_similarity(root_u, root_m, dim=1).mean()
    weight = 2 * (similarity + 1)
    return (weight * denoised + (4 - weight) * leap) / 4


def epsilon_scaling(denoised, x, factor):
    """EpsilonScaling: the noise x − denoised divided by the factor."""
    return x - (x - denoised) / factor


def case(name, seed, prediction, scale, sigmas, apg=None, rescale_multiplier=0.0, zero=False, norm=None, shape=(2, 4, 3, 4),
         tcfg=False, latent_op=None, mahiro_on=False, eps=None):
    g = torch.Generator().manual_seed(seed)
    operation = latent_operations.operation(latent_op) if latent_op is not None else None
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
        if tcfg and scale != 1:
            uncond_x0 = tangential_damping(cond_x0, uncond_x0, x)
        if operation is not None:
            cond_x0 = operation(cond_x0 - uncond_x0) + uncond_x0
        if pre is not None:
            cond_x0 = pre(cond_x0, uncond_x0, scale, sigma)
        result = rescale(cond_x0, uncond_x0, scale, sigma, x, rescale_multiplier) if rescale_multiplier > 0 \
            else uncond_x0 + (cond_x0 - uncond_x0) * scale
        if zero:
            result = zero_star(result, cond_x0, uncond_x0, scale, x)
        if norm is not None:
            result = cfg_norm(result, cond_x0, norm)
        if mahiro_on:
            result = mahiro(result, cond_x0, uncond_x0, scale)
        if eps is not None:
            result = epsilon_scaling(result, x, eps)
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


def more_case(name, seed, prediction, scale, sigmas, **options):
    result = case(name, seed, prediction, scale, sigmas, **options)
    latent_op = options.get("latent_op")
    result.update({
        "tcfg": options.get("tcfg", False), "mahiro": options.get("mahiro_on", False), "epsilon_scaling": options.get("eps"),
        "latent_operation": None if latent_op is None else latent_operations.describe(latent_op),
    })
    return result


SHARPEN = ("sharpen", 2, 0.8, 0.3)
more_cases = [
    more_case("tcfg_eps", 21, "epsilon", 6.0, [14.0, 3.0, 0.4], tcfg=True),
    more_case("tcfg_v", 22, "v_prediction", 4.0, [7.0, 0.8], tcfg=True),
    # TCFG skips where ComfyUI has no unconditional half.
    more_case("tcfg_scale_one", 23, "epsilon", 1.0, [6.0, 1.0], tcfg=True),
    more_case("mahiro_eps", 24, "epsilon", 7.0, [14.0, 2.0, 0.2], mahiro_on=True),
    more_case("mahiro_v", 25, "v_prediction", 5.0, [9.0, 0.5], mahiro_on=True),
    more_case("epsilon_scaling_eps", 26, "epsilon", 7.5, [14.0, 1.0, 0.1], eps=1.005),
    more_case("epsilon_scaling_v_strong", 27, "v_prediction", 5.0, [8.0, 0.6], eps=0.6),
    more_case("epsilon_scaling_scale_one", 28, "epsilon", 1.0, [10.0, 0.5], eps=1.4),
    more_case("latent_op_tonemap", 29, "epsilon", 8.0, [14.0, 4.0, 0.5], latent_op=("tonemap_reinhard", 0.5)),
    more_case("latent_op_sharpen_v", 30, "v_prediction", 6.0, [9.0, 1.0], latent_op=SHARPEN, shape=(2, 4, 5, 6)),
    # The latent operation acts at scale 1 too, on the conditional estimate itself.
    more_case("latent_op_tonemap_scale_one", 31, "epsilon", 1.0, [5.0, 0.7], latent_op=("tonemap_reinhard", 0.8)),
    more_case("all_new", 32, "epsilon", 5.0, [12.0, 3.0, 0.5], tcfg=True, latent_op=SHARPEN, mahiro_on=True, eps=1.02, shape=(2, 4, 5, 6)),
    more_case("all_together", 33, "v_prediction", 4.5, [10.0, 2.0, 0.3], apg=(0.6, 3.0, 0.4), rescale_multiplier=0.6, zero=True, norm=1.1,
              tcfg=True, latent_op=("tonemap_reinhard", 1.2), mahiro_on=True, eps=0.98),
]
print(json.dumps({"guidance_patches": cases, "more_guidance_patches": more_cases}))
