"""Photos in, images out: EXIF orientation, square crops, 64×64 tensors, PIL images and bytes."""
from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from faceedit.core.composite import PREVIEW_SIDE
from faceedit.core.model import IMAGE_SIZE

try:  # HEIC/HEIF: what iPhones and Macs save photos as; Pillow reads it through pillow-heif
    from pillow_heif import register_heif_opener
except ImportError:  # a source install without it: HEIC photos are reported as unreadable
    register_heif_opener = None
else:
    register_heif_opener()

MAX_PIXELS = 80_000_000  # larger photos are refused, not decoded (decompression bombs)


class PhotoError(Exception):
    """A photo that cannot be used; the message names the file and the problem."""


@contextlib.contextmanager
def _opened(path, max_pixels: int):
    """Pillow's image of ``path`` (a path, or a binary file object); too large or unreadable (here or
    in the caller's block) is one PhotoError."""
    path = path if hasattr(path, "read") else Path(path)
    try:
        with warnings.catch_warnings():  # Pillow warns about a large image before we refuse it in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            if im.width * im.height > max_pixels:
                raise PhotoError(f"{path}: the image is {im.width}×{im.height}, larger than the "
                                 f"{max_pixels // 1_000_000} megapixels FaceEdit opens")
            yield im
    except PhotoError:
        raise
    except FileNotFoundError:
        raise PhotoError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise PhotoError(f"{path}: not an image FaceEdit can read") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise PhotoError(f"{path}: the image could not be read ({e})") from None


def open_photo(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open any image Pillow reads (a path, or a binary file object), upright (EXIF orientation
    applied), as RGB."""
    with _opened(path, max_pixels) as im:
        # a JPEG decodes reduced (fast), but never below the editor's whole-photo preview
        k = PREVIEW_SIDE / max(im.width, im.height)
        im.draft("RGB", (round(im.width * k), round(im.height * k)))
        return to_rgb(ImageOps.exif_transpose(im))


GPS_IFD = 0x8825  # the EXIF tag that points to the location


@dataclass
class FullPhoto:
    """A photo at its own resolution, upright, with what an edited copy should carry over."""
    rgb: np.ndarray                 # H×W×3 uint8 (colours as stored, also under transparency)
    alpha: np.ndarray | None        # H×W uint8, when the photo had transparency
    icc_profile: bytes | None       # an RGB ICC profile (a CMYK photo's profile is not kept: its pixels are now RGB)
    exif: bytes | None              # EXIF without the orientation (applied) and, unless kept, without GPS
    source_mode: str                # Pillow's mode of the file (L, CMYK, I;16, RGBA, ...)

    def to_image(self, rgb: np.ndarray | None = None, with_alpha: bool = True) -> Image.Image:
        """A Pillow image of ``rgb`` (default: the photo's own pixels) with the photo's alpha, or,
        without alpha, composited on white."""
        im = Image.fromarray(self.rgb if rgb is None else rgb, "RGB")
        if self.alpha is None:
            return im
        im.putalpha(Image.fromarray(self.alpha, "L"))
        return im if with_alpha else to_rgb(im)

    def save_options(self) -> dict:
        options = {}
        if self.icc_profile:
            options["icc_profile"] = self.icc_profile
        if self.exif:
            options["exif"] = self.exif
        return options


def open_full_photo(path: str | os.PathLike, keep_gps: bool = False, max_pixels: int = MAX_PIXELS) -> FullPhoto:
    """Open a photo (a path, or a binary file object) at full resolution for a full-photo edit: EXIF orientation applied, any mode
    (grey, CMYK, 16-bit, palette, alpha) turned into 8-bit RGB (+ alpha), the ICC profile and EXIF
    kept for the output, GPS dropped unless ``keep_gps``."""
    with _opened(path, max_pixels) as im:
        mode = im.mode
        icc = im.info.get("icc_profile") if mode not in ("CMYK", "YCbCr", "LAB") else None
        upright = ImageOps.exif_transpose(im)
        upright.load()
    exif = upright.getexif()
    if not keep_gps and GPS_IFD in exif:
        del exif[GPS_IFD]
    if icc and mode in ("L", "LA", "I;16", "I;16B", "I;16L", "I"):
        icc = None  # a grey profile does not describe the RGB output
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
    if has_alpha:  # edit the colours as they are; the alpha goes back unchanged
        rgba = np.array(upright.convert("RGBA"), dtype=np.uint8)
        rgb, alpha = np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
    else:
        rgb, alpha = np.array(to_rgb(upright), dtype=np.uint8), None
    return FullPhoto(rgb, alpha, icc, exif.tobytes() if len(exif) else None, mode)


def to_rgb(im: Image.Image) -> Image.Image:
    """Any mode (P, LA, RGBA, I;16, CMYK…) → RGB, with transparency composited on white."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, im).convert("RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        im = im.point(lambda v: v * (1 / 256)).convert("L")
    return im.convert("RGB")


def centre_square(width: int, height: int) -> tuple[int, int, int]:
    """The largest centred square: (left, top, side)."""
    side = min(width, height)
    return (width - side) // 2, (height - side) // 2, side


def crop_to_tensor(im: Image.Image, box: tuple[int, int, int] | None = None) -> torch.Tensor:
    """Crop a square (left, top, side) — centred by default — and resize to a 3×64×64 uint8 tensor."""
    left, top, side = box or centre_square(im.width, im.height)
    square = im.crop((left, top, left + side, top + side))
    square = square.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if square.mode != "RGB":
        square = square.convert("RGB")
    return torch.from_numpy(np.array(square, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def photo_to_tensor(path: str | os.PathLike) -> torch.Tensor:
    """A photo file → 3×64×64 uint8, with the same EXIF handling and centred crop as the editor."""
    return crop_to_tensor(open_photo(path))


def to_uint8(image: torch.Tensor) -> torch.Tensor:
    """3×H×W float in [0,1] (or uint8) → uint8."""
    if image.dtype == torch.uint8:
        return image
    return (image.clamp(0, 1) * 255).round().to(torch.uint8)


def to_pil(image, size: int | None = None) -> Image.Image:
    """3×H×W tensor, or H×W×3 uint8 array, → PIL RGB image, optionally upscaled smoothly to size×size."""
    if isinstance(image, torch.Tensor):
        image = to_uint8(image.detach().cpu()).permute(1, 2, 0).contiguous().numpy()
    im = Image.fromarray(image)
    if size and size != im.width:
        im = im.resize((size, size), Image.Resampling.LANCZOS)
    return im


def to_rgb_bytes(image: torch.Tensor) -> tuple[bytes, int, int]:
    """3×H×W tensor → packed RGB888 bytes, width, height (for QImage, without touching torch in Qt)."""
    u8 = to_uint8(image.detach().cpu()).permute(1, 2, 0).contiguous()
    return u8.numpy().tobytes(), u8.shape[1], u8.shape[0]
