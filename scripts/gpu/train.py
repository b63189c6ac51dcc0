"""Train the crate's U-Net (method §2–3, §7) on a GPU with PyTorch, within a wall-clock budget,
and export the EMA weights in the notebook's names for `vdiff import-torch`.

Why PyTorch: a lent GPU machine has CUDA and PyTorch but no Rust toolchain, and the CUDA
backend of Burn 0.22.1 cannot be built offline (see `scripts/gpu/README.md`). The objective,
schedule, EMA and data handling are the crate's (`src/train/trainer.rs`); only the step runs
in PyTorch (bf16 autocast, `torch.compile`).

Out directory (each file < 16 MiB, written atomically every `--checkpoint-every` seconds, so a
kill loses at most that much):
  ema.safetensors    the EMA weights, f32, notebook names: what `vdiff import-torch` reads
  model.safetensors  the raw weights (to continue)
  state.pt           Adam moments, step, RNG, log (to continue)
The log (step, epoch, train and validation loss, images/s, wall seconds) is printed as JSON
lines and kept in state.pt; each safetensors file carries its last row as metadata.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cifar import load_tensors  # noqa: E402
from crate_config import EMA_DECAY, LOG_SNR_OFFSET, LOG_SNR_SCALE, UNET  # noqa: E402
from unet import UNet  # noqa: E402


# Schedule of method §1 (as `src/schedule.rs`): t ∈ [0, 1], t = 1 is noise.
def log_snr(t):
    return -torch.special.expm1(LOG_SNR_OFFSET + LOG_SNR_SCALE * t * t).log()


def v_loss(model, x0, classes, t, eps):
    """Method §2: mean((v̂ − v)²) per image, weighted by sigmoid(log_snr), batch mean."""
    ls = log_snr(t)
    a, s = ls.sigmoid().sqrt()[:, None, None, None], (-ls).sigmoid().sqrt()[:, None, None, None]
    x_t, target = a * x0 + s * eps, a * eps - s * x0
    with torch.autocast(x0.device.type, dtype=torch.bfloat16, enabled=x0.device.type == "cuda"):
        v = model(x_t, ls, classes)
    return (((v.float() - target) ** 2).mean(dim=(1, 2, 3)) * ls.sigmoid()).mean()


@torch.no_grad()
def validate(model, x, y, conditional):
    """Loss on the validation images with a fixed noise seed and a stratified t grid."""
    model.eval()
    n = len(x)
    g = torch.Generator(x.device).manual_seed(0x5EED)
    total = 0.0
    for i in range(0, n, 250):
        x0 = to_float(x[i:i + 250])
        t = (torch.arange(i, i + len(x0), device=x.device) + 0.5) / n
        eps = torch.randn(x0.shape, generator=g, device=x.device)
        total += v_loss(model, x0, y[i:i + 250] if conditional else None, t, eps).item() * len(x0)
    model.train()
    return total / n


def to_float(u8):
    return u8.float() / 127.5 - 1.0


def save_atomic(obj_writer, path):
    tmp = path + ".tmp"
    obj_writer(tmp)
    os.replace(tmp, path)


def state_dict_f32(model):
    return {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="packed CIFAR-10 (pack.py) or the official .bin directory")
    p.add_argument("--kind", choices=["unconditional", "conditional"], required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", type=float, required=True, help="wall-clock budget, compile included")
    p.add_argument("--width", type=int, default=UNET["width"])
    p.add_argument("--levels", type=int, default=UNET["levels"])
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=6e-4)
    p.add_argument("--warmup", type=int, default=500, help="linear learning-rate warm-up steps")
    p.add_argument("--anneal", type=float, default=0.15,
                   help="fraction of the budget at its end over which the lr falls linearly to 10%%")
    p.add_argument("--ema", type=float, default=EMA_DECAY)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-images", type=int, default=500)
    p.add_argument("--checkpoint-every", type=float, default=60.0, help="seconds")
    p.add_argument("--resume", help="a previous out directory to continue from")
    p.add_argument("--init", help="warm start: weights in notebook names (`vdiff export-torch`, f16 or f32)"
                                  " for the model and its EMA; fresh optimizer")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args()
    started = time.time()
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True

    (xtr, ytr), (xva, yva) = load_tensors(a.data, dev, a.val_images)
    cond = a.kind == "conditional"
    model = UNet(a.width, a.levels, cond).to(dev)
    ema = UNet(a.width, a.levels, cond).to(dev).eval()
    opt = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=a.lr, eps=1e-8)
    step, log, wall0 = 0, [], 0.0
    if a.resume:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(os.path.join(a.resume, "model.safetensors")))
        ema.load_state_dict(load_file(os.path.join(a.resume, "ema.safetensors")))
        st = torch.load(os.path.join(a.resume, "state.pt"), map_location=dev, weights_only=False)
        opt.load_state_dict(st["optimizer"])
        step, log, wall0 = st["step"], st["log"], st["wall_s"]
        print(f"resumed at step {step}", flush=True)
    else:
        if a.init:
            from safetensors.torch import load_file

            model.load_state_dict({k: v.float() for k, v in load_file(a.init).items()})
            print(f"warm start from {a.init}", flush=True)
        ema.load_state_dict(model.state_dict())
    for q in ema.parameters():
        q.requires_grad_(False)
    trained = [q for q in model.parameters() if q.requires_grad]
    averaged = [e for e, q in zip(ema.parameters(), model.parameters()) if q.requires_grad]
    fwd = model if a.no_compile else torch.compile(model)
    n, b = len(xtr), a.batch
    per_epoch = n // b
    budget = a.minutes * 60
    os.makedirs(a.out, exist_ok=True)
    info = dict(kind=a.kind, width=a.width, levels=a.levels, batch=b, lr=a.lr, ema=a.ema,
                device=torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
                torch=torch.__version__, compiled=not a.no_compile, train_images=n)
    print(json.dumps(info), flush=True)

    def checkpoint(val, train_loss, ips):
        from safetensors.torch import save_file

        elapsed = time.time() - started
        row = dict(step=step, epoch=round(step * b / n, 3), train_loss=round(train_loss, 6),
                   val_loss=round(val, 6), images_per_s=round(ips, 1), wall_s=round(wall0 + elapsed, 1))
        log.append(row)
        meta = {"info": json.dumps(info), "row": json.dumps(row)}
        save_atomic(lambda f: save_file(state_dict_f32(ema), f, metadata=meta), os.path.join(a.out, "ema.safetensors"))
        save_atomic(lambda f: save_file(state_dict_f32(model), f, metadata=meta),
                    os.path.join(a.out, "model.safetensors"))
        save_atomic(lambda f: torch.save(dict(optimizer=opt.state_dict(), step=step, log=log, info=info,
                                              wall_s=wall0 + elapsed), f), os.path.join(a.out, "state.pt"))
        print(json.dumps(row), flush=True)

    g = torch.Generator(dev).manual_seed(a.seed * 1000 + step)
    order, loss_sum, loss_n = None, torch.zeros((), device=dev), 0
    last_ckpt, seen_t, seen_step = time.time(), time.time(), step
    while True:
        elapsed = time.time() - started
        if elapsed >= budget:
            break
        epoch, j = divmod(step, per_epoch)
        if j == 0 or order is None:
            order = torch.randperm(n, generator=g, device=dev)
        idx = order[j * b:(j + 1) * b]
        x0 = to_float(xtr[idx])
        flip = torch.rand(b, generator=g, device=dev) < 0.5
        x0 = torch.where(flip[:, None, None, None], x0.flip(3), x0)
        t = torch.rand(b, generator=g, device=dev)
        eps = torch.randn(x0.shape, generator=g, device=dev)
        frac_left = (budget - elapsed) / budget
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.1 + 0.9 * min(1.0, frac_left / a.anneal) if a.anneal else 1)
        for group in opt.param_groups:
            group["lr"] = lr
        try:
            loss = v_loss(fwd, x0, ytr[idx] if cond else None, t, eps)
        except Exception as e:  # a compiler failure must not cost the lease: fall back to eager
            if fwd is model:
                raise
            print(f"torch.compile failed ({type(e).__name__}: {e}); training eagerly", flush=True)
            fwd, info["compiled"] = model, False
            loss = v_loss(fwd, x0, ytr[idx] if cond else None, t, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        decay = min(a.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(averaged, trained, 1 - decay)
        loss_sum += loss.detach()
        loss_n += 1
        step += 1
        if time.time() - last_ckpt >= a.checkpoint_every:
            ips = (step - seen_step) * b / (time.time() - seen_t)
            checkpoint(validate(ema, xva, yva, cond), loss_sum.item() / loss_n, ips)
            loss_sum, loss_n, last_ckpt, seen_t, seen_step = torch.zeros((), device=dev), 0, time.time(), time.time(), step
    if loss_n:
        ips = (step - seen_step) * b / (time.time() - seen_t)
        checkpoint(validate(ema, xva, yva, cond), loss_sum.item() / loss_n, ips)
    print(f"done: {step} steps, {step * b / n:.1f} epochs, {time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
