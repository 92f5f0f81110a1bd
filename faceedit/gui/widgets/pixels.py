"""Packed RGB bytes → QImage, without touching torch or PIL."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage


def rgb_image(rgb: bytes, width: int, height: int) -> QImage:
    """A QImage that owns a copy of the pixels (safe to keep after ``rgb`` is gone)."""
    return QImage(rgb, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


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
