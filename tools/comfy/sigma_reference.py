#!/usr/bin/env python3
"""Reference tables for FlowDiffusion's ComfyUI layer, computed independently with numpy/scipy from the published
definitions (ComfyUI comfy/samplers.py schedules, k-diffusion samplers and ComfyUI's CFG++ samplers, ModelSamplingDiscrete, and
comfy_extras/nodes_custom_sampler.py's FlipSigmas with the samplers walked up rising sigmas, ExtendIntermediateSigmas and
AddNoise, whose noise is drawn with torch itself). torch is otherwise emulated: float64 betas -> float32 sigmas, float32
linspace filled from both ends. Writes JSON to stdout; new sections are appended so existing entries stay byte-identical.

Usage: /usr/bin/python3 tools/comfy/sigma_reference.py > tests/FlowDiffusion.Diffusion.Tests/TestData/comfy/reference.json
"""
import json, math
import numpy as np

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

def zero_terminal_snr(sig):
    # ComfyUI's rescale_zero_terminal_snr_sigmas (ModelSamplingDiscrete's zsnr), on its float32 sigmas in float32.
    ac = f32(1) / (sig * sig + f32(1))
    root = np.sqrt(ac)
    first, last = root[0], root[-1]
    root = root - last
    root = root * (first / (first - last))
    ab = root * root
    ab[-1] = f32(4.8973451890853435e-08)
    return np.sqrt((f32(1) - ab) / ab).astype(f32)

def with_sigmas(sig, fn, *args):
    # Runs a schedule function on another model's sigmas (the functions read the module's SIG and LOG).
    global SIG, LOG
    saved = SIG, LOG
    SIG, LOG = sig, np.log(sig).astype(f32)
    try:
        return fn(*args)
    finally:
        SIG, LOG = saved

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
    import scipy.stats
    ts = np.rint(scipy.stats.beta.ppf(1 - np.linspace(0, 1, steps, endpoint=False), a, b) * total)
    sigs, last = [], -1
    for t in ts:
        if t != last:
            sigs.append(float(SIG[int(t)]))
        last = t
    return sigs + [0.0]

def linear_quadratic(steps, threshold=0.025):
    # Noise fractions in double: linear to the threshold over the first steps // 2, quadratic after; times float32 sigma_max.
    if steps == 1:
        frac = [1.0, 0.0]
    else:
        lin = steps // 2
        quad = steps - lin
        diff = lin - threshold * steps
        qc = diff / (lin * quad ** 2)
        lc = threshold / lin - 2 * diff / quad ** 2
        const = qc * lin ** 2
        frac = [i * threshold / lin for i in range(lin)] + [qc * i * i + lc * i + const for i in range(lin, steps)] + [1.0]
        frac = [1.0 - v for v in frac]
    return [float(f32(v) * SIG[-1]) for v in frac]

def kl_optimal(steps):
    # Evenly spaced in arctan(sigma), float32; one step (0/0 in the original) is taken as its first point, sigma_max.
    idx = np.arange(steps, dtype=f32) / f32(max(steps - 1, 1))
    lo, hi = f32(math.atan(float(SIG[0]))), f32(math.atan(float(SIG[-1])))
    return [float(v) for v in np.tan((idx * lo + (f32(1) - idx) * hi).astype(f32))] + [0.0]

SCHEDULES = {"normal": normal, "karras": karras, "exponential": exponential, "sgm_uniform": lambda n: normal(n, True),
             "simple": simple, "ddim_uniform": ddim_uniform, "beta": beta, "linear_quadratic": linear_quadratic,
             "kl_optimal": kl_optimal}

AYS = {"SD1": [14.6146412293, 6.4745760956, 3.8636745985, 2.6946151520, 1.8841921177, 1.3943805092, 0.9642583904, 0.6523686016, 0.3977456272, 0.1515232662, 0.0291671582],
       "SDXL": [14.6146412293, 6.3184485287, 3.7681790315, 2.1811480769, 1.3405244945, 0.8620721141, 0.5550693289, 0.3798540708, 0.2332364134, 0.1114188177, 0.0291671582],
       "SVD": [700.00, 54.5, 15.886, 7.977, 4.248, 1.789, 0.981, 0.403, 0.173, 0.034, 0.002]}

def align_your_steps(model_type, steps, denoise):
    # The published 10-step levels, log-linearly interpolated (numpy.interp on reversed log sigma) to steps + 1 points.
    total = steps
    if denoise < 1.0:
        if denoise <= 0.0:
            return []
        total = round(steps * denoise)
    sig = AYS[model_type][:]
    if steps + 1 != len(sig):
        xs = np.linspace(0, 1, len(sig))
        ys = np.log(sig[::-1])
        sig = list(np.exp(np.interp(np.linspace(0, 1, steps + 1), xs, ys))[::-1])
    sig = sig[-(total + 1):]
    sig[-1] = 0
    return [float(f32(v)) for v in sig]

def sd_turbo(steps, denoise):
    # SDTurboScheduler: the model's own sigmas at steps of the timesteps 999, 899 ... 99, from 10 - int(10 * denoise) on; then 0.
    start = 10 - int(10 * denoise)
    ts = (np.arange(1, 11) * 100 - 1)[::-1][start:start + steps]
    return [sigma_at(float(t)) for t in ts] + [0.0]

def polyexponential(steps, sigma_min, sigma_max, rho):
    # k-diffusion get_sigmas_polyexponential in float32: log sigma along ramp ** rho, ramp = linspace(1, 0), then 0.
    ramp = linspace32(1, 0, steps) ** f32(rho)
    lo = f32(math.log(sigma_min))
    return [float(v) for v in np.exp(ramp * f32(math.log(sigma_max) - math.log(sigma_min)) + lo)] + [0.0]

def vp(steps, beta_d, beta_min, eps_s):
    # k-diffusion get_sigmas_vp in float32: sqrt(expm1(beta_d t^2 / 2 + beta_min t)), t = linspace(1, eps_s), then 0.
    t = linspace32(1, eps_s, steps)
    return [float(v) for v in np.sqrt(np.expm1(f32(beta_d) * (t * t) / f32(2) + f32(beta_min) * t))] + [0.0]

def laplace(steps, sigma_min, sigma_max, mu, beta):
    # k-diffusion get_sigmas_laplace in float32, clamped to [sigma_min, sigma_max]; no 0 appended.
    x = linspace32(0, 1, steps)
    h = f32(0.5) - x
    lmb = f32(mu) - f32(beta) * np.sign(h) * np.log(f32(1) - f32(2) * np.abs(h) + f32(1e-5))
    return [float(v) for v in np.clip(np.exp(lmb.astype(f32)), f32(sigma_min), f32(sigma_max))]

def gits_levels():
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "nodes", "FlowDiffusion.Diffusion", "KDiffusion", "GitsNoiseLevels.json")
    return json.load(open(path))["levels"]

GITS = gits_levels()

def gits(coeff, steps, denoise):
    # GITSScheduler: the published row for 2 ... 20 steps (Python's row -1 for one step), else the 20-step row
    # interpolated in log sigma (numpy.interp on the reversed logs); the last round(steps * denoise) steps, the last sigma 0.
    total = steps
    if denoise < 1.0:
        if denoise <= 0.0:
            return []
        total = round(steps * denoise)
    rows = GITS["%.2f" % round(coeff, 2)]
    if steps <= 20:
        sig = list(rows[steps - 2])
    else:
        last = rows[-1]
        sig = list(np.exp(np.interp(np.linspace(0, 1, steps + 1), np.linspace(0, 1, len(last)), np.log(last[::-1])))[::-1])
    sig = sig[-(total + 1):]
    sig[-1] = 0
    return [float(f32(v)) for v in sig]

# The KSampler names ComfyUI extensions add: each computed at denoise 1 for the steps KSampler asks.
EXTENSION_SCHEDULES = {"AYS SD1": lambda n: align_your_steps("SD1", n, 1.0), "AYS SDXL": lambda n: align_your_steps("SDXL", n, 1.0),
                       "AYS SVD": lambda n: align_your_steps("SVD", n, 1.0), "GITS[coeff=1.2]": lambda n: gits(1.2, n, 1.0)}

def with_denoise(name, steps, denoise, discard=False):
    # discard: KSampler's rule for dpm_2, dpm_2_ancestral and uni_pc: one step more, the sigma before the last dropped.
    schedule = SCHEDULES.get(name) or EXTENSION_SCHEDULES[name]
    def compute(n):
        if not discard:
            return schedule(n)
        full = schedule(n + 1)
        return full[:-2] + full[-1:]
    if denoise > 0.9999:
        return compute(steps)
    full = compute(int(steps / denoise))
    return full[-(steps + 1):]

# --- k-diffusion samplers on a toy model, in float64, for the sampler tests ---------------------------------------
def toy_denoised(x, sigma):
    # A smooth, sigma-dependent denoiser: x0 = x / (1 + sigma^2) + 0.1 * sigma / (1 + sigma).
    return x / (1 + sigma ** 2) + 0.1 * sigma / (1 + sigma)

def noise_stream(n, k):
    # Deterministic "noise" both sides can draw: element e of draw k is sin(1 + 0.37 e + 1.7 k).
    return np.array([math.sin(1 + 0.37 * e + 1.7 * k) for e in range(n)])

def ancestral(s, sn, eta=1.0):
    # k-diffusion's get_ancestral_step: sigma_up = min(sn, eta * sqrt(sn^2 (s^2 - sn^2) / s^2)); eta 0 is the plain step
    if not eta:
        return sn, 0.0
    up = min(sn, eta * (sn ** 2 * (s ** 2 - sn ** 2) / s ** 2) ** 0.5)
    return (sn ** 2 - up ** 2) ** 0.5, up

# ComfyUI's sampler defaults (KSampler, KSamplerSelect); SamplerEulerAncestral, SamplerDPMPP_SDE, SamplerLMS ... change them.
DEFAULTS = {"eta": 1.0, "s_noise": 1.0, "r": 0.5, "solver_type": "midpoint", "order": 4, "max_stage": 3, "er_sde_solver": "er_sde"}

# er_sde's noise scaler by SamplerER_SDE's solver_type: ER-SDE's lambda (e^(lambda^0.3) + 10) (eta unread), the reverse-time
# SDE's lambda^(eta + 1), the ODE's lambda (the reverse-time one at eta 0); the ODE, and the reverse-time SDE at eta 0, add no noise.
def er_sde_scaler(p):
    if p["er_sde_solver"] == "er_sde":
        return (lambda l: l * (np.exp(l ** 0.3) + 10.0)), p["s_noise"]
    eta = 0.0 if p["er_sde_solver"] == "ode" else p["eta"]
    return (lambda l: l ** (eta + 1.0)), (0.0 if eta == 0 else p["s_noise"])

def lms_coeff(order, t, i, j):
    import scipy.integrate as integrate
    def fn(tau):
        p = 1.0
        for k in range(order):
            if j != k:
                p *= (tau - t[i - k]) / (t[i - j] - t[i - k])
        return p
    return integrate.quad(fn, t[i], t[i + 1], epsrel=1e-10, epsabs=1e-14)[0]

def unipc(x, sigmas, variant):
    # UniPC (Zhao et al. 2023), multistep, data prediction, as ComfyUI's sample_unipc runs it: VP terms of the
    # k-diffusion sigmas (alpha = 1/sqrt(1+s^2), std = s/sqrt(1+s^2), lambda = -log s), the final 0 replaced by 0.001,
    # order min(3, steps - 1), lower_order_final, corrector on every step but the last.
    ts = [float(v) for v in sigmas]
    if ts[-1] == 0:
        ts[-1] = 0.001
    steps = len(ts) - 1
    order = min(3, steps - 1)
    alpha = lambda s: 1 / math.sqrt(1 + s * s)
    std = lambda s: s / math.sqrt(1 + s * s)
    lam = lambda s: -math.log(s)
    def data_pred(xv, s):
        xk = (xv / alpha(s)).astype(f32).astype(np.float64)
        return toy_denoised(xk, float(f32(s)))
    def update(xv, models, tprev, t, order, use_corrector):
        lp, lt = lam(tprev[-1]), lam(t)
        h = lt - lp
        m0 = models[-1]
        rks, D1s = [], []
        for i in range(1, order):
            rk = (lam(tprev[-(i + 1)]) - lp) / h
            rks.append(rk)
            D1s.append((models[-(i + 1)] - m0) / rk)
        rks.append(1.0)
        rks = np.array(rks)
        hh = -h
        h_phi_1 = math.expm1(hh)
        h_phi_k = h_phi_1 / hh - 1
        fact = 1
        B_h = hh if variant == "bh1" else math.expm1(hh)
        R, b = [], []
        for i in range(1, order + 1):
            R.append(rks ** (i - 1))
            b.append(h_phi_k * fact / B_h)
            fact *= i + 1
            h_phi_k = h_phi_k / hh - 1 / fact
        R, b = np.array(R), np.array(b)
        x_base = std(t) / std(tprev[-1]) * xv - alpha(t) * h_phi_1 * m0
        pred = 0
        if D1s:
            rhos_p = np.array([0.5]) if order == 2 else np.linalg.solve(R[:-1, :-1], b[:-1])
            pred = sum(rp * d for rp, d in zip(rhos_p, D1s))
        x_t = x_base - alpha(t) * B_h * pred
        if not use_corrector:
            return x_t, None
        rhos_c = np.array([0.5]) if order == 1 else np.linalg.solve(R, b)
        m_t = data_pred(x_t, t)
        corr = sum(rc * d for rc, d in zip(rhos_c[:-1], D1s)) if D1s else 0
        return x_base - alpha(t) * B_h * (corr + rhos_c[-1] * (m_t - m0)), m_t
    xv = np.array(x, dtype=np.float64) * alpha(ts[0])
    models, tprev = [data_pred(xv, ts[0])], [ts[0]]
    for init in range(1, order):
        xv, m = update(xv, models, tprev, ts[init], init, True)
        models.append(m)
        tprev.append(ts[init])
    for step in range(order, steps + 1):
        t = ts[step]
        xv, m = update(xv, models, tprev, t, min(order, steps + 1 - step), step != steps)
        models, tprev = models[1:], tprev[1:]
        models.append(m)
        tprev.append(t)
    return [float(v) for v in xv / alpha(ts[-1])]

def deis_coefficients(sigmas, i, order, n=10000, eps=1e-3, smin=0.002, smax=80.0):
    # EDM's VP fit maps sigma to t; integrate -0.5 dlog(alpha)/dt / sqrt(alpha (1 - alpha)) times each Lagrange basis
    # polynomial through the last `order` times over [t_i, t_i+1], as a Riemann sum over linspace(t_i, t_i+1, n) * dt/n.
    beta_d = 2 * (np.log(smin ** 2 + 1) / eps - np.log(smax ** 2 + 1)) / (eps - 1)
    beta_min = np.log(smax ** 2 + 1) - 0.5 * beta_d
    b0, b1 = beta_min, beta_d + beta_min
    t = [(np.sqrt(beta_min ** 2 + 2 * beta_d * np.log(float(sg) ** 2 + 1)) - beta_min) / beta_d for sg in sigmas]
    taus = np.linspace(t[i], t[i + 1], n)
    dtau = (t[i + 1] - t[i]) / n
    alpha = np.exp(-0.5 * taus ** 2 * (b1 - b0) - taus * b0)
    integrand = -0.5 * (-taus * (b1 - b0) - b0) / np.sqrt(alpha * (1 - alpha))
    prev = [t[i - k] for k in range(order)]
    out = []
    for j in range(order):
        poly = np.ones_like(taus)
        for k in range(order):
            if k != j:
                poly = poly * (taus - prev[k]) / (prev[j] - prev[k])
        out.append(float(np.sum(integrand * poly) * dtau))
    return out

def sample(name, x, sigmas, params=None):
    if name in ("uni_pc", "uni_pc_bh2"):
        return unipc(x, sigmas, "bh1" if name == "uni_pc" else "bh2")
    p = dict(DEFAULTS, **(params or {}))
    eta, s_noise = p["eta"], p["s_noise"]
    # The SDE samplers draw no noise at all with eta or s_noise 0 (ComfyUI's "if eta > 0 and s_noise > 0").
    sde_noisy = eta > 0 and s_noise > 0
    x = np.array(x, dtype=np.float64)
    draws = [0]
    def noise():
        v = noise_stream(len(x), draws[0]); draws[0] += 1; return v
    ds, old, h_last = [], None, [None]
    h3, den3, buf, res = [None, None, None], [None, None], [], [None, None]
    for i in range(len(sigmas) - 1):
        s, sn = sigmas[i], sigmas[i + 1]
        den = toy_denoised(x, s)
        d = (x - den) / s
        if name in ("euler", "ddim"):
            x = x + d * (sn - s)
        elif name == "euler_ancestral":
            # ComfyUI: x = denoised where sigma_down is 0 (x + d * (0 - s) is that), otherwise Euler to sigma_down plus noise
            down, up = ancestral(s, sn, eta)
            x = x + d * (down - s)
            if down != 0:
                x = x + noise() * s_noise * up
        elif name == "heun":
            if sn == 0:
                x = x + d * (sn - s)
            else:
                x2 = x + d * (sn - s)
                d2 = (x2 - toy_denoised(x2, sn)) / sn
                x = x + (d + d2) / 2 * (sn - s)
        elif name in ("dpm_2", "dpm_2_ancestral"):
            target, up = (sn, 0) if name == "dpm_2" else ancestral(s, sn, eta)
            if target == 0:
                x = x + d * (target - s)
            else:
                mid = float(f32(math.exp((math.log(s) + math.log(target)) / 2)))
                x2 = x + d * (mid - s)
                d2 = (x2 - toy_denoised(x2, mid)) / mid
                x = x + d2 * (target - s)
                if name == "dpm_2_ancestral":
                    x = x + noise() * s_noise * up
        elif name == "lms":
            ds.append(d)
            if len(ds) > p["order"]:
                ds.pop(0)
            if sn == 0:
                x = den  # ComfyUI's sample_lms: the step into sigma 0 returns the x0 estimate
            else:
                order = min(i + 1, p["order"])
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
        elif name in ("dpmpp_2m_sde", "dpmpp_2m_sde_heun"):
            # k-diffusion sample_dpmpp_2m_sde, solver_type midpoint or heun (the _heun name always heun)
            heun = name == "dpmpp_2m_sde_heun" or p["solver_type"] == "heun"
            if sn == 0:
                x = den
            else:
                t, tn = -math.log(s), -math.log(sn)
                h = tn - t
                eta_h = eta * h
                x = sn / s * math.exp(-eta_h) * x + (-math.expm1(-h - eta_h)) * den
                if old is not None:
                    r = h_last[0] / h
                    if heun:
                        x = x + ((-math.expm1(-h - eta_h)) / (-h - eta_h) + 1) * (1 / r) * (den - old)
                    else:
                        x = x + 0.5 * (-math.expm1(-h - eta_h)) * (1 / r) * (den - old)
                if sde_noisy:
                    x = x + noise() * sn * math.sqrt(-math.expm1(-2 * eta_h)) * s_noise
                h_last[0] = h
            old = den
        elif name == "dpmpp_sde":
            # k-diffusion sample_dpmpp_sde (eps model: alpha = 1, lambda = -log sigma)
            if sn == 0:
                x = x + d * (sn - s)
            else:
                sigma_fn = lambda tt: math.exp(-tt)
                t_fn = lambda sg: -math.log(sg)
                t, t_next = t_fn(s), t_fn(sn)
                h = t_next - t
                r = p["r"]
                s_mid = t + h * r
                fac = 1 / (2 * r)
                sd, su = ancestral(sigma_fn(t), sigma_fn(s_mid), eta)
                s_ = t_fn(sd)
                x_2 = (sigma_fn(s_) / sigma_fn(t)) * x - math.expm1(t - s_) * den
                if sde_noisy:
                    x_2 = x_2 + noise() * s_noise * su
                den_2 = toy_denoised(x_2, float(f32(sigma_fn(s_mid))))
                sd, su = ancestral(sigma_fn(t), sigma_fn(t_next), eta)
                t_next_ = t_fn(sd)
                den_d = (1 - fac) * den + fac * den_2
                x = (sigma_fn(t_next_) / sigma_fn(t)) * x - math.expm1(t - t_next_) * den_d
                if sde_noisy:
                    x = x + noise() * s_noise * su
        elif name == "lcm":
            x = den
            if sn > 0:
                x = x + noise() * sn
        elif name == "dpmpp_3m_sde":
            # k-diffusion sample_dpmpp_3m_sde (state: h, h_1, h_2 and the last two x0 estimates)
            if sn == 0:
                x = den
            else:
                h = math.log(s) - math.log(sn)
                h3[0] = h
                h_eta = h * (eta + 1)
                x = math.exp(-h - h * eta) * x + (-math.expm1(-h_eta)) * den  # sn / s = exp(-h)
                phi_2 = math.expm1(-h_eta) / h_eta + 1
                if h3[2] is not None:
                    r0, r1 = h3[1] / h, h3[2] / h
                    d1_0 = (den - den3[0]) / r0
                    d1_1 = (den3[0] - den3[1]) / r1
                    d1 = d1_0 + (d1_0 - d1_1) * r0 / (r0 + r1)
                    d2 = (d1_0 - d1_1) / (r0 + r1)
                    x = x + phi_2 * d1 - (phi_2 / h_eta - 0.5) * d2
                elif h3[1] is not None:
                    x = x + phi_2 * (den - den3[0]) / (h3[1] / h)
                if sde_noisy:
                    x = x + noise() * sn * math.sqrt(-math.expm1(-2 * h * eta)) * s_noise
            den3[0], den3[1] = den, den3[0]
            h3[1], h3[2] = h3[0], h3[1]
        elif name == "dpmpp_2s_ancestral":
            down, up = ancestral(s, sn, eta)
            if down == 0:
                x = x + d * (down - s)
            else:
                t, tn = -math.log(s), -math.log(down)
                h = tn - t
                sm = t + h / 2
                x_2 = (math.exp(-sm) / s) * x - math.expm1(-h / 2) * den
                den_2 = toy_denoised(x_2, float(f32(math.exp(-sm))))
                x = (down / s) * x - math.expm1(-h) * den_2
            if sn > 0:
                x = x + noise() * s_noise * up
        elif name == "ddpm":
            ac, acp = 1 / (s * s + 1), 1 / (sn * sn + 1)
            alpha = ac / acp
            eps = (x - den) / s
            mu = math.sqrt(1 / alpha) * (x / math.sqrt(1 + s * s) - (1 - alpha) * eps / math.sqrt(1 - ac))
            if sn > 0:
                mu = mu + math.sqrt((1 - alpha) * (1 - acp) / (1 - ac)) * noise()
            x = mu * math.sqrt(1 + sn * sn) if sn != 0 else mu
        elif name in ("res_multistep", "res_multistep_ancestral"):
            # ComfyUI's res_multistep: eta 0, or 1 for the ancestral variant
            down, up = (sn, 0.0) if name == "res_multistep" else ancestral(s, sn)
            if down == 0 or res[0] is None:
                x = x + d * (down - s)
            else:
                t, t_old, t_next, t_prev = -math.log(s), -math.log(res[1]), -math.log(down), -math.log(sigmas[i - 1])
                h = t_next - t
                c2 = (t_prev - t_old) / h
                phi1 = math.expm1(-h) / -h
                phi2 = (phi1 - 1.0) / -h
                b1, b2 = phi1 - phi2 / c2, phi2 / c2
                x = math.exp(-h) * x + h * (b1 * den + b2 * res[0])
            if sn > 0 and up > 0:
                x = x + noise() * up
            res[0], res[1] = den, down
        elif name in ("seeds_2", "seeds_3"):
            # ComfyUI's sample_seeds_2 (r = 1/2) / sample_seeds_3 (r1 = 1/3, r2 = 2/3), eta = 1, on an eps model
            if sn == 0:
                x = den
            else:
                p1 = lambda v: math.expm1(v)
                p2 = lambda v: (math.expm1(v) - v) / v
                ls, lt = -math.log(s), -math.log(sn)
                h = lt - ls
                he = 2 * h
                if name == "seeds_2":
                    r = 0.5
                    s1 = math.exp(-(ls + r * h))
                    x2 = s1 / s * math.exp(-r * h) * x - p1(-r * he) * den
                    sde = math.sqrt(-math.expm1(-2 * r * h)) * noise()
                    x2 = x2 + sde * s1
                    d2 = toy_denoised(x2, float(f32(s1)))
                    x = sn / s * math.exp(-h) * x - p1(-he) * d2
                    seg = (r - 1) * h
                    sde = sde * math.exp(seg) + math.sqrt(-math.expm1(2 * seg)) * noise()
                    x = x + sde * sn
                else:
                    r1, r2 = 1 / 3, 2 / 3
                    s1, s2 = math.exp(-(ls + r1 * h)), math.exp(-(ls + r2 * h))
                    x2 = s1 / s * math.exp(-r1 * h) * x - p1(-r1 * he) * den
                    sde = math.sqrt(-math.expm1(-2 * r1 * h)) * noise()
                    x2 = x2 + sde * s1
                    d2 = toy_denoised(x2, float(f32(s1)))
                    a32 = r2 / r1 * p2(-r2 * he)
                    a31 = p1(-r2 * he) - a32
                    x3 = s2 / s * math.exp(-r2 * h) * x - (a31 * den + a32 * d2)
                    seg = (r1 - r2) * h
                    sde = sde * math.exp(seg) + math.sqrt(-math.expm1(2 * seg)) * noise()
                    x3 = x3 + sde * s2
                    d3 = toy_denoised(x3, float(f32(s2)))
                    b3 = p2(-he) / r2
                    b1 = p1(-he) - b3
                    x = sn / s * math.exp(-h) * x - (b1 * den + b3 * d3)
                    seg = (r2 - 1) * h
                    sde = sde * math.exp(seg) + math.sqrt(-math.expm1(2 * seg)) * noise()
                    x = x + sde * sn
        elif name == "er_sde":
            # ComfyUI's sample_er_sde on an eps model (lambda = sigma, alpha = 1); noise only with s_noise above 0
            f, er_noise = er_sde_scaler(p)
            stage = min(p["max_stage"], i + 1)
            if sn == 0:
                x = den
            else:
                ls, lt = s, sn
                r = f(lt) / f(ls)
                x = r * x + (1 - r) * den
                if stage >= 2:
                    dt = lt - ls
                    step = -dt / 200.0
                    pos = lt + np.arange(200) * step
                    S = np.sum(1 / f(pos)) * step
                    den_d = (den - res[0]) / (ls - sigmas[i - 1])
                    x = x + (dt + S * f(lt)) * den_d
                    if stage >= 3:
                        S_u = np.sum((pos - ls) / f(pos)) * step
                        den_u = (den_d - res[1]) / ((ls - sigmas[i - 2]) / 2)
                        x = x + ((dt ** 2) / 2 + S_u * f(lt)) * den_u
                    res[1] = den_d
                spread = lt ** 2 - ls ** 2 * r ** 2
                if er_noise > 0:
                    x = x + noise() * er_noise * (math.sqrt(spread) if spread > 0 else 0.0)
            res[0] = den
        elif name == "deis":
            # DEIS "tab", max order 3, as ComfyUI's sample_deis (coefficients in float64 here)
            order = 1 if sn <= 0 else min(3, i + 1)
            if order == 1:
                x = x + (sn - s) * d
            else:
                c = deis_coefficients(sigmas, i, order)
                x = x + c[0] * d + sum(c[j] * buf[-j] for j in range(1, order))
            buf.append(d)
            if len(buf) > 2:
                buf.pop(0)
        elif name == "gradient_estimation":
            if sn == 0:
                x = den
            else:
                x = x + d * (sn - s)
                if i >= 1:
                    x = x + (2.0 - 1) * (d - res[0]) * (sn - s)
            res[0] = d
        elif name == "heunpp2":
            s_end = sigmas[-1]
            dt = sn - s
            if sn == s_end:
                x = x + d * dt
            elif sigmas[i + 2] == s_end:
                x_2 = x + d * dt
                d_2 = (x_2 - toy_denoised(x_2, sn)) / sn
                w2 = sn / (2 * sigmas[0])
                x = x + (d * (1 - w2) + d_2 * w2) * dt
            else:
                x_2 = x + d * dt
                d_2 = (x_2 - toy_denoised(x_2, sn)) / sn
                s2 = sigmas[i + 2]
                x_3 = x_2 + d_2 * (s2 - sn)
                d_3 = (x_3 - toy_denoised(x_3, s2)) / s2
                w = 3 * sigmas[0]
                w2, w3 = sn / w, s2 / w
                x = x + ((1 - w2 - w3) * d + w2 * d_2 + w3 * d_3) * dt
        elif name in ("ipndm", "ipndm_v"):
            order = min(4, i + 1)
            b = buf
            if sn == 0:
                x = den
            elif order == 1:
                x = x + (sn - s) * d
            elif name == "ipndm":
                w = {2: [3 / 2, -1 / 2], 3: [23 / 12, -16 / 12, 5 / 12], 4: [55 / 24, -59 / 24, 37 / 24, -9 / 24]}[order]
                x = x + (sn - s) * (w[0] * d + sum(w[j] * b[-j] for j in range(1, order)))
            else:
                t = sigmas
                hn, hn1 = sn - s, s - t[i - 1]
                c1, c2 = (2 + hn / hn1) / 2, -(hn / hn1) / 2
                if order == 2:
                    w = [c1, c2]
                else:
                    hn2 = t[i - 1] - t[i - 2]
                    tmp1 = (1 - hn / (3 * (hn + hn1)) * (hn * (hn + hn1)) / (hn1 * (hn1 + hn2))) / 2
                    if order == 3:
                        w = [c1 + tmp1, c2 - (1 + hn1 / hn2) * tmp1, tmp1 * hn1 / hn2]
                    else:
                        hn3 = t[i - 2] - t[i - 3]
                        q = hn1 * (hn1 + hn2) / (hn2 * (hn2 + hn3))
                        tmp2 = ((1 - hn / (3 * (hn + hn1))) / 2 + (1 - hn / (2 * (hn + hn1))) * hn / (6 * (hn + hn1 + hn2))) \
                            * (hn * (hn + hn1) * (hn + hn1 + hn2)) / (hn1 * (hn1 + hn2) * (hn1 + hn2 + hn3))
                        w = [c1 + tmp1 + tmp2, c2 - (1 + hn1 / hn2) * tmp1 - (1 + hn1 / hn2 + q) * tmp2,
                             tmp1 * hn1 / hn2 + (hn1 / hn2 + q * (1 + hn2 / hn3)) * tmp2, -tmp2 * q * hn1 / hn2]
                x = x + (sn - s) * (w[0] * d + sum(w[j] * b[-j] for j in range(1, order)))
            buf.append(d)
            if len(buf) > 3:
                buf.pop(0)
    return [float(v) for v in x]

# --- DPM-Solver (Lu et al. 2022, arXiv 2206.00927) as ComfyUI's dpm_fast and dpm_adaptive run it ------------------------
# Noise prediction in lambda = -log sigma (alpha = 1 for these latents): eps = (x - x0) / sigma. One step from lambda s by h:
#   order 1:  x - sigma_t (e^h - 1) eps_s
#   order 2:  u = x - sigma_s1 (e^{r1 h} - 1) eps_s;  + the term - sigma_t / (2 r1) (e^h - 1) (eps_s1 - eps_s)
#   order 3:  r1 = 1/3, r2 = 2/3; u2 adds - sigma_s2 (r2 / r1) ((e^{r2 h} - 1) / (r2 h) - 1) D1; x_t uses - sigma_t / r2 ((e^h - 1) / h - 1) D2
# The model sees its sigma as float32, as the C# denoiser delegate receives it.
class DpmToy:
    def __init__(self):
        self.calls = 0

    def eps(self, x, lam):
        self.calls += 1
        sigma = math.exp(-lam)
        return (x - toy_denoised(x, float(np.float32(sigma)))) / sigma

    def step(self, x, lam, lam_next, order, eps0, r1=None, e1=None):
        # Returns the solution and eps at lambda + r1 h, which a third-order step with the same r1 = 1/3 reuses.
        h = lam_next - lam
        sig = lambda l: math.exp(-l)
        first = x - sig(lam_next) * math.expm1(h) * eps0
        if order == 1:
            return first, None
        r1 = (0.5 if order == 2 else 1 / 3) if r1 is None else r1
        s1 = lam + r1 * h
        if e1 is None:
            e1 = self.eps(x - sig(s1) * math.expm1(r1 * h) * eps0, s1)
        if order == 2:
            return first - sig(lam_next) / (2 * r1) * math.expm1(h) * (e1 - eps0), e1
        r2 = 2 / 3
        s2 = lam + r2 * h
        u2 = x - sig(s2) * math.expm1(r2 * h) * eps0 - sig(s2) * (r2 / r1) * (math.expm1(r2 * h) / (r2 * h) - 1) * (e1 - eps0)
        e2 = self.eps(u2, s2)
        return first - sig(lam_next) / r2 * (math.expm1(h) / h - 1) * (e2 - eps0), e1

def dpm_ancestral_target(lam, lam_next, lam_end, eta):
    # The ancestral split in sigma (get_ancestral_step), the deterministic target capped at the end of the interval.
    s, sn = math.exp(-lam), math.exp(-lam_next)
    down, _ = ancestral(s, sn, eta)
    target = min(lam_end, -math.log(down)) if down > 0 else lam_end
    return target, math.sqrt(max(sn ** 2 - math.exp(-2 * target), 0.0))

def dpm_bounds(sigmas):
    # ComfyUI's wrappers: sigma_min is the last sigma, or the one before it when the last is 0; n = len(sigmas) - 1.
    low = sigmas[-1] if sigmas[-1] > 0 else sigmas[-2]
    return -math.log(sigmas[0]), -math.log(low), len(sigmas) - 1

def dpm_fast(x, sigmas, eta=0.0, s_noise=1.0):
    # n evaluations: floor(n / 3) + 1 even intervals in lambda, third order each, the remainder (or 2 + 1) at the end.
    lam0, lam_end, n = dpm_bounds(sigmas)
    m = n // 3 + 1
    grid = np.linspace(lam0, lam_end, m + 1)
    orders = [3] * (m - 2) + [2, 1] if n % 3 == 0 else [3] * (m - 1) + [n % 3]
    toy, x, draws = DpmToy(), np.array(x, dtype=np.float64), 0
    for i, order in enumerate(orders):
        lam, lam_next = grid[i], grid[i + 1]
        target, up = dpm_ancestral_target(lam, lam_next, lam_end, eta) if eta else (lam_next, 0.0)
        x, _ = toy.step(x, lam, target, order, toy.eps(x, lam))
        if eta:
            x = x + up * s_noise * noise_stream(len(x), draws)
            draws += 1
    return [float(v) for v in x], toy.calls

def dpm_adaptive(x, sigmas, order=3, rtol=0.05, atol=0.0078, h_init=0.05, pcoeff=0.0, icoeff=1.0, dcoeff=0.0, accept_safety=0.81, eta=0.0, s_noise=1.0):
    # Embedded pair (orders 1/2, or 2 with r1 = 1/3 and 3) from each point; the scaled RMS difference drives a PID
    # controller on h (Soederlind's digital filters with the arctan limiter, exponent order or 1.5 with noise).
    lam, lam_end, _ = dpm_bounds(sigmas)
    toy, x, draws = DpmToy(), np.array(x, dtype=np.float64), 0
    x_prev, h, history = x, h_init, None
    k = 1.5 if eta else order
    b1, b2, b3 = (pcoeff + icoeff + dcoeff) / k, -(pcoeff + 2 * dcoeff) / k, dcoeff / k
    accepted = rejected = 0
    forward = lam_end > lam  # rising sigmas run backwards in lambda, h negative
    h = abs(h_init) * (1 if forward else -1)
    while (lam < lam_end - 1e-5) if forward else (lam > lam_end + 1e-5):
        lam_next = min(lam_end, lam + h) if forward else max(lam_end, lam + h)
        target, up = dpm_ancestral_target(lam, lam_next, lam_end, eta) if eta else (lam_next, 0.0)
        eps0 = toy.eps(x, lam)
        if order == 2:
            low, _ = toy.step(x, lam, target, 1, eps0)
            high, _ = toy.step(x, lam, target, 2, eps0)
        else:
            # The second-order solution shares eps at lambda + h / 3 with the third-order one: three evaluations per try.
            low, e1 = toy.step(x, lam, target, 2, eps0, r1=1 / 3)
            high, _ = toy.step(x, lam, target, 3, eps0, e1=e1)
        scale = np.maximum(atol, rtol * np.maximum(np.abs(low), np.abs(x_prev)))
        error = float(np.sqrt(np.mean(((low - high) / scale) ** 2)))
        inv = 1 / (error + 1e-8)
        history = [inv, inv, inv] if history is None else history
        history[0] = inv
        factor = history[0] ** b1 * history[1] ** b2 * history[2] ** b3
        factor = 1 + math.atan(factor - 1)
        if factor >= accept_safety:
            history[2], history[1] = history[1], history[0]
            x_prev = low
            x = high
            if eta:
                x = x + up * s_noise * noise_stream(len(x), draws)
                draws += 1
            lam = lam_next
            accepted += 1
        else:
            rejected += 1
        h *= factor
    return [float(v) for v in x], toy.calls, accepted, rejected

# --- SA-Solver (Xue et al. 2023, arXiv 2309.05019) as ComfyUI's sa_solver / sa_solver_pece run it -----------------------
# Data prediction in lambda = -log sigma (alpha = sigma e^lambda = 1 here). With m = 1 + tau^2, one step from s to t is
#   x_t = (sigma_t / sigma_s) e^{-tau^2 h} x_s + sum_j b_j x0_j + sigma_t sqrt(1 - e^{-2 tau^2 h}) xi,
#   b_j = alpha_t m * integral over [lambda_s, lambda_t] of e^{-m (lambda_t - l)} L_j(l) dl,
# L_j the Lagrange basis on the estimates' lambdas (by quadrature here). The predictor (Adams-Bashforth) uses the nodes up
# to s; the corrector (Adams-Moulton) redoes the previous step with the nodes up to t and the predictor's noise; PECE
# evaluates the corrected state again. Orders drop to the steps left when the last sigma is 0. tau is eta between
# percent_to_sigma(start) and percent_to_sigma(end) (ModelSamplingDiscrete: sigma at timestep (1 - p) * 999), else 0.
def percent_to_sigma(p):
    if p <= 0:
        return 999999999.9
    if p >= 1:
        return 0.0
    return sigma_at(f32((1.0 - p) * 999.0))

def sa_weights(nodes, lam_s, lam_t, tau, simple=False, corrector=False):
    import scipy.integrate as integrate
    m = 1 + tau * tau
    h = lam_t - lam_s
    if simple and len(nodes) == 2:
        total = 1 - math.exp(-m * h)
        if corrector:
            return [total - m * h / 2, m * h / 2]
        older = m * h * h / (2 * (nodes[0] - lam_s))
        return [older, total - older]
    def basis(j, l):
        v = 1.0
        for k, node in enumerate(nodes):
            if k != j:
                v *= (l - node) / (nodes[j] - node)
        return v
    return [m * integrate.quad(lambda l: math.exp(-m * (lam_t - l)) * basis(j, l), lam_s, lam_t, epsabs=1e-14, epsrel=1e-12)[0] for j in range(len(nodes))]

def sa_solver(x, sigmas, eta=1.0, s_noise=1.0, start=0.2, end=0.8, predictor=3, corrector=4, pece=False, simple=False):
    hi, lo = percent_to_sigma(start), percent_to_sigma(end)
    tau_of = lambda sigma: eta if eta > 0 and hi >= sigma >= lo else 0.0
    lam = [-math.log(s) if s > 0 else math.inf for s in sigmas]
    n = len(sigmas) - 1
    x = np.array(x, dtype=np.float64)
    cur, xs, draws, calls = x, [], 0, 0
    tau_prev, xi_prev = 0.0, None
    for i in range(n):
        s, sn = sigmas[i], sigmas[i + 1]
        d = toy_denoised(x, s); calls += 1
        xs = (xs + [d])[-max(predictor, corrector):]
        p = min(predictor, len(xs))
        c = 0 if i == 0 or (sn == 0 and not pece) else min(corrector, len(xs))
        if sigmas[-1] == 0:
            p, c = min(p, n - 1 - i), min(c, n - i)
        if c > 0:
            b = sa_weights(lam[i - c + 1:i + 1], lam[i - 1], lam[i], tau_prev, simple, True)
            h_prev = lam[i] - lam[i - 1]
            cur = s / sigmas[i - 1] * math.exp(-tau_prev ** 2 * h_prev) * cur + sum(w * e for w, e in zip(b, xs[-c:]))
            if xi_prev is not None:
                cur = cur + xi_prev
            if pece:
                d = toy_denoised(cur, s); calls += 1
                xs[-1] = d
        else:
            cur = x
        if sn == 0:
            x = d
            continue
        tau = tau_of(sn)
        h = lam[i + 1] - lam[i]
        b = sa_weights(lam[i - p + 1:i + 1], lam[i], lam[i + 1], tau, simple, False)
        x = sn / s * math.exp(-tau ** 2 * h) * cur + sum(w * e for w, e in zip(b, xs[-p:]))
        xi_prev = None
        if tau > 0 and s_noise > 0:
            xi_prev = noise_stream(len(x), draws) * sn * math.sqrt(-math.expm1(-2 * tau ** 2 * h)) * s_noise
            draws += 1
            x = x + xi_prev
        tau_prev = tau
    return [float(v) for v in x], calls

# --- ComfyUI's CFG++ samplers on a toy guided model, in float64 ------------------------------------------------------
# The unconditional estimate differs from the conditional one (toy_denoised), so a sampler that used the guided estimate
# where the unconditional one belongs would land elsewhere.
CFG_PP_SCALE = 2.5

def toy_unconditional(x, sigma):
    return 0.8 * x / (1 + sigma ** 2) - 0.05 * sigma / (1 + sigma)

def toy_guided(x, sigma):
    # Returns (guided, unconditional), as ComfyUI's post-CFG hook sees denoised and uncond_denoised.
    u = toy_unconditional(x, sigma)
    return u + CFG_PP_SCALE * (toy_denoised(x, sigma) - u), u

def sample_cfg_pp(name, x, sigmas, params=None):
    p = dict(DEFAULTS, **(params or {}))
    eta, s_noise = p["eta"], p["s_noise"]
    if name == "euler_cfg_pp":
        eta, s_noise = 0.0, 0.0
    x = np.array(x, dtype=np.float64)
    draws = [0]
    def noise():
        v = noise_stream(len(x), draws[0]); draws[0] += 1; return v
    old_u, old_down, old_d = None, None, None
    for i in range(len(sigmas) - 1):
        s, sn = sigmas[i], sigmas[i + 1]
        g, u = toy_guided(x, s)
        if name in ("euler_cfg_pp", "euler_ancestral_cfg_pp"):
            # alpha_s = alpha_t = 1 for eps/v models; DDIM-style: land on the guided x0, keep the unconditional noise.
            if sn == 0:
                x = g
            else:
                eps_u = (x - u) / s
                down, up = ancestral(s, sn, eta)
                x = g + down * eps_u
                if eta > 0 and s_noise > 0:
                    x = x + noise() * s_noise * up
        elif name == "dpmpp_2s_ancestral_cfg_pp":
            down, up = ancestral(s, sn, eta)
            if down == 0:
                x = x + (x - u) / s * (down - s)
            else:
                lam, lam_down = -math.log(s), -math.log(down)
                h = lam_down - lam
                mid = math.exp(-(lam + h / 2))
                x_mid = (mid / s) * x - math.expm1(-h / 2) * u
                _, u_mid = toy_guided(x_mid, float(f32(mid)))
                x = (down / s) * x - math.expm1(-h) * u_mid
            if sn > 0:
                x = x + noise() * s_noise * up
            x = x + (g - u)
        elif name == "dpmpp_2m_cfg_pp":
            lam, lam_next = -math.log(s), (-math.log(sn) if sn > 0 else math.inf)
            h = lam_next - lam
            if old_u is None or sn == 0:
                mix = -math.exp(-h) * u
            else:
                r = (lam + math.log(sigmas[i - 1])) / h
                mix = -math.exp(-h) * u - math.expm1(-h) / (2 * r) * (g - old_u)
            x = g + mix + math.exp(-h) * x
            old_u = u
        elif name in ("res_multistep_cfg_pp", "res_multistep_ancestral_cfg_pp"):
            down, up = (sn, 0.0) if name == "res_multistep_cfg_pp" else ancestral(s, sn)
            if down == 0 or old_u is None:
                x = g + (x - u) / s * down
            else:
                t, t_old, t_next, t_prev = -math.log(s), -math.log(old_down), -math.log(down), -math.log(sigmas[i - 1])
                h = t_next - t
                c2 = (t_prev - t_old) / h
                phi1 = math.expm1(-h) / -h
                phi2 = (phi1 - 1.0) / -h
                b1, b2 = phi1 - phi2 / c2, phi2 / c2
                x = x + (g - u)
                x = math.exp(-h) * x + h * (b1 * u + b2 * old_u)
            if sn > 0 and up > 0:
                x = x + noise() * up
            old_u, old_down = u, down
        elif name == "gradient_estimation_cfg_pp":
            d = (x - u) / s
            if sn == 0:
                x = g
            else:
                x = g + d * sn
                if i >= 1:
                    x = x + (2.0 - 1) * (d - old_d) * (sn - s)
            old_d = d
    return [float(v) for v in x]

# --- FlipSigmas and unsampling -----------------------------------------------------------------------------------------
# FlipSigmas reverses the sigmas and puts 0.0001 (float32) where the first is 0. The samplers whose steps mean something
# on rising sigmas run the same formulas upwards; the ancestral and SDE ones at eta 0.
def flip(sigmas):
    out = [float(v) for v in np.array(sigmas, dtype=f32)[::-1]]
    if out and out[0] == 0:
        out[0] = float(f32(0.0001))
    return out

RISING = [("euler", {}), ("ddim", {}), ("heun", {}), ("dpm_2", {}), ("lms", {}), ("lms", {"order": 2}), ("dpmpp_2m", {}), ("ipndm", {}), ("ipndm_v", {}),
          ("gradient_estimation", {}), ("res_multistep", {}), ("deis", {}), ("lcm", {}), ("er_sde", {}), ("uni_pc", {}), ("uni_pc_bh2", {}),
          ("euler_ancestral", {"eta": 0.0}), ("dpm_2_ancestral", {"eta": 0.0}), ("dpmpp_2s_ancestral", {"eta": 0.0}), ("dpmpp_sde", {"eta": 0.0}),
          ("dpmpp_2m_sde", {"eta": 0.0}), ("dpmpp_2m_sde_heun", {"eta": 0.0}), ("dpmpp_3m_sde", {"eta": 0.0}), ("dpmpp_3m_sde", {"s_noise": 0.0, "eta": 0.5})]
RISING_CFG_PP = [("euler_cfg_pp", {}), ("dpmpp_2m_cfg_pp", {}), ("res_multistep_cfg_pp", {}), ("gradient_estimation_cfg_pp", {}),
                 ("euler_ancestral_cfg_pp", {"eta": 0.0}), ("dpmpp_2s_ancestral_cfg_pp", {"eta": 0.0})]

def rising():
    # From the schedule's smallest sigma up (FlipSigmas, then the 0.0001 step cut off as SplitSigmas would): a first step from
    # 0.0001 divides float32 rounding by 1e-4, which float64 here and float32 latents there would disagree on.
    x = [math.cos(0.5 * e) * 0.8 for e in range(8)]
    cases = []
    for sname, steps in (("karras", 10), ("normal", 6)):
        sigmas = flip(SCHEDULES[sname](steps))[1:]
        for name, params in RISING:
            cases.append({"sampler": name, "parameters": params, "scheduler": sname, "steps": steps, "x": x, "sigmas": sigmas,
                          "result": sample(name, x, sigmas, params)})
        for name, params in RISING_CFG_PP:
            cases.append({"sampler": name, "parameters": params, "cfg_pp": True, "scale": CFG_PP_SCALE, "scheduler": sname, "steps": steps, "x": x,
                          "sigmas": sigmas, "result": sample_cfg_pp(name, x, sigmas, params)})
        for name in ("sa_solver", "sa_solver_pece"):
            result, calls = sa_solver(x, sigmas, eta=0.0, pece=name == "sa_solver_pece")
            cases.append({"sampler": name, "parameters": {"eta": 0.0}, "scheduler": sname, "steps": steps, "x": x, "sigmas": sigmas, "result": result})
        result, calls = dpm_fast(x, sigmas)
        cases.append({"sampler": "dpm_fast", "parameters": {}, "scheduler": sname, "steps": steps, "x": x, "sigmas": sigmas, "result": result, "evaluations": calls})
        for params in ({}, {"order": 2, "rtol": 0.01, "atol": 0.001}):
            result, calls, accepted, rejected = dpm_adaptive(x, sigmas, **params)
            cases.append({"sampler": "dpm_adaptive", "parameters": params, "scheduler": sname, "steps": steps, "x": x, "sigmas": sigmas, "result": result,
                          "evaluations": calls})
    flips = [{"sigmas": sg, "flipped": flip(sg)} for sg in (SCHEDULES["karras"](10), SCHEDULES["normal"](3), [14.6, 3.0], [5.0], [])]
    return {"samplers": cases, "flip": flips}

# ExtendIntermediateSigmas: the steps whose sigma lies in [end_at_sigma, start_at_sigma] (a negative start: no bound) split
# into `steps`, at sigma + f(x) (sigma_next - sigma) for x = linspace(0, 1, steps + 1)[1:-1]: f = x (linear),
# sin(x pi / 2) (cosine), 1 - cos(x pi / 2) (sine); all float32 as torch computes them.
def extend(sigmas, steps, start, end, spacing):
    start = math.inf if start < 0 else start
    x = linspace32(0, 1, steps + 1)[1:-1]
    half_pi = f32(math.pi) / f32(2)
    f = {"linear": lambda v: v, "cosine": lambda v: np.sin(v * f32(math.pi) / f32(2)), "sine": lambda v: f32(1) - np.cos(v * f32(math.pi) / f32(2))}[spacing]
    spaced = np.array([f(f32(v)) for v in x], dtype=f32)
    sg = np.array(sigmas, dtype=f32)
    out = []
    for i in range(len(sg) - 1):
        out.append(float(sg[i]))
        if f32(end) <= sg[i] <= f32(start):
            out.extend(float(v) for v in (spaced * (sg[i + 1] - sg[i]) + sg[i]).astype(f32))
    if len(sg):
        out.append(float(sg[-1]))
    return out

def extend_cases():
    cases = []
    for sname, base in (("karras", SCHEDULES["karras"](10)), ("normal", SCHEDULES["normal"](6)), ("flipped", flip(SCHEDULES["karras"](5)))):
        for steps, start, end, spacing in ((2, -1.0, 12.0, "linear"), (3, -1.0, 0.0, "linear"), (4, 10.0, 1.0, "cosine"), (5, -1.0, 0.5, "sine"),
                                           (1, -1.0, 0.0, "linear"), (7, 3.0, 0.0, "sine"), (3, 20000.0, 0.0, "cosine")):
            cases.append({"scheduler": sname, "sigmas": base, "steps": steps, "start_at_sigma": start, "end_at_sigma": end, "spacing": spacing,
                          "extended": extend(base, steps, start, end, spacing)})
    return cases

# AddNoise: torch.randn(latent.shape, generator=manual_seed(seed)) * |sigmas[0] - sigmas[-1]| (sigmas[0] alone for one sigma)
# added to the latent in float32; no sigmas leave it as is. Drawn with torch itself: the noise is torch's.
def add_noise_cases():
    import torch
    shape = (1, 4, 2, 3)
    latent = np.array([math.sin(0.7 * e) for e in range(24)], dtype=f32).reshape(shape)
    cases = []
    for seed, sigmas in ((42, SCHEDULES["karras"](10)), (7, flip(SCHEDULES["normal"](6))), (123, [3.5]), (5, [2.0, 0.5, 0.1]), (9, [0.0, 0.0])):
        noise = torch.randn(shape, generator=torch.manual_seed(seed), dtype=torch.float32)
        sg = torch.tensor(sigmas, dtype=torch.float32)
        scale = torch.abs(sg[0] - sg[-1]) if len(sigmas) > 1 else sg[0]
        out = (torch.from_numpy(latent) + noise * scale).numpy()
        cases.append({"seed": seed, "shape": list(shape), "latent": [float(v) for v in latent.ravel()], "sigmas": sigmas, "scale": float(scale),
                      "result": [float(v) for v in out.ravel()]})
    return cases

# ComfyUI's ModelSamplingContinuousEDM / ModelSamplingContinuousV: 1000 sigmas log-spaced between sigma_min and sigma_max
# (torch.linspace of the float64 logs into float32, then exp), and a closed-form timestep: 0.25 ln(sigma) for EDM,
# atan(sigma) * 2 / pi for V; the tensors are float32 and their Python-float factors applied in float32. Their
# transcendental functions are taken correctly rounded (float64, then float32): numpy's float32 exp and atan are off by
# an ulp here and there, and 2/pi atan near sigma 500 turns one ulp of timestep into 6e-5 of sigma.
def exp32(x):
    return f32(math.exp(float(x)))

def continuous_table(sigma_min, sigma_max):
    return np.array([exp32(v) for v in linspace32(math.log(sigma_min), math.log(sigma_max), 1000)], dtype=f32)

def continuous_timestep(kind, sigma):
    sigma = f32(sigma)
    return f32(f32(0.25) * f32(math.log(float(sigma)))) if kind == "edm" else f32(f32(f32(math.atan(float(sigma))) / f32(math.pi)) * f32(2))

def continuous_sigma(kind, t):
    t = f32(t)
    return exp32(f32(t / f32(0.25))) if kind == "edm" else f32(math.tan(float(f32(f32(t * f32(math.pi)) / f32(2)))))

def continuous_karras(table, steps, rho=7.0):
    ramp = linspace32(0, 1, steps)
    mn, mx = f32(float(table[0]) ** (1 / rho)), f32(float(table[-1]) ** (1 / rho))
    return [float(f32(float(f32(mx + f32(r * f32(mn - mx)))) ** rho)) for r in ramp] + [0.0]

def continuous_exponential(table, steps):
    return [float(exp32(v)) for v in linspace32(math.log(float(table[-1])), math.log(float(table[0])), steps)] + [0.0]

def continuous_kl_optimal(table, steps):
    lo, hi = f32(math.atan(float(table[0]))), f32(math.atan(float(table[-1])))
    out = []
    for i in range(steps):
        w = f32(0) if steps == 1 else f32(f32(i) / f32(steps - 1))
        out.append(float(f32(math.tan(float(f32(f32(w * lo) + f32(f32(f32(1) - w) * hi)))))))
    return out + [0.0]

def continuous_normal(kind, table, steps, sgm=False):
    start, end = continuous_timestep(kind, table[-1]), continuous_timestep(kind, table[0])
    if sgm:
        ts = linspace32(start, end, steps + 1)[:-1]
    elif abs(float(continuous_sigma(kind, end))) <= 1e-5:
        ts = linspace32(start, end, steps + 1)
        return [float(continuous_sigma(kind, t)) for t in ts]
    else:
        ts = linspace32(start, end, steps)
    return [float(continuous_sigma(kind, t)) for t in ts] + [0.0]

def scalings(prediction, sigma_data, sigma):
    # ComfyUI's EPS / V_PREDICTION / EDM: c_in = 1/sqrt(sigma^2 + sigma_data^2); denoised = c_skip * x + c_out * output.
    s, d = float(sigma), float(sigma_data)
    c_in = 1 / math.sqrt(s * s + d * d)
    if prediction == "eps":
        return c_in, 1.0, -s
    c_out = s * d / math.sqrt(s * s + d * d)
    return c_in, d * d / (s * s + d * d), -c_out if prediction == "v_prediction" else c_out

def continuous():
    cases = []
    for kind, mn, mx in (("edm", 0.002, 120.0), ("v", 0.03, 500.0), ("edm", 0.002, 80.0), ("v", 0.5, 20.0)):
        table = continuous_table(mn, mx)
        probes = [float(table[0]), 0.03, 0.5, 1.0, 7.5, 60.0, float(table[-1])]
        schedules = []
        for name in ("normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta", "kl_optimal"):
            for n in (1, 4, 10, 25):
                if name == "normal":
                    sig = continuous_normal(kind, table, n)
                elif name == "sgm_uniform":
                    sig = continuous_normal(kind, table, n, True)
                elif name == "karras":
                    sig = continuous_karras(table, n)
                elif name == "exponential":
                    sig = continuous_exponential(table, n)
                elif name == "kl_optimal":
                    sig = continuous_kl_optimal(table, n)
                else:
                    sig = with_sigmas(table, SCHEDULES[name], n)
                schedules.append({"scheduler": name, "steps": n, "sigmas": sig})
        cases.append({"sampling": kind, "sigma_min": mn, "sigma_max": mx, "sigmas": [float(v) for v in table],
                      "timesteps": [{"sigma": p, "timestep": float(continuous_timestep(kind, p))} for p in probes],
                      "sigma_of": [{"timestep": float(continuous_timestep(kind, p)), "sigma": float(continuous_sigma(kind, continuous_timestep(kind, p)))} for p in probes],
                      "schedules": schedules})
    rng = np.random.default_rng(7)
    x, output = rng.standard_normal(6), rng.standard_normal(6)
    denoised = []
    for prediction, sigma_data in (("eps", 1.0), ("v_prediction", 1.0), ("edm", 0.5)):
        for sigma in (0.002, 0.03, 0.5, 1.0, 14.6, 120.0):
            c_in, c_skip, c_out = scalings(prediction, sigma_data, sigma)
            denoised.append({"prediction": prediction, "sigma_data": sigma_data, "sigma": sigma, "c_in": c_in, "c_skip": c_skip, "c_out": c_out,
                             "x": [float(v) for v in x], "output": [float(v) for v in output], "denoised": [float(c_skip * a + c_out * b) for a, b in zip(x, output)]})
    return {"cases": cases, "denoised": denoised}

def main():
    sched = []
    for name in SCHEDULES:
        for steps in (1, 2, 3, 10, 20, 25, 30):
            sched.append({"scheduler": name, "steps": steps, "denoise": 1.0, "sigmas": SCHEDULES[name](steps)})
        for steps, denoise in ((20, 0.5), (10, 0.75), (25, 0.3)):
            sched.append({"scheduler": name, "steps": steps, "denoise": denoise, "sigmas": with_denoise(name, steps, denoise)})
    x0 = [math.cos(0.5 * e) * 14.6 for e in range(8)]
    samplers = []
    for name in ("euler", "euler_ancestral", "heun", "dpm_2", "dpm_2_ancestral", "lms", "dpmpp_2m", "lcm", "ddim", "dpmpp_2m_sde", "dpmpp_sde", "uni_pc", "uni_pc_bh2",
                 "dpmpp_2m_sde_heun", "dpmpp_3m_sde", "dpmpp_2s_ancestral", "ddpm", "ipndm", "ipndm_v", "res_multistep", "res_multistep_ancestral",
                 "gradient_estimation", "heunpp2", "deis", "er_sde", "seeds_2", "seeds_3"):
        for sname, steps in (("karras", 10), ("normal", 6)):
            sigmas = SCHEDULES[sname](steps)
            samplers.append({"sampler": name, "scheduler": sname, "steps": steps, "x": x0, "sigmas": sigmas, "result": sample(name, x0, sigmas)})
    # The sampler nodes' settings away from ComfyUI's defaults (SamplerEulerAncestral, SamplerDPMPP_SDE, SamplerLMS ...).
    parametrised = []
    for name, params in (("euler_ancestral", {"eta": 0.5, "s_noise": 0.8}), ("euler_ancestral", {"eta": 2.0}),
                         ("dpm_2_ancestral", {"eta": 0.6, "s_noise": 1.2}), ("dpmpp_2s_ancestral", {"eta": 0.4, "s_noise": 0.9}),
                         ("dpmpp_sde", {"eta": 0.7, "s_noise": 0.8, "r": 0.3}), ("dpmpp_sde", {"eta": 0.0, "r": 0.5}),
                         ("dpmpp_2m_sde", {"eta": 0.5, "s_noise": 0.7, "solver_type": "heun"}), ("dpmpp_2m_sde", {"eta": 0.5}),
                         ("dpmpp_2m_sde", {"solver_type": "heun"}), ("dpmpp_3m_sde", {"eta": 0.3, "s_noise": 1.3}),
                         ("dpmpp_3m_sde", {"s_noise": 0.0}), ("lms", {"order": 2}), ("lms", {"order": 10})):
        for sname, steps in (("karras", 10), ("normal", 6)):
            sigmas = SCHEDULES[sname](steps)
            parametrised.append({"sampler": name, "parameters": params, "scheduler": sname, "steps": steps, "x": x0, "sigmas": sigmas,
                                 "result": sample(name, x0, sigmas, params)})
    # The CFG++ samplers on the toy guided model (cfg 2.5), at their defaults and with SamplerEulerAncestralCFGPP's settings.
    cfg_pp = []
    for name, params in (("euler_cfg_pp", {}), ("euler_ancestral_cfg_pp", {}), ("dpmpp_2s_ancestral_cfg_pp", {}), ("dpmpp_2m_cfg_pp", {}),
                         ("res_multistep_cfg_pp", {}), ("res_multistep_ancestral_cfg_pp", {}), ("gradient_estimation_cfg_pp", {}),
                         ("euler_ancestral_cfg_pp", {"eta": 0.5, "s_noise": 0.8}), ("euler_ancestral_cfg_pp", {"s_noise": 0.0}),
                         ("dpmpp_2s_ancestral_cfg_pp", {"eta": 0.4, "s_noise": 0.9})):
        for sname, steps in (("karras", 10), ("normal", 6)):
            sigmas = SCHEDULES[sname](steps)
            cfg_pp.append({"sampler": name, "parameters": params, "scale": CFG_PP_SCALE, "scheduler": sname, "steps": steps, "x": x0, "sigmas": sigmas,
                           "result": sample_cfg_pp(name, x0, sigmas, params)})
    # KSampler's schedules for dpm_2, dpm_2_ancestral and uni_pc (one step more, the penultimate sigma dropped).
    discarded = []
    for name in ("normal", "karras", "simple"):
        for steps, denoise in ((1, 1.0), (3, 1.0), (10, 1.0), (20, 0.5)):
            discarded.append({"scheduler": name, "steps": steps, "denoise": denoise, "sigmas": with_denoise(name, steps, denoise, True)})
    ays = [{"model_type": m, "steps": n, "denoise": dn, "sigmas": align_your_steps(m, n, dn)}
           for m in ("SD1", "SDXL", "SVD") for n, dn in ((10, 1.0), (1, 1.0), (4, 1.0), (25, 1.0), (20, 0.5), (7, 0.3))]
    zs = zero_terminal_snr(SIG)
    zsnr = {"sigmas": {str(i): float(zs[i]) for i in (0, 1, 100, 500, 900, 998, 999)},
            "timesteps": [{"sigma": float(x), "timestep": with_sigmas(zs, timestep, x)} for x in (0.03, 1.0, 14.6, 100.0, 4000.0)],
            "schedules": [{"scheduler": name, "steps": n, "sigmas": with_sigmas(zs, SCHEDULES[name], n)} for name in ("normal", "karras", "simple") for n in (1, 4, 10)]}
    dpm = []
    x_dpm = [math.cos(0.5 * e) * 14.6 for e in range(8)]
    for sname, steps in (("karras", 10), ("normal", 6), ("karras", 1), ("karras", 2), ("normal", 3), ("karras", 4), ("karras", 5), ("normal", 8)):
        sigmas = SCHEDULES[sname](steps)
        # One step has sigma_min = sigma_max: ComfyUI refuses eta above 0 there (a reverse or empty interval).
        for eta in (0.0, 0.6) if steps > 1 else (0.0,):
            result, calls = dpm_fast(x_dpm, sigmas, eta=eta, s_noise=0.9 if eta else 1.0)
            dpm.append({"sampler": "dpm_fast", "parameters": {"eta": eta, "s_noise": 0.9} if eta else {}, "scheduler": sname, "steps": steps,
                        "x": x_dpm, "sigmas": sigmas, "result": result, "evaluations": calls})
    window = SCHEDULES["karras"](10)[2:8]  # a window that stops above 0 (KSamplerAdvanced with leftover noise)
    for params in ({}, {"order": 2}, {"eta": 0.7, "s_noise": 0.8}, {"order": 2, "eta": 0.5}, {"rtol": 0.01, "atol": 0.001},
                   {"order": 2, "rtol": 0.005, "atol": 0.0005, "h_init": 0.5}, {"pcoeff": 0.3, "icoeff": 0.7, "dcoeff": 0.2, "accept_safety": 0.9},
                   {"h_init": 2.0, "accept_safety": 0.95}):
        for sname, sigmas in (("karras", SCHEDULES["karras"](10)), ("window", window)):
            result, calls, accepted, rejected = dpm_adaptive(x_dpm, sigmas, **params)
            dpm.append({"sampler": "dpm_adaptive", "parameters": params, "scheduler": sname, "x": x_dpm, "sigmas": sigmas, "result": result,
                        "evaluations": calls, "accepted": accepted, "rejected": rejected})
    window_fast, calls = dpm_fast(x_dpm, window)
    dpm.append({"sampler": "dpm_fast", "parameters": {}, "scheduler": "window", "x": x_dpm, "sigmas": window, "result": window_fast, "evaluations": calls})
    turbo = [{"steps": n, "denoise": dn, "sigmas": sd_turbo(n, dn)} for n, dn in ((1, 1.0), (4, 1.0), (10, 1.0), (1, 0.5), (4, 0.5), (3, 0.75), (2, 0.29), (5, 0.0))]
    turbo_zsnr = [{"steps": n, "denoise": dn, "sigmas": with_sigmas(zs, sd_turbo, n, dn)} for n, dn in ((1, 1.0), (4, 0.5))]
    beta_shapes = [{"steps": n, "alpha": a, "beta": b, "sigmas": beta(n, a, b)} for n, a, b in ((20, 0.6, 0.6), (10, 0.5, 0.7), (25, 2.0, 5.0), (30, 0.1, 0.1), (8, 50.0, 20.0))]
    k_schedules = [{"scheduler": "polyexponential", "steps": n, "settings": [mn, mx, rho], "sigmas": polyexponential(n, mn, mx, rho)}
                   for n, mn, mx, rho in ((20, 0.0291675, 14.614642, 1.0), (10, 0.0291675, 14.614642, 2.5), (1, 0.03, 14.6, 1.0), (7, 0.1, 80.0, 0.5))]
    k_schedules += [{"scheduler": "vp", "steps": n, "settings": [bd, bm, eps], "sigmas": vp(n, bd, bm, eps)}
                    for n, bd, bm, eps in ((20, 19.9, 0.1, 0.001), (10, 10.0, 0.5, 0.01), (1, 19.9, 0.1, 0.001), (13, 5.0, 0.2, 0.0001))]
    k_schedules += [{"scheduler": "laplace", "steps": n, "settings": [mn, mx, mu, b], "sigmas": laplace(n, mn, mx, mu, b)}
                    for n, mn, mx, mu, b in ((20, 0.0291675, 14.614642, 0.0, 0.5), (11, 0.0291675, 14.614642, 0.0, 0.5), (10, 0.03, 14.6, 1.0, 0.3), (6, 0.1, 20.0, -1.5, 0.8))]
    gits_cases = [{"coeff": c, "steps": n, "denoise": dn, "sigmas": gits(c, n, dn)}
                  for c, n, dn in ((1.2, 10, 1.0), (0.8, 2, 1.0), (1.5, 20, 1.0), (1.05, 7, 1.0), (1.2, 25, 1.0), (0.95, 40, 1.0), (1.35, 12, 0.5), (1.2, 30, 0.3), (1.1, 20, 0.75))]
    extension = [{"scheduler": name, "steps": n, "denoise": dn, "discard": disc, "sigmas": with_denoise(name, n, dn, disc)}
                 for name in EXTENSION_SCHEDULES for n, dn, disc in ((1, 1.0, False), (10, 1.0, False), (20, 1.0, False), (25, 1.0, False), (20, 0.5, False), (10, 1.0, True))]
    sa = []
    for sname, steps in (("karras", 10), ("normal", 6), ("karras", 1), ("karras", 2), ("normal", 3), ("karras", 20)):
        sigmas = SCHEDULES[sname](steps)
        for name in ("sa_solver", "sa_solver_pece"):
            for params in ({}, {"eta": 0.0}) if steps in (1, 2, 3, 20) else ({}, {"eta": 0.0}, {"eta": 0.6, "s_noise": 0.8}, {"predictor_order": 1, "corrector_order": 0},
                    {"predictor_order": 2, "corrector_order": 2, "simple_order_2": True}, {"predictor_order": 6, "corrector_order": 6, "eta": 1.5},
                    {"predictor_order": 4, "corrector_order": 1}, {"sde_start_percent": 0.0, "sde_end_percent": 1.0}, {"sde_start_percent": 0.5, "sde_end_percent": 0.6, "eta": 2.0},
                    {"s_noise": 0.0}, {"predictor_order": 2, "corrector_order": 3, "simple_order_2": True, "eta": 0.0}):
                result, calls = sa_solver(x0, sigmas, eta=params.get("eta", 1.0), s_noise=params.get("s_noise", 1.0), start=params.get("sde_start_percent", 0.2),
                                          end=params.get("sde_end_percent", 0.8), predictor=params.get("predictor_order", 3), corrector=params.get("corrector_order", 4),
                                          pece=name == "sa_solver_pece", simple=params.get("simple_order_2", False))
                sa.append({"sampler": name, "parameters": params, "scheduler": sname, "steps": steps, "x": x0, "sigmas": sigmas, "result": result, "evaluations": calls})
    window = SCHEDULES["karras"](10)[2:8]
    for name in ("sa_solver", "sa_solver_pece"):
        result, calls = sa_solver(x0, window, pece=name == "sa_solver_pece")
        sa.append({"sampler": name, "parameters": {}, "scheduler": "window", "steps": len(window) - 1, "x": x0, "sigmas": window, "result": result, "evaluations": calls})
    # The continuous samplings come first so that every entry before them in reference.json stays byte-identical.
    out = {"continuous": continuous(), "model": {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000},
           "sigma_min": float(SIG[0]), "sigma_max": float(SIG[-1]),
           "timesteps": [{"sigma": float(s), "timestep": timestep(s)} for s in (0.03, 0.1, 0.5, 1.0, 2.5, 7.0, 14.6, 20.0)],
           "schedules": sched, "discard_penultimate": discarded, "align_your_steps": ays, "samplers": samplers,
           "zero_snr": zsnr, "sampler_parameters": parametrised, "dpm_solver": dpm, "cfg_pp": cfg_pp,
           "sd_turbo": turbo, "sd_turbo_zsnr": turbo_zsnr, "beta_shapes": beta_shapes, "k_schedules": k_schedules, "gits": gits_cases,
           "extension_schedules": extension, "sa_solver": sa}
    # New sections go last, so that every entry before them stays byte-identical.
    out["rising"] = rising()
    out["extend_intermediate"] = extend_cases()
    out["add_noise"] = add_noise_cases()
    print(json.dumps(out, indent=1))

if __name__ == "__main__":
    main()
