"""Find faces in a photo and align them the way the training faces are cropped (no Qt, no torch).

Detector: OpenCV's Haar cascade ``haarcascade_frontalface_alt2.xml``, which ships inside the
``opencv-python-headless`` wheel (``cv2.data.haarcascades``; OpenCV 5 no longer ships it, hence
``<5``), so nothing is downloaded.  Compared on 400 training faces (``benchmarks/face_geometry.py``)
with ``haarcascade_frontalface_default.xml`` and scikit-image's LBP cascade: alt2 (528 KiB) found
399/400, with its box centre steadiest (± 1.2 px across, ± 2.2 px down, against ± 3.0 / 4.2 px
for the default cascade, 908 KiB, and ± 2.3 / 3.3 px for the LBP one) and was the fastest;
scikit-image's detector was several times slower.  ``benchmarks/photo_edit.py --compare N`` runs
them on pasted-face scenes too.

Geometry (measured by running the detector on 400 of the 128×128 training faces, padded and
upscaled 2×): the detector box is centred on the training crop (63.7, 64.2) and 75.9 px wide, so
the crop is 128/75.9 = 1.69 box widths wide, centred on the box.  The eyes are level in the
training faces; a photo's face is rotated so that the line between its eyes (found with
``haarcascade_eye.xml`` inside the box) is level, and left as it is when the eyes are not found.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

MIN_FACE = 24            # faces narrower than this (detector box, photo pixels) are too small to edit
CROP_PER_BOX = 128 / 75.9  # training crop side / detector box width
CROP_OFFSET = ((64 - 63.7) / 75.9, (64 - 64.2) / 75.9)  # crop centre − box centre, in box widths
DETECT_SIDE = 1024       # the first pass looks at the photo scaled to this long side (faces ≥ 24 px there)
SECOND_SIDE = 2048       # a second pass (only when the first finds nothing) looks closer
MAX_EYE_TILT = 30.0      # degrees; a steeper "eye line" is a false eye detection


@dataclass(frozen=True)
class Face:
    """A detected face: the detector box and the aligned square crop that matches the training faces.

    The crop is the square of side ``side`` centred on (``cx``, ``cy``), rotated by ``angle``
    degrees (its x axis points along (cos angle, sin angle) in photo pixels, y down), so that the
    eyes are level in it.  It may reach outside the photo; crops pad with the edge pixels.
    """
    box: tuple[float, float, float, float]  # x, y, width, height of the detection, photo pixels
    cx: float
    cy: float
    side: float
    angle: float = 0.0

    @property
    def too_small(self) -> bool:
        return self.box[2] < MIN_FACE

    @property
    def size(self) -> float:
        return self.box[2]

    def scaled(self, s: float) -> "Face":
        """The same face in the photo resized by s (for a preview at screen size)."""
        x, y, w, h = self.box
        return Face((x * s, y * s, w * s, h * s), (self.cx + 0.5) * s - 0.5, (self.cy + 0.5) * s - 0.5,
                    self.side * s, self.angle)

    def corners(self) -> np.ndarray:
        """The crop's four corners (top-left, top-right, bottom-right, bottom-left) as a 4×2 array."""
        a = math.radians(self.angle)
        ex = np.array([math.cos(a), math.sin(a)]) * self.side / 2
        ey = np.array([-math.sin(a), math.cos(a)]) * self.side / 2
        c = np.array([self.cx, self.cy])
        return np.stack([c - ex - ey, c + ex - ey, c + ex + ey, c - ex + ey])

    def bounds(self) -> tuple[int, int, int, int]:
        """The axis-aligned pixel rectangle (x0, y0, x1, y1) that holds the crop, unclipped."""
        pts = self.corners()
        x0, y0 = np.floor(pts.min(0)).astype(int)
        x1, y1 = np.ceil(pts.max(0)).astype(int)
        return int(x0), int(y0), int(x1) + 1, int(y1) + 1

    def to_face(self, size: int) -> np.ndarray:
        """2×3 affine map from a size×size face image's pixel (u, v) to photo pixel (x, y)."""
        a = math.radians(self.angle)
        k = self.side / size
        cos, sin = math.cos(a) * k, math.sin(a) * k
        h = (size - 1) / 2  # pixel centres: u = (size-1)/2 is the crop centre
        return np.array([[cos, -sin, self.cx - cos * h + sin * h],
                         [sin, cos, self.cy - sin * h - cos * h]], dtype=np.float64)


def face_from_crop(left: int, top: int, side: int, angle: float = 0.0) -> Face:
    """A square crop chosen by hand (``--crop``, the crop dialog), turned by ``angle`` degrees about its
    centre (a detected face's eye line; 0: unrotated)."""
    return Face((float(left), float(top), float(side), float(side)),
                left + (side - 1) / 2, top + (side - 1) / 2, float(side), float(angle))


def face_from_box(x: float, y: float, w: float, h: float, angle: float = 0.0) -> Face:
    """The aligned crop for a detector box (and the eye-line angle in degrees)."""
    side = w * CROP_PER_BOX
    a = math.radians(angle)
    dx, dy = CROP_OFFSET[0] * w, CROP_OFFSET[1] * w
    cx = x + (w - 1) / 2 + dx * math.cos(a) - dy * math.sin(a)
    cy = y + (h - 1) / 2 + dx * math.sin(a) + dy * math.cos(a)
    return Face((float(x), float(y), float(w), float(h)), float(cx), float(cy), float(side), float(angle))


@lru_cache(maxsize=None)
def _cascade(name: str) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {name} is missing from the installed opencv-python-headless")
    return cascade


def to_grey(rgb: np.ndarray) -> np.ndarray:
    return rgb if rgb.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)


def _detect_at(grey: np.ndarray, long_side: int, upscale: float = 1.0) -> list[tuple[float, float, float, float]]:
    h, w = grey.shape
    s = min(upscale, long_side / max(h, w))
    small = grey if s == 1 else cv2.resize(grey, (max(1, round(w * s)), max(1, round(h * s))),
                                           interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    small = cv2.equalizeHist(small)
    found = _cascade("haarcascade_frontalface_alt2.xml").detectMultiScale(
        small, scaleFactor=1.1, minNeighbors=4, minSize=(20, 20))
    return [(x / s, y / s, fw / s, fh / s) for x, y, fw, fh in (found if len(found) else [])]


def eye_angle(grey: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Tilt of the line between the eyes inside a face box, in degrees (0 when not found)."""
    x, y, w, h = box
    x0, y0 = max(0, int(x)), max(0, int(y + 0.15 * h))
    x1, y1 = min(grey.shape[1], int(x + w)), min(grey.shape[0], int(y + 0.6 * h))
    if x1 - x0 < 20 or y1 - y0 < 10:
        return 0.0
    roi = grey[y0:y1, x0:x1]
    s = min(1.0, 160 / roi.shape[1])  # eyes are found at ~160 px face width: fast and steady
    if s < 1:
        roi = cv2.resize(roi, (max(1, round(roi.shape[1] * s)), max(1, round(roi.shape[0] * s))),
                         interpolation=cv2.INTER_AREA)
    eyes = _cascade("haarcascade_eye.xml").detectMultiScale(
        roi, scaleFactor=1.1, minNeighbors=5, minSize=(max(8, int(0.12 * w * s)),) * 2,
        maxSize=(max(9, int(0.4 * w * s)),) * 2)
    mid = w * s / 2
    centres = [((ex + ew / 2), (ey + eh / 2), ew) for ex, ey, ew, eh in (eyes if len(eyes) else [])]
    left = [c for c in centres if c[0] < mid]
    right = [c for c in centres if c[0] >= mid]
    if not left or not right:
        return 0.0
    lx, ly, _ = max(left, key=lambda c: c[2])
    rx, ry, _ = max(right, key=lambda c: c[2])
    angle = math.degrees(math.atan2(ry - ly, rx - lx))
    return angle if abs(angle) <= MAX_EYE_TILT and rx - lx > 0.2 * w * s else 0.0


def detect_faces(rgb: np.ndarray, align: bool = True) -> list[Face]:
    """Every frontal face in an RGB (or grey) uint8 image, largest first; tiny ones (``too_small``)
    included so that the caller can say so.  An empty list means no face at all."""
    grey = to_grey(rgb)
    h, w = grey.shape
    boxes = _detect_at(grey, DETECT_SIDE, upscale=2.0)  # small photos are upscaled to find tiny faces
    if not boxes and max(h, w) > DETECT_SIDE:
        boxes = _detect_at(grey, SECOND_SIDE)
    boxes.sort(key=lambda b: -b[2])
    return [face_from_box(*b, angle=eye_angle(grey, b) if align and b[2] >= MIN_FACE else 0.0) for b in boxes]


def extract(rgb: np.ndarray, face: Face, size: int = 64) -> np.ndarray:
    """The aligned crop as a size×size×3 uint8 image, resampled like the training faces (area
    averaging, then rotation); parts outside the photo repeat the edge pixels."""
    H, W = rgb.shape[:2]
    pts = face.corners() + 0.5  # pixel edges: an unrotated crop then averages whole blocks of pixels
    x0, y0 = np.floor(pts.min(0) + 1e-6).astype(int)
    x1, y1 = np.ceil(pts.max(0) - 1e-6).astype(int)
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    if cx1 <= cx0 or cy1 <= cy0:  # the crop lies wholly outside: use the nearest edge pixels
        cx0, cy0 = min(max(0, x0), W - 1), min(max(0, y0), H - 1)
        cx1, cy1 = cx0 + 1, cy0 + 1
    region = rgb[cy0:cy1, cx0:cx1]
    k = face.side / size
    to_photo = np.vstack([face.to_face(size), [0, 0, 1]])
    if k > 1.5:  # average down first (to about the output scale), so the rotation does not alias
        rw, rh = max(1, round(region.shape[1] / k)), max(1, round(region.shape[0] / k))
        sx, sy = rw / region.shape[1], rh / region.shape[0]
        region = cv2.resize(region, (rw, rh), interpolation=cv2.INTER_AREA)
    else:
        sx = sy = 1.0
    # photo pixel centre x → region pixel centre (x − cx0 + ½)·sx − ½
    to_region = np.array([[sx, 0, (0.5 - cx0) * sx - 0.5], [0, sy, (0.5 - cy0) * sy - 0.5], [0, 0, 1]])
    m = (to_region @ to_photo)[:2]
    return cv2.warpAffine(np.ascontiguousarray(region), m, (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
