"""The prior that random faces are drawn from: N(0, I), or a Gaussian fitted after training.

A VAE trained with a calibrated likelihood uses its latent space well, and its aggregate posterior
no longer fills N(0, I): codes drawn from N(0, I) land where no training face was, and decode to
things that are not faces. So, after training, a Gaussian is fitted to the training set's codes
("ex-post density estimation", Ghosh et al. 2020) and stored in the model file:

    metadata["prior"] = {"kind": "gaussian", "fitted_on": "mu" | "posterior",
                         "mean": D tensor, "scale_tril": D×D lower-triangular tensor}

A sample is ``mean + temperature · L·ε`` with ε ~ N(0, I), so temperature 0 is the average face
and 1 follows the training faces' spread. Files without a prior sample from N(0, I).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

JITTER = 1e-4  # added to the covariance's diagonal so that its Cholesky factor always exists


class PriorError(ValueError):
    pass


@dataclass(frozen=True)
class Prior:
    mean: torch.Tensor  # D
    scale_tril: torch.Tensor | None  # D×D lower-triangular with a positive diagonal; None: N(0, I)
    fitted_on: str = "standard"

    @classmethod
    def standard(cls, dim: int) -> "Prior":
        return cls(torch.zeros(dim), None)

    @property
    def dim(self) -> int:
        return len(self.mean)

    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        eps = torch.randn(n, self.dim, generator=generator)
        if self.scale_tril is None:
            return eps * temperature
        return self.mean + temperature * eps @ self.scale_tril.T

    def to_dict(self) -> dict | None:
        if self.scale_tril is None:
            return None
        return {"kind": "gaussian", "fitted_on": self.fitted_on, "mean": self.mean.clone(),
                "scale_tril": self.scale_tril.clone()}

    @classmethod
    def from_dict(cls, d: dict | None, dim: int) -> "Prior":
        """Check a stored prior; raises PriorError with a one-line reason."""
        if d is None:
            return cls.standard(dim)
        if not isinstance(d, dict) or d.get("kind") != "gaussian":
            raise PriorError("the fitted prior is not a Gaussian table")
        try:
            mean = torch.as_tensor(d["mean"], dtype=torch.float32)
            tril = torch.as_tensor(d["scale_tril"], dtype=torch.float32)
        except (KeyError, TypeError, ValueError, RuntimeError):
            raise PriorError("the fitted prior has no numeric mean and scale") from None
        if tuple(mean.shape) != (dim,) or tuple(tril.shape) != (dim, dim):
            raise PriorError(f"the fitted prior has shapes {tuple(mean.shape)} and {tuple(tril.shape)}, "
                             f"expected ({dim},) and ({dim}, {dim})")
        if not (torch.isfinite(mean).all() and torch.isfinite(tril).all()):
            raise PriorError("the fitted prior holds NaN or infinite values")
        if not torch.equal(tril, tril.tril()) or not (tril.diagonal() > 0).all():
            raise PriorError("the fitted prior's covariance is not positive-definite")
        return cls(mean, tril, str(d.get("fitted_on", "mu")))


def fit_gaussian(mu: torch.Tensor, logvar: torch.Tensor | None = None) -> Prior:
    """A full-covariance Gaussian fitted to the codes μ (N×D), in float64.

    With ``logvar``, to the aggregate posterior instead: the mixture of the N posteriors has the
    covariance of μ plus the mean posterior variance on the diagonal."""
    mu = mu.double()
    cov = torch.cov(mu.T)
    if logvar is not None:
        cov = cov + torch.diag(logvar.double().exp().mean(0))
    cov = (cov + cov.T) / 2 + JITTER * torch.eye(mu.shape[1], dtype=torch.float64)
    tril = torch.linalg.cholesky(cov)
    return Prior(mu.mean(0).float(), tril.float(), "posterior" if logvar is not None else "mu")
