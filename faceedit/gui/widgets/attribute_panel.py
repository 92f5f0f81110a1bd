"""Named attribute sliders built from the model file's attribute directions."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from faceedit.gui.widgets.slider_row import SliderRow

SHOWN = ("Smiling", "Male", "Young", "Eyeglasses", "Blond_Hair", "Black_Hair", "Bangs", "Mustache",
         "Heavy_Makeup", "Wavy_Hair")
RANGE = 3.0  # an amount of +1 turns a typical face without the attribute into one with it


def pretty(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:].lower()


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
        self.more.setToolTip("Add a slider for another attribute of the model")
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

    def set_attributes(self, names) -> None:
        """Show the usual attributes the model has (plus any the user added), offer the rest in More…."""
        self._names = list(names)
        wanted = [n for n in SHOWN if n in self._names] + [n for n in self._extra if n in self._names]
        for name in list(self.rows):
            if name not in wanted:
                row = self.rows.pop(name)
                self._rows.removeWidget(row)
                row.deleteLater()
        for name in wanted:
            if name not in self.rows:
                self._add_row(name)
        self._fill_more()
        self.empty.setVisible(not self._names)

    def _add_row(self, name: str) -> None:
        label = QLabel(pretty(name))
        label.setFixedWidth(96)
        row = SliderRow(label, f"attributeSlider{name}", f"Attribute {pretty(name)}", steps=600, decimals=2,
                        limits=(-10.0, 10.0))
        row.setObjectName(f"attributeRow{name}")
        row.set_range(-RANGE, RANGE, reset_value=0.0)
        row.setToolTip(f"{pretty(name)}: +1 turns a typical face without it into one with it, "
                       "from where the face is now.\nDouble-click to take it back out.")
        row.edited.connect(lambda value, n=name: self.amountEdited.emit(n, value))
        row.pressed.connect(lambda n=name: self.editStarted.emit(n))
        self.rows[name] = row
        self._rows.addWidget(row)

    def _fill_more(self) -> None:
        rest = [n for n in self._names if n not in self.rows]
        self.more.clear()
        self.more.addItem("More attributes…" if rest else "All attributes shown")
        for name in rest:
            self.more.addItem(pretty(name), name)
        self.more.setEnabled(bool(rest))

    def _more_chosen(self, index: int) -> None:
        name = self.more.itemData(index)
        if name:
            self.add_attribute(name)

    def add_attribute(self, name: str) -> None:
        if name in self._names and name not in self.rows:
            self._extra.append(name)
            self._add_row(name)
            self._fill_more()
        self.more.setCurrentIndex(0)

    def set_amounts(self, amounts: dict[str, float]) -> None:
        for name, row in self.rows.items():
            row.set_value(float(amounts.get(name, 0.0)))

    def slider(self, name: str):
        return self.rows[name].slider
