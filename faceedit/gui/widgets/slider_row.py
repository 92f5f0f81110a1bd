"""One labelled slider with a typeable value: the row used by the latent and attribute panels."""
from __future__ import annotations

import math

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QHBoxLayout, QSlider, QWidget

from faceedit.gui.widgets.spin_box import release_style_cache


class ResettableSlider(QSlider):
    """A horizontal slider that reports double-clicks (double-click resets)."""

    doubleClicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)

    def mouseDoubleClickEvent(self, event) -> None:
        self.doubleClicked.emit()
        event.accept()


class SliderRow(QWidget):
    """[label] [slider] [value]: the slider spans ``lo``…``hi`` in ``steps`` steps; the value box
    shows the exact value and accepts any typed number in ``limits``.

    ``edited(value)`` fires on every user change (live while dragging); ``pressed()`` when a drag
    starts; double-click sets ``reset_value``.  ``set_value`` never emits.
    """

    edited = Signal(float)
    pressed = Signal()

    def __init__(self, label: QWidget, slider_name: str, accessible: str, *, steps: int = 1000,
                 decimals: int = 2, limits: tuple[float, float] = (-100.0, 100.0), parent: QWidget | None = None):
        super().__init__(parent)
        self.steps = steps
        self.lo, self.hi = -1.0, 1.0
        self.reset_value = 0.0
        self._value = 0.0

        self.label = label
        self.slider = ResettableSlider(self)
        self.slider.setObjectName(slider_name)
        self.slider.setAccessibleName(accessible)
        self.slider.setRange(0, steps)
        self.slider.setPageStep(steps // 20)
        self.slider.setSingleStep(max(1, steps // 200))
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.spin = release_style_cache(QDoubleSpinBox(self))
        self.spin.setObjectName(slider_name.replace("Slider", "Value"))
        self.spin.setAccessibleName(f"{accessible} value")
        self.spin.setDecimals(decimals)
        self.spin.setRange(*limits)
        self.spin.setSingleStep(0.05)
        self.spin.setKeyboardTracking(False)  # typing commits on Enter or focus-out, not per key
        self.spin.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.spin.setFixedWidth(62)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 1, 0, 1)
        layout.setSpacing(8)
        layout.addWidget(label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)

        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderPressed.connect(self.pressed)
        self.slider.doubleClicked.connect(self.reset)
        self.spin.valueChanged.connect(self._typed)

    # --- values ------------------------------------------------------------------------------------------
    def set_range(self, lo: float, hi: float, reset_value: float | None = None) -> None:
        self.lo, self.hi = float(lo), float(hi)
        if reset_value is not None:
            self.reset_value = float(reset_value)
        self.set_value(self._value)

    def value(self) -> float:
        return self._value

    def position_of(self, value: float) -> int:
        span = self.hi - self.lo
        if not (math.isfinite(value) and math.isfinite(span)):
            return 0  # never raises, whatever a model or file produced
        pos = round((value - self.lo) / span * self.steps) if span > 0 else 0
        return min(self.steps, max(0, pos))

    def value_at(self, position: int) -> float:
        return self.lo + (self.hi - self.lo) * position / self.steps

    def set_value(self, value: float) -> None:
        """Show a value without emitting (the slider clamps to its range, the box shows it exactly)."""
        self._value = float(value)
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(self.position_of(self._value))
            self.spin.setValue(self._value)

    def reset(self) -> None:
        self.set_value(self.reset_value)
        self.edited.emit(self._value)

    def _slider_moved(self, position: int) -> None:
        self._value = self.value_at(position)
        with QSignalBlocker(self.spin):
            self.spin.setValue(self._value)
        self.edited.emit(self._value)

    def _typed(self, value: float) -> None:
        self._value = float(value)
        with QSignalBlocker(self.slider):
            self.slider.setValue(self.position_of(self._value))
        self.pressed.emit()  # a typed value is an edit of its own for undo
        self.edited.emit(self._value)

    def setToolTip(self, text: str) -> None:
        super().setToolTip(text)
        for widget in (self.label, self.slider, self.spin):
            widget.setToolTip(text)
