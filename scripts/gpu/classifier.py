"""Train the crate's evaluation classifier (`src/eval/classifier.rs`) on a GPU with PyTorch,
within a wall-clock budget, and write it for `vdiff import-torch --classifier`.

Why: the judge of every class-accuracy and Fréchet figure was trained 20 CPU-minutes (2.6
epochs, 66 % test accuracy); a judge that misses a third of real images under-reports how
often generated ones show their class. Same network, trained longer with the usual CIFAR
augmentation (random 4-pixel shifts, flips), label smoothing and a cosine learning rate.

Out directory: classifier.safetensors (f32, PyTorch names and layout — the importer
transposes the linear weights), rewritten atomically every `--checkpoint-every` seconds; each
row of the log (epoch, train loss, test accuracy on the travelled test images) is printed as
JSON and kept as the file's metadata.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cifar import load_tensors  # noqa: E402


class Classifier(nn.Module):
    """Three stages of two 3×3 convs + max-pool (32 → 16 → 8 → 4), a feature layer, logits."""

    def __init__(self, width=32, features=128, dropout=0.0):
        super().__init__()
        w = width
        chans = [3, w, w, 2 * w, 2 * w, 4 * w, 4 * w]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(chans, chans[1:]))
        self.feature = nn.Linear(4 * w * 4 * 4, features)
        self.logits = nn.Linear(features, 10)
        self.dropout = nn.Dropout(dropout)  # training only; no parameters, so the network is the crate's

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i % 2 == 1:
                x = F.max_pool2d(x, 2)
        return self.logits(self.dropout(F.relu(self.feature(self.dropout(x.flatten(1))))))


def augment(x, g):
    """Random shifts of up to 4 pixels (reflect padding) and horizontal flips, per image."""
    b = len(x)
    p = F.pad(x, (4, 4, 4, 4), mode="reflect")
    dx = torch.randint(0, 9, (b,), generator=g, device=x.device)
    dy = torch.randint(0, 9, (b,), generator=g, device=x.device)
    ar = torch.arange(32, device=x.device)
    rows = (dy[:, None] + ar)[:, None, :, None].expand(b, 3, 32, 40)
    p = p.gather(2, rows)
    cols = (dx[:, None] + ar)[:, None, None, :].expand(b, 3, 32, 32)
    x = p.gather(3, cols)
    flip = torch.rand(b, generator=g, device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    right = sum((model(x[i:i + 500].float() / 127.5 - 1).argmax(1) == y[i:i + 500]).sum().item()
                for i in range(0, len(x), 500))
    model.train()
    return right / len(x)


def write_fixture(path):
    """A small random classifier (width 8, 16 features) with fixed inputs `io.x` and its logits
    `io.logits`: `tests/parity.rs` imports it and must give the same logits."""
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = Classifier(width=8, features=16).eval()
    x = torch.randn(4, 3, 32, 32).clamp(-1, 1)
    with torch.no_grad():
        logits = model(x)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file({**tensors, "io.x": x, "io.logits": logits}, path)
    print(f"wrote {path}")


def main():
    if sys.argv[1:2] == ["--fixtures"]:
        return write_fixture(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "../../tests/fixtures/torch-classifier-w8.safetensors"))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="packed CIFAR-10 (pack.py) or the official .bin directory")
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", type=float, required=True, help="wall-clock budget, compile included")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--smoothing", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=float, default=60.0, help="seconds")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args()
    started = time.time()
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    torch.backends.cudnn.benchmark = True
    (xtr, ytr), (xte, yte) = load_tensors(a.data, dev)
    model = Classifier(dropout=a.dropout).to(dev)
    decay = [q for n, q in model.named_parameters() if n.endswith("weight")]
    rest = [q for n, q in model.named_parameters() if not n.endswith("weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": rest, "weight_decay": 0}],
                            lr=a.lr)
    fwd = model if a.no_compile else torch.compile(model)
    budget, n, b = a.minutes * 60, len(xtr), a.batch
    per_epoch = n // b
    os.makedirs(a.out, exist_ok=True)
    info = dict(batch=b, lr=a.lr, weight_decay=a.weight_decay, dropout=a.dropout, smoothing=a.smoothing,
                device=torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu", torch=torch.__version__,
                train_images=n, test_images=len(xte))
    print(json.dumps(info), flush=True)
    g = torch.Generator(dev).manual_seed(a.seed)
    step, loss_sum, loss_n, last = 0, torch.zeros((), device=dev), 0, time.time()

    def checkpoint():
        from safetensors.torch import save_file

        row = dict(step=step, epoch=round(step / per_epoch, 2), train_loss=round(loss_sum.item() / max(loss_n, 1), 4),
                   test_accuracy=accuracy(model, xte, yte), wall_s=round(time.time() - started, 1))
        sd = {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}
        tmp = os.path.join(a.out, "classifier.safetensors.tmp")
        save_file(sd, tmp, metadata={"info": json.dumps(info), "row": json.dumps(row)})
        os.replace(tmp, os.path.join(a.out, "classifier.safetensors"))
        print(json.dumps(row), flush=True)

    while (elapsed := time.time() - started) < budget:
        if step % per_epoch == 0:
            order = torch.randperm(n, generator=g, device=dev)
        idx = order[(step % per_epoch) * b:(step % per_epoch + 1) * b]
        x = augment(xtr[idx].float() / 127.5 - 1, g)
        # Cosine over the time budget, after a short warm-up: the budget, not a step count, ends the run.
        lr = a.lr * min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * min(1.0, elapsed / budget)))
        for group in opt.param_groups:
            group["lr"] = lr
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            loss = F.cross_entropy(fwd(x).float(), ytr[idx], label_smoothing=a.smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.detach()
        loss_n += 1
        step += 1
        if time.time() - last >= a.checkpoint_every:
            checkpoint()
            loss_sum, loss_n, last = torch.zeros((), device=dev), 0, time.time()
    if loss_n:  # steps since the last checkpoint (as train.py: no row with an empty mean)
        checkpoint()
    print(f"done: {step} steps, {step / per_epoch:.1f} epochs, {time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
