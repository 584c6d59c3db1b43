"""Writes sd15_karras_schedules.json: SD 1.x schedules with Karras sigmas for the multistep solvers whose diffusers
class ends at final_sigmas_type (default "zero"): DPMSolverMultistepScheduler and UniPCMultistepScheduler.

Independent of the C# port: the published formulas with torch/numpy, as diffusers evaluates them.
- betas "scaled_linear": linspace(sqrt(0.00085), sqrt(0.012), 1000) in float32, squared; alpha_bar = cumprod(1 - beta).
- training sigmas sqrt((1 - alpha_bar) / alpha_bar) in float32; their logs.
- Karras et al. (2022), eq. 5 with rho = 7: sigma_i = (max^(1/rho) + i/(n-1) (min^(1/rho) - max^(1/rho)))^rho.
- timesteps: each sigma located between the two training log-sigmas around it, interpolated linearly, rounded.
- the final sigma after the last step: 0 ("zero", the class default).
Run: /usr/bin/python3 karras_schedules.py > sd15_karras_schedules.json
"""
import json
import sys

import numpy as np
import torch

CONFIG = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
          "steps_offset": 1, "use_karras_sigmas": True}

betas = torch.linspace(CONFIG["beta_start"] ** 0.5, CONFIG["beta_end"] ** 0.5, 1000, dtype=torch.float32) ** 2
alpha_bar = torch.cumprod(1.0 - betas, dim=0)
training = (((1 - alpha_bar) / alpha_bar) ** 0.5).numpy()
log_training = np.log(training)


def timestep_of(sigma):
    log_sigma = np.log(max(sigma, 1e-10))
    below = int(np.sum(log_training <= log_sigma)) - 1  # training sigmas ascend with t
    low = min(max(below, 0), len(log_training) - 2)
    w = (log_training[low] - log_sigma) / (log_training[low] - log_training[low + 1])
    w = min(max(w, 0.0), 1.0)
    return (1 - w) * low + w * (low + 1)


def karras(steps, rho=7.0):
    smin, smax = float(training[0]), float(training[-1])
    ramp = np.linspace(0, 1, steps)
    return (smax ** (1 / rho) + ramp * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho


cases = {}
for scheduler, short in (("DPMSolverMultistepScheduler", "dpmpp_2m"), ("UniPCMultistepScheduler", "unipc")):
    for steps in (20, 30):
        sigmas = karras(steps)
        timesteps = [float(np.round(timestep_of(s))) for s in sigmas]
        final = np.concatenate([sigmas, [0.0]]).astype(np.float32)
        cases[f"{short}_karras_{steps}"] = {
            "scheduler": scheduler, "steps": steps, "spacing": "linspace", "karras": True, "config": CONFIG,
            "timesteps_dtype": "int64", "timesteps": timesteps,
            "sigmas": [float(repr_) for repr_ in (np.format_float_positional(v, unique=True) for v in final)],
            "init_noise_sigma": 1.0,
        }
json.dump(cases, sys.stdout, indent=1)
sys.stdout.write("\n")
