"""Attribute directions in latent space that change mainly their own attribute.

Method: a joint linear regression of the latent means on all attributes at once,

    μ_i ≈ c + Σ_k w_k · a_ik,   a_ik ∈ {0, 1}  (ridge λ = 1e-3·N for stability),

solved by least squares.  ``w_k`` is the mean difference of μ between faces with and without
attribute k *with every other attribute held fixed*, so the part of the plain mean difference
that comes from correlated attributes (Male, Young, Heavy_Makeup…) is regressed out.  An edit of
``+1`` along ``w_k`` turns a typical face without the attribute into one with it; ``−1`` the
reverse; other values scale linearly.
"""
from __future__ import annotations

import torch

RIDGE = 1e-3


def attribute_directions(mu: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """μ (N×D) and attributes (N×K, +1/−1 or 0/1) → directions K×D."""
    a = (attributes > 0).double()
    x = torch.cat([torch.ones(len(a), 1, dtype=torch.float64), a], dim=1)
    y = mu.double()
    gram = x.T @ x + RIDGE * len(a) * torch.diag(torch.tensor([0.0] + [1.0] * a.shape[1], dtype=torch.float64))
    w = torch.linalg.solve(gram, x.T @ y)
    return w[1:].float()


def plain_mean_difference(mu: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """The naive direction (mean μ with − mean μ without), for comparison in reports."""
    a = attributes > 0
    rows = []
    for k in range(a.shape[1]):
        on, off = mu[a[:, k]], mu[~a[:, k]]
        rows.append(on.mean(0) - off.mean(0) if len(on) and len(off) else torch.zeros(mu.shape[1]))
    return torch.stack(rows)
