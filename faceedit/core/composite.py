"""Edit a photo as a residual: ``photo + upsample(decode(z_edited) − decode(z))`` over the aligned
face, blended with a soft mask, at the photo's own resolution (no Qt, no torch).

``Composite`` does the per-photo work once (the region of the photo the aligned face covers, the
map from its pixels to the face's, the mask); each edit then costs one remap of a small residual
and one saturating add over that region only.  A zero residual leaves every pixel as it was.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceedit.core.faces import Face

FACE = 64  # the model's face side
PREVIEW_SIDE = 1600  # the editor composites each edit onto a copy of the photo at most this long


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
        # The residual is smooth (64 samples across the face), so it is warped onto a coarse grid
        # (one node every `step` photo pixels, about 128 across the face) and then enlarged with
        # cv2.resize, which is many times faster than warping every photo pixel.  Grid node j sits
        # at region pixel step·j + (step − 1)/2: exactly where cv2.resize by `step` puts it.
        self._step = step = max(1, int(face.side // 128))
        self._grid = (-(-(rx1 - rx0) // step), -(-(ry1 - ry0) // step))  # ceil
        to_photo = np.vstack([face.to_face(FACE), [0, 0, 1]])
        grid_to_photo = np.array([[step, 0, rx0 + (step - 1) / 2], [0, step, ry0 + (step - 1) / 2], [0, 0, 1]])
        self._map = (np.linalg.inv(to_photo) @ grid_to_photo)[:2]  # grid node → face pixel

    def residual(self, edited: np.ndarray, original: np.ndarray) -> np.ndarray:
        """decode(z_edited) − decode(z) for two 64×64×3 images (uint8 or float in 0–255), masked."""
        return self.masked(edited.astype(np.float32) - original.astype(np.float32))

    def masked(self, difference: np.ndarray) -> np.ndarray:
        """A 64×64×3 difference of decoded faces (0–255 units) under the soft mask."""
        return np.asarray(difference, dtype=np.float32) * self.mask[..., None]

    def apply(self, residual: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The photo plus the upsampled masked residual (64×64×3, 0–255 units).  Writes only the face
        region of ``out`` (by default an internal buffer that starts as a copy of the photo; the
        returned array is that buffer, valid until the next call)."""
        out = self._out if out is None else out
        if self._map is None:
            return out
        rx0, ry0, rx1, ry1 = self.region
        residual = np.ascontiguousarray(residual, dtype=np.float32)
        if not residual.any():
            out[ry0:ry1, rx0:rx1] = self.photo[ry0:ry1, rx0:rx1]
            return out
        up = cv2.warpAffine(residual, self._map, self._grid, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if self._step > 1:
            up = cv2.resize(up, (self._grid[0] * self._step, self._grid[1] * self._step), interpolation=cv2.INTER_LINEAR)
        cv2.add(self.photo[ry0:ry1, rx0:rx1], up[:ry1 - ry0, :rx1 - rx0], dst=out[ry0:ry1, rx0:rx1], dtype=cv2.CV_8U)
        return out


@dataclass(frozen=True, eq=False)
class PhotoScene:
    """A photo as the editor shows it (``rgb``, at most ``PREVIEW_SIDE`` pixels long) and its face there.

    ``scale`` is preview pixels per pixel of the photo as it was opened; ``face.scaled(1 / scale)``
    is the face in that photo, and ``face.scaled(W / rgb.shape[1])`` in a copy W pixels wide."""

    rgb: np.ndarray  # H×W×3 uint8, C-contiguous
    face: Face
    scale: float = 1.0

    @property
    def width(self) -> int:
        return self.rgb.shape[1]

    @property
    def height(self) -> int:
        return self.rgb.shape[0]


def preview_scene(rgb: np.ndarray, face: Face, max_side: int = PREVIEW_SIDE) -> PhotoScene:
    """The photo reduced (area-averaged) to at most ``max_side`` on its long side, and its face there."""
    height, width = rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        scale = size[0] / width
        face = face.scaled(scale)
    return PhotoScene(np.ascontiguousarray(rgb, dtype=np.uint8), face, scale)
