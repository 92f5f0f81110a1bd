"""The plain data that crosses between the engine's worker thread and the GUI thread.

Requests name a lane (``Lane`` or a batch ``Tag``) and a ``Kind`` of work; answers are frozen
dataclasses of numpy arrays, packed RGB bytes and numbers, so no widget ever touches torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

try:
    from enum import StrEnum
except ImportError:  # Python 3.10
    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str(self.value)


class Lane(StrEnum):
    """The lanes served before any batch, in this order."""

    MODEL = "model"
    ENCODE = "encode"
    FACE = "face"


class Tag(StrEnum):
    """What a batch of faces is for; each tag is a lane of its own."""

    GALLERY = "gallery"
    SAMPLES = "samples"
    RANDOM_FACE = "random-face"
    KEYFRAMES = "keyframes"
    TIMELINE = "timeline"


class Purpose(StrEnum):
    """Why a model is loaded; the answer (or failure) says it back."""

    STARTUP = "startup"
    SWITCH = "switch"
    OPEN_LATENT = "open-latent"
    RESTORE = "restore"


class Kind(StrEnum):
    """What the worker does for a request."""

    LOAD = "load"
    DECODE = "decode"
    ENCODE = "encode"
    LATENTS = "latents"  # a batch: these latents
    PRIOR = "prior"  # a batch: samples of the prior
    PATH = "path"  # a batch: frames along a path through keyframes




@dataclass(frozen=True)
class Face:
    """A 64×64 image as packed RGB888 bytes, ready for ``QImage(rgb, width, height, 3*width, RGB888)``."""

    rgb: bytes
    width: int
    height: int


@dataclass(frozen=True, repr=False)
class ModelInfo:
    """Everything the window shows about a model, as numbers (copied out of the FaceModel)."""

    source: str  # what to load it by again: a bundled or user model name, or a file path
    name: str
    path: str
    beta: float
    latent_dim: int
    kl_per_dim: np.ndarray
    mu_mean: np.ndarray
    mu_std: np.ndarray
    attributes: dict[str, np.ndarray]
    gallery: np.ndarray  # G×D
    gallery_names: list[str]
    device: str
    metrics: dict
    generation: int  # counts successful loads; results of an older generation are stale
    # Attribute name → why this model cannot render it, measured, in plain words (absent: it can, or unmeasured).
    attribute_problems: dict[str, str] = field(default_factory=dict)
    attributes_scaled: bool = False  # whether +1 on an attribute slider is a measured unit
    attribute_unit_flip: float | None = None  # the share of faces without an attribute that +1 flips
    # Per latent dimension: (the attribute it correlates with most, r) or None; empty for older files.
    dimension_attributes: list = field(default_factory=list)

    def __repr__(self) -> str:
        return f"ModelInfo({self.name!r}, β={self.beta:g}, source={self.source!r}, generation={self.generation})"


@dataclass(frozen=True)
class ModelLoaded:
    seq: int
    purpose: Purpose
    info: ModelInfo
    kept: list[np.ndarray]  # the ``keep`` latents, unchanged
    kept_faces: list[Face]
    carried: list[np.ndarray]  # the ``carry`` items re-encoded into the new model
    carried_faces: list[Face]
    seconds: float
    context: object = None


@dataclass(frozen=True)
class PhotoPatch:
    """The edited pixels of a photo's face region at (left, top) of ``scene``, in the order the face
    view keeps them (``faceedit.gui.widgets.pixels.rgb32``: 4 bytes a pixel)."""

    scene: object  # the PhotoScene
    left: int
    top: int
    width: int
    height: int
    pixels: bytes


@dataclass(frozen=True)
class Decoded:
    seq: int
    latent: np.ndarray
    face: Face
    seconds: float
    generation: int
    # With a photo: its face region (at preview size) with the edit put back, and the edit itself as
    # decode(latent) − decode(start latent), 64×64×3 float32 in 0–255 units, for a full-size export.
    photo: PhotoPatch | None = None
    difference: np.ndarray | None = None


@dataclass(frozen=True)
class Encoded:
    seq: int
    latent: np.ndarray
    face: Face  # the reconstruction
    photo: np.ndarray  # the 3×64×64 uint8 crop that was encoded
    seconds: float
    generation: int
    context: object = None


@dataclass(frozen=True)
class Batch:
    seq: int
    tag: Tag
    latents: np.ndarray  # N×D
    faces: list[Face]
    seconds: float
    generation: int
    context: object = None


@dataclass(frozen=True)
class Failure:
    seq: int
    lane: Lane | Tag
    purpose: Purpose | Kind
    title: str
    message: str
    context: object = None


@dataclass(frozen=True)
class Skipped:
    seq: int
    lane: Lane | Tag


@dataclass
class Request:
    lane: Lane | Tag
    seq: int
    kind: Kind
    generation: int
    args: dict = field(default_factory=dict)
