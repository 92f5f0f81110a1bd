"""Held-out metrics for a model: SSE, PSNR, SSIM, KL, per-dimension KL, active units, attribute-MIG.

Every number follows the normalisation in ``faceedit.core.model``: per image, summed over the 3×64×64
pixel values (images in [0,1]); KL in nats per image summed over dimensions; all averaged over
every image of the split.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from faceedit.core.activity import ACTIVE_KL
from faceedit.core.model import BetaVAE, kl_per_dim, psnr_per_image, recon_per_image

MIG_BINS = 20


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(3, 1, size, size).contiguous()


def ssim_per_image(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """SSIM (Wang et al. 2004: 11×11 Gaussian window, σ=1.5, K=(0.01, 0.03)), averaged over channels."""
    w = _gaussian_window().to(a.device, a.dtype)
    c1, c2 = 0.01**2, 0.03**2
    mu_a, mu_b = F.conv2d(a, w, groups=3), F.conv2d(b, w, groups=3)
    saa = F.conv2d(a * a, w, groups=3) - mu_a**2
    sbb = F.conv2d(b * b, w, groups=3) - mu_b**2
    sab = F.conv2d(a * b, w, groups=3) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))
    return s.flatten(1).mean(1)


@torch.inference_mode()
def encode_all(model: BetaVAE, images: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """μ and log σ² for uint8 images (on any device) → CPU float tensors."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    mus, logvars = [], []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size].to(device).float() / 255
        mu, logvar = model.encoder(x)
        mus.append(mu.float().cpu())
        logvars.append(logvar.float().cpu())
    model.train(was_training)
    return torch.cat(mus), torch.cat(logvars)


def reconstruction_metrics(model: BetaVAE, images: torch.Tensor, batch_size: int = 256) -> dict:
    """Sums over every batch, divided by the image count at the end (never a single batch)."""
    return _reconstruct(model, images, batch_size)[0]


@torch.inference_mode()
def _reconstruct(model: BetaVAE, images: torch.Tensor, batch_size: int) -> tuple[dict, torch.Tensor]:
    """The reconstruction metrics and the μ codes of every image (CPU), from one pass over the split."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    n = len(images)
    sse = psnr = ssim = 0.0
    kl_dims = None
    mus = []
    for i in range(0, n, batch_size):
        x = images[i:i + batch_size].to(device).float() / 255
        mu, logvar = model.encoder(x)
        mus.append(mu.float().cpu())
        x_hat = model.decoder(mu)
        sse += recon_per_image(x_hat, x).sum().item()
        psnr += psnr_per_image(x_hat, x).sum().item()
        ssim += ssim_per_image(x_hat, x).sum().item()
        k = kl_per_dim(mu, logvar).sum(0).cpu().double()  # float64 only on the CPU: MPS has none
        kl_dims = k if kl_dims is None else kl_dims + k
    model.train(was_training)
    kl_dims = (kl_dims / n).float()
    return {"images": n, "sse": sse / n, "psnr": psnr / n, "ssim": ssim / n,
            "kl": float(kl_dims.sum()), "kl_per_dim": kl_dims.tolist(),
            "active_units": int((kl_dims > ACTIVE_KL).sum())}, torch.cat(mus)


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def discretise(mu: np.ndarray, bins: int = MIG_BINS) -> np.ndarray:
    """Each latent dimension into ``bins`` equal-width bins over its own range → N×D ints."""
    out = np.zeros(mu.shape, dtype=np.int64)
    for j in range(mu.shape[1]):
        edges = np.histogram(mu[:, j], bins)[1]
        out[:, j] = np.digitize(mu[:, j], edges[:-1]) - 1
    return out


def mutual_information(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """I(z_j; a_k) in nats for discrete latents codes (N×D) and discrete factors (N×K) → D×K."""
    n = len(codes)
    mi = np.zeros((codes.shape[1], factors.shape[1]))
    for j in range(codes.shape[1]):
        for k in range(factors.shape[1]):
            joint = np.zeros((codes[:, j].max() + 1, factors[:, k].max() + 1))
            np.add.at(joint, (codes[:, j], factors[:, k]), 1)
            joint /= n
            pz, pa = joint.sum(1), joint.sum(0)
            mi[j, k] = _entropy(pz) + _entropy(pa) - _entropy(joint.ravel())
    return mi


def mig(mu: torch.Tensor, attributes: torch.Tensor, bins: int = MIG_BINS) -> float | None:
    """Mutual Information Gap (Chen et al. 2018) over binary attributes (+1/-1 or 0/1).

    For each attribute: (largest − second largest MI over latent dimensions) / H(attribute),
    averaged over the attributes that vary in the data.  None when none varies.
    """
    codes = discretise(mu.numpy(), bins)
    factors = (attributes.numpy() > 0).astype(np.int64)
    keep = [k for k in range(factors.shape[1]) if 0 < factors[:, k].sum() < len(factors)]
    if not keep or mu.shape[1] < 2:
        return None
    factors = factors[:, keep]
    mi = mutual_information(codes, factors)
    top = np.sort(mi, axis=0)[::-1]
    h = np.array([_entropy(np.bincount(factors[:, k]) / len(factors)) for k in range(factors.shape[1])])
    return float(np.mean((top[0] - top[1]) / h))


def mig_spread(mu: torch.Tensor, attributes: torch.Tensor, resamples: int, seed: int = 0) -> float | None:
    """Bootstrap standard deviation of the attribute-MIG over the images: how much of a MIG difference is noise."""
    g = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(resamples):
        idx = torch.randint(len(mu), (len(mu),), generator=g)
        value = mig(mu[idx], attributes[idx])
        if value is not None:
            values.append(value)
    return float(torch.tensor(values).std()) if len(values) > 1 else None


def evaluate_split(model: BetaVAE, images: torch.Tensor, attributes: torch.Tensor | None = None,
                   batch_size: int = 256, mig_bootstrap: int = 0) -> dict:
    """Reconstruction metrics and, with attributes, the MIG (and its bootstrap sd when asked), from one encode."""
    metrics, mu = _reconstruct(model, images, batch_size)
    if attributes is not None and len(images) > 1:
        metrics["mig"] = mig(mu, attributes)
        if mig_bootstrap and metrics["mig"] is not None:
            metrics["mig_sd"] = mig_spread(mu, attributes, mig_bootstrap)
    return metrics
