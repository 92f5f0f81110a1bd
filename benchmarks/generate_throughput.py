"""How fast `faceedit generate` writes 64 px images, and whether its memory stays flat.

Prints, for one model and device:
* `faceedit generate` run as a subprocess for N = 1, 1,000 and --n (default 10,000) images: wall
  time, images/s end to end, images/s after start-up (the N = 1 run's time taken off), and the
  peak RSS of each run (os.wait4 gives each child's own rusage; the RUSAGE_CHILDREN maximum over all
  of them is printed too).  These run first, while this process has not imported torch: a child's
  peak RSS counts the memory it shared with its parent before exec.
* the raw decode rate of the model (FaceModel.decode) one image at a time, in the fixed blocks that
  the commands decode in (faceedit.cli.commands.DECODE_BLOCK) and in large batches; on the CPU and
  CUDA also with the weights in NCHW and in NHWC (channels_last, what FaceModel uses), alternating.
* on a GPU, the device memory, which RSS does not show (Metal and CUDA allocations live outside it):
  on MPS ``torch.mps.driver_allocated_memory()`` (all Metal memory the process holds, the allocator's
  cache included) and ``current_allocated_memory()`` after the decodes and after an in-process
  ``faceedit generate`` of --n images; on CUDA the peak ``torch.cuda.max_memory_allocated()``.

    python benchmarks/generate_throughput.py [--model beta4] [--n 10000] [--device cpu]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def decode_rate(model, batch: int, images: int) -> float:
    import torch
    z = torch.randn(batch, model.latent_dim)
    model.decode(z)  # warm-up
    done, start = 0, time.perf_counter()
    while done < images:
        model.decode(z)
        done += batch
    return done / (time.perf_counter() - start)


def rss_bytes(ru_maxrss: int) -> int:
    return ru_maxrss if sys.platform == "darwin" else ru_maxrss * 1024  # macOS: bytes; Linux: KiB


def run_generate(n: int, out: Path, args) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one `faceedit generate` subprocess."""
    cmd = [sys.executable, "-m", "faceedit.cli", "generate", "--model", args.model, "--n", str(n),
           "--seed", "0", "--size", "64", "--out", str(out), "--batch-size", str(args.batch_size),
           "--compression", str(args.compression)]
    if args.device:
        cmd += ["--device", args.device]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"generate failed with exit code {proc.returncode}")
    return wall, rss_bytes(usage.ru_maxrss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="beta4")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--device", default=None, help="default: auto (MPS → CUDA → CPU)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--compression", type=int, default=1, choices=range(10), metavar="0-9",
                        help="generate's PNG compression level (its default is 1)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        startup, _ = run_generate(1, Path(tmp) / "n1", args)
        print(f"generate N=1: {startup:.1f} s (start-up: Python, torch, model)")
        for n in sorted({1_000, args.n}):
            wall, peak = run_generate(n, Path(tmp) / f"n{n}", args)
            steady = (n - 1) / max(wall - startup, 1e-9)
            print(f"generate N={n:,}: {wall:.1f} s, {n / wall:.0f} images/s end to end, "
                  f"{steady:.0f} images/s after start-up, peak RSS {peak / 2**20:.0f} MiB")
    children = rss_bytes(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(f"peak RSS of any generate run (RUSAGE_CHILDREN): {children / 2**20:.0f} MiB")

    import torch
    from faceedit.cli.commands import DECODE_BLOCK
    from faceedit.core.device import describe
    from faceedit.core.facemodel import load_model
    from faceedit.core.modelfile import load_network

    model = load_model(args.model, args.device)
    print(f"model {args.model}, device {describe(model.device)}, torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} CPUs")
    for batch, images in ((1, 200), (DECODE_BLOCK, 2048), (256, 2048)):
        label = {1: "one image at a time", DECODE_BLOCK: "the blocks generate uses"}.get(batch, "large batches")
        print(f"raw decode, batch {batch:>4} ({label}): {decode_rate(model, batch, images):8.0f} images/s")
    if model.device.type in ("cpu", "cuda"):  # what FaceModel's channels_last (NHWC) weights buy
        for layout in (torch.contiguous_format, torch.channels_last, torch.contiguous_format, torch.channels_last):
            model.network.to(memory_format=layout)
            name = "NHWC (channels_last, what FaceModel uses)" if layout == torch.channels_last else "NCHW"
            print(f"raw decode, batch  256, weights {name}: {decode_rate(model, 256, 2048):8.0f} images/s")
        model.network.to(memory_format=torch.channels_last)
        unfolded = load_network(model.path)[0].to(model.device, memory_format=torch.channels_last)
        folded = model.network
        for name, network in (("as stored", unfolded), ("BatchNorm folded, what FaceModel uses", folded)) * 2:
            model.network = network
            print(f"raw decode, batch  256, NHWC, {name}: {decode_rate(model, 256, 2048):8.0f} images/s")
        model.network = folded
    png_cost(model)
    device_memory(model.device, "after the raw decodes")
    if model.device.type != "cpu":
        from faceedit.cli.commands import main as faceedit_main
        with tempfile.TemporaryDirectory() as tmp:
            cmd = ["generate", "--model", args.model, "--n", str(args.n), "--seed", "0", "--size", "64",
                   "--out", str(Path(tmp) / "in-process"), "--batch-size", str(args.batch_size),
                   "--device", model.device.type]
            faceedit_main(cmd)
        device_memory(model.device, f"after generate N={args.n:,} in this process")


def png_cost(model, images: int = 256) -> None:
    """Milliseconds to encode one 64 px face as PNG at each zlib level (one thread), and the mean file size."""
    import io

    import torch
    from PIL import Image
    faces = (model.decode(torch.randn(images, model.latent_dim)) * 255).round().byte().permute(0, 2, 3, 1).numpy()
    pictures = [Image.fromarray(face) for face in faces]
    for level in (0, 1, 6, 9):
        size, start = 0, time.perf_counter()
        for picture in pictures:
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG", compress_level=level)
            size += buffer.tell()
        ms = (time.perf_counter() - start) / images * 1000
        print(f"PNG of a 64 px face, compression {level}: {ms:.2f} ms, {size / images / 1024:.1f} KiB")


def device_memory(device, when: str) -> None:
    """Print what the GPU holds: RSS leaves out Metal (MPS) and CUDA memory."""
    import torch
    if device.type == "mps":
        print(f"MPS memory {when}: driver {torch.mps.driver_allocated_memory() / 2**20:.0f} MiB, "
              f"tensors {torch.mps.current_allocated_memory() / 2**20:.0f} MiB")
    elif device.type == "cuda":
        print(f"CUDA memory {when}: peak allocated {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB, "
              f"reserved {torch.cuda.memory_reserved(device) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
