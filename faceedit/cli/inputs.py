"""What the headless commands read: models by name or path, and latent codes from any input a user can
pass — a photo, a latent JSON file, a manifest line, a gallery face, a seed, or a project (and its
keyframes). Every failure is a ``CommandError`` with one line that names the input."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import torch

from faceedit.core.facemodel import FaceModel, load_model
from faceedit.core.images import crop_to_tensor, open_photo
from faceedit.core.latent import sample_prior
from faceedit.formats import catalog, latentfile
from faceedit.formats import project as projectfile
from faceedit.formats.text import printable

MAX_SEED = 2**63 - 1


class CommandError(Exception):
    """A failure the user can fix; the message says what went wrong and where."""


def sample_latent(seed: int, dim: int = 128, temperature: float = 1.0, prior=None) -> torch.Tensor:
    """The prior sample that image ``i`` of ``generate --seed S`` starts from, with seed S + i
    (``prior``: the model's fitted prior, ``FaceModel.prior``; None: N(0, I))."""
    return sample_prior(1, dim, temperature, torch.Generator().manual_seed(seed), prior)[0]



def open_model(name: str | None, device: str | None, hint_from: str | None = None) -> tuple[FaceModel, str]:
    """Load a model; also returns what to record so that ``--model`` (and the editor) finds it again:
    the catalog name when it has one, else the file's absolute path."""
    name = name or catalog.default_model()
    if not name:
        raise CommandError("no bundled model found; pass --model PATH")
    try:
        model = load_model(name, device)
    except FileNotFoundError as e:
        where = f" (named in {hint_from}; pass --model to choose another)" if hint_from else ""
        raise CommandError(f"{e}{where}") from None
    except ValueError as e:  # the device
        raise CommandError(str(e)) from None
    named = name in catalog.bundled_models() or name in catalog.user_models()
    return model, (name if named else str(model.path.resolve()))



# ---------------------------------------------------------------------------------------------
# Inputs: photos, latent JSON files, manifest lines, gallery faces, seeds

GALLERY = re.compile(r"^(?:gallery:)?([0-9]+)$")
SEED = re.compile(r"^seed:(.*)$")
MANIFEST_LINE = re.compile(r"^(.+\.jsonl):(.*)$")
JSON_ERRORS = (ValueError, RecursionError, OverflowError)  # bad JSON, a 5,000-digit number, nesting 100,000 deep


def whole_number(text: str, what: str, limit: int = MAX_SEED) -> int:
    """``text`` as an integer from 0 to ``limit``, or a one-line error naming ``what``."""
    if not re.fullmatch(r"[0-9]{1,19}", text) or int(text) > limit:
        raise CommandError(f"{what}: expected a whole number from 0 to {limit}, got {printable(text, 40)!r}")
    return int(text)


def _read_json_record(spec: str) -> tuple[dict, str]:
    """A latent JSON file, or ``FILE.jsonl:K`` (the line of a manifest with index K)."""
    m = MANIFEST_LINE.match(spec)
    path = Path(m.group(1) if m else spec)
    index = whole_number(m.group(2), f"{printable(spec, 40)} (the K of MANIFEST.jsonl:K)") if m else None
    try:
        record = _manifest_entry(path, index) if m else json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except json.JSONDecodeError as e:
        raise CommandError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
    except JSON_ERRORS as e:
        raise CommandError(f"{path}: not a usable JSON file ({_json_problem(e)})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CommandError(f"{path}: cannot be read ({getattr(e, 'strerror', None) or e})") from None
    if not isinstance(record, dict) or "latent" not in record:
        raise CommandError(f'{path}: not a FaceEdit latent file (expected {{"model": ..., "latent": [...]}})')
    return record, str(path)


def _manifest_entry(path: Path, index: int) -> dict:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise CommandError(f"{path}: line {number} is not valid JSON ({e.msg})") from None
            except JSON_ERRORS as e:
                raise CommandError(f"{path}: line {number} is not usable JSON ({_json_problem(e)})") from None
            if isinstance(record, dict) and record.get("index") == index:
                return record
    raise CommandError(f"{path}: no entry with index {index}")


def _json_problem(e: Exception) -> str:
    if isinstance(e, RecursionError):
        return "nested too deeply"
    return "a number is too large" if "digits" in str(e) or isinstance(e, OverflowError) else str(e).splitlines()[0][:100]


def _is_json_spec(spec: str) -> bool:
    return bool(MANIFEST_LINE.match(spec)) or spec.lower().endswith(".json")


def model_hint(spec: str) -> tuple[str | None, str]:
    """The model a latent file or project says it came from (None for photos and indices)."""
    if projectfile.is_input(spec):
        model, _, where = _project_input(spec)
        return model, where
    if not _is_json_spec(spec):
        return None, spec
    record, where = _read_json_record(spec)
    model = record.get("model")
    return (model if isinstance(model, str) and model else None), where


def input_kind(spec: str) -> str:
    """'seed', 'project' (PROJECT.faceedit[:keyframe:K]), 'latent' (a JSON file or manifest line), 'gallery' or 'photo'."""
    if SEED.match(spec):
        return "seed"
    if projectfile.is_input(spec):
        return "project"
    if _is_json_spec(spec):
        return "latent"
    if spec.startswith("gallery:") or (GALLERY.match(spec) and not _exists(spec)):
        return "gallery"
    return "photo"


def _exists(path: str) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL
        return False


def read_latent(spec: str, model: FaceModel, temperature: float = 1.0,
                crop: tuple[int, int, int] | None = None) -> torch.Tensor:
    """An input → a latent code of the model (photos are encoded to μ, like the editor does)."""
    kind = input_kind(spec)
    if crop and kind != "photo":
        raise CommandError(f"--crop applies to photos, and {spec} is not one")
    if kind == "seed":
        seed = whole_number(SEED.match(spec).group(1), f"{printable(spec, 40)} (the S of seed:S)")
        return finite_latent(sample_latent(seed, model.latent_dim, temperature, model.prior),
                       f"{spec} at --temperature {temperature:g}")
    if kind == "latent":
        record, where = _read_json_record(spec)
        return _latent_from(record, model, where)
    if kind == "project":
        return _project_latent(spec, model)
    if kind == "gallery":
        match = GALLERY.match(spec)
        if not match:
            raise CommandError(f"{printable(spec, 40)!r}: expected gallery:K with K a face number")
        index, faces = whole_number(match.group(1), f"{printable(spec, 40)} (the K of gallery:K)"), model.gallery
        if index >= len(faces):
            have = f"0–{len(faces) - 1}" if len(faces) else "none"
            raise CommandError(f"gallery index {index} is out of range for model {model.name} (faces {have})")
        return faces[index].clone()
    photo = open_photo(spec)
    if crop:
        left, top, side = crop
        if side <= 0 or left < 0 or top < 0 or left + side > photo.width or top + side > photo.height:
            raise CommandError(f"--crop {left},{top},{side} does not fit inside {spec} ({photo.width}×{photo.height})")
    mu, _ = model.encode(crop_to_tensor(photo, crop).unsqueeze(0))
    return finite_latent(mu[0], f"model {model.name}'s encoding of {spec}")


def finite_latent(z: torch.Tensor, what: str) -> torch.Tensor:
    """Any NaN or infinity in a latent is an error, never a file."""
    if not torch.isfinite(z).all():
        raise CommandError(f"{what} is NaN or infinite; nothing was written")
    return z


def _latent_from(record: dict, model: FaceModel, where: str) -> torch.Tensor:
    try:
        _, latent = latentfile.parse(record, where)
    except latentfile.LatentFileError as e:
        raise CommandError(str(e)) from None
    if latent.shape != (model.latent_dim,):
        raise CommandError(f"{where}: the latent has shape {tuple(latent.shape)}; model {model.name} needs {model.latent_dim} values")
    return torch.from_numpy(latent)


def _project_input(spec: str, models: tuple[str, ...] = ()):
    try:
        return projectfile.input_latent(spec, models)
    except projectfile.ProjectError as e:
        raise CommandError(str(e)) from None


def _project_latent(spec: str, model: FaceModel) -> torch.Tensor:
    """PROJECT.faceedit (the current face) or PROJECT.faceedit:keyframe:K (in this model when the keyframe
    was encoded into it, else in the project's model)."""
    _, latent, where = _project_input(spec, (model.name, str(model.path), str(model.path.resolve())))
    if latent.shape != (model.latent_dim,):
        raise CommandError(f"{where}: the latent has {len(latent)} values; model {model.name} needs {model.latent_dim}")
    return torch.from_numpy(latent.copy())


def open_model_for(specs: list[str], args) -> tuple[FaceModel, str]:
    """--model, else the model the first latent file names, else the default model."""
    hint, where = None, None
    for spec in specs:
        hint, where = model_hint(spec)
        if hint:
            break
    model, ref = open_model(args.model or hint, args.device, where if hint and not args.model else None)
    if hint and args.model and hint not in (ref, model.name, str(model.path)):
        print(f"faceedit: note: {where} was made with model {hint!r}; decoding it with {ref!r}", file=sys.stderr)
    return model, ref

