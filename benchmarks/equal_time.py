"""Train several networks for the same time on the same data, then compare their test PSNR and speed.

    python benchmarks/equal_time.py --data ../shared/data/celeba-subset --nets peer fast standard \\
        --seconds 600 [--clock wall|cpu] [--beta 4] [--compile fast] [--json results.json]

Each net trains from the same seed with the trainer's recipe: batch 64, random flips, the default
likelihood + β·KL (``faceedit.core.model.loss_terms``), Adam at 1e-3 (fused where torch has it), the
learning rate decaying on a cosine to 2% over the time budget rather than over epochs, and the
trainer's per-step read-back of the loss.  The budget is wall-clock seconds, or with ``--clock cpu``
this process's CPU seconds, which a busy machine disturbs less.  Then it prints, per net, the images
trained per wall second and the test split's PSNR and KL (``training.metrics.reconstruction_metrics``,
the numbers ``faceedit-train evaluate`` reports).

Nets: ``standard`` and ``fast`` are FaceEdit's two architectures (``faceedit.core.model.ARCHITECTURES``);
``peer`` and ``classic`` are the reference designs of ``benchmarks/reference_nets.py``.  Prints
numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_nets import REFERENCE_NETS

from faceedit.core.likelihood import make_likelihood
from faceedit.core.model import ARCHITECTURES, BetaVAE, Objective, loss_terms
from training.data import DataError, load_faces
from training.loop import make_optimizer
from training.metrics import reconstruction_metrics

NETS = sorted([*ARCHITECTURES, *REFERENCE_NETS])


def build(name: str) -> torch.nn.Module:
    return BetaVAE(ARCHITECTURES[name]) if name in ARCHITECTURES else REFERENCE_NETS[name]()


def train_for(name: str, images: torch.Tensor, seconds: float, clock, beta: float, compile_net: bool,
              seed: int = 0) -> dict:
    torch.manual_seed(seed)
    model = build(name).to(memory_format=torch.channels_last).train()
    net = torch.compile(model) if compile_net else model
    opt = make_optimizer(model.parameters(), lr=1e-3, device=torch.device("cpu"))
    likelihood, objective = make_likelihood("gaussian"), Objective(beta=beta)
    batch, steps, started, wall0 = 64, 0, clock(), time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(images), generator=generator)
    while (spent := clock() - started) < seconds:
        for group in opt.param_groups:
            group["lr"] = 1e-3 * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * spent / seconds)))
        at = (steps * batch) % (len(perm) - batch + 1)
        if at < batch and steps:
            perm = torch.randperm(len(images), generator=generator)
        x = (images[perm[at:at + batch]].float() / 255).contiguous(memory_format=torch.channels_last)
        flip = torch.rand(len(x), generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        terms = loss_terms(net, x, likelihood, update=True)
        loss = objective(terms["recon"], terms["kl"], steps)
        if not math.isfinite(loss.item()):  # the trainer's per-step read-back
            raise SystemExit(f"{name}: the loss became {loss.item()} at step {steps}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
    wall = time.perf_counter() - wall0
    return {"net": name, "compiled": compile_net, "steps": steps, "images": steps * batch,
            "wall_s": wall, "cpu_s": time.process_time(), "images_per_s": steps * batch / wall,
            "parameters_m": sum(p.numel() for p in model.parameters()) / 1e6, "model": model}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="CelebA folder or folder of faces (its train and test splits are used)")
    p.add_argument("--nets", nargs="+", default=["peer", "fast", "standard"], choices=NETS)
    p.add_argument("--seconds", type=float, default=600, help="training budget per net")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    p.add_argument("--beta", type=float, default=4.0)
    p.add_argument("--compile", nargs="*", default=[], choices=NETS, metavar="NET", help="nets to torch.compile")
    p.add_argument("--cache-dir")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()
    if not (math.isfinite(args.seconds) and args.seconds > 0):
        p.error("--seconds must be a positive number")
    try:
        data = load_faces(args.data, cache_dir=args.cache_dir)
    except DataError as e:
        p.error(str(e))
    train, test = data.images[data.indices("train")], data.images[data.indices("test")]
    if len(train) < 64 or not len(test):
        p.error(f"{args.data}: needs at least 64 training faces and one test face")
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"{len(train)} training and {len(test)} test faces; {args.seconds:g} {args.clock} seconds a net; "
          f"β={args.beta:g}; torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    rows = []
    for name in args.nets:
        cpu0 = time.process_time()
        row = train_for(name, train, args.seconds, clock, args.beta, name in args.compile)
        row["cpu_s"] -= cpu0
        metrics = reconstruction_metrics(row.pop("model"), test)
        row.update(test_psnr=metrics["psnr"], test_kl=metrics["kl"])
        rows.append(row)
        print(f"{name:8s}{' (compiled)' if row['compiled'] else '':11s} {row['parameters_m']:.2f} M params  "
              f"{row['steps']} steps  {row['images_per_s']:.0f} img/s  ({row['wall_s']:.0f} s wall, "
              f"{row['cpu_s']:.0f} s CPU)  test PSNR {row['test_psnr']:.2f} dB  KL {row['test_kl']:.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
