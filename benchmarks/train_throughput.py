"""Training images/s for the default architecture, and the time to decode one face, on this machine.

    python benchmarks/train_throughput.py [--device auto|cpu|cuda|mps] [--steps 30] [--batch-size 64] [--rounds 2]

It also times, in the same run and in alternating rounds, a plain β-VAE of the classic design (Higgins
et al. 2017, Burgess et al. 2018: four 4×4 stride-2 convs 32-32-64-64, a 256-unit layer, a 128-d latent,
the mirrored decoder) with the same loss, layout and optimiser, and prints the ratio of the two rates:
on a shared machine the ratio is steadier than either rate.

Synthetic data (random 64×64 images), so it measures the network and optimiser only: the same
memory layout, forward pass, loss (the default likelihood + β·KL), backward pass, Adam step and the
one device sync per step (the loss values read back for the progress bar and the NaN check) as
``training.loop.Trainer``, after a few warm-up steps.  On a GPU that sync is what keeps the queue from
running ahead, so leaving it out overstates the rate.  Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from faceedit.core.device import choose_device, describe
from faceedit.core.model import BetaVAE, loss_terms
from faceedit.core.likelihood import make_likelihood
from training.loop import TrainConfig, _memory_format


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


class ClassicBetaVAE(nn.Module):
    """The reference: a plain 4-conv β-VAE of the classic design (ReLU, no normalisation)."""

    def __init__(self, latent_dim: int = 128):
        super().__init__()
        chans = [3, 32, 32, 64, 64]
        self.encoder_convs = nn.Sequential(*[m for a, b in zip(chans, chans[1:])
                                             for m in (nn.Conv2d(a, b, 4, 2, 1), nn.ReLU())])
        self.encoder_head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 4 * 4, 256), nn.ReLU(), nn.Linear(256, 2 * latent_dim))
        self.project = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 64 * 4 * 4), nn.ReLU())
        back = chans[::-1]
        layers = []
        for i, (a, b) in enumerate(zip(back, back[1:])):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1)] + ([nn.ReLU()] if i < len(back) - 2 else [])
        self.decoder_convs = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor):
        mu, logvar = self.encoder_head(self.encoder_convs(x * 2 - 1)).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.decoder_convs(self.project(z).view(-1, 64, 4, 4))), mu, logvar


def _parameters(model: nn.Module) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


def train_images_per_second(device: torch.device, batch_size: int, steps: int, warmup: int = 5,
                            sync_each_step: bool = True, classic: bool = False) -> float:
    cfg = TrainConfig(batch_size=batch_size)
    torch.manual_seed(0)
    net = ClassicBetaVAE(cfg.latent_dim) if classic else BetaVAE(cfg.arch())
    model = net.to(device, memory_format=_memory_format(device)).train()
    objective = cfg.objective_for(steps_per_epoch=100)
    likelihood = make_likelihood(cfg.likelihood)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    images = torch.randint(0, 256, (batch_size * 4, 3, 64, 64), dtype=torch.uint8, device=device)
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            start = time.perf_counter()
        x = (images[(step % 4) * batch_size:(step % 4 + 1) * batch_size].float() / 255).contiguous(
            memory_format=_memory_format(device))
        terms = loss_terms(model, x, likelihood, update=True)
        loss = objective(terms["recon"], terms["kl"], step)
        if sync_each_step:  # as the trainer does: one read-back of the step's numbers
            torch.stack([loss, terms["recon"], terms["sse"], terms["kl"]]).tolist()
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
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds of the default and the classic net")
    args = p.parse_args()
    device = choose_device(args.device)
    cfg = TrainConfig()
    print(f"device: {describe(device)}; CPU cores {os.cpu_count()}, torch threads {torch.get_num_threads()}; "
          f"torch {torch.__version__}")
    print(f"architecture: channels {cfg.channels}, refine {cfg.refine_channels}, latent {cfg.latent_dim}; "
          f"batch {args.batch_size}")
    print(f"parameters: default {_parameters(BetaVAE(cfg.arch())):.2f} M, classic 4-conv {_parameters(ClassicBetaVAE()):.2f} M")
    ours, classic = [], []
    for _ in range(max(1, args.rounds)):
        ours.append(train_images_per_second(device, args.batch_size, args.steps))
        classic.append(train_images_per_second(device, args.batch_size, args.steps, classic=True))
    rate, reference = max(ours), max(classic)
    print(f"training: {rate:.0f} images/s ({args.steps} steps after warm-up, with the trainer's per-step sync; "
          f"best of {len(ours)} rounds: {', '.join(f'{r:.0f}' for r in ours)})")
    print(f"classic 4-conv β-VAE, same run: {reference:.0f} images/s ({', '.join(f'{r:.0f}' for r in classic)}); "
          f"ratio default/classic {rate / reference:.2f}")
    if device.type != "cpu":
        free = train_images_per_second(device, args.batch_size, args.steps, sync_each_step=False)
        print(f"training without the per-step sync (not what the trainer does): {free:.0f} images/s")
    print(f"decode one face: {decode_ms(device):.2f} ms")


if __name__ == "__main__":
    main()
