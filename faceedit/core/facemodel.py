"""``FaceModel``: a loaded model file with encode/decode on its device — the public API."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from faceedit.formats import catalog
from faceedit.core.device import choose_device
from faceedit.core.model import fold_batchnorm
from faceedit.core.modelfile import load_network
from faceedit.core.prior import Prior


class FaceModel:
    """A trained β-VAE ready to use.

    ``encode(images)`` takes N×3×64×64 uint8 (0–255) or float in [0, 1] and returns (μ, log σ²);
    ``decode(z)`` returns N×3×64×64 float in [0, 1].  Both run without gradients and return CPU
    tensors, whatever the device.
    """

    def __init__(self, path: str | os.PathLike, device: str | torch.device | None = None):
        self.path = Path(path)
        network, self.objective, self.metadata = load_network(self.path)
        self.device = device if isinstance(device, torch.device) else choose_device(device)
        self.network = fold_batchnorm(network).to(self.device)  # inference only: BatchNorm folded into the convs
        if self.device.type in ("cpu", "cuda"):  # NHWC convolutions: faster there (not measured on MPS)
            self.network.to(memory_format=torch.channels_last)
        self.name = str(self.metadata.get("name") or self.path.stem)
        # The prior random faces come from: the Gaussian fitted after training, or N(0, I) for older files.
        self.prior = Prior.from_dict(self.metadata.get("prior"), self.latent_dim)

    @property
    def beta(self) -> float:
        return float(self.objective.beta)

    @property
    def latent_dim(self) -> int:
        return self.network.latent_dim

    @torch.inference_mode()
    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.as_tensor(images)
        if x.dim() == 3:
            x = x.unsqueeze(0)
        if tuple(x.shape[1:]) != (3, 64, 64):
            raise ValueError(f"images must be N×3×64×64, got {tuple(x.shape)}")
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        mu, logvar = self.network.encoder(x.to(self.device))
        return mu.cpu(), logvar.cpu()

    @torch.inference_mode()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.dim() == 1:
            z = z.unsqueeze(0)
        if z.shape[-1] != self.latent_dim:
            raise ValueError(f"latent codes must have {self.latent_dim} values, got {z.shape[-1]}")
        return self.network.decoder(z.to(self.device)).cpu()

    def _meta_tensor(self, key: str) -> torch.Tensor | None:
        v = self.metadata.get(key)
        return None if v is None else torch.as_tensor(v, dtype=torch.float32)

    @property
    def kl_per_dim(self) -> torch.Tensor:
        kl = self._meta_tensor("kl_per_dim")
        return kl if kl is not None else torch.zeros(self.latent_dim)

    @property
    def mu_std(self) -> torch.Tensor:
        s = self._meta_tensor("mu_std")
        return s if s is not None else torch.ones(self.latent_dim)

    @property
    def mu_mean(self) -> torch.Tensor:
        m = self._meta_tensor("mu_mean")
        return m if m is not None else torch.zeros(self.latent_dim)

    @property
    def gallery(self) -> torch.Tensor:
        g = self._meta_tensor("gallery")
        return g if g is not None else torch.zeros(0, self.latent_dim)

    @property
    def likelihood(self) -> dict:
        """How the reconstruction term was measured in training: ``{"name": "gaussian", "sigma": σ}`` or ``{"name": "sse"}``."""
        return dict(self.metadata["likelihood"])

    @property
    def attributes(self) -> dict[str, torch.Tensor]:
        """Name → the step of an edit of +1 (the direction times its measured scale, where the file has one)."""
        names = self.metadata.get("attribute_names") or []
        dirs = self._meta_tensor("attribute_directions")
        if dirs is None:
            return {}
        scales = self._meta_tensor("attribute_scales")
        if scales is not None:
            dirs = dirs * scales[:, None]
        return {n: dirs[i] for i, n in enumerate(names)}

    @property
    def attributes_scaled(self) -> bool:
        """Whether +1 is a measured unit (False: an older file's unscaled directions)."""
        return self.metadata.get("attribute_scales") is not None

    @property
    def attribute_unit_flip(self) -> float | None:
        """The share of faces without an attribute that +1 was calibrated to flip (None: not recorded)."""
        directions = (self.metadata.get("calibration") or {}).get("directions") or {}
        value = directions.get("target_flip") if isinstance(directions, dict) else None
        return float(value) if isinstance(value, (int, float)) and 0 < value <= 1 else None

    def dimension_attribute(self, dim: int) -> tuple[str, float] | None:
        """The attribute latent dimension ``dim`` correlates with most over the training faces, and the correlation."""
        pairs = self.metadata.get("dimension_attributes")
        if not pairs or dim >= len(pairs) or not pairs[dim]:
            return None
        name, r = pairs[dim]
        return str(name), float(r)

    def attribute_problem(self, name: str) -> str | None:
        """Why this model cannot render an attribute, measured, in plain words; None if it can."""
        q = (self.metadata.get("attribute_quality") or {}).get(name)
        if not isinstance(q, dict):
            return None
        label = name.replace("_", " ").lower()
        if q.get("renderable") is False:
            return (f"β={self.beta:g} does not keep {label}: the judge tells faces with and without it apart in "
                    f"this model's reconstructions only at AUC {q.get('recon_auc') or 0:.2f}")
        flip = q.get("flip")
        if isinstance(flip, (int, float)) and flip < 0.5:
            return f"β={self.beta:g} barely renders {label}: even a strong edit flips it for only {flip:.0%} of faces"
        return None

    def __repr__(self) -> str:
        return f"FaceModel({self.name!r}, β={self.beta:g}, device={self.device})"


def load_model(path_or_bundled_name: str | os.PathLike, device: str | torch.device | None = None) -> FaceModel:
    """Load a bundled model by name (see ``bundled_models()``), a user model by name, or a file."""
    return FaceModel(catalog.resolve(path_or_bundled_name), device)
