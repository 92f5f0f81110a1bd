"""The FaceEdit desktop editor: the main window, which lays out the views and wires them to the document.

The window holds no editing state and runs no model work: ``faceedit.gui.document.EditorDocument`` owns
the face, its undo history and the timeline's keyframes, and posts requests to
``faceedit.gui.engine.Engine`` (a worker thread).  The window shows what the document says, and turns
clicks, drags, dialogs and files into calls on it.  Actions, menus and the toolbar are built in
``faceedit.gui.actions``, settings live in ``faceedit.gui.settings``, and exports are written by
``faceedit.formats.export`` (through ``faceedit.gui.export_actions``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QImage, QPixmapCache
from PySide6.QtWidgets import (QApplication, QFileDialog, QFrame, QLabel, QMainWindow, QMessageBox, QSplitter,
                               QVBoxLayout, QWidget)

from faceedit.formats import catalog
from faceedit.gui import actions
from faceedit.gui import settings as app_settings
from faceedit.gui.document import EditorDocument, Shown
from faceedit.gui.engine import Engine
from faceedit.gui.messages import Decoded, Lane, ModelInfo, Tag
from faceedit.gui.export_actions import ExportMixin
from faceedit.gui.open_actions import FaceFinder, OpenMixin
from faceedit.gui.project_actions import ProjectActionsMixin
from faceedit.gui.settings import open_settings
from faceedit.gui.widgets import folder_dialog
from faceedit.gui.widgets.attribute_panel import AttributePanel
from faceedit.gui.widgets.plain_words import beta_words
from faceedit.gui.widgets.crop_dialog import CropDialog
from faceedit.gui.widgets.face_view import FaceView
from faceedit.gui.widgets.gallery import GalleryPanel
from faceedit.gui.widgets.latent_panel import LatentPanel
from faceedit.gui.widgets.model_picker import ModelPicker
from faceedit.gui.widgets.timeline import TimelinePanel

__all__ = ["MainWindow", "main", "apply_look", "open_settings"]


MIN_WINDOW = QSize(960, 640)


class MainWindow(ProjectActionsMixin, OpenMixin, ExportMixin, QMainWindow):
    """``MainWindow()`` opens the default bundled model; ``model`` may name another model or a file."""

    def __init__(self, model: str | None = None, device: str | None = None, settings=None):
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("FaceEdit")
        self.setAccessibleName("FaceEdit")
        self.settings = settings if settings is not None else open_settings()
        self.engine = Engine(device, self)
        self.document = EditorDocument(self.engine, self)
        self.document.show_photo = app_settings.whole_photo(self.settings)
        # the model loads in the worker while the widgets are built
        self.document.start(str(model or catalog.default_model() or ""))
        self._closing = False
        self._last_decode_ms: float | None = None
        self._scene_shown = None  # the PhotoScene the face view shows whole
        self.export_size = app_settings.export_size(self.settings)

        self._build_widgets()
        self.document.thumbnail = self.timeline.thumbnail
        actions.build_actions(self)
        actions.build_menus_and_toolbar(self)
        actions.build_status_bar(self)
        self._connect()
        self._init_projects()
        # below this the slider values and the timeline are clipped
        self.setMinimumSize(self.minimumSizeHint().expandedTo(MIN_WINDOW))
        app_settings.restore_window(self)
        self.document.set_path(self.timeline.method_name(), self.timeline.frames_per_step())
        self.setAcceptDrops(True)
        self._set_editing(False)

    # the document's state, as the window's (tests and scripts read these)
    info = property(lambda self: self.document.info)
    state = property(lambda self: self.document.state)
    undo_stack = property(lambda self: self.document.undo_stack)
    keyframes = property(lambda self: self.document.keyframes)
    frames = property(lambda self: self.document.frames)
    photos = property(lambda self: self.document.photos)
    _switching = property(lambda self: self.document.switching)

    # ================================================================================== building
    def _build_widgets(self) -> None:
        self.face_view = FaceView()
        self.face_caption = QLabel(" ")
        self.face_caption.setObjectName("faceCaption")
        self.face_caption.setAccessibleName("Face description")
        self.face_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.face_caption.setStyleSheet("color: #6b6e74; padding: 2px;")
        face_box = QWidget()
        face_box.setObjectName("faceBox")
        face_layout = QVBoxLayout(face_box)
        face_layout.setContentsMargins(0, 0, 0, 0)
        face_layout.setSpacing(4)
        face_layout.addWidget(self.face_view, 1)
        face_layout.addWidget(self.face_caption)

        self.gallery = GalleryPanel()
        self.gallery.setMinimumWidth(180)

        self.attribute_panel = AttributePanel()
        self.latent_panel = LatentPanel()
        sliders = QWidget()
        sliders.setObjectName("sliderColumn")
        sliders.setMinimumWidth(330)
        column = QVBoxLayout(sliders)
        column.setContentsMargins(4, 0, 0, 0)
        column.setSpacing(10)
        column.addWidget(self.attribute_panel)
        line = QFrame()
        line.setObjectName("sliderSeparator")
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        column.addWidget(line)
        column.addWidget(self.latent_panel, 1)

        self.timeline = TimelinePanel()
        self.model_picker = ModelPicker(self._list_models)

        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.setObjectName("mainSplitter")
        self.main_split.setChildrenCollapsible(False)
        self.main_split.addWidget(self.gallery)
        self.main_split.addWidget(face_box)
        self.main_split.addWidget(sliders)
        self.main_split.setStretchFactor(0, 0)
        self.main_split.setStretchFactor(1, 1)
        self.main_split.setStretchFactor(2, 0)
        self.main_split.setSizes([250, 640, 400])

        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(12, 10, 12, 6)
        layout.setSpacing(8)
        layout.addWidget(self.main_split, 1)
        frame = QFrame()
        frame.setObjectName("timelineFrame")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        frame_layout = QVBoxLayout(frame)
        frame_layout.setContentsMargins(0, 0, 0, 0)
        frame_layout.addWidget(self.timeline)
        layout.addWidget(frame)
        self.setCentralWidget(central)

    def _connect(self) -> None:
        doc = self.document
        doc.stateChanged.connect(self._show_state)
        doc.faceDecoded.connect(self._show_face)
        doc.startImageChanged.connect(lambda start: self.face_view.set_original(start.image, "Start face"))
        doc.modelChanged.connect(self._on_model_changed)
        doc.editingChanged.connect(self._on_editing_changed)
        doc.keyframesInserted.connect(lambda keys: self.timeline.insert_keyframes(
            [(k.row, k.key_id, k.icon if k.icon is not None else QIcon()) for k in keys]))
        doc.keyframesTaken.connect(self.timeline.take_keyframes)
        doc.keyframeThumbnails.connect(self._show_thumbnails)
        doc.framesChanged.connect(lambda count, frame: self.timeline.set_frame_count(count, frame=frame))
        doc.galleryChanged.connect(self.gallery.set_faces)
        doc.photoAdded.connect(lambda photo: self.gallery.add_face("photos", photo.image, photo.name))
        doc.fileOpened.connect(lambda path: app_settings.remember(self.settings, path))
        doc.failed.connect(lambda title, message: self.show_error(title, message))
        doc.noModel.connect(self._no_model)
        self.engine.busyChanged.connect(self._on_busy)
        self.latent_panel.editStarted.connect(doc.new_gesture)
        self.latent_panel.valueEdited.connect(self.set_latent_value)
        self.attribute_panel.editStarted.connect(doc.new_gesture)
        self.attribute_panel.amountEdited.connect(self.set_attribute)
        self.model_picker.modelChosen.connect(self.switch_model)
        self.model_picker.openFileRequested.connect(self.open_model_dialog)
        self.gallery.faceChosen.connect(doc.pick_start_face)
        self.gallery.newSamplesRequested.connect(self.new_samples)
        self.gallery.openPhotoRequested.connect(self.open_photo_dialog)
        self.timeline.addRequested.connect(self.add_keyframe)
        self.timeline.removeRequested.connect(self.remove_keyframes)
        self.timeline.clearRequested.connect(self.clear_keyframes)
        self.timeline.keyframesChanged.connect(lambda: doc.set_keyframe_order(self.timeline.keyframe_ids()))
        self.timeline.pathChanged.connect(
            lambda: doc.set_path(self.timeline.method_name(), self.timeline.frames_per_step()))
        self.timeline.frameChanged.connect(doc.show_frame)
        self.timeline.exportGifRequested.connect(self.export_gif_dialog)
        self.timeline.exportFramesRequested.connect(self.export_frames_dialog)

    # ================================================================================== hooks for tests
    def show_error(self, title: str, message: str) -> None:
        """Every failure comes through here (tests replace it): a dialog, and the work is kept."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.setAccessibleName(title)
        box.exec()

    def ask_open_path(self, title: str, file_filter: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, title, app_settings.last_folder(self.settings), file_filter)
        return path or None

    def ask_save_path(self, title: str, suggested: str, file_filter: str) -> str | None:
        start = str(Path(app_settings.last_folder(self.settings)) / suggested)
        path, _ = QFileDialog.getSaveFileName(self, title, start, file_filter)
        return path or None

    def ask_folder(self, title: str) -> str | None:
        return folder_dialog.ask_folder(self, title, app_settings.last_folder(self.settings))

    def ask_crop(self, image: QImage, path: str) -> tuple[int, int, int] | None:
        dialog = CropDialog(image, parent=self, title=f"Crop the face — {Path(path).name}", detecting=True)
        dialog.finder = FaceFinder()  # kept by the dialog: it answers while the dialog is open
        dialog.finder.found.connect(dialog.set_faces)
        dialog.finder.start(image)
        return dialog.choice() if dialog.exec() == CropDialog.DialogCode.Accepted else None

    def ready(self) -> bool:
        """The model is loaded and a face is on screen."""
        return (self.info is not None and self.face_view.has_face() and not self.document.switching
                and bool(self.latent_panel.rows))

    def face_settled(self) -> bool:
        """Nothing is on its way that would change the face, and the newest face is the one shown."""
        return (self.ready() and not self.engine.pending((Lane.MODEL, Lane.ENCODE, Lane.FACE, Tag.RANDOM_FACE))
                and self.face_view.seq == self.engine.latest_face_seq)

    def recent_files(self) -> list[str]:
        return app_settings.recent_files(self.settings)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for i, path in enumerate(recent):
            action = self.recent_menu.addAction(Path(path).name)
            action.setObjectName(f"recentFile{i}Action")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if not recent:
            empty = self.recent_menu.addAction("No recent files")
            empty.setObjectName("noRecentAction")
            empty.setEnabled(False)

    # ================================================================================== following the document
    def _show_state(self, shown: Shown) -> None:
        snapshot = shown.snapshot
        if shown.sync and shown.live != "latent" and self.latent_panel.rows:
            self.latent_panel.set_latent(snapshot.latent)
        if shown.sync and shown.live is None:  # a live latent drag keeps the amounts; an attribute drag shows its own
            self.attribute_panel.set_amounts(snapshot.amounts)
        if shown.new_start:
            if self.latent_panel.rows:
                self.latent_panel.set_reset_values(snapshot.start.latent)
            label = "Original photo" if snapshot.start.photo is not None else "Start face"
            self.face_view.set_original(snapshot.start.image, label)
            self._show_photo_original()
        edited = not np.array_equal(snapshot.latent, snapshot.start.latent)
        text = f"{snapshot.start.label} · edited" if edited else snapshot.start.label
        if text != self.face_caption.text():  # only on change: the slider hot path stays cheap
            self.face_caption.setText(text)
        if shown.image is not None:
            self.face_view.set_face(*shown.image, seq=shown.seq)

    def _show_face(self, decoded: Decoded) -> None:
        face, patch = decoded.face, decoded.photo
        if patch is not None and patch.scene is self._scene_shown:
            self.face_view.paste_photo(patch.left, patch.top, patch.width, patch.height, patch.pixels)
        self.face_view.set_face(face.rgb, face.width, face.height, decoded.seq)
        self._last_decode_ms = decoded.seconds * 1000

    def _show_photo_original(self) -> None:
        """The whole photo for compare, while the face is shown in it (else the face alone)."""
        scene = self.document.photo_scene()
        if scene is not self._scene_shown:
            self._scene_shown = scene
            if scene is None:
                self.face_view.show_photo(None)
            else:  # the photo as opened, until the edit's decode arrives
                self.face_view.show_photo(scene.rgb.tobytes(), scene.width, scene.height)
            self._name_export()

    def _name_export(self) -> None:
        """Export writes the whole photo while one is shown, else the face: the action says which."""
        photo = self.face_view.showing_photo()
        self.export_action.setText("Export Photo…" if photo else "Export Face…")
        self.export_action.setToolTip("Save the whole edited photo at its own resolution" if photo else
                                      "Save the face as PNG or JPEG at the chosen size")

    def set_show_photo(self, on: bool) -> None:
        """View ▸ Whole Photo: a photo's edit in the whole photo, or the VAE's face alone."""
        self.document.set_show_photo(on)
        self.settings.setValue("view/wholePhoto", bool(on))
        self._show_photo_original()
        self.face_view.fit()

    def _show_thumbnails(self, key_ids: list[int], icons: list) -> None:
        for key_id, icon in zip(key_ids, icons):
            self.timeline.set_icon(key_id, icon)

    def _on_model_changed(self, info: ModelInfo, first: bool) -> None:
        self._show_model_status(info)
        self.settings.setValue("model/last", info.source)
        if first:
            QTimer.singleShot(0, self._build_model_panels)  # the face paints first, sliders right after
        else:
            self._build_model_panels()

    def _build_model_panels(self) -> None:
        info = self.info
        if info is None or self._closing:
            return
        self.latent_panel.set_model(info.kl_per_dim, info.mu_mean, info.mu_std, info.dimension_attributes)
        self.attribute_panel.set_attributes(list(info.attributes), info.attribute_problems, info.attributes_scaled,
                                            info.attribute_unit_flip)
        state = self.state
        if state is not None:
            self.latent_panel.set_latent(state.latent)
            self.latent_panel.set_reset_values(state.start.latent)
            self.attribute_panel.set_amounts(state.amounts)
        self.document.request_model_faces(self.temperature.value())

    def _on_editing_changed(self, on: bool) -> None:
        self._set_editing(on)
        if on and self.info is not None:  # loaded, or a failed load left the model as it was
            self.model_picker.set_current(self.info.source, self.info.name)

    def _no_model(self) -> None:
        self.face_view.set_message("No model could be opened.\nUse Model ▸ Open Model File…")
        self.open_model_action.setEnabled(True)
        self.model_picker.setEnabled(True)

    def _on_busy(self, busy: bool) -> None:
        self.busy_label.setVisible(busy)
        self.busy_indicator.setVisible(busy)

    def _show_decode_time(self) -> None:
        if self._last_decode_ms is not None:
            self.decode_label.setText(f"decode {self._last_decode_ms:.1f} ms")
            self._last_decode_ms = None

    def _show_model_status(self, info: ModelInfo) -> None:
        self.device_label.setText(info.device)
        self.model_label.setText(f"{info.name} · β = {info.beta:g}")
        test = info.metrics.get("test") or info.metrics.get("val") or {}
        details = [f"{info.path}"]
        if test:
            details.append(f"PSNR {test.get('psnr', float('nan')):.2f} dB · KL {test.get('kl', float('nan')):.1f} nats"
                           f" · {test.get('active_units', '?')} active dimensions")
        self.model_label.setToolTip("\n".join(details))
        self.model_picker.setToolTip(f"{info.name}: {beta_words(info.beta)}\n" + "\n".join(details)
                                     + "\nSwitching keeps the face: it is re-encoded into the new model.")

    def _set_editing(self, on: bool) -> None:
        for widget in (self.latent_panel, self.attribute_panel, self.gallery, self.timeline, self.model_picker,
                       self.temperature):
            widget.setEnabled(on)
        for action in (self.random_action, self.reset_action, self.export_action, self.export_latent_action,
                       self.copy_action, self.add_key_action, self.open_action, self.open_model_action,
                       self.save_action, self.save_as_action):
            action.setEnabled(on)

    # ================================================================================== edits (to the document)
    def undo(self) -> None:
        self.document.undo()

    def redo(self) -> None:
        self.document.redo()

    def set_latent_value(self, dim: int, value: float) -> None:
        """A latent slider moved (live while dragging): one undo step per drag of one slider."""
        if self.state is None:
            return
        self.latent_panel.set_value(dim, value)  # a no-op for a dragged slider, a sync for callers
        self.document.set_latent_value(dim, value)

    def set_attribute(self, name: str, amount: float) -> None:
        """An attribute slider moved: the latent moves along that direction from where it is now."""
        if self.info is not None and name in self.info.attributes and name in self.attribute_panel.rows:
            self.attribute_panel.rows[name].set_value(amount)
        self.document.set_attribute(name, amount)

    def random_face(self) -> None:
        self.document.random_face(self.temperature.value())

    def new_samples(self) -> None:
        self.document.new_samples(self.temperature.value())

    def reset_face(self) -> None:
        self.document.reset_face()

    def pick_start_face(self, kind: str, index: int) -> None:
        self.document.pick_start_face(kind, index)

    def add_keyframe(self) -> None:
        """The current face becomes the last keyframe (one undo step; not while a model loads)."""
        if self.face_view.has_face():
            self.document.add_keyframe(self.timeline.thumbnail(self.face_view.image()), self.timeline.frame())

    def remove_keyframes(self) -> None:
        self.document.remove_keyframes(self.timeline.selected_ids(), self.timeline.frame())

    def clear_keyframes(self) -> None:
        self.document.clear_keyframes(self.timeline.frame())

    def _recompute_timeline(self) -> None:
        self.document.recompute_timeline()

    def show_frame(self, index: int) -> None:
        self.document.show_frame(index)

    def _list_models(self):
        return catalog.bundled_models(), catalog.user_models()

    def switch_model(self, source: str) -> None:
        """Re-encode the current face (and start face, keyframes) into another model, in the worker."""
        self.document.switch_model(source)

    # ================================================================================== misc
    def show_about(self) -> None:
        from faceedit import __version__

        QMessageBox.about(self, "About FaceEdit",
                          f"<h3>FaceEdit {__version__}</h3><p>Edit faces with β-VAEs: latent and attribute "
                          "sliders, a timeline, β switching that keeps the face.</p><p>The bundled weights are "
                          "trained on CelebA and are for non-commercial research only.</p>")

    def closeEvent(self, event) -> None:
        """Unsaved work: Save / Discard / Cancel first.  Then stop the worker cleanly, even in the middle
        of a decode, and remove this session's recovery copy."""
        if not self._closing and not self.keep_unsaved_work():
            event.ignore()
            return
        if not self._closing:
            self._closing = True
            self.document.closed = True
            self.timeline.pause()
            self._decode_timer.stop()
            try:
                app_settings.save_window(self)
            except RuntimeError:
                pass
            self.engine.shutdown()
            self._end_session()
            # The style's cached control drawings are keyed to this window's palettes, which die with
            # it: nothing can hit them again, and without this each window left about 1 MB behind.
            QPixmapCache.clear()
        super().closeEvent(event)


from faceedit.gui.appearance import apply_look, name_macos_bundle, prepare_window, set_identity  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """``faceedit [--model NAME|PATH] [--device auto|cpu|cuda|mps]``: start the editor."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="faceedit", description="FaceEdit: edit faces with β-VAEs.")
    parser.add_argument("--model", help="a bundled model name (beta1, beta4, beta10), a user model or a .pt file")
    parser.add_argument("--device", help="auto (default), cpu, cuda or mps")
    args = parser.parse_args(argv)
    if args.device:
        from faceedit.core.device import choose_device

        try:
            choose_device(args.device)
        except ValueError as e:
            print(f"faceedit: {e}", file=sys.stderr)
            return 2
    from faceedit.gui.qt_platform import hint_on_plugin_failure, xcb_problem

    problem = None if QApplication.instance() else xcb_problem()
    if problem:  # Qt would abort with a page about its "xcb" plugin
        print(f"faceedit: {problem}", file=sys.stderr)
        return 1
    name_macos_bundle()
    with hint_on_plugin_failure():
        app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "faceedit"])
    set_identity(app)
    apply_look(app)
    settings = open_settings()
    model = args.model or settings.value("model/last") or None
    window = MainWindow(model=model, device=args.device, settings=settings)
    prepare_window(window)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
