"""The large face: the 64×64 output drawn smoothly upscaled, with a compare-to-original mode."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

BACKGROUND = QColor("#e6e6e2")
FRAME = QColor("#c9c9c4")
SHADOW = QColor(0, 0, 0, 18)
CAPTION = QColor(255, 255, 255, 230)
PLACEHOLDER = QColor("#6b6e74")
MAX_SIDE = 512  # 8× the 64-pixel face; larger only magnifies the blur


class FaceView(QWidget):
    """Shows the current face; ``compare`` (or holding the mouse on it) shows the original instead.

    ``facePainted(seq)`` is emitted after each repaint, with the sequence number of the face shown,
    so a benchmark can time a slider change to the repainted face.
    """

    facePainted = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("faceView")
        self.setAccessibleName("Face")
        self.setAccessibleDescription("The edited face. Hold the mouse button on it to see the original.")
        self.setMinimumSize(280, 280)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._rgb: bytes | None = None
        self._image: QImage | None = None
        self.seq = 0
        self.painted_seq = 0
        self._original: QImage | None = None
        self._original_label = "Original"
        self._compare = False
        self._holding = False
        self._message = "Loading the model…"

    # --- content -------------------------------------------------------------------------------------
    def set_face(self, rgb: bytes, width: int, height: int, seq: int = 0) -> None:
        """Show a face from packed RGB888 bytes (kept alive here, no copy on the hot path)."""
        self._rgb = rgb
        self._image = QImage(rgb, width, height, 3 * width, QImage.Format.Format_RGB888)
        self.seq = seq
        self._message = ""
        self.update()

    def set_face_image(self, image: QImage, seq: int = 0) -> None:
        self._rgb = None
        self._image = image
        self.seq = seq
        self._message = ""
        self.update()

    def set_message(self, text: str) -> None:
        self._message = text
        self.update()

    def set_original(self, image: QImage | None, label: str = "Original") -> None:
        self._original = image
        self._original_label = label
        if self.showing_original():
            self.update()

    def has_face(self) -> bool:
        return self._image is not None

    def image(self) -> QImage | None:
        """A copy of the face at its own resolution (64×64)."""
        return None if self._image is None else self._image.copy()

    def face_bytes(self) -> bytes | None:
        if self._image is None:
            return None
        from faceedit.gui.widgets.pixels import image_bytes
        return image_bytes(self._image)[0]

    # --- compare ---------------------------------------------------------------------------------------
    def set_compare(self, on: bool) -> None:
        self._compare = bool(on)
        self.update()

    def showing_original(self) -> bool:
        return (self._compare or self._holding) and self._original is not None

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._holding = True
            self.update()

    def mouseReleaseEvent(self, event) -> None:
        if self._holding:
            self._holding = False
            self.update()

    # --- painting ----------------------------------------------------------------------------------------
    def face_rect(self) -> QRectF:
        margin = 20
        side = max(16, min(self.width(), self.height(), MAX_SIDE + 2 * margin) - 2 * margin)
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        image = self._original if self.showing_original() else self._image
        if image is None:
            painter.setPen(PLACEHOLDER)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message or "No face yet")
        else:
            rect = self.face_rect()
            for grow in (4, 2):
                painter.fillRect(rect.adjusted(-grow, -grow + 2, grow, grow + 2), SHADOW)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(rect, image)
            painter.setPen(QPen(FRAME, 1))
            painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))
            if self.showing_original():
                self._draw_caption(painter, rect, self._original_label)
        painter.end()
        self.painted_seq = self.seq
        self.facePainted.emit(self.seq)

    def _draw_caption(self, painter: QPainter, rect: QRectF, text: str) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        box = QRectF(rect.left() + 10, rect.top() + 10, metrics.horizontalAdvance(text) + 20, metrics.height() + 8)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 6, 6)
        painter.setPen(CAPTION)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
