"""Choose where the model runs: Apple MPS, then CUDA, then CPU, unless the user says otherwise."""
from __future__ import annotations

import os
from typing import Callable

import torch

ENV_VAR = "FACEEDIT_DEVICE"
CHOICES = ("auto", "mps", "cuda", "cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def choose_device(
    preference: str | None = None,
    *,
    mps_available: Callable[[], bool] = _mps_available,
    cuda_available: Callable[[], bool] = torch.cuda.is_available,
) -> torch.device:
    """Return the device to use.

    ``preference`` is ``auto``/``None`` (MPS → CUDA → CPU), ``mps``, ``cuda``, ``cuda:N`` or ``cpu``;
    without one, the ``FACEEDIT_DEVICE`` environment variable is read.  Asking for a device that is
    not there raises ``ValueError`` with a message that says what is available.
    """
    pref = (preference or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if pref == "auto":
        if mps_available():
            return torch.device("mps")
        if cuda_available():
            return torch.device("cuda")
        return torch.device("cpu")
    kind = pref.split(":")[0]
    if kind not in CHOICES:
        raise ValueError(f"unknown device {pref!r}; choose one of {', '.join(CHOICES)}")
    available = {"cpu": True, "mps": mps_available(), "cuda": cuda_available()}
    if not available[kind]:
        have = ", ".join(k for k, ok in available.items() if ok)
        raise ValueError(f"device {pref!r} is not available on this machine (available: {have})")
    return torch.device(pref)


def describe(device: torch.device) -> str:
    """A short human name for the status bar: 'CPU', 'Apple MPS', 'CUDA: <gpu name>'."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return {"mps": "Apple MPS", "cpu": "CPU"}.get(device.type, device.type)


def device_error(error: BaseException) -> str | None:
    """One line for an error that comes from the compute device, or None for any other error.

    MPS reports running out of memory as a plain ``RuntimeError("MPS backend out of memory …")`` and
    float64 as ``TypeError("Cannot convert a MPS Tensor to float64 dtype …")``, so the text is matched;
    CUDA has its own exception class.  Callers print the line instead of a traceback.
    """
    text = str(error)
    if isinstance(error, torch.cuda.OutOfMemoryError) or (
            isinstance(error, RuntimeError) and "out of memory" in text.lower() and ("MPS" in text or "CUDA" in text)):
        where = "Apple GPU (MPS)" if "MPS" in text else "GPU"
        return f"out of {where} memory; use a smaller batch, close other GPU work, or use the CPU (--device cpu)"
    if isinstance(error, (TypeError, RuntimeError, NotImplementedError)) and "MPS" in text:
        first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
        return f"the Apple GPU (MPS) cannot run this ({first}); use the CPU (--device cpu or FACEEDIT_DEVICE=cpu)"
    return None


FACE_DEVICE_ENV = "FACEEDIT_FACE_DEVICE"
FACE_DEVICE_CHOICES = ("auto", "model", "cpu")


def pick_face_device(model_device: torch.device, seconds_per_face: Callable[[torch.device], float],
                     preference: str | None = None) -> torch.device:
    """Where the editor decodes the single face that follows a slider.

    One 64×64 face is a tiny job: on a GPU the launch and copy-back overheads can cost more than the CPU
    takes for the whole decode.  ``auto`` (the default) measures: ``seconds_per_face(device)`` (a warmed-up
    median, see ``benchmarks/gui_latency.py``) for the CPU and for the model's device, and takes the faster.
    ``model`` keeps the model's device; ``cpu`` always uses the CPU.  ``FACEEDIT_FACE_DEVICE`` sets it.
    Batches (gallery, samples, timeline) always stay on the model's device.
    """
    pref = (preference or os.environ.get(FACE_DEVICE_ENV) or "auto").strip().lower()
    if pref not in FACE_DEVICE_CHOICES:
        raise ValueError(f"unknown face device {pref!r}; choose one of {', '.join(FACE_DEVICE_CHOICES)}")
    cpu = torch.device("cpu")
    if model_device.type == "cpu" or pref == "model":
        return model_device
    if pref == "cpu":
        return cpu
    return cpu if seconds_per_face(cpu) < seconds_per_face(model_device) else model_device


def seconds_per_face(decode: Callable[[torch.Tensor], object], latent_dim: int, repeats: int = 15) -> float:
    """Median wall time of one single-face ``decode`` (which returns CPU tensors, so includes the sync),
    after three warm-up calls."""
    import statistics
    import time

    z = torch.zeros(1, latent_dim)
    for _ in range(3):
        decode(z)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        decode(z)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
