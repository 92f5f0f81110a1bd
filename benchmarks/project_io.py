"""What a save or an autosave of a project costs: write (all or nothing, synced) and strict read of a
``.faceedit`` holding a photo start (a 512-px compare image, the 64-px crop, an embedded photo of
``--photo-mb``), ``--keyframes`` keyframes in 3 models of 128 dimensions; median of ``--repeat``.

    python benchmarks/project_io.py [--photo-mb 5] [--keyframes 20] [--repeat 20] [--dir /tmp]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from faceedit.formats import project as projectfile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photo-mb", type=float, default=5.0)
    ap.add_argument("--keyframes", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--dir", default=None, help="where to write (default: a temporary folder)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    z = lambda: rng.standard_normal(128).astype(np.float32)  # noqa: E731
    project = projectfile.Project(
        "beta4", z(), z(), "photo.jpg", {"Smiling": 1.0},
        projectfile._png(rng.integers(0, 256, (3, 512, 512), dtype=np.uint8)),
        rng.integers(0, 256, (3, 64, 64), dtype=np.uint8),
        projectfile.PhotoSource("photo.jpg", "/photos/photo.jpg", rng.bytes(int(args.photo_mb * 2**20)), (0, 0, 500)),
        [{"beta4": z(), "beta1": z(), "beta10": z()} for _ in range(args.keyframes)])
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = Path(folder) / "bench.faceedit"
        writes, reads = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            projectfile.write(path, project)
            writes.append(time.perf_counter() - t)
            t = time.perf_counter()
            projectfile.read(path)
            reads.append(time.perf_counter() - t)
        size = path.stat().st_size
    print(f"project of {size / 2**20:.2f} MB ({args.photo_mb:g} MB photo, {args.keyframes} keyframes × 3 models)")
    print(f"write (synced, atomic): median {statistics.median(writes) * 1000:.1f} ms, max {max(writes) * 1000:.1f} ms")
    print(f"read (strict):          median {statistics.median(reads) * 1000:.1f} ms, max {max(reads) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
