"""The window's ways of opening things: the Open dialogs, Open Recent, drag and drop, photos (with the
crop dialog), latent files and model files.  The document does the work; this asks and reports."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from faceedit.formats import catalog
from faceedit.gui import settings as app_settings
from faceedit.gui.widgets.pixels import image_bytes, rgb_image, screen_image

PHOTO_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif *.tif *.tiff *.heic *.heif *.ppm *.pgm)"
OPEN_FILTER = f"Projects, photos, latents and models (*.faceedit {PHOTO_FILTER[8:-1]} *.json *.pt);;" \
              f"FaceEdit project (*.faceedit);;{PHOTO_FILTER};;Latent (*.json);;FaceEdit model (*.pt);;All files (*)"


def face_squares(rgb: np.ndarray) -> list[tuple[tuple[int, int, int], int, bool, float]]:
    """Each detected face's aligned crop as a square (left, top, side) of the photo (the crop dialog's
    box), its width in pixels, whether it is too small, and the crop's rotation in degrees (the eye
    line's tilt: the face is encoded with its eyes level); largest first."""
    from faceedit.core.faces import detect_faces  # OpenCV only, no torch

    found = []
    for face in detect_faces(rgb):
        side = max(1, round(face.side))
        found.append(((round(face.cx - (side - 1) / 2), round(face.cy - (side - 1) / 2), side),
                      round(face.size), face.too_small, round(face.angle, 2)))
    return found


class FaceFinder(QObject):
    """Runs the detector in a thread (about 0.5 s on a 12-megapixel photo); ``found`` arrives in the
    GUI thread.  ``find`` is the detector (tests replace it)."""

    found = Signal(object)
    find = staticmethod(face_squares)

    def start(self, image) -> "FaceFinder":
        data, width, height = image_bytes(image)
        rgb = np.frombuffer(data, np.uint8).reshape(height, width, 3)

        def run() -> None:
            try:
                faces = type(self).find(rgb)
            except Exception:  # noqa: BLE001 — detection is a help; without it the crop is by hand
                faces = []
            self.found.emit(faces)
        threading.Thread(target=run, name="face-finder", daemon=True).start()
        return self


class OpenMixin:
    """Open…, Open Model File…, the model folder, Open Recent and drops (for ``MainWindow``)."""

    def open_model_dialog(self) -> None:
        path = self.ask_open_path("Open model file", "FaceEdit model (*.pt);;All files (*)")
        if path:
            app_settings.remember(self.settings, path)
            self.switch_model(str(Path(path).resolve()))

    def show_model_folder(self) -> None:
        folder = catalog.user_models_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self.show_error("Could not create the model folder", f"{folder}: {e.strerror or e}")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def open_dialog(self) -> None:
        path = self.ask_open_path("Open project, photo, latent or model", OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_photo_dialog(self) -> None:
        path = self.ask_open_path("Open photo", f"{PHOTO_FILTER};;All files (*)")
        if path:
            self.open_path(path)

    def open_path(self, path: str | os.PathLike) -> bool:
        """Open a project (.faceedit), a photo (any Pillow format), a latent (.json) or a model file (.pt)."""
        path = str(path)
        if self.document.switching:  # Open Recent and drag and drop stay live while a model loads
            self.statusBar().showMessage(f"A model is loading; open {Path(path).name} again when it is ready.", 5000)
            return False
        suffix = Path(path).suffix.lower()
        if suffix == ".faceedit":
            return self.open_project_file(path)
        if suffix == ".json":
            return self.document.open_latent(path)
        if suffix == ".pt":
            if not Path(path).exists():
                self.show_error("Could not open the model", f"{path}: no such file")
                return False
            app_settings.remember(self.settings, path)
            self.switch_model(str(Path(path).resolve()))
            return True
        return self.open_photo_file(path)

    def open_photo_file(self, path: str | os.PathLike, box: tuple | None = None) -> bool:
        """Open a photo upright (EXIF), let the user choose the square (left, top, side[, tilt in
        degrees]), then encode it in the worker."""
        from faceedit.core.images import PhotoError, open_photo  # the worker has imported torch by now

        if self.state is None:
            return False
        try:
            photo = open_photo(path)
        except PhotoError as e:
            self.show_error("Could not open the photo", f"{e}\n\nYour face and history are unchanged.")
            return False
        image = rgb_image(photo.tobytes(), photo.width, photo.height)
        if box is None:
            box = self.ask_crop(image, str(path))
            if box is None:
                return False
        left, top, side, *tilt = box  # a detected face's square comes with its eye line's tilt
        box, angle = (left, top, side), float(tilt[0]) if tilt else 0.0
        shown = screen_image(image.copy(left, top, side, side), 512, self.devicePixelRatioF(),
                             Qt.AspectRatioMode.IgnoreAspectRatio)
        app_settings.remember(self.settings, path)
        self.document.encode_photo(photo, box, str(path), shown, angle)
        return True

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])
