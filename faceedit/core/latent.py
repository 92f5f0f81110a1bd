"""Pure maths on latent codes (torch tensors, no model): interpolation, traversals, edits, sampling."""
from __future__ import annotations

import torch


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Linear interpolation; exact at t=0 and t=1 (``a + (b - a)`` can differ from ``b`` by rounding)."""
    if isinstance(t, (int, float)) and t == 0:
        return a.clone()
    if isinstance(t, (int, float)) and t == 1:
        return b.clone()
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: float, eps: float = 1e-6) -> torch.Tensor:
    """Spherical interpolation between two latent vectors; exact at t=0 and t=1.

    The angle is measured between the directions of ``a`` and ``b``, and the norm is interpolated
    linearly, so a path between two typical faces stays at a typical distance from the origin.
    Falls back to lerp when the vectors are (anti)parallel.
    """
    if t == 0:
        return a.clone()
    if t == 1:
        return b.clone()
    na, nb = a.norm(), b.norm()
    if na < eps or nb < eps:
        return lerp(a, b, t)
    ua, ub = a / na, b / nb
    dot = torch.clamp((ua * ub).sum(), -1.0, 1.0)
    omega = torch.arccos(dot)
    if omega.abs() < 1e-4 or (torch.pi - omega).abs() < 1e-4:
        return lerp(a, b, t)
    so = torch.sin(omega)
    direction = (torch.sin((1 - t) * omega) / so) * ua + (torch.sin(t * omega) / so) * ub
    return direction * lerp(na, nb, t)


def interpolate_path(keys: list[torch.Tensor], t: float, method: str = "slerp") -> torch.Tensor:
    """Position t ∈ [0,1] along a path through keyframes, each segment taking equal time."""
    if not keys:
        raise ValueError("no keyframes")
    if len(keys) == 1:
        return keys[0].clone()
    t = min(max(t, 0.0), 1.0)
    segments = len(keys) - 1
    i = min(int(t * segments), segments - 1)
    local = t * segments - i
    fn = slerp if method == "slerp" else lerp
    return fn(keys[i], keys[i + 1], local)


def traversal(z: torch.Tensor, dim: int, values: torch.Tensor) -> torch.Tensor:
    """Copies of z with dimension ``dim`` set to each of ``values`` → len(values)×D."""
    out = z.expand(len(values), -1).clone()
    out[:, dim] = values
    return out


def apply_attributes(z: torch.Tensor, directions: torch.Tensor, amounts: dict[int, float]) -> torch.Tensor:
    """Move z along attribute directions (rows of ``directions``) by the given amounts."""
    out = z.clone()
    for idx, amount in amounts.items():
        out = out + amount * directions[idx]
    return out


def sample_prior(n: int, dim: int, temperature: float = 1.0, generator: torch.Generator | None = None,
                 prior=None) -> torch.Tensor:
    """n codes from the model's prior (a ``faceedit.core.prior.Prior``), or from N(0, I) when it has none."""
    if prior is not None:
        return prior.sample(n, temperature, generator)
    return torch.randn(n, dim, generator=generator) * temperature
