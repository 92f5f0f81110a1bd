"""A face in a photo, edited in latent space and put back at the photo's own resolution.

``PhotoEdit(model, rgb, face)`` encodes the aligned face once and decodes it once; ``render(z)``
then returns the full photo plus the masked, upsampled ``decode(z) − decode(z₀)``.  The latent
``z₀`` is the encoder's mean of the aligned crop, so ``render(z₀)`` is the photo, bit for bit.
"""
from __future__ import annotations

import numpy as np
import torch

from faceedit.core.composite import FACE, Composite
from faceedit.core.faces import Face, extract


def decode_hwc(model, z: torch.Tensor) -> np.ndarray:
    """One latent → 64×64×3 float32 in 0–255 (always decoded alone, so equal codes give equal pixels)."""
    image = model.decode(torch.as_tensor(z, dtype=torch.float32).reshape(1, -1))[0]
    return (image.clamp(0, 1) * 255).permute(1, 2, 0).contiguous().numpy()


class PhotoEdit:
    def __init__(self, model, rgb: np.ndarray, face: Face, crop: np.ndarray | None = None):
        """``crop``: the 64×64×3 uint8 face to encode, when the caller has made it (an unrotated
        manual crop resampled like the editor does); by default ``extract(rgb, face)``."""
        self.model = model
        self.face = face
        self.crop = extract(rgb, face, FACE) if crop is None else crop
        mu, _ = model.encode(torch.from_numpy(self.crop).permute(2, 0, 1).unsqueeze(0))
        self.z = mu[0]
        self.base = decode_hwc(model, self.z)
        self.composite = Composite(rgb, face)

    def residual(self, z: torch.Tensor) -> np.ndarray:
        return self.composite.residual(decode_hwc(self.model, z), self.base)

    def render(self, z: torch.Tensor, out: np.ndarray | None = None) -> np.ndarray:
        """The edited full photo (H×W×3 uint8); only the face region differs from the photo."""
        return self.composite.apply(self.residual(z), out)
