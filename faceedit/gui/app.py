"""The FaceEdit desktop editor: the main window, its actions and the undo history.

The window never runs model work itself: it posts requests to ``faceedit.gui.engine.Engine`` (a worker
thread) and shows what comes back.  Every edit goes through the ``QUndoStack`` as a snapshot of the
face (model, latent, attribute amounts, start face), so undo and redo restore exactly; adding, removing
and clearing timeline keyframes are undo steps too.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import (QAction, QActionGroup, QColor, QDesktopServices, QGuiApplication, QIcon, QImage,
                           QKeySequence, QPalette, QUndoStack)
from PySide6.QtWidgets import (QApplication, QDoubleSpinBox, QFileDialog, QFrame, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QSizePolicy, QSplitter, QVBoxLayout, QWidget)

from faceedit.formats import catalog
from faceedit.formats import latentfile
from faceedit.gui.engine import Batch, Decoded, Encoded, Engine, Failure, ModelInfo, ModelLoaded
from faceedit.gui.widgets.attribute_panel import AttributePanel
from faceedit.gui.widgets.crop_dialog import CropDialog
from faceedit.gui.widgets.face_view import FaceView
from faceedit.gui.widgets.gallery import GalleryPanel
from faceedit.gui.widgets.history import Keyframe, KeyframeCommand, ModelCommand, Snapshot, Start, push_edit
from faceedit.gui.widgets.latent_panel import LatentPanel
from faceedit.gui.widgets.model_picker import ModelPicker
from faceedit.gui.widgets.pixels import image_bytes, rgb_image
from faceedit.gui.widgets.timeline import TimelinePanel

SETTINGS_ENV = "FACEEDIT_SETTINGS"  # a path: keep the settings in this INI file (tests, portable use)
EXPORT_SIZES = (64, 256, 512)
RANDOM_SAMPLES = 24
MAX_RECENT = 10
PHOTO_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif *.tif *.tiff *.heic *.ppm *.pgm)"
OPEN_FILTER = f"Photos, latents and models ({PHOTO_FILTER[8:-1]} *.json *.pt);;{PHOTO_FILTER};;" \
              "Latent (*.json);;FaceEdit model (*.pt);;All files (*)"


def open_settings() -> QSettings:
    """The app's QSettings ("FaceEdit"/"FaceEdit"), or an INI file named by $FACEEDIT_SETTINGS."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("FaceEdit", "FaceEdit")


def face_image(face) -> QImage:
    return rgb_image(face.rgb, face.width, face.height)


class MainWindow(QMainWindow):
    """``MainWindow()`` opens the default bundled model; ``model`` may name another model or a file."""

    def __init__(self, model: str | None = None, device: str | None = None, settings: QSettings | None = None):
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("FaceEdit")
        self.setAccessibleName("FaceEdit")
        self.settings = settings if settings is not None else open_settings()
        self.engine = Engine(device, self)
        # the model loads in the worker while the widgets are built
        self._startup_source = str(model or catalog.default_model() or "")
        self.engine.load_model(self._startup_source, default_face=True, purpose="startup")

        self.info: ModelInfo | None = None
        self.state: Snapshot | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setObjectName("undoStack")
        self.undo_stack.setUndoLimit(1000)
        self.keyframes: dict[int, dict[str, np.ndarray]] = {}  # keyframe id -> {model source: latent}
        self._next_key = 1
        self._restore_frame = 0  # the timeline position an undo of a keyframe change puts back ...
        self._timeline_frame = 0  # ... once the frames being computed arrive
        self.frames: Batch | None = None  # the timeline's frames for the current keyframes
        self.gallery_latents = np.zeros((0, 0), np.float32)
        self.sample_latents: np.ndarray | None = None
        self.photos: list[dict] = []  # {"path", "crop" (3×64×64 uint8), "image" (QImage for compare)}
        self._gesture = 0
        self._switching = False
        self._closing = False
        self._last_decode_ms: float | None = None
        self.export_size = int(self.settings.value("export/size", 512) or 512)
        if self.export_size not in EXPORT_SIZES:
            self.export_size = 512

        self._build_widgets()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect()
        self._restore_window_settings()
        self.setAcceptDrops(True)
        self._set_editing(False)

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

    def _action(self, name: str, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        if slot is not None:
            action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("openAction", "Open…", self.open_dialog, QKeySequence.StandardKey.Open,
                                        "Open a photo, a saved latent (.json) or a model file (.pt)")
        self.open_model_action = self._action("openModelAction", "Open Model File…", self.open_model_dialog,
                                              None, "Open a FaceEdit model file")
        self.model_folder_action = self._action("modelFolderAction", "Show Your Model Folder",
                                                self.show_model_folder, None,
                                                "Model files (.pt) put here appear in the model picker")
        self.export_action = self._action("exportAction", "Export Face…", self.export_face_dialog, "Ctrl+E",
                                          "Save the face as PNG or JPEG")
        self.export_latent_action = self._action("exportLatentAction", "Export Latent…", self.export_latent_dialog,
                                                 "Ctrl+Shift+E", "Save the latent as JSON (model name and values)")
        self.copy_action = self._action("copyAction", "Copy Face", self.copy_face, QKeySequence.StandardKey.Copy,
                                        "Copy the face to the clipboard")
        self.quit_action = self._action("quitAction", "Quit", self.close, QKeySequence.StandardKey.Quit)
        self.undo_action = self._action("undoAction", "Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = self._action("redoAction", "Redo", self.redo, QKeySequence.StandardKey.Redo)
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        self.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        self.undo_stack.undoTextChanged.connect(lambda text: self.undo_action.setToolTip(f"Undo {text}".strip()))
        self.undo_stack.redoTextChanged.connect(lambda text: self.redo_action.setToolTip(f"Redo {text}".strip()))
        self.random_action = self._action("randomAction", "Random Face", self.random_face, "Ctrl+R",
                                          "A new face sampled from the prior at the chosen temperature")
        self.reset_action = self._action("resetAction", "Reset", self.reset_face, "Ctrl+0",
                                         "Back to the start face")
        self.compare_action = self._action("compareAction", "Compare", None, "C",
                                           "Show the original (photo or start face) instead of the edit")
        self.compare_action.setCheckable(True)
        self.compare_action.toggled.connect(self.face_view.set_compare)
        self.add_key_action = self._action("addKeyframeAction", "Add Keyframe", self.add_keyframe, "K",
                                           "Add the current face to the timeline")
        self.play_action = self._action("playAction", "Play / Pause", self.timeline.play_button.toggle, "P",
                                        "Play or pause the timeline")
        self.about_action = self._action("aboutAction", "About FaceEdit", self.show_about)
        self.size_group = QActionGroup(self)
        self.size_actions = {}
        for size in EXPORT_SIZES:
            action = self._action(f"exportSize{size}Action", f"{size} × {size} px", None)
            action.setCheckable(True)
            action.setChecked(size == self.export_size)
            action.triggered.connect(lambda _=False, s=size: self.set_export_size(s))
            self.size_group.addAction(action)
            self.size_actions[size] = action

        self.temperature = QDoubleSpinBox()
        self.temperature.setObjectName("temperatureSpin")
        self.temperature.setAccessibleName("Temperature")
        self.temperature.setToolTip("Temperature of random faces: lower is more typical, higher more varied")
        self.temperature.setRange(0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(1)
        self.temperature.setPrefix("T ")
        self.temperature.setValue(float(self.settings.value("random/temperature", 0.8) or 0.8))

    def _build_menus_and_toolbar(self) -> None:
        menus = self.menuBar()
        menus.setObjectName("menuBar")
        file_menu = menus.addMenu("&File")
        file_menu.setObjectName("fileMenu")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open Recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_latent_action)
        size_menu = file_menu.addMenu("Export Size")
        size_menu.setObjectName("exportSizeMenu")
        for action in self.size_actions.values():
            size_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menus.addMenu("&Edit")
        edit_menu.setObjectName("editMenu")
        for action in (self.undo_action, self.redo_action, None, self.copy_action, None, self.random_action,
                       self.reset_action, None, self.add_key_action, self.play_action):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)
        view_menu = menus.addMenu("&View")
        view_menu.setObjectName("viewMenu")
        view_menu.addAction(self.compare_action)
        model_menu = menus.addMenu("&Model")
        model_menu.setObjectName("modelMenu")
        model_menu.addAction(self.open_model_action)
        model_menu.addAction(self.model_folder_action)
        help_menu = menus.addMenu("&Help")
        help_menu.setObjectName("helpMenu")
        help_menu.addAction(self.about_action)
        for menu in (file_menu, edit_menu, view_menu, model_menu, help_menu, self.recent_menu, size_menu):
            menu.menuAction().setObjectName(f"{menu.objectName()}Action")

        bar = self.addToolBar("Main")
        bar.setObjectName("mainToolBar")
        bar.setAccessibleName("Main toolbar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addAction(self.open_action)
        bar.addSeparator()
        bar.addAction(self.random_action)
        bar.addWidget(self.temperature)
        bar.addAction(self.reset_action)
        bar.addSeparator()
        bar.addAction(self.undo_action)
        bar.addAction(self.redo_action)
        bar.addSeparator()
        bar.addAction(self.compare_action)
        bar.addAction(self.add_key_action)
        spacer = QWidget()
        spacer.setObjectName("toolbarSpacer")
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        model_label = QLabel("Model ")
        model_label.setObjectName("modelPickerLabel")
        model_label.setAccessibleName("Model")
        model_label.setBuddy(self.model_picker)
        bar.addWidget(model_label)
        bar.addWidget(self.model_picker)
        bar.addSeparator()
        bar.addAction(self.export_action)
        bar.addAction(self.copy_action)
        self.toolbar = bar
        bar.toggleViewAction().setObjectName("mainToolBarToggleAction")
        for action in bar.actions():
            widget = bar.widgetForAction(action)
            if not action.objectName():
                base = widget.objectName() if widget is not None and widget.objectName() else "toolbarSeparator"
                action.setObjectName(f"{base}Action" if widget is not None else base)
            if widget is not None and not widget.objectName():
                widget.setObjectName(f"{action.objectName() or 'toolbarItem'}Button")
            if widget is not None and not widget.accessibleName():
                widget.setAccessibleName(action.text().replace("&", "").rstrip("…") or widget.objectName())

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        status.setObjectName("statusBar")
        status.setSizeGripEnabled(True)
        self.busy_label = QLabel("Working…")
        self.busy_label.setObjectName("busyLabel")
        self.busy_label.setAccessibleName("Working")
        self.busy_indicator = QProgressBar()
        self.busy_indicator.setObjectName("busyIndicator")
        self.busy_indicator.setAccessibleName("Busy")
        self.busy_indicator.setRange(0, 0)
        self.busy_indicator.setFixedWidth(110)
        self.busy_indicator.setMaximumHeight(14)
        self.busy_indicator.setTextVisible(False)
        self.device_label = QLabel("…")
        self.device_label.setObjectName("deviceLabel")
        self.device_label.setAccessibleName("Device")
        self.device_label.setToolTip("Where the model runs (set FACEEDIT_DEVICE or --device to choose)")
        self.model_label = QLabel("Loading…")
        self.model_label.setObjectName("modelLabel")
        self.model_label.setAccessibleName("Model and β")
        self.decode_label = QLabel("decode –")
        self.decode_label.setObjectName("decodeLabel")
        self.decode_label.setAccessibleName("Last decode time")
        self.decode_label.setMinimumWidth(110)
        for widget in (self.busy_label, self.busy_indicator):
            status.addPermanentWidget(widget)
            widget.setVisible(False)
        for widget in (self.device_label, self.model_label, self.decode_label):
            widget.setContentsMargins(8, 0, 8, 0)
            status.addPermanentWidget(widget)
        self._decode_timer = QTimer(self)
        self._decode_timer.setObjectName("decodeLabelTimer")
        self._decode_timer.setInterval(250)
        self._decode_timer.timeout.connect(self._show_decode_time)
        self._decode_timer.start()

    def _connect(self) -> None:
        engine = self.engine
        engine.modelLoaded.connect(self._on_model_loaded)
        engine.faceDecoded.connect(self._on_face)
        engine.photoEncoded.connect(self._on_photo)
        engine.batchDecoded.connect(self._on_batch)
        engine.failed.connect(self._on_failure)
        engine.busyChanged.connect(self._on_busy)
        self.latent_panel.editStarted.connect(self._new_gesture)
        self.latent_panel.valueEdited.connect(self.set_latent_value)
        self.attribute_panel.editStarted.connect(self._new_gesture)
        self.attribute_panel.amountEdited.connect(self.set_attribute)
        self.model_picker.modelChosen.connect(self.switch_model)
        self.model_picker.openFileRequested.connect(self.open_model_dialog)
        self.gallery.faceChosen.connect(self.pick_start_face)
        self.gallery.newSamplesRequested.connect(self.new_samples)
        self.gallery.openPhotoRequested.connect(self.open_photo_dialog)
        self.timeline.addRequested.connect(self.add_keyframe)
        self.timeline.removeRequested.connect(self.remove_keyframes)
        self.timeline.clearRequested.connect(self.clear_keyframes)
        self.timeline.keyframesChanged.connect(self._keyframes_changed)
        self.timeline.pathChanged.connect(self._recompute_timeline)
        self.timeline.frameChanged.connect(self.show_frame)
        self.timeline.exportGifRequested.connect(self.export_gif_dialog)
        self.timeline.exportFramesRequested.connect(self.export_frames_dialog)

    def _restore_window_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1320, 860)
        split = self.settings.value("window/splitter")
        if isinstance(split, QByteArray) and not split.isEmpty():
            self.main_split.restoreState(split)
        self.timeline.fps.setValue(int(self.settings.value("timeline/fps", 24) or 24))
        method = self.settings.value("timeline/method", "slerp")
        self.timeline.method.setCurrentIndex(max(0, self.timeline.method.findData(method)))

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/splitter", self.main_split.saveState())
        s.setValue("export/size", self.export_size)
        s.setValue("random/temperature", self.temperature.value())
        s.setValue("timeline/fps", self.timeline.fps.value())
        s.setValue("timeline/method", self.timeline.method_name())
        if self.info is not None:
            s.setValue("model/last", self.info.source)
        s.sync()

    # ================================================================================== hooks for tests
    def show_error(self, title: str, message: str) -> None:
        """Every failure comes through here (tests replace it): a dialog, and the work is kept."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.setAccessibleName(title)
        box.exec()

    def ask_open_path(self, title: str, file_filter: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, title, self._last_folder(), file_filter)
        return path or None

    def ask_save_path(self, title: str, suggested: str, file_filter: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(self._last_folder()) / suggested), file_filter)
        return path or None

    def ask_folder(self, title: str) -> str | None:
        return QFileDialog.getExistingDirectory(self, title, self._last_folder()) or None

    def ask_crop(self, image: QImage, path: str) -> tuple[int, int, int] | None:
        dialog = CropDialog(image, parent=self, title=f"Crop the face — {Path(path).name}")
        return dialog.box() if dialog.exec() == CropDialog.DialogCode.Accepted else None

    def ready(self) -> bool:
        """The model is loaded and a face is on screen."""
        return (self.info is not None and self.face_view.has_face() and not self._switching
                and bool(self.latent_panel.rows))

    def face_settled(self) -> bool:
        """Nothing is on its way that would change the face, and the newest face is the one shown."""
        return (self.ready() and not self.engine.pending(("model", "encode", "face", "random-face"))
                and self.face_view.seq == self.engine.latest_face_seq)

    def _last_folder(self) -> str:
        return str(self.settings.value("files/lastFolder", "") or Path.home())

    def _remember(self, path: str | os.PathLike, folder_only: bool = False) -> None:
        path = str(Path(path).resolve())
        self.settings.setValue("files/lastFolder", str(Path(path).parent if not Path(path).is_dir() else path))
        if folder_only:
            return
        recent = [p for p in self.recent_files() if p != path]
        self.settings.setValue("files/recent", [path, *recent][:MAX_RECENT])

    def recent_files(self) -> list[str]:
        value = self.settings.value("files/recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

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

    # ================================================================================== engine answers
    def _on_model_loaded(self, result: ModelLoaded) -> None:
        info = result.info
        first = self.info is None
        self.info = info
        self._switching = False
        self._set_editing(True)
        context = result.context or {}
        self._update_keyframes(info.source, context.get("keys", []), result.carried[context.get("key_offset", 0):])
        if result.purpose == "startup":
            label = self._gallery_label(0, info) if len(info.gallery) else "Average face"
            start = Start(result.kept[0], face_image(result.kept_faces[0]), label)
            self.state = Snapshot(info.source, result.kept[0], start)
            self.restore(self.state, image=_face_tuple(result.kept_faces[0]), sync=False)
        elif result.purpose == "switch":
            before: Snapshot = context["before"]
            start_image = before.start.image if before.start.photo is not None else face_image(result.carried_faces[1])
            start = replace(before.start, latent=result.carried[1], image=start_image)
            after = Snapshot(info.source, result.carried[0], start)
            self.undo_stack.push(ModelCommand(self, f"Switch to {info.name}", before, after))
            self.restore(after, image=_face_tuple(result.carried_faces[0]))
        elif result.purpose == "open-latent":
            before = context["before"]
            start = Start(result.kept[0], face_image(result.kept_faces[0]), Path(context["path"]).name)
            after = Snapshot(info.source, result.kept[0], start)
            self.undo_stack.push(ModelCommand(self, f"Open {Path(context['path']).name}", before, after))
            self.restore(after, image=_face_tuple(result.kept_faces[0]))
        else:  # "restore": undo or redo of a model switch
            snapshot: Snapshot = context["snapshot"]
            start_image = snapshot.start.image if snapshot.start.image is not None else face_image(result.kept_faces[1])
            snapshot = replace(snapshot, start=replace(snapshot.start, image=start_image))
            self.restore(snapshot, image=_face_tuple(result.kept_faces[0]))
        self.model_picker.set_current(info.source, info.name)
        self._show_model_status(info)
        self.settings.setValue("model/last", info.source)
        if first:
            QTimer.singleShot(0, self._build_model_panels)  # the face paints first, sliders right after
        else:
            self._build_model_panels()

    def _build_model_panels(self) -> None:
        if self.info is None or self._closing:
            return
        info = self.info
        self.latent_panel.set_model(info.kl_per_dim, info.mu_mean, info.mu_std)
        self.attribute_panel.set_attributes(list(info.attributes))
        self._sync_panels(self.state)
        self.engine.decode_batch("gallery", info.gallery if len(info.gallery) else np.zeros((0, info.latent_dim)))
        if self.sample_latents is None or self.sample_latents.shape[1] != info.latent_dim:
            self.new_samples()
        else:
            self.engine.decode_batch("samples", self.sample_latents)
        if self.keyframes:
            self._decode_keyframe_thumbnails()
        self._recompute_timeline()

    def _on_face(self, decoded: Decoded) -> None:
        face = decoded.face
        self.face_view.set_face(face.rgb, face.width, face.height, decoded.seq)
        self._last_decode_ms = decoded.seconds * 1000
        if self.state is not None and self.state.start.image is None \
                and np.array_equal(decoded.latent, self.state.start.latent):
            start = replace(self.state.start, image=face_image(face))
            self.state = replace(self.state, start=start)
            self.face_view.set_original(start.image, "Start face")

    def _on_photo(self, encoded: Encoded) -> None:
        entry = encoded.context
        if self.state is None:
            return
        if not any(e is entry for e in self.photos):
            self.photos.append(entry)
            self.gallery.add_face("photos", entry["image"], Path(entry["path"]).name)
        entry["crop"] = encoded.photo
        start = Start(encoded.latent, entry["image"], Path(entry["path"]).name, photo=encoded.photo)
        self._push(f"Open {Path(entry['path']).name}", Snapshot(self.state.source, encoded.latent, start),
                   image=_face_tuple(encoded.face))

    def _on_batch(self, batch: Batch) -> None:
        images = [face_image(f) for f in batch.faces]
        if batch.tag == "gallery":
            self.gallery_latents = batch.latents
            labels = [self._gallery_label(i, self.info) for i in range(len(images))]
            self.gallery.set_faces("model", images, labels)
        elif batch.tag == "samples":
            self.sample_latents = batch.latents
            self.gallery.set_faces("random", images, [f"Random face {i + 1}" for i in range(len(images))])
        elif batch.tag == "random-face":
            label = f"Random face (T {batch.context:.1f})"
            self._set_start(batch.latents[0], images[0], label, _face_tuple(batch.faces[0]), "Random face")
        elif batch.tag == "keyframes":
            for key_id, image in zip(batch.context, images):
                self.timeline.set_thumbnail(key_id, image)
        elif batch.tag == "timeline":
            if batch.context == self._timeline_key():
                self.frames = batch
                self.timeline.set_frame_count(len(batch.faces), frame=self._timeline_frame)

    @staticmethod
    def _gallery_label(index: int, info: ModelInfo | None) -> str:
        names = info.gallery_names if info else []
        return f"Gallery face {index + 1}" + (f" · {Path(names[index]).name}" if index < len(names) else "")

    def _on_failure(self, failure: Failure) -> None:
        if failure.lane == "model":
            self._switching = False
            self._set_editing(self.info is not None)
            if self.info is not None:
                self.model_picker.set_current(self.info.source, self.info.name)
            if failure.purpose == "restore":
                self._return_to_current_step((failure.context or {}).get("snapshot"))
        self.show_error(failure.title, failure.message + self._kept_note(failure))
        if failure.purpose == "startup" and self.info is None:
            fallback = catalog.default_model()
            if fallback and not (failure.context or {}).get("fallback") and self._startup_source != fallback:
                self._startup_source = fallback
                self.engine.load_model(fallback, default_face=True, purpose="startup", context={"fallback": True})
            else:
                self.face_view.set_message("No model could be opened.\nUse Model ▸ Open Model File…")
                self.open_model_action.setEnabled(True)
                self.model_picker.setEnabled(True)

    def _return_to_current_step(self, snapshot) -> None:
        """An undo or redo of a model switch failed: move the history back to the face still shown
        (the step back stays within the current model, so it only decodes)."""
        stack = self.undo_stack
        undone = stack.command(stack.index())
        redone = stack.command(stack.index() - 1)
        if isinstance(undone, ModelCommand) and undone.before is snapshot:
            stack.redo()
        elif isinstance(redone, ModelCommand) and redone.after is snapshot:
            stack.undo()

    def _kept_note(self, failure: Failure) -> str:
        if failure.purpose == "startup" and self.info is None:
            fallback = catalog.default_model()
            if fallback and self._startup_source != fallback and not (failure.context or {}).get("fallback"):
                return f"\n\nFaceEdit opens the bundled model {fallback} instead."
            return ""
        if self.info is not None and failure.lane == "model":
            return f"\n\nYour face and history are unchanged; the model is still {self.info.name}."
        return "\n\nYour face and history are unchanged."

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
        self.model_picker.setToolTip(f"{info.name}: β = {info.beta:g}\n" + "\n".join(details)
                                     + "\nSwitching keeps the face: it is re-encoded into the new model.")

    def _set_editing(self, on: bool) -> None:
        for widget in (self.latent_panel, self.attribute_panel, self.gallery, self.timeline, self.model_picker,
                       self.temperature):
            widget.setEnabled(on)
        for action in (self.random_action, self.reset_action, self.export_action, self.export_latent_action,
                       self.copy_action, self.add_key_action, self.open_action, self.open_model_action):
            action.setEnabled(on)

    # ================================================================================== state
    def restore(self, snapshot: Snapshot, image: tuple[bytes, int, int] | None = None, live: str | None = None,
                sync: bool = True) -> None:
        """Make ``snapshot`` the current face: panels, compare image, and the face (decoded unless given)."""
        previous = self.state
        self.state = snapshot
        if sync and live != "latent" and self.latent_panel.rows:
            self.latent_panel.set_latent(snapshot.latent)
        if sync and live is None:  # a live latent drag keeps the amounts; a live attribute drag shows its own
            self.attribute_panel.set_amounts(snapshot.amounts)
        if previous is None or previous.start is not snapshot.start:
            if self.latent_panel.rows:
                self.latent_panel.set_reset_values(snapshot.start.latent)
            label = "Original photo" if snapshot.start.photo is not None else "Start face"
            self.face_view.set_original(snapshot.start.image, label)
        self._show_caption(snapshot)
        if image is not None:
            self.face_view.set_face(*image, seq=self.engine.claim_face())
        else:
            self.engine.decode(snapshot.latent)

    def _show_caption(self, snapshot: Snapshot) -> None:
        edited = not np.array_equal(snapshot.latent, snapshot.start.latent)
        text = f"{snapshot.start.label} · edited" if edited else snapshot.start.label
        if text != self.face_caption.text():  # only on change: the slider hot path stays cheap
            self.face_caption.setText(text)

    def _sync_panels(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        self.latent_panel.set_latent(snapshot.latent)
        self.latent_panel.set_reset_values(snapshot.start.latent)
        self.attribute_panel.set_amounts(snapshot.amounts)

    def restore_model(self, snapshot: Snapshot) -> None:
        """Undo/redo of a model switch: load that model again (from memory) with the snapshot's latents."""
        if self.info is not None and snapshot.source == self.info.source:
            self.restore(snapshot)
            return
        keys = [k for k in self.timeline.keyframe_ids() if snapshot.source not in self.keyframes.get(k, {})]
        carry = [self.keyframes[k][self.info.source] for k in keys]
        self._switching = True
        self._set_editing(False)
        self.engine.load_model(snapshot.source, keep=[snapshot.latent, snapshot.start.latent], carry=carry,
                               purpose="restore", context={"snapshot": snapshot, "keys": keys})

    def undo(self) -> None:
        """Undo (not while a model loads: its answer is built on the face as it was when asked)."""
        if not self._switching:
            self.undo_stack.undo()

    def redo(self) -> None:
        if not self._switching:
            self.undo_stack.redo()

    def _new_gesture(self, *_):
        self._gesture += 1

    def _push(self, text: str, after: Snapshot, **kwargs) -> None:
        if self.state is None or self._switching:
            return
        push_edit(self.undo_stack, self, text, self.state, after, **kwargs)  # (QUndoStack's merge leaks)

    # ================================================================================== edits
    def set_latent_value(self, dim: int, value: float) -> None:
        """A latent slider moved (live while dragging): one undo step per drag of one slider."""
        if self.state is None:
            return
        latent = self.state.latent.copy()
        latent[dim] = value
        self.latent_panel.set_value(dim, value)  # a no-op for a dragged slider, a sync for callers
        self._push(f"Move z{dim}", self.state.with_latent(latent), merge_key=("latent", dim, self._gesture),
                   live="latent")

    def set_attribute(self, name: str, amount: float) -> None:
        """An attribute slider moved: the latent moves along that direction from where it is now."""
        if self.state is None or self.info is None or name not in self.info.attributes:
            return
        amounts = dict(self.state.amounts)
        delta = amount - amounts.get(name, 0.0)
        amounts[name] = amount
        latent = (self.state.latent + np.float32(delta) * self.info.attributes[name]).astype(np.float32)
        if name in self.attribute_panel.rows:
            self.attribute_panel.rows[name].set_value(amount)
        self._push(f"Attribute {name}", self.state.with_latent(latent, amounts),
                   merge_key=("attribute", name, self._gesture), live="attribute")

    def random_face(self) -> None:
        if self.info is not None:
            self.engine.sample("random-face", 1, self.temperature.value(), random.getrandbits(31),
                               context=self.temperature.value())

    def new_samples(self) -> None:
        if self.info is not None:
            self.engine.sample("samples", RANDOM_SAMPLES, self.temperature.value(), random.getrandbits(31))

    def reset_face(self) -> None:
        if self.state is not None:
            self._push("Reset to start face", self.state.with_latent(self.state.start.latent.copy(), {}))

    def pick_start_face(self, kind: str, index: int) -> None:
        if self.state is None:
            return
        if kind == "photos":
            if 0 <= index < len(self.photos):
                entry = self.photos[index]
                self.engine.encode_photo(entry["crop"], context=entry)
            return
        latents = self.gallery_latents if kind == "model" else self.sample_latents
        if latents is None or not 0 <= index < len(latents):
            return
        item = self.gallery.lists[kind].item(index)
        label = item.toolTip() or f"Face {index + 1}"
        self._set_start(latents[index].copy(), None, label, None, f"Pick {label}")

    def _set_start(self, latent: np.ndarray, image: QImage | None, label: str, face, text: str) -> None:
        if self.state is None:
            return
        start = Start(latent, image, label)
        self._push(text, Snapshot(self.state.source, latent, start), image=face)

    # ================================================================================== models
    def _list_models(self):
        return catalog.bundled_models(), catalog.user_models()

    def switch_model(self, source: str) -> None:
        """Re-encode the current face (and start face, keyframes) into another model, in the worker."""
        if self.state is None or self.info is None or self._switching:
            return
        state = self.state
        current = state.start.photo if state.is_unedited_photo() else state.latent
        start = state.start.photo if state.start.photo is not None else state.start.latent
        keys = [k for k in self.timeline.keyframe_ids() if source not in self.keyframes.get(k, {})]
        carry = [current, start] + [self.keyframes[k][self.info.source] for k in keys]
        self._switching = True
        self._set_editing(False)
        self.engine.load_model(source, carry=carry, purpose="switch",
                               context={"before": state, "keys": keys, "key_offset": 2})

    def open_model_dialog(self) -> None:
        path = self.ask_open_path("Open model file", "FaceEdit model (*.pt);;All files (*)")
        if path:
            self._remember(path)
            self.switch_model(str(Path(path).resolve()))

    def show_model_folder(self) -> None:
        folder = catalog.user_models_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self.show_error("Could not create the model folder", f"{folder}: {e.strerror or e}")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # ================================================================================== opening files
    def open_dialog(self) -> None:
        path = self.ask_open_path("Open photo, latent or model", OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_photo_dialog(self) -> None:
        path = self.ask_open_path("Open photo", f"{PHOTO_FILTER};;All files (*)")
        if path:
            self.open_path(path)

    def open_path(self, path: str | os.PathLike) -> bool:
        """Open a photo (any Pillow format), a latent (.json) or a model file (.pt)."""
        path = str(path)
        if self._switching:  # Open Recent and drag and drop stay live while a model loads
            self.statusBar().showMessage(f"A model is loading; open {Path(path).name} again when it is ready.", 5000)
            return False
        suffix = Path(path).suffix.lower()
        if suffix == ".json":
            return self.open_latent(path)
        if suffix == ".pt":
            if not Path(path).exists():
                self.show_error("Could not open the model", f"{path}: no such file")
                return False
            self._remember(path)
            self.switch_model(str(Path(path).resolve()))
            return True
        return self.open_photo_file(path)

    def open_photo_file(self, path: str | os.PathLike, box: tuple[int, int, int] | None = None) -> bool:
        """Open a photo upright (EXIF), let the user choose the square, then encode it in the worker."""
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
        left, top, side = box
        shown = image.copy(left, top, side, side).scaled(
            512, 512, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self._remember(path)
        self.engine.encode_photo(photo, box, context={"path": str(path), "image": shown, "crop": None})
        return True

    def open_latent(self, path: str | os.PathLike) -> bool:
        """A latent saved as JSON {"model": name, "latent": [...]} (by this app or the CLI)."""
        if self.state is None or self.info is None:
            return False
        try:
            model, latent = latentfile.read(path)
            if model is None:
                raise latentfile.LatentFileError(f"{path}: it does not name its model")
        except OSError as e:
            self.show_error("Could not open the latent", f"{path}: {e.strerror or e}")
            return False
        except latentfile.LatentFileError as e:
            self.show_error("Could not open the latent", f"{e}.")
            return False
        self._remember(path)
        if model in (self.info.source, self.info.name, self.info.path):
            if len(latent) != self.info.latent_dim:
                self.show_error("Could not open the latent", f"{path}: it has {len(latent)} values, but "
                                f"{self.info.name} has {self.info.latent_dim} latent dimensions.")
                return False
            start = Start(latent, None, Path(path).name)
            self._push(f"Open {Path(path).name}", Snapshot(self.state.source, latent, start))
            return True
        self._switching = True
        self._set_editing(False)
        keys = [k for k in self.timeline.keyframe_ids() if model not in self.keyframes.get(k, {})]
        self.engine.load_model(model, keep=[latent], carry=[self.keyframes[k][self.info.source] for k in keys],
                               purpose="open-latent", context={"before": self.state, "path": str(path), "keys": keys})
        return True

    # drag and drop ------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])

    # ================================================================================== timeline
    def add_keyframe(self) -> None:
        """The current face becomes the last keyframe (one undo step; not while a model loads)."""
        if self.state is None or self.info is None or self._switching or not self.face_view.has_face():
            return
        key_id = self._next_key
        self._next_key += 1
        keyframe = Keyframe(len(self.timeline.keyframe_ids()), key_id, {self.info.source: self.state.latent.copy()},
                            self.timeline.thumbnail(self.face_view.image()))
        self.undo_stack.push(KeyframeCommand(self, "Add keyframe", [keyframe], add=True, frame=self.timeline.frame()))

    def remove_keyframes(self) -> None:
        self._push_removal("Remove keyframe", self.timeline.selected_ids())

    def clear_keyframes(self) -> None:
        self._push_removal("Clear keyframes", self.timeline.keyframe_ids())

    def _push_removal(self, text: str, key_ids: list[int]) -> None:
        if not key_ids or self._switching:
            return
        keyframes = self._keyframes_as_they_are(self.timeline.keyframe_items(key_ids))
        self.undo_stack.push(KeyframeCommand(self, text, keyframes, add=False, frame=self.timeline.frame()))

    def _keyframes_as_they_are(self, items: list[tuple[int, int, QIcon]]) -> list[Keyframe]:
        return [Keyframe(row, key_id, dict(self.keyframes[key_id]), icon) for row, key_id, icon in items]

    def insert_keyframes(self, keyframes: list[Keyframe], frame: int = 0) -> None:
        """Undo/redo: put keyframes back, with their latents in every model they were encoded into."""
        for k in keyframes:
            self.keyframes[k.key_id] = dict(k.latents)
        self._restore_frame = frame
        self.timeline.insert_keyframes([(k.row, k.key_id, k.icon) for k in keyframes])

    def take_keyframes(self, key_ids: list[int], frame: int = 0) -> list[Keyframe]:
        """Undo/redo: take keyframes off the timeline; returns them as they were, to put back later."""
        keyframes = self._keyframes_as_they_are(self.timeline.keyframe_items(key_ids))
        self._restore_frame = frame
        self.timeline.take_keyframes(key_ids)  # the window forgets their latents (_keyframes_changed)
        return keyframes

    def _keyframes_changed(self) -> None:
        live = set(self.timeline.keyframe_ids())
        for key_id in [k for k in self.keyframes if k not in live]:
            del self.keyframes[key_id]
        self._recompute_timeline()

    def _update_keyframes(self, source: str, keys: list[int], latents: list[np.ndarray]) -> None:
        for key_id, latent in zip(keys, latents):
            if key_id in self.keyframes:
                self.keyframes[key_id][source] = latent

    def keyframe_latents(self) -> list[np.ndarray]:
        if self.info is None:
            return []
        return [self.keyframes[k][self.info.source] for k in self.timeline.keyframe_ids()
                if self.info.source in self.keyframes.get(k, {})]

    def _timeline_key(self):
        ids = tuple(self.timeline.keyframe_ids())
        return (self.info.source if self.info else None, ids, self.timeline.method_name(),
                self.timeline.frames_per_step())

    def _recompute_timeline(self) -> None:
        self._timeline_frame, self._restore_frame = self._restore_frame, 0
        self.frames = None
        self.timeline.set_frame_count(0)
        keys = self.keyframe_latents()
        if not keys:
            return
        frames = (len(keys) - 1) * self.timeline.frames_per_step() + 1
        self.engine.interpolate("timeline", keys, frames, self.timeline.method_name(), context=self._timeline_key())

    def _decode_keyframe_thumbnails(self) -> None:
        ids = [k for k in self.timeline.keyframe_ids() if self.info.source in self.keyframes.get(k, {})]
        if ids:
            self.engine.decode_batch("keyframes", [self.keyframes[k][self.info.source] for k in ids], context=ids)

    def show_frame(self, index: int) -> None:
        """Scrubbing or playback: the frame becomes the face (one undo step for a whole scrub)."""
        if self.frames is None or self.state is None or not 0 <= index < len(self.frames.faces):
            return
        latent = self.frames.latents[index].copy()
        self._push("Timeline", self.state.with_latent(latent, {}), merge_key=("timeline",),
                   image=_face_tuple(self.frames.faces[index]))

    # ================================================================================== export
    def set_export_size(self, size: int) -> None:
        self.export_size = int(size)
        self.size_actions[self.export_size].setChecked(True)

    def _face_pil(self, size: int):
        from PIL import Image

        image = self.face_view.image()
        rgb, width, height = image_bytes(image)
        pil = Image.frombytes("RGB", (width, height), rgb)
        return pil if size == width else pil.resize((size, size), Image.Resampling.LANCZOS)

    def _suggested_name(self, suffix: str) -> str:
        name = self.info.name if self.info else "face"
        return f"{name}-face{suffix}"

    def export_face_dialog(self) -> None:
        path = self.ask_save_path("Export face", self._suggested_name(".png"),
                                  "PNG image (*.png);;JPEG image (*.jpg *.jpeg)")
        if path:
            self.export_face(path)

    def export_face(self, path: str | os.PathLike, size: int | None = None) -> bool:
        """Save the face as PNG or JPEG (by the file's suffix; none means PNG) at 64, 256 or 512 px."""
        if not self.face_view.has_face():
            return False
        size = int(size or self.export_size)
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".png")
        formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
        if path.suffix.lower() not in formats:
            self.show_error("Could not export the face", f"{path}: choose a .png or .jpg file name.")
            return False
        options = {"quality": 95} if formats[path.suffix.lower()] == "JPEG" else {}
        return self._write(path, lambda p: self._face_pil(size).save(p, formats[path.suffix.lower()], **options),
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
        text = latentfile.dumps({"model": self.info.source}, self.state.latent) + "\n"
        return self._write(path, lambda p: Path(p).write_text(text, encoding="utf-8"),
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

    def _frame_images(self, size: int):
        from PIL import Image

        out = []
        for face in self.frames.faces:
            im = Image.frombytes("RGB", (face.width, face.height), face.rgb)
            out.append(im if size == face.width else im.resize((size, size), Image.Resampling.LANCZOS))
        return out

    def export_gif(self, path: str | os.PathLike, size: int | None = None) -> bool:
        if self.frames is None:
            self.show_error("Nothing to export", "Add at least one keyframe to the timeline first.")
            return False
        path = Path(path)
        if path.suffix.lower() != ".gif":
            path = path.with_name(path.name + ".gif")
        frames = self._frame_images(int(size or min(self.export_size, 256)))
        duration = max(20, round(1000 / self.timeline.fps.value()))

        def write(p):
            frames[0].save(p, "GIF", save_all=True, append_images=frames[1:], duration=duration,
                           loop=0 if self.timeline.loop.isChecked() else 1, optimize=False)
        return self._write(path, write, "Could not export the GIF", f"Saved {path.name} ({len(frames)} frames)")

    def export_frames_dialog(self) -> None:
        folder = self.ask_folder("Export timeline frames to a folder")
        if folder:
            self.export_frames(folder)

    def export_frames(self, folder: str | os.PathLike, size: int | None = None) -> bool:
        """Numbered PNG frames: frame_0001.png, frame_0002.png, …"""
        if self.frames is None:
            self.show_error("Nothing to export", "Add at least one keyframe to the timeline first.")
            return False
        folder = Path(folder)
        frames = self._frame_images(int(size or self.export_size))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for i, frame in enumerate(frames, start=1):
                frame.save(folder / f"frame_{i:04d}.png", "PNG")
        except OSError as e:
            self.show_error("Could not export the frames", f"{folder}: {e.strerror or e}\n\n"
                            "Choose a folder you can write to; your work is unchanged.")
            return False
        self._remember(folder, folder_only=True)
        self.statusBar().showMessage(f"Saved {len(frames)} frames to {folder}", 5000)
        return True

    def _write(self, path: Path, write, title: str, done: str) -> bool:
        from faceedit.core.modelfile import atomic_write

        try:
            atomic_write(path, write)
        except (OSError, ValueError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            self.show_error(title, f"{path}: {reason}\n\nChoose another place; your work is unchanged.")
            return False
        self._remember(path, folder_only=True)
        self.statusBar().showMessage(done, 5000)
        return True

    # ================================================================================== misc
    def show_about(self) -> None:
        from faceedit import __version__

        QMessageBox.about(self, "About FaceEdit",
                          f"<h3>FaceEdit {__version__}</h3><p>Edit faces with β-VAEs: latent and attribute "
                          "sliders, a timeline, β switching that keeps the face.</p><p>The bundled weights are "
                          "trained on CelebA and are for non-commercial research only.</p>")

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """Stop the worker cleanly, even in the middle of a decode."""
        if not self._closing:
            self._closing = True
            self.timeline.pause()
            self._decode_timer.stop()
            try:
                self._save_settings()
            except RuntimeError:
                pass
            self.engine.shutdown()
        super().closeEvent(event)


def _face_tuple(face) -> tuple[bytes, int, int]:
    return face.rgb, face.width, face.height


def apply_look(app: QApplication) -> None:
    """Fusion with a calm light palette and a little more air."""
    app.setStyle("Fusion")
    palette = app.palette()
    colors = {
        QPalette.ColorRole.Window: "#f3f3f1", QPalette.ColorRole.Base: "#ffffff",
        QPalette.ColorRole.AlternateBase: "#f0f0ee", QPalette.ColorRole.Button: "#f7f7f5",
        QPalette.ColorRole.Highlight: "#4a7bd0", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.WindowText: "#26282c", QPalette.ColorRole.Text: "#26282c",
        QPalette.ColorRole.ButtonText: "#26282c", QPalette.ColorRole.Mid: "#8a8d93",
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    app.setPalette(palette)
    app.setStyleSheet("""
        QToolBar { spacing: 6px; padding: 4px 8px; border: none; }
        QToolBar QToolButton { padding: 4px 8px; }
        QStatusBar QLabel { color: #55585e; }
        QTabWidget::pane { border: none; }
        QListWidget { border: 1px solid #dcdcd8; border-radius: 4px; }
        QFrame#timelineFrame { border: 1px solid #dcdcd8; border-radius: 6px; background: #fafaf8; }
    """)


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
    with hint_on_plugin_failure():
        app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "faceedit"])
    app.setOrganizationName("FaceEdit")
    app.setApplicationName("FaceEdit")
    app.setApplicationDisplayName("FaceEdit")
    apply_look(app)
    settings = open_settings()
    model = args.model or settings.value("model/last") or None
    window = MainWindow(model=model, device=args.device, settings=settings)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
