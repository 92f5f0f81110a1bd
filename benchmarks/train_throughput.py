"""Training images/s for the default architecture, and the time to decode one face, on this machine.

    python benchmarks/train_throughput.py [--device auto|cpu|cuda|mps] [--steps 30] [--batch-size 64]

Synthetic data (random 64×64 images), so it measures the network and optimiser only: the same
forward pass, loss (recon + β·KL), backward pass and Adam step as ``training.loop.Trainer``, after
a few warm-up steps.  Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from faceedit.core.device import choose_device, describe
from faceedit.core.model import BetaVAE, loss_terms
from training.loop import TrainConfig


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def train_images_per_second(device: torch.device, batch_size: int, steps: int, warmup: int = 5) -> float:
    cfg = TrainConfig(batch_size=batch_size)
    torch.manual_seed(0)
    model = BetaVAE(cfg.arch()).to(device).train()
    objective = cfg.objective_for(steps_per_epoch=100)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    images = torch.randint(0, 256, (batch_size * 4, 3, 64, 64), dtype=torch.uint8, device=device)
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            start = time.perf_counter()
        x = images[(step % 4) * batch_size:(step % 4 + 1) * batch_size].float() / 255
        terms = loss_terms(model, x)
        loss = objective(terms["recon"], terms["kl"], step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return steps * batch_size / (time.perf_counter() - start)


@torch.inference_mode()
def decode_ms(device: torch.device, repeats: int = 200) -> float:
    """Milliseconds to decode one latent code into a face (what the editor does per slider move)."""
    model = BetaVAE(TrainConfig().arch()).to(device).eval()
    z = torch.randn(1, model.latent_dim, device=device)
    for _ in range(10):
        model.decoder(z)
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        model.decoder(z).cpu()
    _sync(device)
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--steps", type=int, default=30, help="timed training steps (after 5 warm-up steps)")
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    device = choose_device(args.device)
    cfg = TrainConfig()
    print(f"device: {describe(device)}; CPU cores {os.cpu_count()}, torch threads {torch.get_num_threads()}; "
          f"torch {torch.__version__}")
    print(f"architecture: channels {cfg.channels}, refine {cfg.refine_channels}, latent {cfg.latent_dim}; "
          f"batch {args.batch_size}")
    rate = train_images_per_second(device, args.batch_size, args.steps)
    print(f"training: {rate:.0f} images/s ({args.steps} steps after warm-up)")
    print(f"decode one face: {decode_ms(device):.2f} ms")


if __name__ == "__main__":
    main()
