"""The model file: the one thing that passes from training to the app.

A model file is a ``torch.save`` of a plain dict, read back with ``weights_only=True`` so that a
file can never run code::

    {"format": "faceedit-model", "version": 1,
     "arch": ArchConfig dict, "objective": Objective dict,
     "state_dict": {name: tensor (float16 or float32)},
     "metadata": {...}}

Metadata keys (all optional except where noted):

* ``name``, ``created`` (ISO time), ``licence`` (str)
* ``data`` – summary of the training data; ``training`` – the training config
* ``metrics`` – ``{"val": {...}, "test": {...}}`` with ``sse``, ``psnr``, ``ssim``, ``kl``,
  ``active_units``, ``mig`` (see faceedit.core.model for the normalisation)
* ``kl_per_dim`` – list of D floats (nats, validation split)
* ``mu_mean``, ``mu_std`` – tensors of shape D over the training data
* ``attribute_names`` (list of str) and ``attribute_directions`` (tensor A×D)
* ``attribute_scales`` – A positive floats: an edit of +1 moves z by scale × direction (measured so that
  +1 flips the attribute judge for ``calibration.directions.target_flip`` of validation faces without
  it: 0.9, or 0.8 in the first calibrated files, which do not record it). Files without it use the
  directions as they are (the first release's unscaled regression directions).
* ``attribute_quality`` – per attribute, what calibration measured (flip rate, spill, renderable)
* ``dimension_attributes`` – per latent dimension, ``[attribute, correlation]``: the attribute its μ
  correlates with most over the training faces (for slider labels such as "z77 · hair colour?")
* ``gallery`` – tensor G×D of μ codes of real held-out faces
* ``prior`` – the Gaussian fitted to the training codes after training (see faceedit.core.prior);
  files without it sample from N(0, I)

Top-level ``likelihood`` – ``{"name": "gaussian", "sigma": σ}`` or ``{"name": "sse"}`` (see
faceedit.core.likelihood); files written before it existed were trained with SSE.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import torch

from faceedit.core.likelihood import make_likelihood
from faceedit.formats.text import printable
from faceedit.core.model import ArchConfig, BetaVAE, Objective
from faceedit.core.prior import Prior, PriorError

FORMAT = "faceedit-model"
VERSION = 1
MAX_GALLERY = 4096


class ModelFileError(Exception):
    """A model file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)`` and move the result over ``path`` only when it succeeded."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model_file(path, model: BetaVAE, objective: Objective, metadata: dict, half: bool = True,
                    likelihood: dict | None = None) -> None:
    state = {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
             for k, v in model.state_dict().items()}
    meta = dict(metadata)
    meta.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    payload = {"format": FORMAT, "version": VERSION, "arch": model.arch.to_dict(),
               "objective": objective.to_dict(), "likelihood": likelihood or {"name": "sse"},
               "state_dict": state, "metadata": meta}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def _read(path: Path) -> dict:
    if not path.exists():
        raise ModelFileError(path, "no such file")
    if path.is_dir():
        raise ModelFileError(path, "is a folder, not a model file")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickles before refusing them: one line only
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ModelFileError(path, f"refused: not a model file, or one that holds objects other than weights and plain data "
                                    f"({_first_line(e)})") from None
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for bytes that are not a model
        raise ModelFileError(path, f"not a readable model file (truncated or another format): {_first_line(e)}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(path, "not a FaceEdit model file (no 'faceedit-model' header)")
    version = payload.get("version")
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise ModelFileError(path, f"format version {version!r} is not supported (this FaceEdit reads 1 to {VERSION}); update FaceEdit")
    return payload


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


def _validate_metadata(path: Path, meta: dict, latent_dim: int) -> None:
    for key, rows in (("kl_per_dim", False), ("mu_mean", False), ("mu_std", False),
                      ("gallery", True), ("attribute_directions", True)):
        if key not in meta:
            continue
        try:
            t = torch.as_tensor(meta[key], dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError):
            raise ModelFileError(path, f"metadata '{key}' is not numeric") from None
        expected = f"(N, {latent_dim})" if rows else f"({latent_dim},)"
        ok = (t.dim() == 2 and t.shape[1] == latent_dim) if rows else tuple(t.shape) == (latent_dim,)
        if not ok:
            raise ModelFileError(path, f"metadata '{key}' has shape {tuple(t.shape)}, expected {expected}")
        if not torch.isfinite(t).all():
            raise ModelFileError(path, f"metadata '{key}' holds NaN or infinite values")
    if len(meta.get("gallery", ())) > MAX_GALLERY:
        raise ModelFileError(path, f"gallery has {len(meta['gallery'])} faces, more than {MAX_GALLERY}")
    for key in ("attribute_names", "gallery_names"):
        value = meta.get(key)
        if value is not None and not (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
            raise ModelFileError(path, f"metadata '{key}' is not a list of names")
    names, dirs = meta.get("attribute_names"), meta.get("attribute_directions")
    if (names is None) != (dirs is None) or (names is not None and len(names) != len(dirs)):
        raise ModelFileError(path, "attribute names and directions do not match")
    scales = meta.get("attribute_scales")
    if scales is not None:
        try:
            s = torch.as_tensor(scales, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError):
            raise ModelFileError(path, "metadata 'attribute_scales' is not numeric") from None
        if dirs is None or tuple(s.shape) != (len(dirs),):
            raise ModelFileError(path, f"metadata 'attribute_scales' has shape {tuple(s.shape)}, expected one per attribute")
        if not (torch.isfinite(s).all() and (s > 0).all()):
            raise ModelFileError(path, "metadata 'attribute_scales' must be positive finite numbers")
    pairs = meta.get("dimension_attributes")
    if pairs is not None and not (isinstance(pairs, (list, tuple)) and len(pairs) == latent_dim and all(
            p is None or (isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[0], str)
                          and isinstance(p[1], (int, float)) and math.isfinite(p[1])) for p in pairs)):
        raise ModelFileError(path, f"metadata 'dimension_attributes' is not {latent_dim} [name, correlation] pairs")
    quality = meta.get("attribute_quality")
    if quality is not None and not (isinstance(quality, dict) and all(isinstance(v, dict) for v in quality.values())):
        raise ModelFileError(path, "metadata 'attribute_quality' is not a table per attribute")
    try:
        Prior.from_dict(meta.get("prior"), latent_dim)
    except PriorError as e:
        raise ModelFileError(path, str(e)) from None
    metrics = meta.get("metrics")
    if metrics is not None and not (isinstance(metrics, dict) and all(_metric_table(d) for d in metrics.values())):
        raise ModelFileError(path, "metadata 'metrics' is not a table of numbers per split")


def _metric_table(d) -> bool:
    """{name: number}; only a metric that could not be computed (such as MIG) may be None."""
    def ok(name, v) -> bool:
        if v is None:
            return name not in ("sse", "psnr", "ssim", "kl")
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(d, dict) and all(ok(k, v) for k, v in d.items())


def load_network(path: str | os.PathLike) -> tuple[BetaVAE, Objective, dict]:
    """Read and validate a model file; returns the network (float32, CPU, eval mode)."""
    path = Path(path)
    payload = _read(path)
    try:
        arch = ArchConfig.from_dict(payload["arch"])
        objective = Objective(**payload["objective"])
        with torch.device("meta"):  # shapes only: a file cannot make us allocate a huge network
            expected = BetaVAE(arch).state_dict()
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError, RuntimeError, OverflowError) as e:
        raise ModelFileError(path, f"the architecture or objective is not valid: {_first_line(e)}") from None
    if isinstance(objective.beta, bool) or not isinstance(objective.beta, (int, float)):
        raise ModelFileError(path, f"β is not a number ({type(objective.beta).__name__})")
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise ModelFileError(path, "no weights in the file")
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ModelFileError(path, f"weights do not fit the architecture (missing {missing[:3]}, unexpected {extra[:3]})")
    for name, ref in expected.items():
        t = state[name]
        if not isinstance(t, torch.Tensor) or t.shape != ref.shape:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ModelFileError(path, f"weight '{name}' has shape {shape}, expected {tuple(ref.shape)}")
        if t.is_complex():
            raise ModelFileError(path, f"weight '{name}' holds complex numbers")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise ModelFileError(path, f"weight '{name}' holds NaN or infinite values")
        if name.endswith("running_var") and (t < 0).any():
            raise ModelFileError(path, f"weight '{name}' holds a negative variance (BatchNorm running statistics)")
    model = BetaVAE(arch)
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    model.eval()
    meta = payload.get("metadata") or {}
    if not isinstance(meta, dict):
        raise ModelFileError(path, "metadata is not a dictionary")
    _validate_metadata(path, meta, arch.latent_dim)
    if not math.isfinite(objective.beta):
        raise ModelFileError(path, "β is not a finite number")
    meta = {**meta, "likelihood": _likelihood(path, payload.get("likelihood"))}
    _check_decodes(path, model, meta)
    meta.update({k: [printable(v) for v in meta[k]] for k in ("attribute_names", "gallery_names") if k in meta})
    meta["name"] = printable(meta.get("name") or path.stem)  # a name never carries terminal escapes
    return model, objective, meta


def _check_decodes(path: Path, model: BetaVAE, meta: dict) -> None:
    """The gallery (or the prior's mean) must decode to finite pixels, or the file is refused."""
    gallery = meta.get("gallery")
    z = torch.as_tensor(gallery, dtype=torch.float32) if gallery is not None else torch.zeros(1, model.latent_dim)
    with torch.inference_mode():
        faces = model.decoder(z if len(z) else torch.zeros(1, model.latent_dim))
    if not torch.isfinite(faces).all():
        raise ModelFileError(path, "decodes its gallery to NaN or infinite pixels (broken weights)")


def _likelihood(path: Path, spec) -> dict:
    """The stored likelihood, checked; files written before it existed were trained with SSE."""
    if spec is None:
        return {"name": "sse"}
    if not isinstance(spec, dict):
        raise ModelFileError(path, "the likelihood is not a table")
    if spec.get("name") == "gaussian" and spec.get("sigma") is None:
        raise ModelFileError(path, "the Gaussian likelihood has no σ")
    try:
        make_likelihood(spec)
    except (TypeError, ValueError) as e:
        raise ModelFileError(path, _first_line(e)) from None
    return dict(spec)


def update_metadata(path: str | os.PathLike, updates: dict) -> None:
    """Merge ``updates`` into a model file's metadata, atomically."""
    payload = _read(Path(path))
    payload["metadata"] = {**payload.get("metadata", {}), **updates}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
