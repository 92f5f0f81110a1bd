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
