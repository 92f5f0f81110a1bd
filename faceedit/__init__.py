"""FaceEdit: edit faces with β-VAEs."""
from faceedit.formats.catalog import bundled_models
from faceedit.core.facemodel import FaceModel, load_model
from faceedit.core.modelfile import ModelFileError

__all__ = ["FaceModel", "ModelFileError", "bundled_models", "load_model"]
__version__ = "0.1.0"
