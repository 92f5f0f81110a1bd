"""The image cache at scale: build time, size on disk, and peak memory while training reads it.

    python benchmarks/data_scale.py [--n 200000] [--dir /tmp/faceedit-data-scale] [--steps 200] [--keep]

Writes a synthetic folder of N small JPEG faces (``tests/synthetic.py``'s drawing; reused when it is
already there), builds the memory-mapped cache (``training.data.load_faces``), then runs training steps
of a tiny net through ``training.loop.Trainer`` (batches gathered from the memory map) and reports the
peak resident memory of this process.  A cache held in RAM would need N × 12,288 bytes; flat memory
means the peak stays near the baseline whatever N is.  Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic import ATTRS, face

from training.data import load_faces
from training.loop import Trainer, TrainConfig


def rss_mib() -> tuple[float, float, float]:
    """(current, anonymous, peak) resident memory of this process in MiB (Linux /proc; peak from getrusage).
    Resident memory includes the cache's file pages the process touched (and the kernel read ahead):
    page cache it can drop at any time.  The anonymous part is what a copy of the array would grow."""
    status = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                status[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return status.get("VmRSS", 0.0), status.get("RssAnon", 0.0), peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def make_faces(folder: Path, n: int) -> None:
    existing = sum(1 for _ in folder.rglob("*.jpg")) if folder.is_dir() else 0
    if existing == n:
        return
    shutil.rmtree(folder, ignore_errors=True)
    rng = random.Random(0)
    templates = [face({a: rng.choice([-1, 1]) for a in ATTRS}, 64, rng) for _ in range(64)]
    t0 = time.perf_counter()
    for i in range(n):
        sub = folder / f"{i // 10_000:03d}"
        if i % 10_000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        templates[i % 64].rotate(rng.uniform(-8, 8)).save(sub / f"{i:07d}.jpg", quality=90)
    print(f"wrote {n} synthetic faces in {time.perf_counter() - t0:.0f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--dir", type=Path, default=Path("/tmp/faceedit-data-scale"))
    p.add_argument("--steps", type=int, default=200, help="training steps that read the cache")
    p.add_argument("--keep", action="store_true", help="keep the cache (the next run then times a cache hit)")
    args = p.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    folder, cache = args.dir / f"faces-{args.n}", args.dir / "cache"
    make_faces(folder, args.n)
    if not args.keep:
        shutil.rmtree(cache, ignore_errors=True)
    base = rss_mib()[0]
    t0 = time.perf_counter()
    data = load_faces(folder, cache_dir=cache, progress=sys.stderr.isatty())
    build = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in cache.glob("faces-*"))
    print(f"cache: {len(data.names)} images in {build:.1f} s ({len(data.names) / build:.0f} img/s), "
          f"{size / 2**20:.0f} MiB on disk ({size / len(data.names):.0f} bytes/image)")
    t0 = time.perf_counter()
    again = load_faces(folder, cache_dir=cache)
    print(f"cache hit: opened in {time.perf_counter() - t0:.1f} s (stats every file for the identity)")
    del again
    cfg = TrainConfig(epochs=1, batch_size=64, channels=[8, 16], refine_channels=0, calibrate=False, gallery_size=0)
    trainer = Trainer(data, cfg, args.dir / "m.pt", args.dir / "m.run", torch.device("cpu"), progress=False)
    perm = torch.randperm(len(trainer.train_idx))
    t0 = time.perf_counter()
    for step in range(min(args.steps, trainer.steps_per_epoch)):
        x = trainer._batch(perm, step)
        loss = trainer.model(x)[0].square().mean()
        trainer.opt.zero_grad()
        loss.backward()
        trainer.opt.step()
    seconds = time.perf_counter() - t0
    current, anon, peak = rss_mib()
    print(f"training read {args.steps} batches of 64 from the memory map in {seconds:.1f} s; "
          f"RSS before loading {base:.0f} MiB, now {current:.0f} MiB ({anon:.0f} MiB anonymous, the rest "
          f"file pages of the cache), peak {peak:.0f} MiB "
          f"(the array in RAM would be {len(data.names) * 12288 / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
