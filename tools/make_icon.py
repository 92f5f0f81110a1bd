"""Draw the application icon, resources/icon.png (512×512), with Qt: a face above a slider.

Run once after changing the design: ``QT_QPA_PLATFORM=offscreen python tools/make_icon.py``."""
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPen

SIZE = 512
OUT = Path(__file__).resolve().parent.parent / "resources" / "icon.png"


def draw() -> QImage:
    image = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    tile = QRectF(32, 32, SIZE - 64, SIZE - 64)  # the macOS icon grid leaves a margin round the tile
    gradient = QLinearGradient(tile.topLeft(), tile.bottomLeft())
    gradient.setColorAt(0, QColor("#5b8ee0"))
    gradient.setColorAt(1, QColor("#2f5fb3"))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(gradient)
    p.drawRoundedRect(tile, 100, 100)
    white = QColor("#ffffff")
    p.setPen(QPen(white, 22, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(256, 215), 118, 128)  # the face
    p.setBrush(white)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(QPointF(214, 190), 17, 17)  # eyes
    p.drawEllipse(QPointF(298, 190), 17, 17)
    p.setPen(QPen(white, 16, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawArc(QRectF(200, 200, 112, 80), -20 * 16, -140 * 16)  # the smile
    p.setPen(QPen(QColor(255, 255, 255, 150), 14, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.drawLine(QPointF(136, 410), QPointF(376, 410))  # the slider
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(white)
    p.drawEllipse(QPointF(300, 410), 24, 24)
    p.end()
    return image


if __name__ == "__main__":
    app = QGuiApplication([])
    OUT.parent.mkdir(exist_ok=True)
    assert draw().save(str(OUT), "PNG")
    print(f"wrote {OUT}")
