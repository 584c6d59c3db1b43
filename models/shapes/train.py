"""Trains shapes-sd from scratch and exports it in the diffusers ONNX layout.

    nice -n 19 /usr/bin/python3 models/shapes/train.py --out models/shapes-sd --seed 0

Phases (each checkpoints under --work, so a phase can be re-run alone with --phase):
  vae     the 8x KL autoencoder on freshly drawn pictures
  latents encode a fixed set of training pictures once; pick the latent scaling factor
  unet    text encoder + UNet jointly, epsilon prediction, 10% empty captions for classifier-free guidance
  export  ONNX (opset 17) + configs + tokenizer + manifest into --out
  evaluate the Python judge over every colour/shape pair (a quick check; the C# test is the real judge)
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_vocab  # noqa: E402
import export as onnx_export  # noqa: E402
import networks as N  # noqa: E402
import shapes_data as D  # noqa: E402

# One thread: on a shared, oversubscribed 2-core box two OpenMP threads spin at barriers and run ~10x slower.
torch.set_num_threads(1)


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def vocabulary():
    return clip_vocab.Vocabulary(D.COLOURS + D.SHAPES + ["on", "background"])


def alphas_cumprod():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, 0).float()


def progress(step, total, start, minutes):
    """How far a phase is: by steps, or by its wall-clock budget when the machine is too loaded to reach them."""
    by_time = (time.time() - start) / (60.0 * minutes) if minutes > 0 else 0.0
    return min(1.0, max(step / total, by_time))


def cosine_lr(opt, step, done, peak, warmup=100):
    lr = peak * min(1.0, (step + 1) / warmup) * (0.5 * (1 + math.cos(math.pi * done)) * 0.9 + 0.1)
    for g in opt.param_groups:
        g["lr"] = lr


def train_vae(args):
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    vae = N.Vae()
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    start = time.time()
    for step in range(args.vae_steps):
        done = progress(step, args.vae_steps, start, args.vae_minutes)
        if done >= 1.0:
            log(f"vae stopped by its {args.vae_minutes} min budget at step {step}")
            break
        x, _ = D.batch(rng, args.vae_batch)
        x = torch.from_numpy(x)
        mean, logvar = vae.moments(x)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        y = vae.decoder(z)
        rec = F.mse_loss(y, x) + F.l1_loss(y, x)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()
        loss = rec + args.kl * kl
        cosine_lr(opt, step, done, args.vae_lr)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == args.vae_steps - 1:
            psnr = 10 * math.log10(4.0 / F.mse_loss(y.clamp(-1, 1), x).item())
            log(f"vae {step} rec {rec.item():.4f} kl {kl.item():.3f} psnr {psnr:.1f} dB ({time.time() - start:.0f}s)")
    torch.save(vae.state_dict(), os.path.join(args.work, "vae.pt"))
    return time.time() - start


def latents(args):
    """Encodes a fixed picture set once (posterior means) and picks scaling_factor = 1 / std, as SD does."""
    start = time.time()
    rng = np.random.default_rng(args.seed + 1)
    vae = N.Vae()
    vae.load_state_dict(torch.load(os.path.join(args.work, "vae.pt")))
    vae.eval()
    vocab = vocabulary()
    zs, ids = [], []
    with torch.no_grad():
        for _ in range(args.latent_count // 200):
            x, captions = D.batch(rng, 200)
            zs.append(vae.moments(torch.from_numpy(x))[0])
            ids += [vocab.encode(c) for c in captions]
    z = torch.cat(zs)
    scale = float(1.0 / z.std())
    log(f"latents {tuple(z.shape)} std {z.std():.4f} mean {z.mean():.4f} -> scaling_factor {scale:.5f}")
    torch.save({"z": z * scale, "ids": torch.tensor(ids, dtype=torch.int64), "scale": scale},
               os.path.join(args.work, "latents.pt"))
    return time.time() - start


def train_unet(args):
    torch.manual_seed(args.seed + 2)
    data = torch.load(os.path.join(args.work, "latents.pt"))
    z0, ids = data["z"], data["ids"]
    vocab = vocabulary()
    empty = torch.tensor(vocab.encode(""), dtype=torch.int64)
    text, unet = N.make_text_encoder(len(vocab.tokens)), N.UNet()
    if args.resume:
        # Continue from the saved (EMA) weights with a fresh optimiser and schedule.
        state = torch.load(os.path.join(args.work, "unet.pt"))
        text.load_state_dict(state["text"])
        unet.load_state_dict(state["unet"])
        torch.manual_seed(args.seed + 3)
    params = list(text.parameters()) + list(unet.parameters())
    ema = [p.detach().clone() for p in params]
    opt = torch.optim.AdamW(params, lr=args.unet_lr, weight_decay=0.01)
    ab = alphas_cumprod()
    start = time.time()
    smooth = None
    for step in range(args.unet_steps):
        done = progress(step, args.unet_steps, start, args.unet_minutes)
        if done >= 1.0:
            log(f"unet stopped by its {args.unet_minutes} min budget at step {step}")
            break
        idx = torch.randint(0, z0.shape[0], (args.unet_batch,))
        x0, tok = z0[idx], ids[idx].clone()
        tok[torch.rand(args.unet_batch) < args.uncond] = empty
        t = torch.randint(0, 1000, (args.unet_batch,))
        noise = torch.randn_like(x0)
        a = ab[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        eps = unet(xt, t.float(), text(tok))
        loss = F.mse_loss(eps, noise)
        cosine_lr(opt, step, done, args.unet_lr)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema, params):
                e.mul_(decay).add_(p.detach(), alpha=1 - decay)
        smooth = loss.item() if smooth is None else 0.98 * smooth + 0.02 * loss.item()
        if step % 25 == 0 or step == args.unet_steps - 1:
            log(f"unet {step} loss {smooth:.4f} ({time.time() - start:.0f}s)")
        if (step + 1) % 100 == 0:
            save_unet(args, text, unet, params, ema)
    save_unet(args, text, unet, params, ema)
    log(f"unet trained {step} steps")
    return time.time() - start


def save_unet(args, text, unet, params, ema):
    # The EMA weights are the ones exported.
    with torch.no_grad():
        backup = [p.detach().clone() for p in params]
        for p, e in zip(params, ema):
            p.copy_(e)
        torch.save({"text": text.state_dict(), "unet": unet.state_dict()}, os.path.join(args.work, "unet.pt"))
        for p, b in zip(params, backup):
            p.copy_(b)


def load_trained(args):
    vocab = vocabulary()
    vae = N.Vae()
    vae.load_state_dict(torch.load(os.path.join(args.work, "vae.pt")))
    text, unet = N.make_text_encoder(len(vocab.tokens)), N.UNet()
    state = torch.load(os.path.join(args.work, "unet.pt"))
    text.load_state_dict(state["text"])
    unet.load_state_dict(state["unet"])
    scale = torch.load(os.path.join(args.work, "latents.pt"))["scale"]
    for m in (vae, text, unet):
        m.eval()
    return vocab, vae, text, unet, scale


def export(args):
    start = time.time()
    vocab, vae, text, unet, scale = load_trained(args)
    onnx_export.export(args.out, vae, text, unet, vocab, scale)
    sizes = {}
    for root, _, files in os.walk(args.out):
        for name in files:
            sizes[os.path.relpath(os.path.join(root, name), args.out)] = os.path.getsize(os.path.join(root, name))
    log(f"exported {sum(sizes.values()) / 1e6:.2f} MB; params vae {N.count(vae)} (encoder {N.count(vae.encoder)}, "
        f"decoder {N.count(vae.decoder)}), text {N.count(text)}, unet {N.count(unet)}")
    return time.time() - start


def evaluate(args):
    """Python-side judge over every colour/shape pair (Euler, 30 steps, --eval-cfg)."""
    import sample as S
    start = time.time()
    vocab, vae, text, unet, scale = load_trained(args)
    cases = S.all_prompts(np.random.default_rng(123), per_pair=args.eval_per_pair)
    images = S.euler(text, unet, vae, vocab, scale, [c[0] for c in cases], cfg=args.eval_cfg, seed=7)
    seen, held, parts = S.score(images, cases)
    log(f"eval cfg {args.eval_cfg}: seen {seen[0]}/{seen[1]}, held-out {held[0]}/{held[1]}, parts {parts}")
    return time.time() - start


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="models/shapes-sd")
    p.add_argument("--work", default="models/shapes/work")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--phase", choices=["all", "vae", "latents", "unet", "export", "evaluate"], default="all")
    p.add_argument("--vae-steps", type=int, default=1200)
    p.add_argument("--vae-batch", type=int, default=32)
    p.add_argument("--vae-lr", type=float, default=2e-3)
    p.add_argument("--kl", type=float, default=1e-5)
    p.add_argument("--vae-minutes", type=float, default=15, help="wall-clock cap for the VAE phase (0: none)")
    p.add_argument("--latent-count", type=int, default=16000)
    p.add_argument("--unet-steps", type=int, default=3000)
    p.add_argument("--unet-minutes", type=float, default=40, help="wall-clock cap for the UNet phase (0: none)")
    p.add_argument("--unet-batch", type=int, default=64)
    p.add_argument("--unet-lr", type=float, default=1.5e-3)
    p.add_argument("--uncond", type=float, default=0.1)
    p.add_argument("--ema", type=float, default=0.995)
    p.add_argument("--resume", action="store_true", help="unet phase: continue from work/unet.pt")
    p.add_argument("--eval-cfg", type=float, default=7.5)
    p.add_argument("--eval-per-pair", type=int, default=2)
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    timings_path = os.path.join(args.work, "timings.json")
    timings = json.load(open(timings_path)) if os.path.exists(timings_path) else {}
    phases = ["vae", "latents", "unet", "export", "evaluate"] if args.phase == "all" else [args.phase]
    for phase in phases:
        log(f"phase {phase}")
        seconds = globals()[("train_" if phase in ("vae", "unet") else "") + phase](args)
        key = phase + ("_resumed" if phase == "unet" and args.resume else "")
        timings[key] = round(seconds, 1)
        json.dump(timings, open(timings_path, "w"), indent=2)
        log(f"phase {phase} took {seconds:.0f}s")


if __name__ == "__main__":
    main()
