"""PyTorch's speed on the crate's U-Net, beside Burn's (`scripts/gpu/burn-speed.sh`): training
images/s as the lease trains (bf16 autocast, `torch.compile`, Adam, EMA) at each batch size, and
sampling images/s (f32, as the crate samples: N rows, `--steps` DDIM steps with eta 0).
Random data and fresh weights: it measures speed, not quality. One JSON line per figure.

    python3 scripts/gpu/torch_speed.py [--batches 256,512] [--n 100] [--steps 10]
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import log_snr, v_loss  # noqa: E402
from crate_config import UNET  # noqa: E402
from unet import UNet  # noqa: E402


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def train_speed(dev, width, levels, batch, steps, compile_):
    torch.manual_seed(0)
    model = UNet(width, levels, False).to(dev)
    ema = UNet(width, levels, False).to(dev).eval()
    ema.load_state_dict(model.state_dict())
    trained = [q for q in model.parameters() if q.requires_grad]
    averaged = [e for e, q in zip(ema.parameters(), model.parameters()) if q.requires_grad]
    opt = torch.optim.Adam(trained, lr=2e-4, eps=1e-8)
    fwd = torch.compile(model) if compile_ else model
    losses, started = [], None
    for step in range(steps + 3):  # three untimed steps: compilation and cuDNN's search
        if step == 3:
            sync(dev)
            started = time.time()
        x0 = torch.rand(batch, 3, 32, 32, device=dev) * 2 - 1
        t = torch.rand(batch, device=dev)
        loss = v_loss(fwd, x0, None, t, torch.randn_like(x0))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            torch._foreach_lerp_(averaged, trained, 1 - 0.998)
        losses.append(loss.detach())
    sync(dev)
    seconds = time.time() - started
    return batch * steps / seconds, [round(x.item(), 6) for x in losses[:5]]


@torch.no_grad()
def sample_speed(dev, width, levels, n, steps, reps):
    torch.manual_seed(0)
    model = UNet(width, levels, True).to(dev).eval()
    classes = torch.arange(n, device=dev) % 10
    best = None
    for rep in range(reps + 1):  # one untimed run first: cuDNN's search
        sync(dev)
        started = time.time()
        x = torch.randn(n, 3, 32, 32, device=dev)
        ts = torch.linspace(1, 0, steps + 1, device=dev)
        for i in range(steps):
            ls, ls_next = log_snr(ts[i]).expand(n), log_snr(ts[i + 1]).expand(n)
            a, s = ls.sigmoid().sqrt()[:, None, None, None], (-ls).sigmoid().sqrt()[:, None, None, None]
            a2, s2 = ls_next.sigmoid().sqrt()[:, None, None, None], (-ls_next).sigmoid().sqrt()[:, None, None, None]
            v = model(x, ls, classes)
            x0, eps = a * x - s * v, s * x + a * v
            x = a2 * x0 + s2 * eps
        sync(dev)
        seconds = time.time() - started
        if rep > 0:
            best = seconds if best is None else min(best, seconds)
    return n / best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batches", default="256,512")
    p.add_argument("--train-steps", type=int, default=30)
    p.add_argument("--width", type=int, default=UNET["width"])
    p.add_argument("--levels", type=int, default=UNET["levels"])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args()
    dev = torch.device(a.device)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    for batch in [int(b) for b in a.batches.split(",")]:
        ips, first = train_speed(dev, a.width, a.levels, batch, a.train_steps, not a.no_compile)
        print(json.dumps(dict(engine="pytorch", what="train", device=name, batch=batch, images_per_s=round(ips, 1),
                              first_losses=first)), flush=True)
    ips = sample_speed(dev, a.width, a.levels, a.n, a.steps, a.reps)
    print(json.dumps(dict(engine="pytorch", what="sample", device=name, n=a.n, steps=a.steps,
                          images_per_s=round(ips, 1))), flush=True)


if __name__ == "__main__":
    main()
