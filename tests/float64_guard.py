"""A test mode that fails when float64 would reach the compute device, on a machine with only a CPU.

Apple's MPS has no float64: ``x.double()`` on an MPS tensor raises.  CI has no Mac, and on the CPU every
tensor is a "device" tensor, so the guard tracks where a tensor *would* live on a GPU:

- on the device: the model's parameters (``nn.Parameter``), anything moved with ``.to(<torch.device>)``
  or ``.to(<tensor>)``, and every result computed from at least one device tensor;
- on the host: factory results without a device (``torch.tensor``, ``torch.zeros``…), ``torch.from_numpy``,
  and anything brought back with ``.cpu()`` or ``.to("cpu")`` (on the CPU those return the tensor itself,
  so the guard hands back an alias to mark, leaving the original a device tensor).

Any torch call whose result is float64 (or complex128) on the device raises ``Float64OnDevice``.
``x.cpu().double()`` passes; ``x.double().cpu()`` does not.
"""
from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

_MARK = "_faceedit_on_device"
_WIDE = (torch.float64, torch.complex128)


class Float64OnDevice(AssertionError):
    pass


def on_device(t: torch.Tensor) -> bool:
    return isinstance(t, torch.nn.Parameter) or getattr(t, _MARK, False)


def _name(func) -> str:
    return getattr(func, "__name__", "") or str(func)


def _to_host(name: str, args, kwargs) -> bool:
    if name == "cpu":
        return True
    if name != "to":
        return False
    target = kwargs.get("device", args[1] if len(args) > 1 else None)
    return isinstance(target, str) and target.split(":")[0] == "cpu"


def _to_device(name: str, args, kwargs) -> bool:
    if name != "to":
        return False
    target = kwargs.get("device", args[1] if len(args) > 1 else None)
    return isinstance(target, (torch.device, torch.Tensor)) or (isinstance(target, str) and not _to_host(name, args, kwargs))


class NoFloat64OnDevice(TorchFunctionMode):
    """``with NoFloat64OnDevice(): ...`` — see the module docstring.  ``checked`` counts the calls seen."""

    def __init__(self):
        super().__init__()
        self.checked = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        self.checked += 1
        name = _name(func)
        inputs = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        if _to_host(name, args, kwargs):
            if isinstance(result, torch.Tensor):
                if result is args[0]:  # on a CPU, .cpu() returns its input: mark an alias instead
                    result = result.view_as(result)
                setattr(result, _MARK, False)
            return result
        device = _to_device(name, args, kwargs) or any(on_device(t) for t in inputs)
        if not device:
            return result
        for out in tree_flatten(result)[0]:
            if isinstance(out, torch.Tensor):
                if out.dtype in _WIDE:
                    raise Float64OnDevice(
                        f"torch {name}() made a {out.dtype} tensor on the compute device; MPS has no float64 "
                        f"(move it to the CPU first: x.cpu().double())")
                if not isinstance(out, torch.nn.Parameter):
                    setattr(out, _MARK, True)
        return result
