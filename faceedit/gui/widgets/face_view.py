"""The large face: the 64×64 output drawn smoothly upscaled, or, for a photo, the whole photo with the
edit put back; with a before/after split view (a draggable divider) and zoom and pan (wheel or pinch to
zoom, drag to pan, double-click to fit)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from faceedit.gui.widgets.pixels import rgb32, rgb32_image

BACKGROUND = QColor("#e6e6e2")
FRAME = QColor("#c9c9c4")
SHADOW = QColor(0, 0, 0, 18)
CAPTION = QColor(255, 255, 255, 230)
PLACEHOLDER = QColor("#6b6e74")
MAX_MAGNIFY = 8.0  # at zoom 1 a picture is drawn at most 8× its own size (the 64-pixel face: 512)
MAX_ZOOM = 8.0
GRAB = 8  # px either side of the divider that pick it up


class FaceView(QWidget):
    """Shows the current face; ``compare`` splits it into before (left of a draggable divider, the
    original) and after (right); holding the mouse on the unzoomed face shows the original whole.

    ``facePainted(seq)`` is emitted after each repaint, with the sequence number of the face shown,
    so a benchmark can time a slider change to the repainted face.
    """

    facePainted = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("faceView")
        self.setAccessibleName("Face")
        self.setAccessibleDescription("The edited face. Compare splits it into before and after with a "
                                      "draggable divider. Wheel or pinch to zoom, drag to pan, "
                                      "double-click to fit. Hold the mouse button on it to see the original.")
        self.setMinimumSize(280, 280)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._rgb: bytes | None = None
        self._image: QImage | None = None
        self.seq = 0
        self.painted_seq = 0
        self._original: QImage | None = None
        self._original_label = "Original"
        self._photo: QImage | None = None  # the edited photo; while set, it is shown instead of the face
        self._photo_original: QImage | None = None
        self._photo_pixels: np.ndarray | None = None  # the edited photo's B, G, R, 255 (``_photo`` shows them)
        self._photo_original_pixels: np.ndarray | None = None
        self._compare = False
        self._holding = False
        self._message = "Loading the model…"
        self.split = 0.5  # the divider, as a fraction of the face's width (before on its left)
        self.zoom = 1.0   # 1 fits the face in the view
        self.pan = QPointF(0, 0)  # offset of the zoomed face's centre, view pixels
        self._drag: tuple[str, QPointF, QPointF] | None = None  # ("divider" | "pan", start, pan at start)
        self.setMouseTracking(True)
        self.grabGesture(Qt.GestureType.PinchGesture)

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

    def show_photo(self, rgb: bytes | None, width: int = 0, height: int = 0) -> None:
        """Show a whole photo (packed RGB888, as opened: the original for compare, and the start of the
        edited copy that ``paste_photo`` changes), or None for the face alone.  Both are kept as 32-bit
        pixels (``Format_RGB32``), which Qt scales several times faster than 24-bit ones."""
        if rgb is None:
            self._photo = self._photo_original = self._photo_pixels = self._photo_original_pixels = None
        else:
            self._photo_original_pixels = rgb32(np.frombuffer(rgb, np.uint8).reshape(height, width, 3))
            self._photo_pixels = self._photo_original_pixels.copy()
            self._photo_original = rgb32_image(self._photo_original_pixels)
            self._photo = rgb32_image(self._photo_pixels)  # QImage does not own its pixels: these stay alive
        self.update()

    def paste_photo(self, left: int, top: int, width: int, height: int, pixels: bytes) -> None:
        """The edited pixels of one region of the photo shown (the face's; the rest is the photo), in
        ``rgb32``'s order (the worker converts them, so this is a plain copy)."""
        if self._photo_pixels is not None and width and height:
            self._photo_pixels[top:top + height, left:left + width] = \
                np.frombuffer(pixels, np.uint8).reshape(height, width, 4)
            self.update()

    def showing_photo(self) -> bool:
        return self._photo is not None

    def photo_size(self) -> tuple[int, int] | None:
        return None if self._photo is None else (self._photo.width(), self._photo.height())

    def _pictures(self) -> tuple[QImage | None, QImage | None]:
        """(edited, original): the photo pair while a photo is shown, else the face pair."""
        if self._photo is not None:
            return self._photo, self._photo_original
        return self._image, self._original

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
        """The original is on screen: the left side of the split, or all of it while the mouse is held."""
        return (self._compare or self._holding) and self._pictures()[1] is not None

    def splitting(self) -> bool:
        edited, original = self._pictures()
        return self._compare and not self._holding and original is not None and edited is not None

    def set_split(self, fraction: float) -> None:
        self.split = min(1.0, max(0.0, float(fraction)))
        self.update()

    def divider_x(self) -> float:
        rect = self.face_rect()
        return rect.left() + self.split * rect.width()

    # --- zoom and pan ---------------------------------------------------------------------------------
    def set_zoom(self, zoom: float, about: QPointF | None = None) -> None:
        """Zoom (1 = fit, up to 8×) keeping the point ``about`` (view pixels; default the centre) still."""
        zoom = min(MAX_ZOOM, max(1.0, float(zoom)))
        centre = QPointF(self.width() / 2, self.height() / 2)
        about = centre if about is None else QPointF(about)
        k = zoom / self.zoom
        self.pan = (self.pan + centre - about) * k + about - centre
        self.zoom = zoom
        self._clamp_pan()
        self.update()

    def fit(self) -> None:
        self.zoom, self.pan = 1.0, QPointF(0, 0)
        self.update()

    def _clamp_pan(self) -> None:
        fit = self.fit_rect()
        x, y = fit.width() * (self.zoom - 1) / 2, fit.height() * (self.zoom - 1) / 2
        self.pan = QPointF(min(x, max(-x, self.pan.x())), min(y, max(-y, self.pan.y())))

    def wheelEvent(self, event) -> None:
        if self._image is None:
            return
        self.set_zoom(self.zoom * 1.25 ** (event.angleDelta().y() / 120), event.position())
        event.accept()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.NativeGesture and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
            self.set_zoom(self.zoom * (1 + event.value()), event.position())
            return True
        if event.type() == QEvent.Type.Gesture:
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if pinch is not None:
                self.set_zoom(self.zoom * pinch.scaleFactor(), self.mapFromGlobal(pinch.centerPoint().toPoint()))
                return True
        return super().event(event)

    def mouseDoubleClickEvent(self, event) -> None:
        self.fit()

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.position()
        if self.splitting() and abs(pos.x() - self.divider_x()) <= GRAB:
            self._drag = ("divider", pos, self.pan)
        elif self.zoom > 1:
            self._drag = ("pan", pos, self.pan)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        else:
            self._holding = True
        self.update()

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        if self._drag is None:
            near = self.splitting() and abs(pos.x() - self.divider_x()) <= GRAB
            self.setCursor(Qt.CursorShape.SplitHCursor if near else
                           Qt.CursorShape.OpenHandCursor if self.zoom > 1 else Qt.CursorShape.ArrowCursor)
            return
        kind, start, pan = self._drag
        if kind == "divider":
            rect = self.face_rect()
            self.set_split((pos.x() - rect.left()) / max(1.0, rect.width()))
        else:
            self.pan = pan + pos - start
            self._clamp_pan()
            self.update()

    def mouseReleaseEvent(self, event) -> None:
        self._drag = None
        self.unsetCursor()
        if self._holding:
            self._holding = False
            self.update()

    # --- painting ----------------------------------------------------------------------------------------
    def fit_rect(self) -> QRectF:
        """Where the picture (the face, or the photo) is drawn at zoom 1: as large as fits, up to 8×."""
        margin = 20
        picture = self._pictures()[0] or self._pictures()[1]
        w, h = (picture.width(), picture.height()) if picture is not None else (64, 64)
        room_w, room_h = max(16, self.width() - 2 * margin), max(16, self.height() - 2 * margin)
        k = min(room_w / w, room_h / h, MAX_MAGNIFY)
        return QRectF((self.width() - w * k) / 2, (self.height() - h * k) / 2, w * k, h * k)

    def face_rect(self) -> QRectF:
        """Where the picture is drawn, zoomed and panned."""
        fit = self.fit_rect()
        w, h = fit.width() * self.zoom, fit.height() * self.zoom
        centre = fit.center() + self.pan
        return QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        split = self.splitting()
        edited, original = self._pictures()
        image = edited if split else original if self.showing_original() else edited
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
            if split:
                x = self.divider_x()
                painter.save()
                painter.setClipRect(QRectF(rect.left(), rect.top(), x - rect.left(), rect.height()))
                painter.drawImage(rect, original)
                painter.restore()
                painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
                painter.drawLine(QPointF(x, max(0.0, rect.top())), QPointF(x, min(float(self.height()), rect.bottom())))
                visible = rect.intersected(QRectF(self.rect()))
                self._draw_caption(painter, visible, self._before_label())
                self._draw_caption(painter, visible, "Edited", right=True)
            elif self.showing_original():
                self._draw_caption(painter, rect.intersected(QRectF(self.rect())), self._before_label())
        painter.end()
        self.painted_seq = self.seq
        self.facePainted.emit(self.seq)

    def _before_label(self) -> str:
        return "Original photo" if self._photo is not None else self._original_label

    def _draw_caption(self, painter: QPainter, rect: QRectF, text: str, right: bool = False) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        width = metrics.horizontalAdvance(text) + 20
        box = QRectF(rect.right() - 10 - width if right else rect.left() + 10, rect.top() + 10, width,
                     metrics.height() + 8)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 6, 6)
        painter.setPen(CAPTION)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
