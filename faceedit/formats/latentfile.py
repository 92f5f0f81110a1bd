"""The latent file, shared by the editor and the CLI: ``{"model": name, "latent": [D numbers]}``.

Values are written as float32 with nine significant digits, which read back to the same bits, so a latent
saved by one tool decodes to the same pixels in the other.  Extra keys (a manifest line's ``file``,
``seed``, ``edits``…) may stand before ``"latent"``; readers ignore them.  No torch here: the
editor's widgets use it too.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

FORMAT_HINT = '{"model": name, "latent": [numbers]}'


class LatentFileError(ValueError):
    """A latent file that cannot be used; the message names the file and the problem."""


def dumps(fields: dict, latent) -> str:
    """One JSON object: ``fields`` (e.g. ``{"model": "beta4"}``), then ``"latent"`` as exact float32."""
    values = np.asarray(latent, dtype=np.float32).ravel().tolist()
    head = json.dumps(fields, ensure_ascii=False)
    # nine significant digits give back every float32 exactly, at half the cost of numpy's shortest form
    digits = [format(v, ".9g") for v in values]
    digits = ["-0.0" if d == "-0" else d for d in digits]  # "-0" would read back as the integer 0, losing the sign
    return head[:-1] + (", " if fields else "") + '"latent": [' + ",".join(digits) + "]}"


def parse(record: object, where: str) -> tuple[str | None, np.ndarray]:
    """A decoded JSON object → (model name or None, float32 latent); checks numbers and finiteness."""
    if not isinstance(record, dict) or "latent" not in record:
        raise LatentFileError(f"{where}: not a FaceEdit latent file (expected {FORMAT_HINT})")
    values = record["latent"]
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise LatentFileError(f"{where}: 'latent' is not a list of numbers")
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # a value beyond float32 becomes inf, refused below
            latent = np.asarray(values, dtype=np.float32)
    except OverflowError:  # an integer too large for any float
        latent = np.full(len(values), np.inf, dtype=np.float32)
    if not np.isfinite(latent).all():
        raise LatentFileError(f"{where}: the latent holds NaN or infinite values")
    model = record.get("model")
    return (model if isinstance(model, str) and model else None), latent


def read(path: str | os.PathLike) -> tuple[str | None, np.ndarray]:
    """Read a latent file; raises LatentFileError (bad content) or OSError (cannot be read)."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LatentFileError(f"{path}: not valid JSON ({getattr(e, 'msg', e)})") from None
    except RecursionError:
        raise LatentFileError(f"{path}: not a latent file (JSON nested too deeply)") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise LatentFileError(f"{path}: not a latent file (a number is too large)") from None
    return parse(record, str(path))
