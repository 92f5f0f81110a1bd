"""128 latent sliders, most informative (highest KL) first, inactive dimensions folded away."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import (QFrame, QLabel, QScrollArea, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from faceedit.core.activity import ACTIVE_KL
from faceedit.gui.widgets.plain_words import NAME_MIN_R, dimension_hint, dimension_hint_tooltip, dimension_label
from faceedit.gui.widgets.slider_row import SliderRow

SIGMAS = 3.0
LABEL_WIDTH = 40  # a bare "z127"
NAMED_LABEL_WIDTH = 124  # the widest label when some dimensions are named ("z127 · hair colour?"); longer ones elide


class DimLabel(QWidget):
    """``z12`` (or ``z12 · smile?``) over a thin bar whose length is the dimension's KL relative to the largest."""

    def __init__(self, dim: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = f"z{dim}"
        self.fraction = 0.0
        self.setFixedWidth(LABEL_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:
        return QSize(self.width(), 24)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.setPen(palette.color(palette.ColorRole.WindowText))
        text_rect = self.rect().adjusted(0, 0, -4, -5)
        text = QFontMetrics(self.font()).elidedText(self.text, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        bar_y = self.height() - 4
        painter.fillRect(0, bar_y, self.width() - 6, 2, QColor(0, 0, 0, 28))
        if self.fraction > 0:
            painter.fillRect(0, bar_y, max(1, round((self.width() - 6) * self.fraction)), 2, QColor("#4a7bd0"))


class LatentPanel(QWidget):
    """Signals: ``valueEdited(dim, value)`` live while dragging, ``editStarted(dim)`` when a drag or a
    typed value begins a new edit.  A double-click puts a slider back to the start face's value, as a
    ``valueEdited``."""

    valueEdited = Signal(int, float)
    editStarted = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("latentPanel")
        self.setAccessibleName("Latent sliders")
        self.rows: dict[int, SliderRow] = {}
        self._order: list[int] = []
        self._kl: list[float] = []

        self.summary = QLabel("Latent dimensions")
        self.summary.setObjectName("latentSummary")
        self.summary.setAccessibleName("Latent dimensions summary")
        self.summary.setWordWrap(True)

        self._content = QWidget()
        self._content.setObjectName("latentRows")
        self._active = QVBoxLayout()
        self._active.setSpacing(0)
        self._inactive_box = QWidget()
        self._inactive_box.setObjectName("inactiveGroup")
        self._inactive = QVBoxLayout(self._inactive_box)
        self._inactive.setContentsMargins(0, 0, 0, 0)
        self._inactive.setSpacing(0)
        self._inactive_box.setVisible(False)

        self.inactive_toggle = QToolButton()
        self.inactive_toggle.setObjectName("inactiveToggle")
        self.inactive_toggle.setAccessibleName("Show inactive dimensions")
        self.inactive_toggle.setCheckable(True)
        self.inactive_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.inactive_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.inactive_toggle.setAutoRaise(True)
        self.inactive_toggle.toggled.connect(self._fold)

        content = QVBoxLayout(self._content)
        content.setContentsMargins(4, 2, 10, 6)
        content.setSpacing(4)
        content.addLayout(self._active)
        content.addWidget(self.inactive_toggle)
        content.addWidget(self._inactive_box)
        content.addStretch(1)

        self.scroll = QScrollArea()
        self.scroll.setObjectName("latentScroll")
        self.scroll.setAccessibleName("Latent sliders")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self._content)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.summary)
        layout.addWidget(self.scroll, 1)

    # --- model ---------------------------------------------------------------------------------------------
    def set_model(self, kl_per_dim, mu_mean, mu_std, hints=()) -> None:
        """Build (first time) or re-range and re-order the rows for a model's statistics.  ``hints`` gives,
        per dimension, the attribute it correlates with most and r (or None): a strong one names the slider."""
        kl = [float(v) for v in kl_per_dim]
        dims = len(kl)
        hints = list(hints) + [None] * (dims - len(hints))
        label_width = NAMED_LABEL_WIDTH if any(dimension_hint(h) for h in hints) else LABEL_WIDTH
        for dim in range(dims):
            if dim not in self.rows:
                self.rows[dim] = self._make_row(dim)
        for dim in [d for d in self.rows if d >= dims]:
            self.rows.pop(dim).deleteLater()
        self._kl = kl
        self._order = sorted(range(dims), key=lambda d: (-kl[d], d))
        top = max(max(kl, default=0.0), 1e-9)
        for layout in (self._active, self._inactive):
            while layout.count():
                layout.takeAt(0)
        active = 0
        for rank, dim in enumerate(self._order, start=1):
            row = self.rows[dim]
            sigma = float(mu_std[dim]) if float(mu_std[dim]) > 1e-6 else 1.0
            centre = float(mu_mean[dim])
            row.set_range(centre - SIGMAS * sigma, centre + SIGMAS * sigma)
            row.label.fraction = min(1.0, kl[dim] / top)
            row.label.text = dimension_label(dim, hints[dim])
            row.label.setFixedWidth(label_width)
            row.label.update()
            words = dimension_hint(hints[dim])
            row.slider.setAccessibleDescription(f"probably {words}" if words else "")
            is_active = kl[dim] >= ACTIVE_KL
            active += is_active
            hint = dimension_hint_tooltip(hints[dim])
            carries = (f"How much this dimension carries (KL {kl[dim]:.3f} nats, rank {rank} of {dims}):\n"
                       "higher means moving it changes the face more."
                       if is_active else
                       f"Inactive: this dimension carries almost nothing (KL {kl[dim]:.3f} nats, rank {rank} of "
                       f"{dims}),\nso moving it barely changes the face.")
            row.setToolTip(
                f"Latent dimension {row.label.text}\n" + (f"{hint}\n" if hint else "") + f"{carries}\n"
                f"The slider spans the middle of the training faces (±3σ): {centre - SIGMAS * sigma:.2f} … "
                f"{centre + SIGMAS * sigma:.2f}\nDouble-click to reset to the start face's value")
            (self._active if is_active else self._inactive).addWidget(row)
        inactive = dims - active
        self.inactive_toggle.setText(f"Inactive dimensions ({inactive}, KL < {ACTIVE_KL})")
        self.inactive_toggle.setToolTip(f"Dimensions that carry almost nothing (KL below {ACTIVE_KL} nats): "
                                        "moving them barely changes the face")
        self.inactive_toggle.setVisible(inactive > 0)
        self.summary.setText(f"<b>Latent dimensions</b> · {active} active of {dims}, the ones that change the face "
                             "most first")
        self.summary.setToolTip("Ordered by KL (nats): how much each dimension carries. A name such as "
                                "“z12 · smile?” is the attribute it correlates with most (|r| ≥ "
                                f"{NAME_MIN_R}), a hint only.")

    def _make_row(self, dim: int) -> SliderRow:
        row = SliderRow(DimLabel(dim), f"latentSlider{dim}", f"Latent dimension {dim}", steps=1000, decimals=3)
        row.setObjectName(f"latentRow{dim}")
        row.edited.connect(lambda value, d=dim: self.valueEdited.emit(d, value))
        row.pressed.connect(lambda d=dim: self.editStarted.emit(d))
        return row

    def _fold(self, shown: bool) -> None:
        self._inactive_box.setVisible(shown)
        self.inactive_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    # --- values --------------------------------------------------------------------------------------------
    def set_latent(self, latent) -> None:
        for dim, row in self.rows.items():
            row.set_value(float(latent[dim]))

    def set_reset_values(self, latent) -> None:
        for dim, row in self.rows.items():
            row.reset_value = float(latent[dim])

    def set_value(self, dim: int, value: float) -> None:
        self.rows[dim].set_value(value)

    def slider(self, dim: int):
        return self.rows[dim].slider

    def order(self) -> list[int]:
        """Dimensions in display order (KL descending)."""
        return list(self._order)

    def active_dims(self) -> list[int]:
        return [d for d in self._order if self._kl[d] >= ACTIVE_KL]
