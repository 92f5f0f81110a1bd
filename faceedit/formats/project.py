"""The project file (``.faceedit``): an editing session saved whole, and the editor's recovery copies.

A project is a zip archive that this module reads and writes with no Qt and no torch:

``project.json``
    versioned JSON::

        {"format": "faceedit-project", "version": 1, "app": "FaceEdit 0.1.0",
         "face": {"model": "beta4", "latent": [D numbers], "amounts": {"Smiling": 1.5}},
         "start": {"latent": [D numbers], "label": "me.jpg", "image": "start/face.png",
                   "crop": "start/crop.png"},
         "photo": {"name": "me.jpg", "path": "/home/me/me.jpg", "file": "photo/me.jpg", "box": [l, t, side], "angle": 0.0},
         "keyframes": [{"beta4": [D numbers], "beta1": [D numbers]}, ...],
         "timeline": {"method": "slerp", "frames_per_step": 24, "fps": 24, "loop": true, "frame": 0},
         "history": {"label": "Attribute Smiling", "step": 5, "steps": 5},
         "file": "/home/me/portrait.faceedit"}

    ``face.model`` is what the editor loads the model by (a bundled or user model name, or a file path);
    each keyframe holds its latent in every model it was encoded into (always the project's model);
    ``photo`` is null unless the start face is a photo, and its ``file`` is null when the photo is only
    referenced by ``path``; ``history`` is the undo position as a label (the history itself is not
    saved); ``file`` appears only in recovery copies (the project the unsaved work belongs to).
``start/face.png``
    the start face as "compare" shows it (the photo crop, or the decoded start face), when known.
``start/crop.png``
    the 64×64 crop the start photo was encoded from, when the start is a photo.
``photo/NAME``
    the source photo itself, when embedded.

Latents are float32 written exactly (they read back to the same bits).  Writes are all or nothing
(``faceedit.formats.export.staged``).  Reading is strict: a file that is not a zip, is damaged or
truncated, is some other zip, is too large or unpacks too large, names a path outside the archive,
or was written by a newer FaceEdit is refused with one ``ProjectError`` line, and nothing is changed.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import platformdirs
from PIL import Image

from faceedit.formats import export

SUFFIX = ".faceedit"
FORMAT = "faceedit-project"
VERSION = 1
STATE_DIR_ENV = "FACEEDIT_STATE_DIR"  # a folder: keep recovery copies here (tests, portable use)
METHODS = ("slerp", "lerp")

MAX_FILE_BYTES = 256 << 20  # the archive itself
MAX_ENTRIES = 16
MAX_UNPACKED_BYTES = 256 << 20  # all entries together, as the archive declares them
MAX_JSON_BYTES = 64 << 20
MAX_IMAGE_BYTES = 16 << 20  # start/face.png, start/crop.png
MAX_PHOTO_BYTES = 64 << 20  # photo/NAME, the source photo
MAX_IMAGE_SIDE = 4096
MAX_DIM = 4096
MAX_KEYFRAMES = 10_000
MAX_TEXT = 1000
MAX_LATENT_VALUE = 1e6  # far beyond any latent a model makes; keeps float32 finite

PROJECT_JSON = "project.json"
START_IMAGE = "start/face.png"
START_CROP = "start/crop.png"


class ProjectError(ValueError):
    """A project that cannot be read or written; the message names the file and the problem (one line)."""


@dataclass
class Timeline:
    method: str = "slerp"
    frames_per_step: int = 24
    fps: int = 24
    loop: bool = True
    frame: int = 0


@dataclass
class PhotoSource:
    """The photo the start face came from: its name, where it was, the square crop, and (when
    embedded) the file's bytes."""

    name: str
    path: str | None = None
    data: bytes | None = None
    box: tuple[int, int, int] | None = None
    angle: float = 0.0  # the crop turned by this many degrees about its centre (a tilted face's eye line)


@dataclass
class Project:
    model: str
    latent: np.ndarray
    start_latent: np.ndarray
    start_label: str = ""
    amounts: dict[str, float] = field(default_factory=dict)
    start_image: bytes | None = None  # PNG
    start_crop: np.ndarray | None = None  # 3×S×S uint8, when the start is a photo
    photo: PhotoSource | None = None
    keyframes: list[dict[str, np.ndarray]] = field(default_factory=list)  # in timeline order
    timeline: Timeline = field(default_factory=Timeline)
    history_label: str = ""
    history_step: int = 0
    history_steps: int = 0
    file: str | None = None  # recovery copies: the project file this work belongs to

    def keyframe_latent(self, index: int, models: tuple[str, ...] = ()) -> tuple[str, np.ndarray]:
        """Keyframe ``index`` (0-based) in the first of ``models`` it has a latent for, else in the
        project's model: (model, latent)."""
        latents = self.keyframes[index]
        for name in models:
            if name in latents:
                return name, latents[name]
        return self.model, latents[self.model]


# ---------------------------------------------------------------------------------------------
# Where recovery copies live

def recovery_dir() -> Path:
    """The editor's recovery copies: the platform's state folder, or $FACEEDIT_STATE_DIR."""
    env = os.environ.get(STATE_DIR_ENV)
    base = Path(env) if env else Path(platformdirs.user_state_dir("FaceEdit", "FaceEdit"))
    return base / "recovery"


# ---------------------------------------------------------------------------------------------
# Writing

def _latent_list(latent) -> list[float]:
    return [float(v) for v in np.asarray(latent, dtype=np.float32).ravel()]  # exact: float32 ⊂ float64


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.asarray(array, np.uint8).transpose(1, 2, 0)), "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _member_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "photo"
    return "photo/" + stem[-100:]


def to_json(project: Project, app: str = "") -> dict:
    photo = None
    if project.photo is not None:
        p = project.photo
        photo = {"name": p.name, "path": p.path, "file": _member_name(p.name) if p.data is not None else None,
                 "box": list(p.box) if p.box else None, "angle": float(p.angle)}
    record = {
        "format": FORMAT, "version": VERSION, "app": app,
        "face": {"model": project.model, "latent": _latent_list(project.latent),
                 "amounts": {str(k): float(v) for k, v in project.amounts.items()}},
        "start": {"latent": _latent_list(project.start_latent), "label": project.start_label,
                  "image": START_IMAGE if project.start_image is not None else None,
                  "crop": START_CROP if project.start_crop is not None else None},
        "photo": photo,
        "keyframes": [{str(m): _latent_list(z) for m, z in k.items()} for k in project.keyframes],
        "timeline": {"method": project.timeline.method, "frames_per_step": int(project.timeline.frames_per_step),
                     "fps": int(project.timeline.fps), "loop": bool(project.timeline.loop),
                     "frame": int(project.timeline.frame)},
        "history": {"label": project.history_label, "step": int(project.history_step),
                    "steps": int(project.history_steps)},
    }
    if project.file:
        record["file"] = project.file
    return record


def write(path: str | os.PathLike, project: Project, app: str = "") -> None:
    """Write ``project`` to ``path`` all or nothing (a hidden temporary file, synced, renamed into
    place); raises ProjectError."""
    record = to_json(project, app)
    try:
        text = json.dumps(record, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ProjectError(f"could not write {path}: the project holds NaN or infinite values; nothing was "
                           "written") from None
    entries = [(PROJECT_JSON, text.encode("utf-8"), True)]
    if project.start_image is not None:
        entries.append((START_IMAGE, bytes(project.start_image), False))
    if project.start_crop is not None:
        entries.append((START_CROP, _png(project.start_crop), False))
    if record["photo"] and record["photo"]["file"]:
        entries.append((record["photo"]["file"], bytes(project.photo.data), False))
    try:
        with export.staged(Path(path), folder=False) as tmp:
            with open(tmp, "wb") as f:
                with zipfile.ZipFile(f, "w") as archive:
                    for name, data, deflate in entries:
                        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                        info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
                        archive.writestr(info, data)
                f.flush()
                os.fsync(f.fileno())
    except export.ExportError as e:
        raise ProjectError(str(e)) from None


# ---------------------------------------------------------------------------------------------
# Reading

def _entry_count(f, where: str) -> int:
    """The number of entries the archive's end record declares (read before zipfile lists them all)."""
    f.seek(0, os.SEEK_END)
    size = f.tell()
    tail = min(size, 22 + 65535)
    f.seek(size - tail)
    data = f.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(data):
        raise ProjectError(f"{where}: damaged or truncated (the end of the zip archive is missing)")
    return struct.unpack("<H", data[at + 10:at + 12])[0]


def _check_members(archive: zipfile.ZipFile, where: str) -> None:
    names = set()
    total = 0
    for info in archive.infolist():
        name = info.filename
        parts = PurePosixPath(name).parts
        if (not name or name.startswith(("/", "\\")) or "\\" in name or ":" in name or ".." in parts
                or any(ord(c) < 32 for c in name)):
            raise ProjectError(f"{where}: refused: the archive holds an unsafe path {name[:80]!r}")
        if name in names:
            raise ProjectError(f"{where}: refused: the archive holds {name[:80]!r} twice")
        names.add(name)
        if info.flag_bits & 0x1:
            raise ProjectError(f"{where}: refused: the archive is encrypted")
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise ProjectError(f"{where}: refused: it would unpack to more than {MAX_UNPACKED_BYTES >> 20} MB")


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, where: str) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ProjectError(f"{where}: damaged: {name} is missing from the archive") from None
    if info.file_size > limit:
        raise ProjectError(f"{where}: refused: {name} would unpack to more than {limit >> 20} MB")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ProjectError(f"{where}: refused: {name} unpacks to more than {limit >> 20} MB")
    return data


def _no_constants(name: str):
    raise ValueError(f"{name} is not a number")


def read(path: str | os.PathLike) -> Project:
    """Read and check a project file; raises ProjectError (one line, naming the file) for anything wrong."""
    path = Path(path)
    where = str(path)
    try:
        if not path.is_file():
            raise ProjectError(f"{where}: no such file" if not path.exists() else f"{where}: not a file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ProjectError(f"{where}: refused: larger than {MAX_FILE_BYTES >> 20} MB")
        with open(path, "rb") as f:
            head = f.read(4)
            if head != b"PK\x03\x04":
                raise ProjectError(f"{where}: not a FaceEdit project (not a zip archive)")
            count = _entry_count(f, where)
            if count > MAX_ENTRIES:
                raise ProjectError(f"{where}: refused: the archive holds {count} entries (a project has at most "
                                   f"{MAX_ENTRIES})")
            f.seek(0)
            with zipfile.ZipFile(f) as archive:
                _check_members(archive, where)
                if PROJECT_JSON not in archive.namelist():
                    raise ProjectError(f"{where}: not a FaceEdit project (the archive has no {PROJECT_JSON})")
                text = _read_member(archive, PROJECT_JSON, MAX_JSON_BYTES, where)
                record = _parse_json(text, where)
                return _Parser(record, archive, where).project()
    except ProjectError:
        raise
    except OSError as e:
        raise ProjectError(f"{where}: cannot be read ({export.describe_os_error(e)})") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, struct.error) as e:
        raise ProjectError(f"{where}: damaged or truncated ({str(e)[:100] or type(e).__name__})") from None
    except (NotImplementedError, RuntimeError) as e:  # an unknown compression, an encrypted entry
        raise ProjectError(f"{where}: refused: {str(e)[:100]}") from None


def _parse_json(text: bytes, where: str) -> dict:
    try:
        record = json.loads(text.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise ProjectError(f"{where}: damaged: {PROJECT_JSON} is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ProjectError(f"{where}: damaged: {PROJECT_JSON} is not valid JSON ({e.msg}, line {e.lineno})") from None
    except RecursionError:
        raise ProjectError(f"{where}: refused: {PROJECT_JSON} is nested too deeply") from None
    except ValueError as e:  # NaN/Infinity, or an integer of thousands of digits
        raise ProjectError(f"{where}: damaged: {PROJECT_JSON}: {str(e).splitlines()[0][:100]}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ProjectError(f"{where}: not a FaceEdit project ({PROJECT_JSON} is not {FORMAT!r})")
    version = record.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{where}: damaged: the project has no valid version")
    if version > VERSION:
        raise ProjectError(f"{where}: made by a newer FaceEdit (project version {version}; this one reads "
                           f"version {VERSION}); update FaceEdit to open it")
    return record


def _clean_text(value: str) -> str:
    """Labels and names without control characters (no terminal escapes reach the window)."""
    return "".join(c if c.isprintable() else "?" for c in value)[:MAX_TEXT]


class _Parser:
    """project.json (already a dict) → Project, checking every field; errors name the field."""

    def __init__(self, record: dict, archive: zipfile.ZipFile, where: str):
        self.record, self.archive, self.where = record, archive, where

    def fail(self, what: str) -> ProjectError:
        return ProjectError(f"{self.where}: damaged: {what}")

    def obj(self, parent: dict, key: str, what: str, optional: bool = False) -> dict | None:
        value = parent.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            raise self.fail(f"{what} is missing or not an object")
        return value

    def text(self, parent: dict, key: str, what: str, optional: bool = False, clean: bool = True) -> str | None:
        value = parent.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or len(value) > MAX_TEXT * 4:
            raise self.fail(f"{what} is missing or not a string")
        return _clean_text(value) if clean else value

    def integer(self, parent: dict, key: str, what: str, low: int, high: int) -> int:
        value = parent.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(f"{what} must be a whole number from {low} to {high}")
        return value

    def number(self, value, what: str) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                or abs(value) > 1e6:
            raise self.fail(f"{what} is not a finite number")
        return float(value)

    def latent(self, value, what: str) -> np.ndarray:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_DIM:
            raise self.fail(f"{what} is not a list of 1 to {MAX_DIM} numbers")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise self.fail(f"{what} is not a list of numbers")
        try:
            wide = np.asarray(value, dtype=np.float64)
        except OverflowError:
            raise self.fail(f"{what} holds a number out of range") from None
        if not np.isfinite(wide).all() or np.abs(wide).max() > MAX_LATENT_VALUE:
            raise self.fail(f"{what} holds NaN, infinite or out-of-range values")
        return wide.astype(np.float32)

    def model_name(self, value, what: str) -> str:
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT or not value.isprintable():
            raise self.fail(f"{what} is not a model name")
        return value

    def png(self, name: str, what: str) -> tuple[bytes, Image.Image]:
        data = _read_member(self.archive, name, MAX_IMAGE_BYTES, self.where)
        try:
            image = Image.open(io.BytesIO(data))
            if image.format != "PNG":
                raise self.fail(f"{what} is not a PNG image")
            if max(image.size) > MAX_IMAGE_SIDE or min(image.size) < 1:
                raise self.fail(f"{what} is {image.size[0]}×{image.size[1]} pixels")
            image.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
        except ProjectError:
            raise
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            raise self.fail(f"{what} is not a readable PNG ({str(e)[:80]})") from None
        return data, image

    def member(self, value, what: str) -> str:
        if not isinstance(value, str) or value not in self.archive.namelist():
            raise self.fail(f"{what} names no file of the archive")
        return value

    def project(self) -> Project:
        r = self.record
        face = self.obj(r, "face", "face")
        model = self.model_name(face.get("model"), "face.model")
        latent = self.latent(face.get("latent"), "face.latent")
        dim = len(latent)
        amounts_in = self.obj(face, "amounts", "face.amounts", optional=True) or {}
        if len(amounts_in) > MAX_DIM:
            raise self.fail("face.amounts has too many entries")
        amounts = {_clean_text(str(k)): self.number(v, f"face.amounts[{str(k)[:40]!r}]")
                   for k, v in amounts_in.items()}

        start = self.obj(r, "start", "start")
        start_latent = self.latent(start.get("latent"), "start.latent")
        if len(start_latent) != dim:
            raise self.fail(f"start.latent has {len(start_latent)} values and face.latent {dim}")
        label = self.text(start, "label", "start.label", optional=True) or ""
        start_image = None
        if start.get("image") is not None:
            start_image, _ = self.png(self.member(start["image"], "start.image"), "the start image")
        start_crop = None
        if start.get("crop") is not None:
            _, crop = self.png(self.member(start["crop"], "start.crop"), "the photo crop")
            if crop.mode != "RGB" or crop.size[0] != crop.size[1] or crop.size[0] > 1024:
                raise self.fail("the photo crop is not a square RGB image")
            start_crop = np.asarray(crop, dtype=np.uint8).transpose(2, 0, 1).copy()

        photo = None
        photo_in = self.obj(r, "photo", "photo", optional=True)
        if photo_in is not None:
            name = self.text(photo_in, "name", "photo.name") or "photo"
            ref = self.text(photo_in, "path", "photo.path", optional=True, clean=False)
            if ref is not None and not ref.isprintable():
                raise self.fail("photo.path holds control characters")
            data = None
            if photo_in.get("file") is not None:
                data = _read_member(self.archive, self.member(photo_in["file"], "photo.file"), MAX_PHOTO_BYTES,
                                    self.where)
            box = photo_in.get("box")
            if box is not None:
                if not isinstance(box, list) or len(box) != 3 or not all(
                        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1 << 20 for v in box):
                    raise self.fail("photo.box is not [left, top, side]")
                box = tuple(box)
            angle = photo_in.get("angle", 0.0)
            if isinstance(angle, bool) or not isinstance(angle, (int, float)) or not -180 <= angle <= 180:
                raise self.fail("photo.angle is not a number of degrees between −180 and 180")
            photo = PhotoSource(name, ref, data, box, float(angle))

        keys_in = r.get("keyframes", [])
        if not isinstance(keys_in, list) or len(keys_in) > MAX_KEYFRAMES:
            raise self.fail(f"keyframes is not a list of at most {MAX_KEYFRAMES}")
        keyframes = []
        dims: dict[str, int] = {model: dim}
        for i, key in enumerate(keys_in, 1):
            if not isinstance(key, dict) or not key or len(key) > 64:
                raise self.fail(f"keyframe {i} is not an object of latents by model")
            latents = {}
            for name, value in key.items():
                name = self.model_name(name, f"keyframe {i}'s model name")
                z = self.latent(value, f"keyframe {i}'s latent in {name[:80]}")
                if dims.setdefault(name, len(z)) != len(z):
                    raise self.fail(f"keyframe {i}'s latent in {name[:80]} has {len(z)} values, not {dims[name]}")
                latents[name] = z
            if model not in latents:
                raise self.fail(f"keyframe {i} has no latent in the project's model {model[:80]}")
            keyframes.append(latents)

        t = self.obj(r, "timeline", "timeline", optional=True) or {}
        timeline = Timeline()
        if t:
            method = t.get("method")
            if method not in METHODS:
                raise self.fail(f"timeline.method must be one of {', '.join(METHODS)}")
            loop = t.get("loop")
            if not isinstance(loop, bool):
                raise self.fail("timeline.loop must be true or false")
            timeline = Timeline(method, self.integer(t, "frames_per_step", "timeline.frames_per_step", 2, 240),
                                self.integer(t, "fps", "timeline.fps", 1, 60), loop,
                                self.integer(t, "frame", "timeline.frame", 0, MAX_KEYFRAMES * 240))

        h = self.obj(r, "history", "history", optional=True) or {}
        history_label = self.text(h, "label", "history.label", optional=True) or ""
        step = self.integer(h, "step", "history.step", 0, 1 << 30) if "step" in h else 0
        steps = self.integer(h, "steps", "history.steps", 0, 1 << 30) if "steps" in h else 0
        file = self.text(r, "file", "file", optional=True, clean=False)
        if file is not None and not file.isprintable():
            raise self.fail("file holds control characters")
        return Project(model, latent, start_latent, label, amounts, start_image, start_crop, photo, keyframes,
                       timeline, history_label, step, steps, file)


# ---------------------------------------------------------------------------------------------
# The CLI's inputs: PROJECT.faceedit (the current face) and PROJECT.faceedit:keyframe:K

INPUT = re.compile(r"^(.+\.faceedit)(?::keyframe:(.*))?$", re.IGNORECASE | re.DOTALL)


def is_input(spec: str) -> bool:
    return bool(INPUT.match(spec))


def input_latent(spec: str, models: tuple[str, ...] = ()) -> tuple[str, np.ndarray, str]:
    """``PROJECT.faceedit`` → the current face; ``PROJECT.faceedit:keyframe:K`` → keyframe K (numbered
    from 1, as on the timeline), in the first of ``models`` it was encoded into, else in the project's
    model.  Returns (model, latent, where); raises ProjectError."""
    match = INPUT.match(spec)
    if not match:
        raise ProjectError(f"{spec[:80]!r}: expected PROJECT.faceedit or PROJECT.faceedit:keyframe:K")
    path, key = match.group(1), match.group(2)
    index = None
    if key is not None:
        if not re.fullmatch(r"[0-9]{1,9}", key) or int(key) < 1:
            raise ProjectError(f"{spec[:120]!r}: K of :keyframe:K must be a keyframe number from 1 "
                               "(keyframes are numbered as on the timeline)")
        index = int(key)
    project = read(path)
    if index is None:
        return project.model, project.latent, path
    if index > len(project.keyframes):
        have = f"1–{len(project.keyframes)}" if project.keyframes else "none"
        raise ProjectError(f"{path}: no keyframe {index} (its keyframes: {have})")
    model, latent = project.keyframe_latent(index - 1, models)
    return model, latent, f"{path}:keyframe:{index}"
