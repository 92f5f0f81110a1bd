"""Where model files live: the bundled ones under resources/models and the user's model folder."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

MODEL_SUFFIX = ".pt"
USER_DIR_ENV = "FACEEDIT_MODEL_DIR"


def resources_dir() -> Path:
    """The bundled resources: ``faceedit/_resources`` in an installed wheel, ``resources/`` in a checkout."""
    here = Path(__file__).resolve().parent.parent  # faceedit/
    installed = here / "_resources"
    return installed if installed.is_dir() else here.parent / "resources"


def bundled_dir() -> Path:
    return resources_dir() / "models"


def user_models_dir() -> Path:
    """The user's own model folder (created on demand by the app), overridable for tests."""
    env = os.environ.get(USER_DIR_ENV)
    return Path(env) if env else Path(platformdirs.user_data_dir("FaceEdit", "FaceEdit")) / "models"


def _models_in(folder: Path) -> dict[str, Path]:
    try:
        return {p.stem: p for p in sorted(folder.glob(f"*{MODEL_SUFFIX}")) if p.is_file()}
    except OSError:
        return {}


def bundled_models() -> list[str]:
    """Names of the bundled models, e.g. ``['beta1', 'beta10', 'beta4']`` sorted by β."""
    return sorted(_models_in(bundled_dir()), key=_beta_order)


def user_models() -> dict[str, Path]:
    return _models_in(user_models_dir())


def _beta_order(name: str):
    digits = "".join(c for c in name if c.isdigit() or c == ".")
    try:
        return (0, float(digits), name)
    except ValueError:
        return (1, 0.0, name)


def resolve(name_or_path: str | os.PathLike) -> Path:
    """A bundled name, a user model name, or a path → the model file's path."""
    text = str(name_or_path)
    bundled = _models_in(bundled_dir())
    if text in bundled:
        return bundled[text]
    users = user_models()
    if text in users:
        return users[text]
    path = Path(text).expanduser()
    if path.exists() or any(sep in text for sep in ("/", os.sep)) or text.endswith(MODEL_SUFFIX):
        return path
    known = ", ".join(list(bundled) + list(users)) or "none"
    raise FileNotFoundError(f"no model named {text!r} (known models: {known}); give a path to a model file")


DEFAULT_MODEL = "beta4"


def default_model() -> str | None:
    names = bundled_models()
    if DEFAULT_MODEL in names:
        return DEFAULT_MODEL
    return names[0] if names else None
