"""Edit a photo as a residual: ``photo + upsample(decode(z_edited) − decode(z))`` over the aligned
face, blended with a soft mask, at the photo's own resolution (no Qt, no torch).

``Composite`` does the per-photo work once (the region of the photo the aligned face covers, the
map from its pixels to the face's, the mask); each edit then costs one remap of a small residual
and one saturating add over that region only.  A zero residual leaves every pixel as it was.
"""
from __future__ import annotations

import cv2
import numpy as np

from faceedit.core.faces import Face

FACE = 64  # the model's face side


def soft_mask(size: int = FACE, inner: float = 0.72, outer: float = 0.94) -> np.ndarray:
    """size×size float32: 1 over the face, falling smoothly to 0 before the crop's edge (a rounded
    square, |x|⁴+|y|⁴, so the cheeks and chin are inside and the corners are not)."""
    t = (np.arange(size, dtype=np.float64) + 0.5) / size * 2 - 1
    r = (t[None, :] ** 4 + t[:, None] ** 4) ** 0.25
    s = np.clip((outer - r) / (outer - inner), 0, 1)
    return (s * s * (3 - 2 * s)).astype(np.float32)


class Composite:
    """One photo and one aligned face in it.  ``apply(residual)`` returns the edited photo."""

    def __init__(self, photo: np.ndarray, face: Face, mask: np.ndarray | None = None):
        if photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3:
            raise ValueError(f"photo must be H×W×3 uint8, got {photo.shape} {photo.dtype}")
        self.photo = photo
        self.face = face
        self.mask = soft_mask() if mask is None else mask.astype(np.float32)
        H, W = photo.shape[:2]
        x0, y0, x1, y1 = face.bounds()
        self.region = (max(0, x0), max(0, y0), min(W, x1), min(H, y1))  # what an edit may change
        rx0, ry0, rx1, ry1 = self.region
        self._out = photo.copy()
        if rx1 <= rx0 or ry1 <= ry0:
            self._map = None
            return
        # region pixel (x, y) → face pixel (u, v), for warpAffine's inverse map
        to_photo = np.vstack([face.to_face(FACE), [0, 0, 1]])
        shift = np.array([[1, 0, rx0], [0, 1, ry0], [0, 0, 1]], dtype=np.float64)
        self._map = (np.linalg.inv(to_photo) @ shift)[:2]

    def residual(self, edited: np.ndarray, original: np.ndarray) -> np.ndarray:
        """decode(z_edited) − decode(z) for two 64×64×3 images (uint8 or float in 0–255), masked."""
        d = edited.astype(np.float32) - original.astype(np.float32)
        return d * self.mask[..., None]

    def apply(self, residual: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The photo plus the upsampled masked residual (64×64×3, 0–255 units).  Writes only the face
        region of ``out`` (by default an internal buffer that starts as a copy of the photo; the
        returned array is that buffer, valid until the next call)."""
        out = self._out if out is None else out
        if self._map is None:
            return out
        rx0, ry0, rx1, ry1 = self.region
        small = np.round(residual).astype(np.int16)  # the output is whole levels anyway
        if not small.any():
            out[ry0:ry1, rx0:rx1] = self.photo[ry0:ry1, rx0:rx1]
            return out
        up = cv2.warpAffine(small, self._map, (rx1 - rx0, ry1 - ry0),
                            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        cv2.add(self.photo[ry0:ry1, rx0:rx1], up, dst=out[ry0:ry1, rx0:rx1], dtype=cv2.CV_8U)
        return out
