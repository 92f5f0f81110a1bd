"""Headless subcommands: ``faceedit generate | edit | interpolate | models``.

They use the same model, latent maths and photo handling as the editor, never import Qt, and
follow the usual tool conventions: a one-line message on stderr and a non-zero exit on failure
(1 for errors, 2 for bad usage, 130 when interrupted), and no partial output — every result is
written into a hidden temporary file or folder next to its destination and renamed into place
only when complete.

Reproducibility: image ``i`` of ``generate --seed S`` starts from the latent
``sample_latent(S + i, dim, temperature)`` (a ``torch.Generator`` seeded with ``S + i``), so any
image can be made again on its own.  Every decode goes through ``render``, which decodes in blocks
of exactly ``DECODE_BLOCK`` codes (zero-padded), so an image's pixels do not depend on the batch it
was decoded in: the same latent gives the same bytes alone or among thousands (same software and
device).
"""
from __future__ import annotations

import argparse
import contextlib
import difflib
import itertools
import math
import re
import secrets
import signal
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from faceedit.formats import catalog
from faceedit.formats import latentfile
from faceedit.formats.export import (ANIMATION_FORMATS, MANIFEST, ExportError, check_destination,
                                     describe_os_error, image_format, save_animation, save_frames, save_image,
                                     staged)
from faceedit.core.device import device_error
from faceedit.formats.text import printable
from faceedit.core.facemodel import FaceModel
from faceedit.core.images import PhotoError, centre_square, crop_to_tensor, to_pil, to_uint8
from faceedit.core.latent import apply_attributes, interpolate_path
from faceedit.core.modelfile import ModelFileError, load_network
from faceedit.cli.inputs import (
    MAX_SEED, CommandError, input_kind, open_model, read_latent, sample_latent,
    finite_latent, open_model_for)

DECODE_BLOCK = 64
SIZES = (64, 128, 256, 512)
MAX_BATCH = 4096  # generate --batch-size: the latents and images of a batch are held in memory
MAX_FRAMES = 100_000  # interpolate into a folder: frames are decoded and written in blocks (memory stays flat)
MAX_ANIMATION_FRAMES = 2_000  # a GIF or WebP: Pillow holds every frame in memory until the file is written
MIN_FPS, MAX_FPS = 0.01, 100.0  # GIF frame times are 10 ms to 655 s
WRITERS = 8  # threads that encode and write PNGs while the next batch decodes (file creation is slow on some disks)



# ---------------------------------------------------------------------------------------------
# Latents and pixels (public: the manifest documentation shows how to reproduce with these)

def apply_edits(model: FaceModel, z: torch.Tensor, edits: dict[str, float]) -> torch.Tensor:
    """Move z (D or N×D) along the model's attribute directions; +1 = one "without → with" shift."""
    if not edits:
        return z.clone()
    names = list(model.attributes)
    directions = torch.stack(list(model.attributes.values()))
    amounts = {names.index(name): value for name, value in edits.items()}
    return apply_attributes(z, directions, dict(sorted(amounts.items())))


def render(model: FaceModel, z: torch.Tensor) -> torch.Tensor:
    """Latent codes N×D → N×3×64×64 uint8, decoded in zero-padded blocks of ``DECODE_BLOCK``.

    The backends pick different kernels for different batch sizes, which moves a few pixels by one
    level; a fixed block shape makes every image's pixels independent of its batch.
    """
    z = torch.as_tensor(z, dtype=torch.float32).reshape(-1, model.latent_dim)
    blocks = []
    for start in range(0, len(z), DECODE_BLOCK):
        block = z[start:start + DECODE_BLOCK]
        n = len(block)
        if n < DECODE_BLOCK:
            block = torch.cat([block, block.new_zeros(DECODE_BLOCK - n, block.shape[1])])
        faces = model.decode(block)[:n]
        if not torch.isfinite(faces).all():
            raise CommandError(f"model {model.name} decodes this latent to NaN or infinite pixels; no image was written")
        blocks.append(to_uint8(faces))
    return torch.cat(blocks) if blocks else torch.zeros(0, 3, 64, 64, dtype=torch.uint8)


# ---------------------------------------------------------------------------------------------
# Models and attributes

def _attribute_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "_", name.strip()).lower()


def resolve_edits(model: FaceModel, pairs: list[tuple[str, float]] | None) -> dict[str, float]:
    """``[("smiling", 2.0), ...]`` → ``{"Smiling": 2.0}`` in the model's attribute order."""
    if not pairs:
        return {}
    names = list(model.attributes)
    if not names:
        raise CommandError(f"model {model.name} has no attribute directions, so --set cannot be used")
    lookup = {_attribute_key(n): n for n in names}
    edits: dict[str, float] = {}
    for given, value in pairs:
        name = lookup.get(_attribute_key(given))
        if name is None:
            close = difflib.get_close_matches(_attribute_key(given), list(lookup), n=1)
            hint = f" (did you mean {lookup[close[0]]}?)" if close else ""
            raise CommandError(f"unknown attribute {given!r}{hint}; model {model.name} has: {', '.join(names)}")
        if name in edits:
            raise CommandError(f"attribute {name} is set twice")
        edits[name] = value
        problem = model.attribute_problem(name)
        if problem:
            print(f"faceedit: warning: {problem}; the edit may show little", file=sys.stderr)
    return {n: edits[n] for n in names if n in edits}


def edit_pair(text: str) -> tuple[str, float]:
    """argparse type for ``--set NAME=VALUE``."""
    name, sep, value = text.rpartition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE such as Smiling=+2, got {text!r}")
    try:
        amount = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} in {text!r} is not a number") from None
    if not math.isfinite(amount):
        raise argparse.ArgumentTypeError(f"{text!r}: the amount must be a finite number")
    return name.strip(), amount


# ---------------------------------------------------------------------------------------------
# Outputs: all or nothing

# (the writing itself, all or nothing, is faceedit.formats.export: the editor shares it)


# ---------------------------------------------------------------------------------------------
# Subcommands

def _check_temperature(t: float) -> None:
    if not (math.isfinite(t) and t >= 0):
        raise CommandError("--temperature must be a number ≥ 0")


def _write_png(pixels, size: int, level: int, path: Path) -> None:
    """One H×W×3 uint8 array → a PNG (upscaled smoothly to ``size``); zlib level ``level``."""
    to_pil(pixels, size).save(path, format="PNG", compress_level=level)


def _finish(saves: list[Future], bar) -> None:
    """Wait for a batch of writes (raising the first error) and count it on the progress bar."""
    for save in saves:
        save.result()
    bar.update(len(saves))


def cmd_generate(args) -> int:
    _check_temperature(args.temperature)
    if args.n < 1:
        raise CommandError("--n must be at least 1")
    if not 1 <= args.batch_size <= MAX_BATCH:
        raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH}")
    seed = secrets.randbelow(2**31) if args.seed is None else args.seed
    if seed < 0 or seed + args.n - 1 > MAX_SEED:
        raise CommandError(f"--seed must be between 0 and {MAX_SEED - args.n + 1}")
    out = Path(args.out)
    check_destination(out, folder=True, overwrite=args.overwrite)
    model, ref = open_model(args.model, args.device)
    edits = resolve_edits(model, args.set)
    width = max(6, len(str(args.n - 1)))
    with staged(out, folder=True) as tmp:
        writers = ThreadPoolExecutor(WRITERS, thread_name_prefix="png")
        try:
            with (tmp / MANIFEST).open("w", encoding="utf-8", newline="\n") as manifest, \
                    tqdm(total=args.n, unit="img", desc="generate", disable=None, file=sys.stderr) as bar:
                previous: list[Future] = []
                for start in range(0, args.n, args.batch_size):
                    indices = range(start, min(start + args.batch_size, args.n))
                    z = torch.stack([sample_latent(seed + i, model.latent_dim, args.temperature, model.prior)
                                     for i in indices])
                    z = apply_edits(model, z, edits)
                    saves = []
                    codes = z.detach().cpu().numpy()  # once a batch: per row it costs more than the PNG
                    faces = render(model, z).permute(0, 2, 3, 1).contiguous().numpy()  # N×H×W×3, once a batch
                    for i, pixels, code in zip(indices, faces, codes):
                        name = f"{i:0{width}d}.png"
                        saves.append(writers.submit(_write_png, pixels, args.size, args.compression, tmp / name))
                        fields = {"file": name, "index": i, "seed": seed + i, "temperature": args.temperature,
                                  "model": ref, "edits": edits, "size": args.size}
                        manifest.write(latentfile.dumps(fields, code) + "\n")
                    _finish(previous, bar)  # at most two batches in flight: memory stays flat
                    previous = saves
                _finish(previous, bar)
        finally:
            writers.shutdown(wait=True, cancel_futures=True)
    images = "1 image" if args.n == 1 else f"{args.n} images"
    print(f"wrote {images} and {MANIFEST} to {out} (seeds {seed}–{seed + args.n - 1})")
    return 0


def _photo_face(spec: str, rgb, args):
    """The face ``edit`` works on, and the 64-px crop to encode when it is a plain square (None:
    the aligned crop): --crop, else the detected face (--face K, largest first), else (no face at
    all) the centre square, with a note."""
    from faceedit.core.faces import MIN_FACE, detect_faces, face_from_crop
    height, width = rgb.shape[:2]

    def square(left, top, side):
        crop = crop_to_tensor(Image.fromarray(rgb), (left, top, side))  # as the editor crops
        return face_from_crop(left, top, side), crop.permute(1, 2, 0).numpy()
    if args.crop:
        left, top, side = args.crop
        if side <= 0 or left < 0 or top < 0 or left + side > width or top + side > height:
            raise CommandError(f"--crop {left},{top},{side} does not fit inside {spec} ({width}×{height})")
        return square(left, top, side)
    faces = detect_faces(rgb)
    if not faces:
        print(f"faceedit edit: note: no face found in {spec}; editing the centre square "
              f"(--crop LEFT,TOP,SIDE chooses another)", file=sys.stderr)
        return square(*centre_square(width, height))
    usable = [f for f in faces if not f.too_small]
    if not usable:
        raise CommandError(f"{spec}: face too small ({faces[0].size:.0f} px wide; FaceEdit needs "
                           f"{MIN_FACE} px); pass --crop LEFT,TOP,SIDE to edit it anyway")
    if args.face > len(usable):
        raise CommandError(f"--face {args.face}: {spec} has {len(usable)} face{'s' * (len(usable) > 1)} large enough to edit")
    if len(usable) > 1 and args.face == 1:
        print(f"faceedit edit: note: {spec} has {len(usable)} faces; editing the largest "
              f"(--face 2 … {len(usable)} picks another)", file=sys.stderr)
    return usable[args.face - 1], None


def _edit_photo(args, out: Path, fmt: str | None, as_latent: bool) -> int:
    """A photo input: edit the face as a residual and write the full photo (or, with --face-only,
    the decoded face; or the latent)."""
    from faceedit.core.images import open_full_photo
    from faceedit.core.photoedit import PhotoEdit
    photo = open_full_photo(args.input, keep_gps=args.keep_gps)
    face, crop = _photo_face(args.input, photo.rgb, args)
    model, ref = open_model_for([args.input], args)
    edits = resolve_edits(model, args.set)
    session = PhotoEdit(model, photo.rgb, face, crop)
    z = finite_latent(apply_edits(model, session.z, edits), "the edited latent")
    with staged(out, folder=False) as tmp:
        if as_latent:
            tmp.write_text(latentfile.dumps({"model": ref}, z.detach().cpu().numpy()) + "\n", encoding="utf-8")
        elif args.face_only:
            save_image(to_pil(render(model, z)[0], args.size), tmp, fmt)
        else:
            save_image(photo.to_image(session.render(z), with_alpha=fmt != "JPEG"), tmp, fmt, **photo.save_options())
    print(f"wrote {out}")
    return 0


def cmd_edit(args) -> int:
    _check_temperature(args.temperature)
    if args.face < 1:
        raise CommandError("--face must be 1 or more (1 = the largest face)")
    out = Path(args.out)
    as_latent = out.suffix.lower() == ".json"
    fmt = None if as_latent else image_format(out)
    check_destination(out, folder=False, overwrite=args.overwrite)
    if input_kind(args.input) == "photo":
        return _edit_photo(args, out, fmt, as_latent)
    if args.crop:
        raise CommandError(f"--crop applies to photos, and {args.input} is not one")
    model, ref = open_model_for([args.input], args)
    edits = resolve_edits(model, args.set)
    z = finite_latent(apply_edits(model, read_latent(args.input, model, args.temperature), edits), "the edited latent")
    with staged(out, folder=False) as tmp:
        if as_latent:
            tmp.write_text(latentfile.dumps({"model": ref}, z.detach().cpu().numpy()) + "\n", encoding="utf-8")
        else:
            save_image(to_pil(render(model, z)[0], args.size), tmp, fmt)
    print(f"wrote {out}")
    return 0


def cmd_interpolate(args) -> int:
    if len(args.inputs) < 2:
        raise CommandError("give at least two inputs to interpolate between")
    if args.frames < 2:
        raise CommandError("--frames must be at least 2")
    if not (math.isfinite(args.fps) and MIN_FPS <= args.fps <= MAX_FPS):
        raise CommandError(f"--fps must be between {MIN_FPS:g} and {MAX_FPS:g}")
    _check_temperature(args.temperature)
    out = Path(args.out)
    animation = ANIMATION_FORMATS.get(out.suffix.lower())
    if animation is None and out.suffix.lower() in Image.registered_extensions():
        raise CommandError(f"{out}: use a .gif or .webp name for an animation, or a folder name for PNG frames")
    limit = MAX_ANIMATION_FRAMES if animation else MAX_FRAMES
    if args.frames > limit:
        kind = f"an animation ({out.suffix.lower()})" if animation else "a folder of PNG frames"
        raise CommandError(f"--frames {args.frames} is too many: at most {limit:,} for {kind}")
    check_destination(out, folder=animation is None, overwrite=args.overwrite)
    model, ref = open_model_for(args.inputs, args)
    edits = resolve_edits(model, args.set)
    keys = [read_latent(spec, model, args.temperature) for spec in args.inputs]

    def blocks():
        """(times, latents, pixels) DECODE_BLOCK frames at a time, so memory does not grow with --frames."""
        for start in range(0, args.frames, DECODE_BLOCK):
            times = [k / (args.frames - 1) for k in range(start, min(start + DECODE_BLOCK, args.frames))]
            z = apply_edits(model, torch.stack([interpolate_path(keys, t, args.method) for t in times]), edits)
            yield times, z, render(model, z)

    with staged(out, folder=animation is None) as tmp:
        if animation:
            images = [to_pil(f, args.size) for _, _, frames in blocks() for f in frames]
            save_animation(images, tmp, animation, round(1000 / args.fps))
        else:
            def frames():
                for times, z, pixels in blocks():
                    for t, face, code in zip(times, pixels, z):
                        yield to_pil(face, args.size), {"t": t, "model": ref, "edits": edits}, code.numpy()
            images, records, latents = itertools.tee(frames(), 3)  # consumed in step: the buffers stay small
            save_frames(tmp, (f[0] for f in images), (f[1] for f in records), (f[2] for f in latents),
                        width=max(4, len(str(args.frames - 1))))
    print(f"wrote {args.frames} frames to {out}")
    return 0


def _model_rows() -> list[tuple[str, Path]]:
    bundled = catalog.bundled_models()
    rows = [(name, catalog.resolve(name)) for name in bundled]
    for name, path in catalog.user_models().items():
        rows.append((name if name not in bundled else str(path), path))  # a shadowed one goes by path
    return rows


def model_summary(path: Path) -> tuple[str, str, str, str | None]:
    """β, KL (nats/image) and PSNR (dB) from a model file's metadata (test split preferred), and a note
    when its attribute directions have no measured unit (older files)."""
    _, objective, meta = load_network(path)
    metrics = meta.get("metrics") or {}
    split = metrics.get("test") or metrics.get("val") or {}

    def number(key, fmt):
        value = split.get(key)
        return format(value, fmt) if isinstance(value, (int, float)) else "?"

    return format(objective.beta, "g"), number("kl", ".1f"), number("psnr", ".2f"), _directions_note(meta)


def cmd_models(args) -> int:
    rows = _model_rows()
    if not rows:
        print(f"faceedit models: no models in {catalog.bundled_dir()} or {catalog.user_models_dir()}", file=sys.stderr)
        return 1
    lines, notes = [], []
    for name, path in rows:
        try:
            beta, kl, psnr, note = model_summary(path)
        except ModelFileError as e:
            print(f"faceedit models: warning: {printable(e, 1000)}", file=sys.stderr)
            beta = kl = psnr = "?"
            note = None
        lines.append((printable(name), f"β={beta}", f"KL={kl}", f"PSNR={psnr}", printable(path, 1000)))
        if note:
            notes.append(f"note: {printable(name)}: {note}")
    widths = [max(len(line[c]) for line in lines) for c in range(4)]
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[4])
    for note in notes:
        print(note)
    return 0


def _directions_note(meta: dict) -> str | None:
    """Older files' attribute directions have no measured unit; say so where the models are listed."""
    if meta.get("attribute_directions") is not None and meta.get("attribute_scales") is None:
        return ("its attribute directions are unscaled (made before FaceEdit measured what +1 means); "
                "run 'faceedit-train calibrate' on it to scale them")
    return None


# ---------------------------------------------------------------------------------------------
# Command line

def _crop(text: str) -> tuple[int, int, int]:
    try:
        left, top, side = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LEFT,TOP,SIDE in pixels, got {text!r}") from None
    return left, top, side


INPUTS_HELP = ("a photo, a latent JSON file ({\"model\": ..., \"latent\": [...]}, as the editor exports), "
               "PROJECT.faceedit (its current face) or PROJECT.faceedit:keyframe:K (keyframe K, from 1), "
               "MANIFEST.jsonl:K (entry K of a manifest), gallery:K or a plain integer K (face K of the "
               "model's gallery), or seed:S (the prior sample generate makes with seed S)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceedit",
        description="Edit faces with β-VAEs. With no arguments, `faceedit` opens the editor; the "
                    "subcommands below work headless (no window, no Qt).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p):
        p.add_argument("--model", help="bundled or user model name (see `faceedit models`) or a model file path; "
                                       "default: the model a latent file names, else beta4")
        p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps")
        p.add_argument("--set", action="append", type=edit_pair, metavar="ATTR=VALUE",
                       help="attribute edit, repeatable; +1 turns a typical face without the attribute "
                            "into one with it (names are case-insensitive, spaces = underscores)")
        p.add_argument("--size", type=int, choices=SIZES, default=64, help="output side in pixels (default 64)")
        p.add_argument("--overwrite", action="store_true", help="replace an existing output")

    p = sub.add_parser("generate", help="sample N new faces with a manifest",
                       description=f"Sample N faces from the prior. Image i uses seed S+i; {MANIFEST} "
                                   "has one JSON object per image.")
    p.add_argument("--n", type=int, required=True, help="number of images")
    p.add_argument("--out", required=True, help="output folder (must be new or empty)")
    p.add_argument("--seed", type=int, help="seed of the first image (default: random, recorded in the manifest)")
    p.add_argument("--temperature", type=float, default=1.0, help="prior standard deviation (default 1)")
    p.add_argument("--batch-size", type=int, default=256, help="images per step (default 256)")
    p.add_argument("--compression", type=int, choices=range(10), default=1, metavar="0-9",
                   help="PNG compression: 1 (the default, as OpenCV's) writes about twice as fast as 6 for "
                        "files about 10%% larger; 9 is smallest and slowest. The pixels are the same")
    common(p)
    p.set_defaults(run=cmd_generate)

    p = sub.add_parser("edit", help="edit a photo or an exported latent",
                       description="Edit a photo: find the face (or take --crop), align it like the "
                                   "training faces, apply attribute edits as a residual and write the full "
                                   "photo at its own size (EXIF orientation applied, ICC profile kept, GPS "
                                   "dropped). --face-only writes the model's face instead, as does any "
                                   "latent input; --out ending in .json writes the latent.")
    p.add_argument("input", help=INPUTS_HELP)
    p.add_argument("--out", required=True, help="output image (.png, .jpg, .webp, ...) or latent .json")
    p.add_argument("--crop", type=_crop, metavar="LEFT,TOP,SIDE",
                   help="square crop of the photo to edit (default: the detected face)")
    p.add_argument("--face", type=int, default=1, metavar="K",
                   help="with several faces, edit the K-th largest (default 1)")
    p.add_argument("--face-only", action="store_true",
                   help="write the model's decoded face (--size pixels) instead of the full photo")
    p.add_argument("--keep-gps", action="store_true", help="keep the photo's GPS location in the output's EXIF")
    p.add_argument("--temperature", type=float, default=1.0, help="scale of a seed:S input (default 1)")
    common(p)
    p.set_defaults(run=cmd_edit)

    p = sub.add_parser("interpolate", help="morph between faces into a GIF or PNG frames",
                       description="Interpolate through two or more faces, each segment taking equal time.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=INPUTS_HELP)
    p.add_argument("--out", required=True, help="animation (.gif or .webp) or a folder for numbered PNG frames")
    p.add_argument("--frames", type=int, default=30, help="number of frames, ends included (default 30)")
    p.add_argument("--method", choices=("slerp", "lerp"), default="slerp", help="default slerp")
    p.add_argument("--fps", type=float, default=12.0, help="animation frame rate (default 12)")
    p.add_argument("--temperature", type=float, default=1.0, help="scale of seed:S inputs (default 1)")
    common(p)
    p.set_defaults(run=cmd_interpolate)

    p = sub.add_parser("models", help="list bundled and user models",
                       description="One model per line: the name --model takes, β, KL (nats/image) and "
                                   "PSNR (dB) on the test split (else validation), and the file.")
    p.set_defaults(run=cmd_models)
    return parser


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM (a CI timeout, `kill`) cleans up like Ctrl-C instead of leaving partial output."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:  # --help or a usage error (argparse printed it)
        return e.code if isinstance(e.code, int) else 2
    prefix = f"faceedit {args.command}"
    given = [v for value in vars(args).values() for v in (value if isinstance(value, list) else [value])]
    if any(isinstance(v, str) and "\x00" in v for v in given):
        print(f"{prefix}: error: an argument holds a NUL character, which no file name can have", file=sys.stderr)
        return 2
    try:
        with _terminate_as_interrupt():
            return args.run(args)
    except (CommandError, ExportError, PhotoError, ModelFileError) as e:
        print(f"{prefix}: error: {printable(e, 1000)}", file=sys.stderr)
    except (TypeError, RuntimeError, NotImplementedError) as e:  # CUDA/MPS out of memory, an op MPS lacks
        line = device_error(e)
        if line is None:
            raise
        print(f"{prefix}: error: {line}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted; nothing was written", file=sys.stderr)
        return 130
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"{prefix}: error: {where}{describe_os_error(e)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
