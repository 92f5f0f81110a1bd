"""Writing results: images, animations, numbered frames with a manifest, latent files.

One module for the editor and the CLI (``faceedit generate | edit | interpolate``), with no Qt and no
torch: it takes Pillow images and numpy latents.  Every write is all or nothing: the result goes into a
hidden temporary file or folder next to its destination and is renamed into place only when complete.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from PIL import Image

from faceedit.formats import latentfile
from faceedit.formats.text import printable

MANIFEST = "manifest.jsonl"
ANIMATION_FORMATS = {".gif": "GIF", ".webp": "WEBP"}


class ExportError(Exception):
    """A write that failed or was refused; the message names the place and says why (nothing was written)."""


def describe_os_error(e: OSError) -> str:
    reasons = {errno.ENOSPC: "no space left on device (the disk is full)",
               errno.EDQUOT: "disk quota exceeded",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EROFS: "read-only file system", errno.ENOTDIR: "a part of the path is a file, not a folder"}
    return reasons.get(e.errno, e.strerror or str(e))


# ---------------------------------------------------------------------------------------------
# All or nothing

def _make_parents(folder: Path) -> list[Path]:
    """mkdir -p, returning the folders it created (deepest last)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for f in reversed(missing):
        f.mkdir()
    return list(reversed(missing))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _undo_partial(tmp: Path | None, created: list[Path], dest: Path, error: BaseException) -> None:
    """After a failed write: remove the temporary file or folder and the folders made for it; a
    disk error becomes one ExportError (other errors are re-raised by the caller)."""
    if tmp is not None:
        _remove(tmp)
    for f in reversed(created):
        with contextlib.suppress(OSError):
            f.rmdir()
    if isinstance(error, OSError):
        raise ExportError(f"could not write {dest}: {describe_os_error(error)}; nothing was written") from None


def _public_permissions(path: Path, folder: bool) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if folder else 0o666) & ~umask)


def check_destination(dest: Path, folder: bool, overwrite: bool) -> None:
    """Refuse early (before any work) to replace what is there, unless ``overwrite``; even then, a
    folder is only replaced when it is empty or an earlier output (it holds a manifest)."""
    if not dest.exists():
        return
    if folder and not dest.is_dir():
        raise ExportError(f"{dest} is a file; the output must be a folder")
    if not folder and dest.is_dir():
        raise ExportError(f"{dest} is a folder; the output must be a file name")
    if folder and not any(dest.iterdir()):
        return
    if not overwrite:
        raise ExportError(f"{dest} already exists; pass --overwrite to replace it")
    if folder and not (dest / MANIFEST).is_file():
        raise ExportError(f"{dest} is not a FaceEdit output folder (it has no {MANIFEST}), so it is not replaced")
    if folder:
        foreign = _not_written_by_faceedit(dest)
        if foreign:
            more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
            raise ExportError(f"{dest} holds files FaceEdit did not write ({printable(foreign[0], 80)}{more}), "
                              f"so it is not replaced; choose another --out")


def _not_written_by_faceedit(folder: Path) -> list[str]:
    """The entries of an earlier output folder that its manifest does not list (the user's own files)."""
    listed = {MANIFEST}
    try:
        with (folder / MANIFEST).open(encoding="utf-8") as f:
            for line in f:
                record = json.loads(line) if line.strip() else None
                if isinstance(record, dict) and isinstance(record.get("file"), str):
                    listed.add(record["file"])
        entries = sorted(folder.iterdir())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, OverflowError):
        return [f"{MANIFEST}, which cannot be read"]
    return [p.name for p in entries if p.name not in listed or (p.is_dir() and not p.is_symlink())]


@contextlib.contextmanager
def staged(dest: Path, folder: bool):
    """Yield a hidden temporary file or folder beside ``dest``; it becomes ``dest`` only when the
    block succeeds, and it (and any folders made for it) is removed when the block fails."""
    dest = Path(os.path.abspath(dest))
    created: list[Path] = []
    tmp = None
    try:
        created = _make_parents(dest.parent)
        prefix, suffix = f".{dest.name}.", ".partial"
        if folder:
            tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=dest.parent))
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dest.parent)
            os.close(fd)
            tmp = Path(name)
        yield tmp
        _public_permissions(tmp, folder)
        _publish(tmp, dest, folder)
    except BaseException as e:
        _undo_partial(tmp, created, dest, e)
        raise


def _publish(tmp: Path, dest: Path, folder: bool) -> None:
    if folder and dest.is_dir():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
        os.replace(dest, old / "replaced")
        try:
            os.replace(tmp, dest)
        except BaseException:
            os.replace(old / "replaced", dest)
            raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, dest)


# ---------------------------------------------------------------------------------------------
# Formats

def image_format(path: Path) -> str:
    """Pillow's format name for a file name's extension (only formats Pillow can write)."""
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if not fmt or fmt not in Image.SAVE:
        raise ExportError(f"{path}: unknown image type {path.suffix or '(no extension)'!r}; use .png, .jpg or .webp")
    return fmt


def save_image(image: Image.Image, path: Path, fmt: str, **options) -> None:
    """Save (not atomic by itself: call it on a ``staged`` path); ``options`` (an ICC profile, EXIF)
    go to Pillow."""
    quality = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    image.save(path, format=fmt, **quality, **options)


def save_animation(images: Sequence[Image.Image], path: Path, fmt: str, duration_ms: int, loop: bool = True,
                   **options) -> None:
    """Save an animated GIF or WebP, looping forever or played once (not atomic by itself: call it on a
    ``staged`` path); ``options`` go to Pillow."""
    images[0].save(path, format=fmt, save_all=True, append_images=list(images[1:]), duration=duration_ms,
                   loop=0 if loop else 1, **options)


def save_frames(folder: Path, images: Iterable[Image.Image], records: Iterable[dict], latents: Iterable,
                width: int = 4) -> int:
    """``frame_0000.png``… and ``manifest.jsonl`` (one latent line per frame: ``file``, ``index``, then the
    ``records`` fields and the latent) into ``folder`` (not atomic by itself: a ``staged`` folder)."""
    count = 0
    with (folder / MANIFEST).open("w", encoding="utf-8", newline="\n") as manifest:
        for k, (image, fields, latent) in enumerate(zip(images, records, latents)):
            name = f"frame_{k:0{width}d}.png"
            image.save(folder / name, format="PNG")
            manifest.write(latentfile.dumps({"file": name, "index": k, **fields}, latent) + "\n")
            count += 1
    return count


# ---------------------------------------------------------------------------------------------
# Whole writes (what the editor calls)

def write_image(image: Image.Image, path: Path, **options) -> None:
    with staged(Path(path), folder=False) as tmp:
        save_image(image, tmp, image_format(Path(path)), **options)


def write_animation(images: Sequence[Image.Image], path: Path, duration_ms: int, loop: bool = True,
                    **options) -> None:
    fmt = ANIMATION_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ExportError(f"{path}: use a .gif or .webp name for an animation")
    with staged(Path(path), folder=False) as tmp:
        save_animation(images, tmp, fmt, duration_ms, loop, **options)


def write_latent(path: Path, fields: dict, latent) -> None:
    with staged(Path(path), folder=False) as tmp:
        tmp.write_text(latentfile.dumps(fields, latent) + "\n", encoding="utf-8")


def write_frames_into(folder: Path, images: Sequence[Image.Image], records: Sequence[dict], latents: Sequence,
                      start: int = 1) -> int:
    """Numbered frames (from ``frame_0001.png`` with ``start=1``) and ``manifest.jsonl`` into ``folder``,
    which may exist and hold other files.  Everything is written into a hidden folder inside it first;
    only when all of it is there are the files renamed into place (each one whole)."""
    folder = Path(os.path.abspath(folder))
    created: list[Path] = []
    tmp = None
    try:
        created = _make_parents(folder)
        tmp = Path(tempfile.mkdtemp(prefix=".frames.", suffix=".partial", dir=folder))
        width = max(4, len(str(len(images) - 1 + start)))
        with (tmp / MANIFEST).open("w", encoding="utf-8", newline="\n") as manifest:
            for k, (image, fields, latent) in enumerate(zip(images, records, latents), start=start):
                name = f"frame_{k:0{width}d}.png"
                image.save(tmp / name, format="PNG")
                _public_permissions(tmp / name, folder=False)
                manifest.write(latentfile.dumps({"file": name, "index": k, **fields}, latent) + "\n")
        _public_permissions(tmp / MANIFEST, folder=False)
        names = sorted(p.name for p in tmp.iterdir() if p.name != MANIFEST) + [MANIFEST]
        for name in names:  # the manifest last: it lists only frames that are in place
            os.replace(tmp / name, folder / name)
        tmp.rmdir()
        return len(images)
    except BaseException as e:
        _undo_partial(tmp, created, folder, e)
        raise
