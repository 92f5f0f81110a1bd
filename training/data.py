"""Face data: CelebA's own layout or any folder of images, decoded once into a memory-mapped uint8 cache.

CelebA layout: ``img_align_celeba/`` or ``img/`` beside ``list_eval_partition.txt`` (and, where
present, ``list_attr_celeba.txt``).  Official 178×218 images get the usual centred 148×148 face
crop; square images are only resized.  Any other folder is searched recursively and split with a
seeded shuffle (90% train, 5% validation, 5% test).
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import platformdirs
import torch
from PIL import Image

from faceedit.core.images import centre_square, crop_to_tensor, to_rgb
from faceedit.core.modelfile import atomic_write

SPLITS = {"train": 0, "val": 1, "test": 2}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}
CELEBA_SIZE = (178, 218)
CELEBA_CROP = 148
CACHE_VERSION = 2  # 1: one .npz read whole; 2: a memory-mapped .npy and its .json
HEADER_BYTES = 128


class DataError(Exception):
    pass


@dataclass
class FaceData:
    root: str
    layout: str  # "celeba" or "folder"
    names: list[str]
    images: torch.Tensor  # N×3×64×64 uint8
    split: torch.Tensor  # N int64: 0 train, 1 val, 2 test
    attribute_names: list[str] = field(default_factory=list)
    attributes: torch.Tensor | None = None  # N×A int8 of +1/-1
    skipped: list[str] = field(default_factory=list)

    def indices(self, split: str) -> torch.Tensor:
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        return torch.nonzero(self.split == SPLITS[split]).flatten()

    def summary(self) -> dict:
        counts = {name: int((self.split == code).sum()) for name, code in SPLITS.items()}
        return {"root": self.root, "layout": self.layout, "images": len(self.names),
                "splits": counts, "skipped_corrupt": len(self.skipped),
                "attributes": list(self.attribute_names)}


def _celeba_image_dir(root: Path) -> Path | None:
    if not (root / "list_eval_partition.txt").is_file():
        return None
    for name in ("img_align_celeba", "img"):
        if (root / name).is_dir():
            return root / name
    return None


def face_crop_box(width: int, height: int) -> tuple[int, int, int]:
    if (width, height) == CELEBA_SIZE:
        return (width - CELEBA_CROP) // 2, (height - CELEBA_CROP) // 2, CELEBA_CROP
    return centre_square(width, height)


def decode_face(path: Path) -> torch.Tensor | None:
    """One image file → 3×64×64 uint8, or None if it cannot be read."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (256, 256))
            rgb = to_rgb(im)
        return crop_to_tensor(rgb, face_crop_box(*rgb.size))
    except Exception:  # noqa: BLE001 - any unreadable file is skipped and counted
        return None


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file") from None


def _read_partition(root: Path) -> dict[str, int]:
    path = root / "list_eval_partition.txt"
    out = {}
    for number, line in enumerate(_read_lines(path), 1):
        parts = line.split()
        if len(parts) == 2:
            if parts[1] not in ("0", "1", "2"):
                raise DataError(f"{path}: line {number}: the split must be 0, 1 or 2, got {parts[1][:20]!r}")
            out[parts[0]] = int(parts[1])
    return out


def _read_attributes(root: Path) -> tuple[list[str], dict[str, list[int]]]:
    path = root / "list_attr_celeba.txt"
    if not path.is_file():
        return [], {}
    lines = _read_lines(path)
    names = lines[1].split() if len(lines) > 1 else []
    if not names:
        raise DataError(f"{path}: no attribute names on line 2 (expected CelebA's list_attr_celeba.txt layout)")
    rows = {}
    for number, line in enumerate(lines[2:], 3):
        parts = line.split()
        if len(parts) == len(names) + 1:
            bad = next((v for v in parts[1:] if v not in ("1", "+1", "-1", "0")), None)
            if bad is not None:
                raise DataError(f"{path}: line {number}: attribute values must be 1 or -1, got {bad[:20]!r}")
            rows[parts[0]] = [int(v) for v in parts[1:]]
    if lines[2:] and not rows:
        raise DataError(f"{path}: no line has a file name and {len(names)} values")
    return names, rows


def _fingerprint(root: Path, files: list[Path]) -> str:
    """The data set's identity: its folder, and each file's name, size and modification time."""
    h = hashlib.sha256(f"{root.resolve()}\n".encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _npy_header(rows: int) -> bytes:
    """A version 1.0 ``.npy`` header for ``rows``×3×64×64 uint8, always HEADER_BYTES long, so the
    header can be written last, once the number of readable images is known."""
    text = repr({"descr": "|u1", "fortran_order": False, "shape": (rows, 3, 64, 64)})
    body = text.encode("latin1").ljust(HEADER_BYTES - 10 - 1) + b"\n"
    return np.lib.format.magic(1, 0) + struct.pack("<H", len(body)) + body


class Cache:
    """The decoded faces of one data set: ``faces-<key>.npy`` (N×3×64×64 uint8, read memory-mapped) and
    ``faces-<key>.json`` beside it (cache version, data set identity, which files were unreadable).

    The ``.json`` is written last and checked first: an array without a matching one — another data
    set, another cache version, a write that was cut off — is rebuilt, never read."""

    def __init__(self, directory: Path, root: Path, files: list[Path]):
        self.identity = {"version": CACHE_VERSION, "root": str(root.resolve()), "files": len(files),
                         "fingerprint": _fingerprint(root, files)}
        key = self.identity["fingerprint"][:20]
        self.array = directory / f"faces-{key}.npy"
        self.sidecar = directory / f"faces-{key}.json"

    def read(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(the memory-mapped images of the readable files, the mask of readable files) or None."""
        try:
            meta = json.loads(self.sidecar.read_text(encoding="utf-8"))
            if {k: meta.get(k) for k in self.identity} != self.identity:
                return None
            ok = np.ones(self.identity["files"], dtype=bool)
            ok[np.asarray(meta["unreadable"], dtype=np.int64)] = False
            images = np.load(self.array, mmap_mode="r")
            if images.shape == (int(ok.sum()), 3, 64, 64) and images.dtype == np.uint8 \
                    and self.array.stat().st_size == meta["bytes"]:
                return images, ok
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            pass  # missing, truncated or foreign: rebuilt
        return None

    def build(self, files: list[Path], progress: bool) -> None:
        """Decode every file (a thread pool) straight into the array file; atomic, and a failed write
        (a full disk) leaves nothing that a later run would trust."""
        self.array.parent.mkdir(parents=True, exist_ok=True)
        self.sidecar.unlink(missing_ok=True)  # the old array is no longer vouched for
        fd, tmp = tempfile.mkstemp(prefix=f".{self.array.name}.", suffix=".tmp", dir=self.array.parent)
        unreadable = []
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_npy_header(0))
                with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
                    results = pool.map(decode_face, files, chunksize=64)
                    if progress:
                        from tqdm import tqdm
                        results = tqdm(results, total=len(files), desc="decoding images", unit="img")
                    for i, t in enumerate(results):
                        if t is None:
                            unreadable.append(i)
                        else:
                            f.write(t.numpy().tobytes())
                f.seek(0)
                f.write(_npy_header(len(files) - len(unreadable)))
                f.flush()
                os.fsync(f.fileno())
            size = os.path.getsize(tmp)
            os.replace(tmp, self.array)
            meta = {**self.identity, "unreadable": unreadable, "bytes": size}
            atomic_write(self.sidecar, lambda t: Path(t).write_text(json.dumps(meta)))
        except BaseException as e:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(e, OSError):
                raise DataError(f"cannot write the image cache in {self.array.parent}: {e.strerror or e} "
                                f"(free some space, choose another --cache-dir, or pass --no-cache)") from None
            raise


def _decode_in_memory(files: list[Path], progress: bool) -> tuple[np.ndarray, np.ndarray]:
    images = np.zeros((len(files), 3, 64, 64), dtype=np.uint8)
    ok = np.zeros(len(files), dtype=bool)
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        results = pool.map(decode_face, files, chunksize=64)
        if progress:
            from tqdm import tqdm
            results = tqdm(results, total=len(files), desc="decoding images", unit="img")
        for i, t in enumerate(results):
            if t is not None:
                images[i] = t.numpy()
                ok[i] = True
    return images[ok], ok


def _as_tensor(images: np.ndarray) -> torch.Tensor:
    with warnings.catch_warnings():  # a read-only memory map: nothing writes to the training images
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(images)


def load_faces(root: str | os.PathLike, *, seed: int = 0, cache_dir: str | os.PathLike | None = None,
               use_cache: bool = True, progress: bool = False, build: bool = True) -> FaceData:
    """The data set, its images memory-mapped from the cache (built first where missing or stale; with
    ``build=False`` a missing cache is a DataError: the other ranks of a distributed run wait for the
    one that builds it).  ``use_cache=False`` decodes into memory instead."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: no such data folder")
    img_dir = _celeba_image_dir(root)
    if img_dir is not None:
        layout = "celeba"
        partition = _read_partition(root)
        files = sorted(p for p in img_dir.iterdir() if p.name in partition)
        split_list = [partition[p.name] for p in files]
    else:
        layout = "folder"
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        order = torch.randperm(len(files), generator=torch.Generator().manual_seed(seed)).tolist()
        n_val = n_test = max(1, len(files) // 20) if len(files) >= 20 else 0
        split_list = [0] * len(files)
        for rank, i in enumerate(order):
            split_list[i] = 1 if rank < n_val else 2 if rank < n_val + n_test else 0
    if not files:
        raise DataError(f"{root}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    if use_cache:
        base = Path(cache_dir) if cache_dir else Path(platformdirs.user_cache_dir("FaceEdit", "FaceEdit"))
        cache = Cache(base, root, files)
        found = cache.read()
        if found is None:
            if not build:
                raise DataError(f"{cache.array}: the image cache is missing or stale after it was built")
            cache.build(files, progress)
            found = cache.read()
            if found is None:
                raise DataError(f"{cache.array}: the image cache just written cannot be read back")
        images, ok = found
    else:
        images, ok = _decode_in_memory(files, progress)
    keep = np.nonzero(ok)[0]
    names = [str(files[i].relative_to(root)) for i in keep]
    attr_names, attr_rows = _read_attributes(root) if layout == "celeba" else ([], {})
    attributes = None
    if attr_names:
        attributes = torch.tensor([attr_rows.get(files[i].name, [0] * len(attr_names)) for i in keep], dtype=torch.int8)
    return FaceData(
        root=str(root), layout=layout, names=names,
        images=_as_tensor(images), split=torch.tensor([split_list[i] for i in keep], dtype=torch.int64),
        attribute_names=attr_names, attributes=attributes,
        skipped=[str(files[i].relative_to(root)) for i in np.nonzero(~ok)[0]],
    )
