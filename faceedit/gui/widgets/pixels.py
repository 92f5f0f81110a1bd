"""Packed RGB bytes → QImage, without touching torch or PIL."""
from __future__ import annotations

import sys

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage


def rgb_image(rgb: bytes, width: int, height: int) -> QImage:
    """A QImage that owns a copy of the pixels (safe to keep after ``rgb`` is gone)."""
    return QImage(rgb, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def rgb32(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 RGB → H×W×4 in the memory order of ``QImage.Format_RGB32`` (0xffRRGGBB in the machine's
    byte order: B, G, R, 255 on little-endian machines), which Qt draws scaled several times faster
    than 24-bit pixels."""
    if sys.byteorder == "little":
        return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGRA)
    return np.roll(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2RGBA), 1, axis=2)


def rgb32_image(pixels: np.ndarray) -> QImage:
    """A QImage over ``rgb32`` pixels, without a copy: keep ``pixels`` alive as long as the image."""
    height, width = pixels.shape[:2]
    return QImage(pixels.data, width, height, 4 * width, QImage.Format.Format_RGB32)


def image_bytes(image: QImage) -> tuple[bytes, int, int]:
    """QImage → packed RGB888 bytes, width, height (for Pillow's ``Image.frombytes('RGB', ...)``)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = rgb.width(), rgb.height()
    row = 3 * width
    data = bytes(rgb.constBits())
    stride = rgb.bytesPerLine()
    if stride == row:
        return data[: row * height], width, height
    return b"".join(data[y * stride: y * stride + row] for y in range(height)), width, height


def screen_image(image: QImage, side: int, ratio: float,
                 aspect: Qt.AspectRatioMode = Qt.AspectRatioMode.KeepAspectRatio) -> QImage:
    """``image`` scaled once to ``side × ratio`` physical pixels with that device pixel ratio, so it is drawn at
    ``side`` logical pixels without a second resampling (``ratio`` is ``widget.devicePixelRatioF()``: 2 on Retina)."""
    physical = max(1, round(side * ratio))
    scaled = image.scaled(physical, physical, aspect, Qt.TransformationMode.SmoothTransformation)
    scaled.setDevicePixelRatio(ratio)
    return scaled
