"""Start faces: the model file's gallery, random samples from the prior, and photos the user opened."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem, QPushButton,
                               QTabWidget, QVBoxLayout, QWidget)

from faceedit.gui.widgets.pixels import screen_image

THUMB = 64
KINDS = ("model", "random", "photos")


def _thumb_list(name: str, accessible: str) -> QListWidget:
    view = QListWidget()
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setIconSize(QSize(THUMB, THUMB))
    view.setGridSize(QSize(THUMB + 10, THUMB + 10))
    view.setMovement(QListView.Movement.Static)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setUniformItemSizes(True)
    view.setSpacing(0)
    view.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
    return view


class GalleryPanel(QTabWidget):
    """Signals ``faceChosen(kind, index)`` (kind: model, random, photos), ``newSamplesRequested()``
    and ``openPhotoRequested()``."""

    faceChosen = Signal(str, int)
    newSamplesRequested = Signal()
    openPhotoRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("gallery")
        self.setAccessibleName("Start faces")
        self.setDocumentMode(True)
        self.lists = {
            "model": _thumb_list("galleryModelList", "Faces from the model's gallery"),
            "random": _thumb_list("galleryRandomList", "Random faces from the prior"),
            "photos": _thumb_list("galleryPhotoList", "Photos you opened"),
        }
        for kind, view in self.lists.items():
            view.itemClicked.connect(lambda item, k=kind: self._chosen(k, item))
            view.itemActivated.connect(lambda item, k=kind: self._chosen(k, item))

        self.new_samples = QPushButton("New samples")
        self.new_samples.setObjectName("newSamplesButton")
        self.new_samples.setAccessibleName("New random samples")
        self.new_samples.setToolTip("Draw new faces from the prior (uses the temperature in the toolbar)")
        self.new_samples.clicked.connect(self.newSamplesRequested)
        self.open_photo = QPushButton("Open photo…")
        self.open_photo.setObjectName("galleryOpenPhotoButton")
        self.open_photo.setAccessibleName("Open photo")
        self.open_photo.clicked.connect(self.openPhotoRequested)
        self.photo_hint = QLabel("Photos you open or drop on the window appear here.")
        self.photo_hint.setObjectName("photoHint")
        self.photo_hint.setAccessibleName("Photo hint")
        self.photo_hint.setWordWrap(True)
        self.photo_hint.setEnabled(False)

        self.addTab(self._page(self.lists["model"]), "Gallery")
        self.addTab(self._page(self.lists["random"], self.new_samples), "Random")
        self.addTab(self._page(self.lists["photos"], self.open_photo, self.photo_hint), "Photos")
        self.setTabToolTip(0, "Real held-out faces stored in the model file")
        self.setTabToolTip(1, "Samples from the prior")
        self.setTabToolTip(2, "Photos you opened")

    def _page(self, view: QListWidget, *extra: QWidget) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(view, 1)
        if extra:
            row = QHBoxLayout()
            for widget in extra:
                row.addWidget(widget)
            layout.addLayout(row)
        return page

    def _chosen(self, kind: str, item: QListWidgetItem) -> None:
        self.faceChosen.emit(kind, self.lists[kind].row(item))

    def set_faces(self, kind: str, images: list[QImage], labels: list[str] | None = None) -> None:
        view = self.lists[kind]
        view.clear()
        for i, image in enumerate(images):
            self.add_face(kind, image, labels[i] if labels and i < len(labels) else "")

    def add_face(self, kind: str, image: QImage, label: str = "") -> None:
        pixmap = QPixmap.fromImage(screen_image(image, THUMB, self.devicePixelRatioF()))
        item = QListWidgetItem(QIcon(pixmap), "")
        item.setToolTip(label)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, label or f"face {self.lists[kind].count() + 1}")
        self.lists[kind].addItem(item)
        if kind == "photos":
            self.photo_hint.setVisible(False)

    def face_count(self, kind: str) -> int:
        return self.lists[kind].count()
