"""The window's actions, menus, toolbar and status bar: built here, wired to the window's slots.

Every action and widget keeps a stable ``objectName`` (tests and accessibility tools find them by it).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QProgressBar, QSizePolicy, QWidget

from faceedit.gui import settings as app_settings
from faceedit.gui.settings import EXPORT_SIZES
from faceedit.gui.widgets.spin_box import release_style_cache

if TYPE_CHECKING:
    from faceedit.gui.app import MainWindow


def _action(w: MainWindow, name: str, text: str, slot, shortcut=None, tip: str = "") -> QAction:
    action = QAction(text, w)
    action.setObjectName(name)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    if slot is not None:
        action.triggered.connect(slot)
    w.addAction(action)
    return action


def build_actions(w: MainWindow) -> None:
    w.open_action = _action(w, "openAction", "Open…", w.open_dialog, QKeySequence.StandardKey.Open,
                            "Open a project (.faceedit), a photo, a saved latent (.json) or a model file (.pt)")
    w.save_action = _action(w, "saveAction", "Save", w.save_project, QKeySequence.StandardKey.Save,
                            "Save the project: the face, its start photo, keyframes and timeline (.faceedit)")
    w.save_as_action = _action(w, "saveAsAction", "Save As…", w.save_project_as, QKeySequence.StandardKey.SaveAs,
                               "Save the project under a new name")
    w.embed_photos_action = _action(w, "embedPhotosAction", "Embed Photos in Projects", None, None,
                                    "On: a project holds its source photo; off: it refers to the photo's file")
    w.embed_photos_action.setCheckable(True)
    w.embed_photos_action.setChecked(app_settings.embed_photos(w.settings))
    w.embed_photos_action.toggled.connect(lambda on: app_settings.set_embed_photos(w.settings, on))
    w.open_model_action = _action(w, "openModelAction", "Open Model File…", w.open_model_dialog,
                                  None, "Open a FaceEdit model file")
    w.model_folder_action = _action(w, "modelFolderAction", "Show Your Model Folder",
                                    w.show_model_folder, None,
                                    "Model files (.pt) put here appear in the model picker")
    w.export_action = _action(w, "exportAction", "Export Face…", w.export_face_dialog, "Ctrl+E",
                              "Save the face as PNG or JPEG")
    w.export_latent_action = _action(w, "exportLatentAction", "Export Latent…", w.export_latent_dialog,
                                     "Ctrl+Shift+E", "Save the latent as JSON (model name and values)")
    w.copy_action = _action(w, "copyAction", "Copy Face", w.copy_face, QKeySequence.StandardKey.Copy,
                            "Copy the face to the clipboard")
    w.quit_action = _action(w, "quitAction", "Quit", w.close, QKeySequence.StandardKey.Quit)
    w.undo_action = _action(w, "undoAction", "Undo", w.undo, QKeySequence.StandardKey.Undo)
    w.redo_action = _action(w, "redoAction", "Redo", w.redo, QKeySequence.StandardKey.Redo)
    # Ctrl+Y as well as the platform's own redo key (Ctrl+Shift+Z on Linux and macOS)
    redo_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
    if QKeySequence("Ctrl+Y") not in redo_keys:
        redo_keys.append(QKeySequence("Ctrl+Y"))
    w.redo_action.setShortcuts(redo_keys)
    w.undo_action.setEnabled(False)
    w.redo_action.setEnabled(False)
    w.undo_stack.canUndoChanged.connect(w.undo_action.setEnabled)
    w.undo_stack.canRedoChanged.connect(w.redo_action.setEnabled)
    w.undo_stack.undoTextChanged.connect(lambda text: w.undo_action.setToolTip(f"Undo {text}".strip()))
    w.undo_stack.redoTextChanged.connect(lambda text: w.redo_action.setToolTip(f"Redo {text}".strip()))
    w.random_action = _action(w, "randomAction", "Random Face", w.random_face, "Ctrl+R",
                              "A new face sampled from the prior at the chosen temperature")
    w.reset_action = _action(w, "resetAction", "Reset", w.reset_face, "Ctrl+0",
                             "Back to the start face")
    w.compare_action = _action(w, "compareAction", "Compare", None, "C",
                               "Before and after: the original (photo or start face) left of a divider "
                               "that you drag, the edit right of it")
    w.compare_action.setCheckable(True)
    w.compare_action.toggled.connect(w.face_view.set_compare)
    w.add_key_action = _action(w, "addKeyframeAction", "Add Keyframe", w.add_keyframe, "K",
                               "Add the current face to the timeline")
    w.play_action = _action(w, "playAction", "Play / Pause", w.timeline.play_button.toggle, "P",
                            "Play or pause the timeline")
    w.about_action = _action(w, "aboutAction", "About FaceEdit", w.show_about)
    w.size_group = QActionGroup(w)
    w.size_actions = {}
    for size in EXPORT_SIZES:
        action = _action(w, f"exportSize{size}Action", f"{size} × {size} px", None)
        action.setCheckable(True)
        action.setChecked(size == w.export_size)
        action.triggered.connect(lambda _=False, s=size: w.set_export_size(s))
        w.size_group.addAction(action)
        w.size_actions[size] = action

    w.temperature = release_style_cache(QDoubleSpinBox())
    w.temperature.setObjectName("temperatureSpin")
    w.temperature.setAccessibleName("Temperature")
    w.temperature.setToolTip("Temperature (T) of random faces: how far from the average face they are drawn.\n"
                             "Lower (0.5–0.8) gives typical, clean faces; 1.0 draws like the training faces; "
                             "higher gives more varied, odder ones.")
    w.temperature.setRange(0.1, 2.0)
    w.temperature.setSingleStep(0.1)
    w.temperature.setDecimals(1)
    w.temperature.setPrefix("T ")
    w.temperature.setValue(app_settings.temperature(w.settings))


def build_menus_and_toolbar(w: MainWindow) -> None:
    menus = w.menuBar()
    menus.setObjectName("menuBar")
    file_menu = menus.addMenu("&File")
    file_menu.setObjectName("fileMenu")
    file_menu.addAction(w.open_action)
    w.recent_menu = file_menu.addMenu("Open Recent")
    w.recent_menu.setObjectName("recentMenu")
    w.recent_menu.aboutToShow.connect(w._fill_recent_menu)
    file_menu.addAction(w.save_action)
    file_menu.addAction(w.save_as_action)
    file_menu.addAction(w.embed_photos_action)
    file_menu.addSeparator()
    file_menu.addAction(w.export_action)
    file_menu.addAction(w.export_latent_action)
    size_menu = file_menu.addMenu("Export Size")
    size_menu.setObjectName("exportSizeMenu")
    for action in w.size_actions.values():
        size_menu.addAction(action)
    file_menu.addSeparator()
    file_menu.addAction(w.quit_action)
    edit_menu = menus.addMenu("&Edit")
    edit_menu.setObjectName("editMenu")
    for action in (w.undo_action, w.redo_action, None, w.copy_action, None, w.random_action,
                   w.reset_action, None, w.add_key_action, w.play_action):
        edit_menu.addSeparator() if action is None else edit_menu.addAction(action)
    view_menu = menus.addMenu("&View")
    view_menu.setObjectName("viewMenu")
    view_menu.addAction(w.compare_action)
    w.fit_action = _action(w, "fitFaceAction", "Fit Face", w.face_view.fit, "Ctrl+9",
                           "Zoom the face back to fit (or double-click it)")
    view_menu.addAction(w.fit_action)
    w.whole_photo_action = _action(w, "wholePhotoAction", "Whole Photo", None, "Ctrl+Shift+P",
                                   "For a photo: show the edit put back into the whole photo, at its own "
                                   "resolution (off: the VAE's 64-pixel face only)")
    w.whole_photo_action.setCheckable(True)
    w.whole_photo_action.setChecked(w.document.show_photo)
    w.whole_photo_action.toggled.connect(w.set_show_photo)
    view_menu.addAction(w.whole_photo_action)
    model_menu = menus.addMenu("&Model")
    model_menu.setObjectName("modelMenu")
    model_menu.addAction(w.open_model_action)
    model_menu.addAction(w.model_folder_action)
    help_menu = menus.addMenu("&Help")
    help_menu.setObjectName("helpMenu")
    help_menu.addAction(w.about_action)
    for menu in (file_menu, edit_menu, view_menu, model_menu, help_menu, w.recent_menu, size_menu):
        menu.menuAction().setObjectName(f"{menu.objectName()}Action")

    bar = w.addToolBar("Main")
    bar.setObjectName("mainToolBar")
    bar.setAccessibleName("Main toolbar")
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    bar.addAction(w.open_action)
    bar.addAction(w.save_action)
    bar.addSeparator()
    bar.addAction(w.random_action)
    bar.addWidget(w.temperature)
    bar.addAction(w.reset_action)
    bar.addSeparator()
    bar.addAction(w.undo_action)
    bar.addAction(w.redo_action)
    bar.addSeparator()
    bar.addAction(w.compare_action)
    bar.addAction(w.add_key_action)
    spacer = QWidget()
    spacer.setObjectName("toolbarSpacer")
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    bar.addWidget(spacer)
    model_label = QLabel("Model ")
    model_label.setObjectName("modelPickerLabel")
    model_label.setAccessibleName("Model")
    model_label.setBuddy(w.model_picker)
    bar.addWidget(model_label)
    bar.addWidget(w.model_picker)
    bar.addSeparator()
    bar.addAction(w.export_action)
    bar.addAction(w.copy_action)
    w.toolbar = bar
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


def build_status_bar(w: MainWindow) -> None:
    status = w.statusBar()
    status.setObjectName("statusBar")
    status.setSizeGripEnabled(True)
    w.busy_label = QLabel("Working…")
    w.busy_label.setObjectName("busyLabel")
    w.busy_label.setAccessibleName("Working")
    w.busy_indicator = QProgressBar()
    w.busy_indicator.setObjectName("busyIndicator")
    w.busy_indicator.setAccessibleName("Busy")
    w.busy_indicator.setRange(0, 0)
    w.busy_indicator.setFixedWidth(110)
    w.busy_indicator.setMaximumHeight(14)
    w.busy_indicator.setTextVisible(False)
    w.device_label = QLabel("…")
    w.device_label.setObjectName("deviceLabel")
    w.device_label.setAccessibleName("Device")
    w.device_label.setToolTip("Where the model runs (set FACEEDIT_DEVICE or --device to choose)")
    w.model_label = QLabel("Loading…")
    w.model_label.setObjectName("modelLabel")
    w.model_label.setAccessibleName("Model and β")
    w.decode_label = QLabel("decode –")
    w.decode_label.setObjectName("decodeLabel")
    w.decode_label.setAccessibleName("Last decode time")
    w.decode_label.setMinimumWidth(110)
    for widget in (w.busy_label, w.busy_indicator):
        status.addPermanentWidget(widget)
        widget.setVisible(False)
    for widget in (w.device_label, w.model_label, w.decode_label):
        widget.setContentsMargins(8, 0, 8, 0)
        status.addPermanentWidget(widget)
    w._decode_timer = QTimer(w)
    w._decode_timer.setObjectName("decodeLabelTimer")
    w._decode_timer.setInterval(250)
    w._decode_timer.timeout.connect(w._show_decode_time)
    w._decode_timer.start()
