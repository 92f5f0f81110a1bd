"""The window's export commands: dialogs and messages around ``faceedit.formats.export``, which does
the writing (all or nothing, shared with the CLI)."""
from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from faceedit.formats import export
from faceedit.gui import settings as app_settings
from faceedit.gui.widgets.pixels import image_bytes

FACE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def _pil(rgb: bytes, width: int, height: int, size: int) -> Image.Image:
    image = Image.frombytes("RGB", (width, height), rgb)
    return image if size == width else image.resize((size, size), Image.Resampling.LANCZOS)


class ExportMixin:
    """Export Face, Export Latent, Copy Face, and the timeline's GIF and frames (for ``MainWindow``)."""

    def set_export_size(self, size: int) -> None:
        self.export_size = int(size)
        self.size_actions[self.export_size].setChecked(True)

    def _suggested_name(self, suffix: str) -> str:
        name = self.info.name if self.info else "face"
        return f"{name}-face{suffix}"

    def export_face_dialog(self) -> None:
        """Export the face; while a photo is shown whole, the whole edited photo."""
        if self.face_view.showing_photo():
            photo = self.document.current_photo()
            name = f"{Path(photo[0].name).stem if photo else 'photo'}-edited.jpg"
            path = self.ask_save_path("Export photo", name, "JPEG image (*.jpg *.jpeg);;PNG image (*.png);;"
                                      "WebP image (*.webp);;TIFF image (*.tif *.tiff)")
            if path:
                self.export_photo(path)
            return
        path = self.ask_save_path("Export face", self._suggested_name(".png"),
                                  "PNG image (*.png);;JPEG image (*.jpg *.jpeg)")
        if path:
            self.export_face(path)

    def export_photo(self, path: str | os.PathLike, width: int | None = None) -> bool:
        """The whole photo with the edit put back, at the photo's own resolution (or ``width`` pixels
        wide), read again from the file; EXIF (without GPS) and the ICC profile are kept."""
        from faceedit.core.composite import Composite
        from faceedit.core.images import PhotoError, open_full_photo

        title = "Could not export the photo"
        if self.document.photo_scene() is None:
            self.show_error(title, "No photo is shown: open a photo, with View ▸ Whole Photo on, to export it "
                                   "whole. Export Face saves the face alone.")
            return False
        current = self.document.current_photo()
        if current is None:
            self.show_error(title, "The edited photo is still being computed; try again in a moment.")
            return False
        photo, difference = current
        if photo.changed_on_disk():
            self.show_error(title, f"{photo.path} has changed since it was opened, so the edit no longer fits "
                                   "it. Open the photo again to edit the new version.\n\nYour work is unchanged.")
            return False
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".jpg")
        try:
            fmt = export.image_format(path)
            data = photo.read_data()
            full = open_full_photo(io.BytesIO(data) if data else photo.path)
        except export.ExportError as e:
            self.show_error(title, f"{e}.")
            return False
        except PhotoError as e:
            self.show_error(title, f"The photo could not be read again: {e}\n\nYour work is unchanged.")
            return False
        scene = photo.scene
        composite = Composite(full.rgb, scene.face.scaled(full.rgb.shape[1] / scene.width))
        image = full.to_image(composite.apply(composite.masked(difference)), with_alpha=fmt != "JPEG")
        if width and width != image.width:
            image = image.resize((int(width), max(1, round(image.height * width / image.width))),
                                 Image.Resampling.LANCZOS)
        return self._write(path, lambda: export.write_image(image, path, **full.save_options()),
                           title, f"Saved {path.name} ({image.width} × {image.height})")

    def export_face(self, path: str | os.PathLike, size: int | None = None) -> bool:
        """Save the face as PNG or JPEG (by the file's suffix; none means PNG) at 64, 256 or 512 px."""
        if not self.face_view.has_face():
            return False
        size = int(size or self.export_size)
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".png")
        if path.suffix.lower() not in FACE_FORMATS:
            self.show_error("Could not export the face", f"{path}: choose a .png or .jpg file name.")
            return False
        image = _pil(*image_bytes(self.face_view.image()), size)
        return self._write(path, lambda: export.write_image(image, path),
                           "Could not export the face", f"Saved {path.name} ({size} × {size})")

    def export_latent_dialog(self) -> None:
        path = self.ask_save_path("Export latent", self._suggested_name(".json").replace("-face", "-latent"),
                                  "Latent (*.json)")
        if path:
            self.export_latent(path)

    def export_latent(self, path: str | os.PathLike) -> bool:
        """{"model": name, "latent": [D floats]}: the format the CLI reads too; Open… reads it back."""
        if self.state is None or self.info is None:
            return False
        path = Path(path)
        if path.suffix.lower() != ".json":
            path = path.with_name(path.name + ".json")
        fields, latent = {"model": self.info.source}, self.state.latent
        return self._write(path, lambda: export.write_latent(path, fields, latent),
                           "Could not export the latent", f"Saved {path.name}")

    def copy_face(self) -> None:
        if self.face_view.has_face():
            image = self.face_view.image().scaled(self.export_size, self.export_size,
                                                  Qt.AspectRatioMode.IgnoreAspectRatio,
                                                  Qt.TransformationMode.SmoothTransformation)
            QGuiApplication.clipboard().setImage(image)
            self.statusBar().showMessage(f"Copied the face ({self.export_size} × {self.export_size})", 3000)

    def export_gif_dialog(self) -> None:
        path = self.ask_save_path("Export timeline as GIF", self._suggested_name(".gif").replace("-face", "-timeline"),
                                  "Animated GIF (*.gif)")
        if path:
            self.export_gif(path)

    def _frame_images(self, size: int) -> list[Image.Image]:
        return [_pil(face.rgb, face.width, face.height, size) for face in self.frames.faces]

    def _no_frames(self) -> bool:
        if self.frames is None:
            self.show_error("Nothing to export", "Add at least one keyframe to the timeline first.")
            return True
        return False

    def export_gif(self, path: str | os.PathLike, size: int | None = None) -> bool:
        if self._no_frames():
            return False
        path = Path(path)
        if path.suffix.lower() != ".gif":
            path = path.with_name(path.name + ".gif")
        frames = self._frame_images(int(size or self.export_size))
        duration = max(20, round(1000 / self.timeline.fps.value()))
        loop = self.timeline.loop.isChecked()
        return self._write(path, lambda: export.write_animation(frames, path, duration, loop, optimize=False),
                           "Could not export the GIF", f"Saved {path.name} ({len(frames)} frames)")

    def export_frames_dialog(self) -> None:
        folder = self.ask_folder("Export timeline frames to a folder")
        if folder:
            self.export_frames(folder)

    def export_frames(self, folder: str | os.PathLike, size: int | None = None) -> bool:
        """Numbered PNG frames (frame_0001.png, frame_0002.png, …) and manifest.jsonl with each frame's
        latent; nothing is left behind when the export fails."""
        if self._no_frames():
            return False
        folder = Path(folder)
        frames = self._frame_images(int(size or self.export_size))
        count = len(frames)
        records = [{"t": k / (count - 1) if count > 1 else 0.0, "model": self.info.source} for k in range(count)]
        latents = list(self.frames.latents)
        if not self._write(folder, lambda: export.write_frames_into(folder, frames, records, latents),
                           "Could not export the frames", f"Saved {count} frames to {folder}"):
            return False
        return True

    def _write(self, path: Path, write, title: str, done: str) -> bool:
        try:
            write()
        except (export.ExportError, OSError, ValueError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            self.show_error(title, f"{path}: {reason}\n\nChoose another place; your work is unchanged.")
            return False
        app_settings.remember(self.settings, path, folder_only=True)
        self.statusBar().showMessage(done, 5000)
        return True
