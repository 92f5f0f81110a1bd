"""The decoder's likelihood p(x | z): the reconstruction term of the objective, in nats per image.

Each likelihood is one small class with ``nll(x_hat, x) -> N`` (nats per image, summed over the
3×64×64 values) and ``to_dict()``; a new one (a discretised logistic, say) is a new class added to
``LIKELIHOODS``, not a new ``if``.

* ``gaussian`` (the default): a Gaussian decoder N(x̂, σ²I) with one σ shared by every pixel,
  calibrated as in σ-VAE (Rybkin et al. 2021). σ² is set to its optimum on each training batch,
  ``σ² = mean per-image SSE / D`` (D = 12,288), and held fixed for the gradient. The NLL is
  ``SSE / (2σ²) + D·log σ + (D/2)·log 2π`` nats per image. A running average of σ is kept and
  stored in the model file, and evaluation uses that stored σ.
* ``sse``: the per-image sum of squared error, the first release's objective. It equals a Gaussian
  NLL with a fixed σ² = 0.5 less the constant ``D·log σ + (D/2)·log 2π``; kept for comparison and
  for older files.
"""
from __future__ import annotations

import math

import torch

PIXELS_PER_IMAGE = 3 * 64 * 64
MIN_SIGMA = 1e-3  # a batch that the decoder reproduces exactly must not give log 0
SSE_SIGMA = math.sqrt(0.5)  # the σ that SSE implies


def sse_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Sum of squared error over the 3×64×64 values of each image → shape N."""
    return (x_hat - x).pow(2).flatten(1).sum(1)


def gaussian_nll(sse: torch.Tensor, sigma: torch.Tensor | float, values: int = PIXELS_PER_IMAGE) -> torch.Tensor:
    """−log N(x | x̂, σ²I) in nats, from the per-image SSE over ``values`` values."""
    sigma = torch.as_tensor(sigma, dtype=sse.dtype, device=sse.device)
    return sse / (2 * sigma**2) + values * torch.log(sigma) + values / 2 * math.log(2 * math.pi)


class SSELikelihood:
    name = "sse"

    def __init__(self, **_ignored):
        self.sigma = SSE_SIGMA

    def nll(self, x_hat: torch.Tensor, x: torch.Tensor, *, update: bool = False) -> torch.Tensor:
        return sse_per_image(x_hat, x)

    def to_dict(self) -> dict:
        return {"name": self.name}


class GaussianLikelihood:
    """Shared σ at its batch optimum while training; the running σ otherwise."""

    name = "gaussian"
    momentum = 0.01

    def __init__(self, sigma: float | None = None, **_ignored):
        self.sigma = float(sigma) if sigma is not None else None

    def nll(self, x_hat: torch.Tensor, x: torch.Tensor, *, update: bool = False) -> torch.Tensor:
        """Per-image NLL. ``update``: use this batch's optimal σ and fold it into the running σ."""
        sse = sse_per_image(x_hat, x)
        if update or self.sigma is None:
            sigma = (sse.detach().mean() / sse[0:1].new_tensor(x[0].numel())).sqrt().clamp_min(MIN_SIGMA)
            if update:
                value = float(sigma)  # one sync; the trainer already syncs once per step
                self.sigma = value if self.sigma is None else (1 - self.momentum) * self.sigma + self.momentum * value
        else:
            sigma = self.sigma
        return gaussian_nll(sse, sigma, x[0].numel())

    def to_dict(self) -> dict:
        return {"name": self.name, "sigma": self.sigma}


LIKELIHOODS = {cls.name: cls for cls in (GaussianLikelihood, SSELikelihood)}
DEFAULT_LIKELIHOOD = "gaussian"


def make_likelihood(spec: dict | str | None):
    """``{"name": ..., **params}`` (as stored in a model file) → a likelihood. None: the first release's SSE."""
    if spec is None:
        return SSELikelihood()
    if isinstance(spec, str):
        spec = {"name": spec}
    name = spec.get("name")
    if name not in LIKELIHOODS:
        raise ValueError(f"unknown likelihood {name!r}; use one of: {', '.join(LIKELIHOODS)}")
    params = {k: v for k, v in spec.items() if k != "name"}
    sigma = params.get("sigma")
    if sigma is not None and (isinstance(sigma, bool) or not isinstance(sigma, (int, float))
                              or not math.isfinite(sigma) or sigma <= 0):
        raise ValueError(f"the likelihood's σ must be a positive finite number, not {sigma!r}")
    return LIKELIHOODS[name](**params)
