"""The model picker: bundled models, the user's model folder, files opened, and "Open model file…"."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

from faceedit.gui.widgets.plain_words import beta_words

OPEN_FILE = "\0open"  # item data of the "Open model file…" entry
SOURCE_ROLE = Qt.ItemDataRole.UserRole


class ModelPicker(QComboBox):
    """``provider()`` returns (bundled names, {user model name: path}); it is asked again each time the
    list opens, so a model added to (or removed from) the folder shows up without a restart.

    ``modelChosen(source)`` fires when the user picks another model; the picker keeps showing the
    loaded model until the window calls ``set_current`` (so a failed switch leaves it unchanged).
    """

    modelChosen = Signal(str)
    openFileRequested = Signal()

    def __init__(self, provider: Callable[[], tuple[list[str], dict[str, Path]]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("modelPicker")
        self.setAccessibleName("Model")
        self.setToolTip("The β-VAE model. " + beta_words() + "\nSwitching keeps the face: it is re-encoded into "
                        "the new model.")
        self.setMinimumContentsLength(14)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._provider = provider
        self._opened: list[str] = []
        self._current: str | None = None
        self._labels: dict[str, str] = {}
        self._model = QStandardItemModel(self)
        self.setModel(self._model)
        self.activated.connect(self._activated)
        self.refresh()

    def refresh(self) -> None:
        try:
            bundled, users = self._provider()
        except OSError:
            bundled, users = [], {}
        with QSignalBlocker(self):
            self._model.clear()
            self._header("Bundled models")
            for name in bundled:
                self._entry(name, name, f"Bundled model {name}. " + beta_words())
            self._header("Your models")
            if users:
                for name, path in users.items():
                    source = name if name not in bundled else str(path)
                    self._entry(name, source, str(path))
            else:
                self._header("  (none in your model folder)", note=True)
            if self._opened:
                self._header("Opened files")
                for path in self._opened:
                    self._entry(Path(path).stem, path, path)
            known = {self._model.item(i).data(SOURCE_ROLE) for i in range(self._model.rowCount())}
            if self._current and self._current not in known:
                self._entry(self._labels.get(self._current, Path(self._current).stem), self._current, self._current)
            self.insertSeparator(self._model.rowCount())
            self._entry("Open model file…", OPEN_FILE, "Open a FaceEdit model file (.pt)")
        self._select(self._current)

    def _header(self, text: str, note: bool = False) -> None:
        item = QStandardItem(text)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        font = QFont(self.font())
        font.setItalic(note)
        font.setBold(not note)
        item.setFont(font)
        self._model.appendRow(item)

    def _entry(self, label: str, source: str, tooltip: str) -> None:
        item = QStandardItem(label)
        item.setData(source, SOURCE_ROLE)
        item.setToolTip(tooltip)
        self._model.appendRow(item)

    def showPopup(self) -> None:
        self.refresh()
        super().showPopup()

    def _activated(self, index: int) -> None:
        source = self.itemData(index, SOURCE_ROLE)
        self._select(self._current)
        if source == OPEN_FILE:
            self.openFileRequested.emit()
        elif source and source != self._current:
            self.modelChosen.emit(source)

    def set_current(self, source: str, label: str | None = None) -> None:
        """Show ``source`` as the loaded model (a path not listed yet is added under "Opened files")."""
        self._current = source
        if label:
            self._labels[source] = label
        if Path(source).suffix and source not in self._opened and ("/" in source or "\\" in source):
            self._opened.append(source)
        self.refresh()

    def current_source(self) -> str | None:
        return self._current

    def sources(self) -> list[str]:
        out = []
        for i in range(self._model.rowCount()):
            source = self._model.item(i).data(SOURCE_ROLE)
            if source and source != OPEN_FILE:
                out.append(source)
        return out

    def _select(self, source: str | None) -> None:
        with QSignalBlocker(self):
            for i in range(self._model.rowCount()):
                if source is not None and self._model.item(i).data(SOURCE_ROLE) == source:
                    self.setCurrentIndex(i)
                    break
