#!/usr/bin/env python3
"""Reference results for er_sde with ComfyUI's SamplerER_SDE settings (solver_type ER-SDE / Reverse-time SDE / ODE,
max_stage, eta, s_noise), on sigma_reference.py's toy denoiser and sine noise, from its float64 sample_er_sde (arXiv 2309.06169
as ComfyUI's comfy/k_diffusion/sampling.py runs it). Writes JSON to stdout.

Usage: /usr/bin/python3 tools/comfy/er_sde_reference.py > tests/FlowDiffusion.Diffusion.Tests/TestData/comfy/er_sde.json
"""
import json, math
from sigma_reference import SCHEDULES, sample

CASES = [{"s_noise": 0.5}, {"s_noise": 0.0}, {"max_stage": 1}, {"max_stage": 2}, {"max_stage": 2, "s_noise": 1.3},
         {"er_sde_solver": "reverse_time_sde"}, {"er_sde_solver": "reverse_time_sde", "eta": 0.5, "s_noise": 0.8},
         {"er_sde_solver": "reverse_time_sde", "eta": 3.0, "max_stage": 2}, {"er_sde_solver": "reverse_time_sde", "eta": 0.0},
         {"er_sde_solver": "ode"}, {"er_sde_solver": "ode", "max_stage": 1}]

def main():
    x0 = [math.cos(0.5 * e) * 14.6 for e in range(8)]
    cases = []
    for params in CASES:
        for sname, steps in (("karras", 10), ("normal", 6)):
            sigmas = SCHEDULES[sname](steps)
            cases.append({"sampler": "er_sde", "parameters": params, "scheduler": sname, "steps": steps, "x": x0, "sigmas": sigmas,
                          "result": sample("er_sde", x0, sigmas, params)})
    print(json.dumps({"cases": cases}, indent=1))

if __name__ == "__main__":
    main()
