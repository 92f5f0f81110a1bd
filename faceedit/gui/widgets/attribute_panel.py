"""Named attribute sliders built from the model file's attribute directions."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from faceedit.gui.widgets.plain_words import pretty
from faceedit.gui.widgets.slider_row import SliderRow

SHOWN = ("Smiling", "Male", "Young", "Eyeglasses", "Blond_Hair", "Black_Hair", "Bangs", "Mustache",
         "Heavy_Makeup", "Wavy_Hair")
RANGE = 3.0  # slider span, in edits of +1
UNIT_FLIP = 0.8  # what +1 flips in files that do not say (the first calibrated ones; training.edits)
CANNOT_RENDER = "Cannot render with this model"
GREYED = QColor("#9a9da3")


def row_tooltip(name: str, scaled: bool, unit_flip: float | None = None) -> str:
    label = pretty(name).lower()
    if scaled:
        unit = (f"+1 makes {label} visible on {unit_flip or UNIT_FLIP:.0%} of faces without it\n(measured with an attribute "
                "judge on held-out faces); −1 moves the other way by as much.")
    else:
        unit = ("this model file's directions are unscaled: +1 is one step along the direction found in training,\n"
                "and how visible it makes the attribute was not measured.")
    return f"{pretty(name)}: {unit}\nThe edit starts from where the face is now. Double-click to take it back out."


class AttributePanel(QWidget):
    """Signals ``amountEdited(name, amount)`` live while dragging and ``editStarted(name)``."""

    amountEdited = Signal(str, float)
    editStarted = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("attributePanel")
        self.setAccessibleName("Attribute sliders")
        self.rows: dict[str, SliderRow] = {}
        self._names: list[str] = []
        self._extra: list[str] = []  # attributes the user asked for with "More…"
        self._problems: dict[str, str] = {}  # attributes the model cannot render → why, measured
        self._scaled = False
        self._unit_flip: float | None = None

        self.title = QLabel("<b>Attributes</b> · move the face along a named direction")
        self.title.setObjectName("attributeTitle")
        self.title.setAccessibleName("Attributes")
        self.empty = QLabel("This model file has no attribute directions.")
        self.empty.setObjectName("attributeEmpty")
        self.empty.setAccessibleName("No attributes")
        self.empty.setEnabled(False)
        self.empty.setVisible(False)  # until a model's attributes arrive (not while a model loads)
        self.more = QComboBox()
        self.more.setObjectName("moreAttributesCombo")
        self.more.setAccessibleName("More attributes")
        self.more.setToolTip("Add a slider for another attribute of the model; greyed ones this model cannot show")
        self.more.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.more.activated.connect(self._more_chosen)

        self._rows = QVBoxLayout()
        self._rows.setSpacing(0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.empty)
        layout.addLayout(self._rows)
        layout.addWidget(self.more)

    def set_attributes(self, names, problems: dict[str, str] | None = None, scaled: bool = False,
                       unit_flip: float | None = None) -> None:
        """Show the usual attributes the model has (plus any the user added), offer the rest in More…;
        ``problems`` (name → measured reason) are the ones the model cannot render: listed greyed out, never
        as sliders.  ``scaled`` says whether +1 is a measured unit, flipping ``unit_flip`` of the faces
        without the attribute (the tooltips say which)."""
        self._names = list(names)
        self._problems = {n: str(p) for n, p in (problems or {}).items() if n in self._names}
        offered = [n for n in self._names if n not in self._problems]
        wanted = [n for n in SHOWN if n in offered] + [n for n in self._extra if n in offered]
        self._scaled, self._unit_flip = scaled, unit_flip
        for name in list(self.rows):
            self.rows[name].setToolTip(row_tooltip(name, scaled, unit_flip))
            if name not in wanted:
                row = self.rows.pop(name)
                self._rows.removeWidget(row)
                row.deleteLater()
        for name in wanted:
            if name not in self.rows:
                self._add_row(name)
            self._rows.removeWidget(self.rows[name])  # keep the usual order when one comes back
            self._rows.addWidget(self.rows[name])
        self._fill_more()
        self.empty.setVisible(not self._names)

    def _add_row(self, name: str) -> None:
        label = QLabel(pretty(name))
        label.setFixedWidth(96)
        row = SliderRow(label, f"attributeSlider{name}", f"Attribute {pretty(name)}", steps=600, decimals=2,
                        limits=(-10.0, 10.0))
        row.setObjectName(f"attributeRow{name}")
        row.set_range(-RANGE, RANGE, reset_value=0.0)
        row.setToolTip(row_tooltip(name, self._scaled, self._unit_flip))
        row.edited.connect(lambda value, n=name: self.amountEdited.emit(n, value))
        row.pressed.connect(lambda n=name: self.editStarted.emit(n))
        self.rows[name] = row
        self._rows.addWidget(row)

    def _fill_more(self) -> None:
        """More…: first (greyed, with the measured reason as tooltip) what this model cannot render, then the
        attributes that can be added as sliders."""
        rest = [n for n in self._names if n not in self.rows and n not in self._problems]
        self.more.clear()
        self.more.addItem("More attributes…" if rest or self._problems else "All attributes shown")
        if self._problems:
            self._add_disabled(CANNOT_RENDER + ":", "Measured: this model does not show these attributes", header=True)
            for name in self._names:
                if name in self._problems:
                    self._add_disabled(f"   {pretty(name)}", self._problems[name], name)
            if rest:
                self.more.insertSeparator(self.more.count())
        for name in rest:
            self.more.addItem(pretty(name), name)
        self.more.setEnabled(bool(rest or self._problems))

    def _add_disabled(self, text: str, tooltip: str, name: str | None = None, header: bool = False) -> None:
        """A greyed entry of More…: it can be read (with its tooltip) but not chosen."""
        self.more.addItem(text, name)
        item = self.more.model().item(self.more.count() - 1)
        item.setToolTip(tooltip)
        item.setEnabled(False)
        item.setForeground(GREYED)  # explicit: the window's palette gives disabled text the normal colour
        if header:
            font = QFont(self.more.font())
            font.setItalic(True)
            item.setFont(font)

    def unrenderable(self) -> dict[str, str]:
        """The attributes listed greyed out, with the reason each shows as its tooltip."""
        return dict(self._problems)

    def _more_chosen(self, index: int) -> None:
        name = self.more.itemData(index)
        if name:
            self.add_attribute(name)

    def add_attribute(self, name: str) -> None:
        if name in self._names and name not in self.rows and name not in self._problems:
            self._extra.append(name)
            self._add_row(name)
            self._fill_more()
        self.more.setCurrentIndex(0)

    def set_amounts(self, amounts: dict[str, float]) -> None:
        for name, row in self.rows.items():
            row.set_value(float(amounts.get(name, 0.0)))

    def slider(self, name: str):
        return self.rows[name].slider
