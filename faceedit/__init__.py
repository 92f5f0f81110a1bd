"""FaceEdit: edit faces with β-VAEs."""
from .catalog import bundled_models
from .facemodel import FaceModel, load_model
from .modelfile import ModelFileError

__all__ = ["FaceModel", "ModelFileError", "bundled_models", "load_model"]
__version__ = "0.1.0"
