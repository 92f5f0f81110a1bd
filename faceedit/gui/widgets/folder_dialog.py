"""Choose a folder to export into, existing or not yet made (Qt's own folder dialog refuses a name
that does not exist; the export makes the folder)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QWidget


class FolderDialog(QFileDialog):
    """A folder picker that also accepts a new folder's name typed into it."""

    def __init__(self, parent: QWidget | None, title: str, start: str):
        super().__init__(parent, title, start)
        self.setObjectName("folderDialog")
        self.setAccessibleName(title)
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setOption(QFileDialog.Option.ShowDirsOnly, True)
        self.setFileMode(QFileDialog.FileMode.Directory)
        self.setLabelText(QFileDialog.DialogLabel.Accept, "Export Here")
        self.chosen: str | None = None

    def accept(self) -> None:
        files = self.selectedFiles()
        if files and not Path(files[0]).exists() and Path(files[0]).parent.is_dir():
            self.chosen = files[0]  # a new folder: the export makes it
            QDialog.accept(self)
            return
        super().accept()
        if self.result() == QDialog.DialogCode.Accepted and self.selectedFiles():
            self.chosen = self.selectedFiles()[0]

    def folder(self) -> str | None:
        return self.chosen


def ask_folder(parent: QWidget | None, title: str, start: str) -> str | None:
    dialog = FolderDialog(parent, title, start)
    return dialog.folder() if dialog.exec() == QDialog.DialogCode.Accepted else None
