"""Training images/s of FaceEdit's nets against two reference designs, and of each speed-up candidate.

    python benchmarks/train_throughput.py [--device auto|cpu|cuda|mps] [--steps 30] [--batch-size 64] [--rounds 2]
                                          [--candidates] [--compile]

Times, in one process and in alternating rounds (on a shared machine the ratios are steadier than the
rates), a training step of:
* ``default``: the net ``faceedit-train train`` builds when no ``--net`` is given, the way the trainer
  runs it (its memory layout, fused Adam where torch has it, the per-step read-back of the loss);
* ``standard`` and ``fast``: the two architectures (``faceedit.core.model.ARCHITECTURES``), the same way,
  and ``bundled``: the standard net without its 64×64 refinement conv, as the bundled models are;
* ``classic``: a plain 4-conv β-VAE of the classic design, the reference ratio of issue #13;
* ``peer``: the peer project's BetaVAE design, in its own NCHW layout and in channels_last.
  (``benchmarks/reference_nets.py`` has both.)

``--candidates`` also times each change on its own against the trainer's settings: NCHW instead of
channels_last, Adam without fusing, bf16 autocast; ``--compile`` adds ``torch.compile`` (its compile
time is spent in the warm-up steps, not timed).  Then it prints the time to decode one face.

Synthetic data (random 64×64 images), so it measures the network and optimiser only: the same loss
(the default likelihood + β·KL), backward pass, Adam step and the one device sync per step as
``training.loop.Trainer``, after warm-up steps.  Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_nets import REFERENCE_NETS

from faceedit.core.device import choose_device, describe
from faceedit.core.likelihood import make_likelihood
from faceedit.core.model import ARCHITECTURES, DEFAULT_NET, BetaVAE, loss_terms
from training.loop import TrainConfig, _memory_format, compiled, make_optimizer


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass(frozen=True)
class Setup:
    net: str  # "default", a name in ARCHITECTURES or in REFERENCE_NETS
    channels_last: bool = True
    fused_adam: bool = True
    bf16: bool = False
    compile: bool = False

    def build(self) -> torch.nn.Module:
        if self.net in REFERENCE_NETS:
            return REFERENCE_NETS[self.net]()
        if self.net == "bundled":  # the standard net without its 64×64 refinement conv
            return BetaVAE(replace(ARCHITECTURES["standard"], refine_channels=0))
        return BetaVAE(ARCHITECTURES[DEFAULT_NET if self.net == "default" else self.net])

    def label(self) -> str:
        changes = [("NCHW", not self.channels_last), ("unfused Adam", not self.fused_adam),
                   ("bf16 autocast", self.bf16), ("torch.compile", self.compile)]
        return self.net + "".join(f", {name}" for name, on in changes if on)


def train_images_per_second(setup: Setup, device: torch.device, batch_size: int, steps: int, warmup: int = 5) -> float:
    torch.manual_seed(0)
    layout = _memory_format(device) if setup.channels_last else torch.contiguous_format
    model = setup.build().to(device, memory_format=layout).train()
    net = compiled(model) if setup.compile else model
    opt = make_optimizer(model.parameters(), 1e-3, device) if setup.fused_adam \
        else torch.optim.Adam(model.parameters(), lr=1e-3, fused=False)
    objective, likelihood = TrainConfig().objective_for(steps_per_epoch=100), make_likelihood(TrainConfig().likelihood)
    images = torch.randint(0, 256, (batch_size * 4, 3, 64, 64), dtype=torch.uint8, device=device)
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            start = time.perf_counter()
        x = (images[(step % 4) * batch_size:(step % 4 + 1) * batch_size].float() / 255).contiguous(memory_format=layout)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=setup.bf16):
            terms = loss_terms(net, x, likelihood, update=True)
            loss = objective(terms["recon"], terms["kl"], step)
        torch.stack([loss, terms["recon"], terms["sse"], terms["kl"]]).tolist()  # the trainer's one read-back
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return steps * batch_size / (time.perf_counter() - start)


@torch.inference_mode()
def decode_ms(device: torch.device, repeats: int = 200) -> float:
    """Milliseconds to decode one latent code into a face (what the editor does per slider move)."""
    model = BetaVAE(ARCHITECTURES["standard"]).to(device).eval()
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
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds of every setup")
    p.add_argument("--candidates", action="store_true", help="also time each speed-up candidate on its own")
    p.add_argument("--compile", action="store_true", help="also time torch.compile of the fast net")
    args = p.parse_args()
    if args.steps < 1 or args.batch_size < 1 or args.rounds < 1:
        p.error("--steps, --batch-size and --rounds must be at least 1")
    device = choose_device(args.device)
    default_net = DEFAULT_NET
    setups = [Setup("default"), Setup("standard"), Setup("bundled"), Setup("fast"), Setup("classic"),
              Setup("peer", channels_last=False), Setup("peer")]
    if args.candidates:  # (bf16 once: it is slow enough here to dominate the run)
        setups += [Setup(net, **change) for net in ("standard", "fast")
                   for change in ({"channels_last": False}, {"fused_adam": False})] + [Setup("fast", bf16=True)]
    if args.compile:
        setups.append(Setup("fast", compile=True))
    print(f"device: {describe(device)}; CPU cores {os.cpu_count()}, torch threads {torch.get_num_threads()}; "
          f"torch {torch.__version__}; batch {args.batch_size}; the trainer's default net is '{default_net}'")
    rates: dict[Setup, list[float]] = {s: [] for s in setups}
    for _ in range(args.rounds):
        for setup in setups:
            rates[setup].append(train_images_per_second(setup, device, args.batch_size, args.steps))
    best = {s: max(r) for s, r in rates.items()}
    peer = max(best[Setup("peer", channels_last=False)], best[Setup("peer")])
    print(f"{'setup':40s} {'params':>7s} {'img/s':>6s}  ÷classic  ÷peer  (each round)")
    for setup in setups:
        params = sum(p.numel() for p in setup.build().parameters()) / 1e6
        print(f"{setup.label():40s} {params:6.2f}M {best[setup]:6.0f}  {best[setup] / best[Setup('classic')]:8.2f} "
              f"{best[setup] / peer:5.2f}  ({', '.join(f'{r:.0f}' for r in rates[setup])})")
    print("÷peer divides by the faster of the peer's two layouts")
    print(f"decode one face (standard net): {decode_ms(device):.2f} ms")


if __name__ == "__main__":
    main()
