"""Choose the square of a photo to encode: drag to move, wheel or slider to resize.  It starts on the
detected face (``set_faces``); with several, the user picks one in the list or clicks it."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QSlider, QVBoxLayout, QWidget)

MIN_SIDE = 16


def centre_box(width: int, height: int) -> tuple[int, int, int]:
    side = min(width, height)
    return (width - side) // 2, (height - side) // 2, side


class CropView(QWidget):
    """The photo, scaled to fit, with a movable square; ``boxChanged`` on every change."""

    boxChanged = Signal()
    facePicked = Signal(int)  # a click on a detected face other than the one in the square

    def __init__(self, image: QImage, box: tuple[int, int, int] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("cropView")
        self.setAccessibleName("Photo crop")
        self.setMinimumSize(360, 360)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.image = image
        self.left, self.top, self.side = box or centre_box(image.width(), image.height())
        self._drag: tuple[QPointF, int, int] | None = None
        self._exact_side: float | None = None  # the side before rounding, while the wheel turns
        self.faces: list[tuple[int, int, int]] = []  # detected faces' squares, shown dashed
        self.touched = False  # the user moved or resized the square

    def box(self) -> tuple[int, int, int]:
        return int(self.left), int(self.top), int(self.side)

    def max_side(self) -> int:
        return min(self.image.width(), self.image.height())

    def set_side(self, side: int) -> None:
        cx, cy = self.left + self.side / 2, self.top + self.side / 2
        self.side = int(min(self.max_side(), max(MIN_SIDE, side)))
        self._place(cx - self.side / 2, cy - self.side / 2)

    def _place(self, left: float, top: float) -> None:
        self.left = int(round(min(max(0, left), self.image.width() - self.side)))
        self.top = int(round(min(max(0, top), self.image.height() - self.side)))
        self.update()
        self.boxChanged.emit()

    def _scale(self) -> tuple[float, QPointF]:
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        shown = QPointF(self.image.width() * scale, self.image.height() * scale)
        return scale, QPointF((self.width() - shown.x()) / 2, (self.height() - shown.y()) / 2)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#e6e6e2"))
        scale, origin = self._scale()
        target = QRectF(origin.x(), origin.y(), self.image.width() * scale, self.image.height() * scale)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self.image)
        square = QRectF(origin.x() + self.left * scale, origin.y() + self.top * scale,
                        self.side * scale, self.side * scale)
        shade = QPainterPath()
        shade.addRect(target)
        hole = QPainterPath()
        hole.addRect(square)
        painter.fillPath(shade.subtracted(hole), QColor(0, 0, 0, 140))
        painter.setPen(QPen(QColor("#ffffff"), 2))
        painter.drawRect(square)
        painter.setPen(QPen(QColor(255, 255, 255, 90), 1))
        for k in (1, 2):  # rule of thirds
            x = square.left() + square.width() * k / 3
            y = square.top() + square.height() * k / 3
            painter.drawLine(QPointF(x, square.top()), QPointF(x, square.bottom()))
            painter.drawLine(QPointF(square.left(), y), QPointF(square.right(), y))
        painter.setPen(QPen(QColor(255, 220, 80, 200), 1.5, Qt.PenStyle.DashLine))
        for left, top, side in self.faces:
            if (left, top, side) != self.box():
                painter.drawRect(QRectF(origin.x() + left * scale, origin.y() + top * scale, side * scale, side * scale))

    def _photo_point(self, pos: QPointF) -> QPointF:
        scale, origin = self._scale()
        return (pos - origin) / scale

    def mousePressEvent(self, event) -> None:
        p = self._photo_point(event.position())
        inside = self.left <= p.x() < self.left + self.side and self.top <= p.y() < self.top + self.side
        for k, (left, top, side) in enumerate(self.faces):
            if not inside and left <= p.x() < left + side and top <= p.y() < top + side:
                self.facePicked.emit(k)
                return
        self.touched = True
        self._drag = (event.position(), self.left, self.top)
        self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        if self._drag is None:
            return
        start, left, top = self._drag
        scale, _ = self._scale()
        delta = (event.position() - start) / scale
        self._place(left + delta.x(), top + delta.y())

    def mouseReleaseEvent(self, event) -> None:
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def wheelEvent(self, event) -> None:
        """5% per notch (120 units).  A trackpad sends many small fractions of a notch, each too small to change
        the side by a whole pixel, so the exact side is kept between events instead of rounding each one."""
        if self._exact_side is None or round(self._exact_side) != self.side:  # the slider or Centre changed it
            self._exact_side = float(self.side)
        self.touched = True
        steps = event.angleDelta().y() / 120
        self._exact_side = min(float(self.max_side()), max(float(MIN_SIDE), self._exact_side * 0.95 ** steps))
        self.set_side(round(self._exact_side))
        event.accept()


class CropDialog(QDialog):
    """``CropDialog(image).exec()``; then ``box()`` is (left, top, side) in the photo's pixels."""

    def __init__(self, image: QImage, box: tuple[int, int, int] | None = None, parent: QWidget | None = None,
                 title: str = "Crop the face", detecting: bool = False):
        super().__init__(parent)
        self.setObjectName("cropDialog")
        self.setAccessibleName("Crop the face")
        self.setWindowTitle(title)
        self.view = CropView(image, box, self)
        self.tilts: dict[tuple[int, int, int], float] = {}  # detected square → its eye line's tilt
        hint = QLabel("Drag the square over the face; resize it with the slider or the mouse wheel. "
                      "The face works best filling most of the square, eyes about a third from the top.")
        hint.setObjectName("cropHint")
        hint.setAccessibleName("Crop hint")
        hint.setWordWrap(True)
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setObjectName("cropSizeSlider")
        self.size_slider.setAccessibleName("Crop size")
        self.size_slider.setRange(MIN_SIDE, max(MIN_SIDE, self.view.max_side()))
        self.size_slider.setValue(self.view.side)
        self.size_slider.valueChanged.connect(self.view.set_side)
        self.size_slider.sliderPressed.connect(lambda: setattr(self.view, "touched", True))
        self.status = QLabel("Looking for faces…" if detecting else "")
        self.status.setObjectName("cropStatus")
        self.status.setAccessibleName("Face detection")
        self.status.setWordWrap(True)
        self.status.setVisible(detecting)
        self.face_combo = QComboBox()
        self.face_combo.setObjectName("cropFaceCombo")
        self.face_combo.setAccessibleName("Detected faces")
        self.face_combo.setToolTip("Which detected face to encode (or click a dashed square in the photo)")
        self.face_combo.setVisible(False)
        self.face_combo.activated.connect(self.pick_face)
        self.view.facePicked.connect(self.pick_face)
        self.view.boxChanged.connect(self._sync_slider)
        reset = QPushButton("Centre")
        reset.setObjectName("cropResetButton")
        reset.setAccessibleName("Centre the crop")
        reset.clicked.connect(self._centre)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.setObjectName("cropButtons")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Encode")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setObjectName("cropOkButton")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setAccessibleName("Encode the crop")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cropCancelButton")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        size_row = QHBoxLayout()
        size_label = QLabel("Size")
        size_row.addWidget(size_label)
        size_row.addWidget(self.size_slider, 1)
        size_row.addWidget(reset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.setSpacing(10)
        layout.addWidget(hint)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.face_combo)
        layout.addLayout(status_row)
        layout.addWidget(self.view, 1)
        layout.addLayout(size_row)
        layout.addWidget(buttons)
        self.resize(560, 640)

    def _sync_slider(self) -> None:
        with QSignalBlocker(self.size_slider):
            self.size_slider.setValue(self.view.side)

    def _centre(self) -> None:
        self.view.left, self.view.top, self.view.side = centre_box(self.view.image.width(), self.view.image.height())
        self._sync_slider()
        self.view.update()

    def box(self) -> tuple[int, int, int]:
        return self.view.box()

    def choice(self) -> tuple:
        """The square, plus the detected face's tilt when the square is still exactly on that face."""
        box = self.box()
        return (*box, self.tilts[box]) if box in self.tilts else box

    def set_faces(self, faces: list[tuple]) -> None:
        """The detector's answer, largest first: each face's square (left, top, side), its width in
        photo pixels, whether it is too small to edit, and (optionally) its tilt in degrees.  The square
        moves to the first face that is large enough, unless the user has already moved it."""
        usable = [box for box, _, small, *_ in faces if not small]
        self.tilts = {box: tilt[0] for box, _, small, *tilt in faces if tilt}
        self.view.faces = usable
        self.face_combo.clear()
        for k, (left, top, side) in enumerate(usable):
            self.face_combo.addItem(f"Face {k + 1} ({side} px)")
        self.face_combo.setVisible(len(usable) > 1)
        if usable:
            self.status.setText("Found a face: the square is on it." if len(usable) == 1 else
                                f"Found {len(usable)} faces: pick one in the list or click its dashed square.")
        elif faces:
            width = max(face[1] for face in faces)
            self.status.setText(f"Face too small ({width} px wide): crop it by hand, "
                                "or open a larger photo.")
        else:
            self.status.setText("No face found: the square starts from the centre; drag it over the face.")
        self.status.setVisible(True)
        if usable and not self.view.touched:
            self.pick_face(0)
        self.view.update()

    def pick_face(self, index: int) -> None:
        if 0 <= index < len(self.view.faces):
            left, top, side = self.view.faces[index]
            self.view.side = int(min(self.view.max_side(), max(MIN_SIDE, side)))
            self.view._place(left, top)
            self._sync_slider()
            self.face_combo.setCurrentIndex(index)
