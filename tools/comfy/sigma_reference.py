#!/usr/bin/env python3
"""Reference tables for FlowDiffusion's ComfyUI layer, computed independently with numpy/scipy from the published
definitions (ComfyUI comfy/samplers.py schedules, k-diffusion samplers, ModelSamplingDiscrete). torch is emulated:
float64 betas -> float32 sigmas, float32 linspace filled from both ends. Writes JSON to stdout.

Usage: /usr/bin/python3 tools/comfy/sigma_reference.py > tests/FlowDiffusion.Diffusion.Tests/TestData/comfy/reference.json
"""
import json, math
import numpy as np
import scipy.stats

f32 = np.float32

def linspace32(a, b, n):
    if n == 1:
        return np.array([a], dtype=f32)
    a, b = f32(a), f32(b)
    step = f32((b - a) / f32(n - 1))
    return np.array([a + step * f32(i) if i < n // 2 else b - step * f32(n - i - 1) for i in range(n)], dtype=f32)

def model_sampling(beta_start=0.00085, beta_end=0.012, n=1000):
    betas = np.linspace(beta_start ** 0.5, beta_end ** 0.5, n, dtype=np.float64) ** 2
    ac = np.cumprod(1.0 - betas)
    sig = ((1 - ac) / ac) ** 0.5
    return sig.astype(f32), np.log(sig).astype(f32)

SIG, LOG = model_sampling()

def timestep(sigma):
    return int(np.argmin(np.abs(np.log(f32(sigma)) - LOG)))

def sigma_at(t):
    t = f32(min(max(t, 0), len(SIG) - 1))
    lo, hi = int(np.floor(t)), int(np.ceil(t))
    w = f32(t - np.trunc(t))
    return float(np.exp(f32((f32(1) - w) * LOG[lo] + w * LOG[hi]), dtype=f32))

def normal(steps, sgm=False):
    start, end = timestep(SIG[-1]), timestep(SIG[0])
    ts = linspace32(start, end, steps + 1)[:-1] if sgm else linspace32(start, end, steps)
    return [sigma_at(t) for t in ts] + [0.0]

def karras(steps, rho=7.0):
    ramp = linspace32(0, 1, steps)
    mn, mx = f32(float(SIG[0]) ** (1 / rho)), f32(float(SIG[-1]) ** (1 / rho))
    return [float(x) for x in (mx + ramp * (mn - mx)) ** f32(rho)] + [0.0]

def exponential(steps):
    return [float(x) for x in np.exp(linspace32(math.log(float(SIG[-1])), math.log(float(SIG[0])), steps))] + [0.0]

def simple(steps):
    ss = len(SIG) / steps
    return [float(SIG[-(1 + int(x * ss))]) for x in range(steps)] + [0.0]

def ddim_uniform(steps):
    sigs, x = [0.0], 1
    ss = max(len(SIG) // steps, 1)
    while x < len(SIG):
        sigs.append(float(SIG[x]))
        x += ss
    return sigs[::-1]

def beta(steps, a=0.6, b=0.6):
    total = len(SIG) - 1
    ts = np.rint(scipy.stats.beta.ppf(1 - np.linspace(0, 1, steps, endpoint=False), a, b) * total)
    sigs, last = [], -1
    for t in ts:
        if t != last:
            sigs.append(float(SIG[int(t)]))
        last = t
    return sigs + [0.0]

SCHEDULES = {"normal": normal, "karras": karras, "exponential": exponential, "sgm_uniform": lambda n: normal(n, True),
             "simple": simple, "ddim_uniform": ddim_uniform, "beta": beta}

def with_denoise(name, steps, denoise):
    if denoise > 0.9999:
        return SCHEDULES[name](steps)
    full = SCHEDULES[name](int(steps / denoise))
    return full[-(steps + 1):]

# --- k-diffusion samplers on a toy model, in float64, for the sampler tests ---------------------------------------
def toy_denoised(x, sigma):
    # A smooth, sigma-dependent denoiser: x0 = x / (1 + sigma^2) + 0.1 * sigma / (1 + sigma).
    return x / (1 + sigma ** 2) + 0.1 * sigma / (1 + sigma)

def noise_stream(n, k):
    # Deterministic "noise" both sides can draw: element e of draw k is sin(1 + 0.37 e + 1.7 k).
    return np.array([math.sin(1 + 0.37 * e + 1.7 * k) for e in range(n)])

def ancestral(s, sn):
    up = min(sn, (sn ** 2 * (s ** 2 - sn ** 2) / s ** 2) ** 0.5)
    return (sn ** 2 - up ** 2) ** 0.5, up

def lms_coeff(order, t, i, j):
    import scipy.integrate as integrate
    def fn(tau):
        p = 1.0
        for k in range(order):
            if j != k:
                p *= (tau - t[i - k]) / (t[i - j] - t[i - k])
        return p
    return integrate.quad(fn, t[i], t[i + 1], epsrel=1e-10, epsabs=1e-14)[0]

def sample(name, x, sigmas):
    x = np.array(x, dtype=np.float64)
    draws = [0]
    def noise():
        v = noise_stream(len(x), draws[0]); draws[0] += 1; return v
    ds, old = [], None
    for i in range(len(sigmas) - 1):
        s, sn = sigmas[i], sigmas[i + 1]
        den = toy_denoised(x, s)
        d = (x - den) / s
        if name in ("euler", "ddim"):
            x = x + d * (sn - s)
        elif name == "euler_ancestral":
            down, up = ancestral(s, sn)
            x = x + d * (down - s)
            if sn > 0:
                x = x + noise() * up
        elif name == "heun":
            if sn == 0:
                x = x + d * (sn - s)
            else:
                x2 = x + d * (sn - s)
                d2 = (x2 - toy_denoised(x2, sn)) / sn
                x = x + (d + d2) / 2 * (sn - s)
        elif name in ("dpm_2", "dpm_2_ancestral"):
            target, up = (sn, 0) if name == "dpm_2" else ancestral(s, sn)
            if target == 0:
                x = x + d * (target - s)
            else:
                mid = float(f32(math.exp((math.log(s) + math.log(target)) / 2)))
                x2 = x + d * (mid - s)
                d2 = (x2 - toy_denoised(x2, mid)) / mid
                x = x + d2 * (target - s)
                if name == "dpm_2_ancestral":
                    x = x + noise() * up
        elif name == "lms":
            ds.append(d)
            if len(ds) > 4:
                ds.pop(0)
            order = min(i + 1, 4)
            x = x + sum(lms_coeff(order, sigmas, i, j) * dd for j, dd in zip(range(order), reversed(ds)))
        elif name == "dpmpp_2m":
            t, tn = -math.log(s), (-math.log(sn) if sn > 0 else math.inf)
            h = tn - t
            ratio = sn / s
            if old is None or sn == 0:
                x = ratio * x - math.expm1(-h) * den
            else:
                r = (t + math.log(sigmas[i - 1])) / h
                x = ratio * x - math.expm1(-h) * ((1 + 1 / (2 * r)) * den - (1 / (2 * r)) * old)
            old = den
        elif name == "lcm":
            x = den
            if sn > 0:
                x = x + noise() * sn
    return [float(v) for v in x]

def main():
    sched = []
    for name in SCHEDULES:
        for steps in (1, 2, 3, 10, 20, 25, 30):
            sched.append({"scheduler": name, "steps": steps, "denoise": 1.0, "sigmas": SCHEDULES[name](steps)})
        for steps, denoise in ((20, 0.5), (10, 0.75), (25, 0.3)):
            sched.append({"scheduler": name, "steps": steps, "denoise": denoise, "sigmas": with_denoise(name, steps, denoise)})
    x0 = [math.cos(0.5 * e) * 14.6 for e in range(8)]
    samplers = []
    for name in ("euler", "euler_ancestral", "heun", "dpm_2", "dpm_2_ancestral", "lms", "dpmpp_2m", "lcm", "ddim"):
        for sname, steps in (("karras", 10), ("normal", 6)):
            sigmas = SCHEDULES[sname](steps)
            samplers.append({"sampler": name, "scheduler": sname, "steps": steps, "x": x0, "sigmas": sigmas, "result": sample(name, x0, sigmas)})
    out = {"model": {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000},
           "sigma_min": float(SIG[0]), "sigma_max": float(SIG[-1]),
           "timesteps": [{"sigma": float(s), "timestep": timestep(s)} for s in (0.03, 0.1, 0.5, 1.0, 2.5, 7.0, 14.6, 20.0)],
           "schedules": sched, "samplers": samplers}
    print(json.dumps(out, indent=1))

if __name__ == "__main__":
    main()
