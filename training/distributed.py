"""Data-parallel training under ``torchrun``: the process group, read from torchrun's environment.

``torchrun`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` for each process it starts.  With a world
size above 1 the trainer joins a ``torch.distributed`` process group (NCCL on CUDA, gloo on the CPU);
without them, or with one process, nothing here is used and training is the single-process run.

``--batch-size`` stays the global batch: each of the N processes takes 1/N of every batch, so N must
divide it.  Only rank 0 writes checkpoints, metrics, logs and the model file.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist

DEFAULT_TIMEOUT_S = 1800  # ranks wait this long for one another (the first cache build of a large set included)


class DistributedError(Exception):
    """Another process of the run failed or stopped answering."""


def backend_for(device: torch.device) -> str:
    """The collective backend for a device type: NCCL for CUDA, gloo for the CPU; others are refused."""
    if device.type == "cuda":
        return "nccl"
    if device.type == "cpu":
        return "gloo"
    raise ValueError(f"distributed training runs on CUDA (NCCL) or the CPU (gloo), not {device.type}; "
                     f"pass --device cuda or --device cpu")


def per_rank_batch(batch_size: int, world_size: int) -> int:
    if batch_size % world_size:
        low, high = batch_size - batch_size % world_size, batch_size - batch_size % world_size + world_size
        raise ValueError(f"--batch-size {batch_size} is the global batch and must split evenly over the "
                         f"{world_size} processes; use a multiple of {world_size}, such as "
                         f"{low or high} or {high}")
    return batch_size // world_size


@dataclass
class Dist:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    active: bool = False  # a process group was joined

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.active:
            try:
                torch_dist.barrier()
            except RuntimeError as e:
                raise lost_contact(self, e) from None

    def close(self) -> None:
        if self.active and torch_dist.is_initialized():
            torch_dist.destroy_process_group()
        self.active = False


SINGLE = Dist()


def env_world(environ=os.environ) -> tuple[int, int, int] | None:
    """(rank, local rank, world size) from torchrun's variables, or None for a single process."""
    try:
        world = int(environ.get("WORLD_SIZE", "1"))
        rank = int(environ.get("RANK", "0"))
        local = int(environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ValueError("WORLD_SIZE, RANK and LOCAL_RANK must be whole numbers (torchrun sets them)") from None
    if world <= 1:
        return None
    if not 0 <= rank < world:
        raise ValueError(f"RANK {rank} is outside WORLD_SIZE {world}")
    return rank, local, world


def device_for_rank(device: torch.device, local_rank: int) -> torch.device:
    """One GPU per process on each node: CUDA device ``LOCAL_RANK``."""
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(f"LOCAL_RANK {local_rank} but this machine has {torch.cuda.device_count()} GPUs; "
                             f"start at most that many processes per node (--nproc-per-node)")
        return torch.device("cuda", local_rank)
    return device


def init(device: torch.device, environ=os.environ) -> tuple[Dist, torch.device]:
    """Join the process group when torchrun started several processes; else the single-process Dist."""
    world = env_world(environ)
    if world is None:
        return SINGLE, device
    rank, local, size = world
    backend = backend_for(device)
    device = device_for_rank(device, local)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    timeout = datetime.timedelta(seconds=float(environ.get("FACEEDIT_DIST_TIMEOUT_S", DEFAULT_TIMEOUT_S)))
    torch_dist.init_process_group(backend=backend, timeout=timeout)
    return Dist(rank=rank, local_rank=local, world_size=size, active=True), device


def lost_contact(dist: Dist, error: BaseException) -> DistributedError:
    first = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
    return DistributedError(f"rank {dist.rank}: lost contact with the other processes ({first}); "
                            f"the last checkpoint in the run folder is intact")
