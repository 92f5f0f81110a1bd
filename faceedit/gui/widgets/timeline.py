"""The interpolation timeline: keyframes as thumbnails, a scrubber, play/pause/loop, export buttons."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel,
                               QListView, QListWidget, QListWidgetItem, QPushButton, QSlider, QSpinBox,
                               QStyle, QToolButton, QVBoxLayout, QWidget)

from faceedit.gui.widgets.pixels import screen_image
from faceedit.gui.widgets.spin_box import release_style_cache

THUMB = 56
ID_ROLE = Qt.ItemDataRole.UserRole


class TimelinePanel(QWidget):
    """Shows the keyframes and the transport; the document (``faceedit.gui.document``) owns their
    latents, their order and the frames, and the window keeps the two in step.

    Signals: ``addRequested()``, ``removeRequested()``, ``clearRequested()`` (the window does these, as
    undo steps), ``keyframesChanged()`` (added, removed, reordered, cleared),
    ``pathChanged()`` (method or frames per step), ``frameChanged(index)`` (scrubbing or playback),
    ``exportGifRequested()``, ``exportFramesRequested()``.
    """

    addRequested = Signal()
    removeRequested = Signal()
    clearRequested = Signal()
    keyframesChanged = Signal()
    pathChanged = Signal()
    frameChanged = Signal(int)
    exportGifRequested = Signal()
    exportFramesRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("timeline")
        self.setAccessibleName("Interpolation timeline")
        self._frames = 0
        style = self.style()

        self.keyframes = QListWidget()
        self.keyframes.setObjectName("keyframeList")
        self.keyframes.setAccessibleName("Keyframes")
        self.keyframes.setToolTip("Keyframes, in order. Drag to reorder.")
        self.keyframes.setViewMode(QListView.ViewMode.IconMode)
        self.keyframes.setFlow(QListView.Flow.LeftToRight)
        self.keyframes.setWrapping(False)
        self.keyframes.setIconSize(QSize(THUMB, THUMB))
        self.keyframes.setGridSize(QSize(THUMB + 12, THUMB + 12))
        self.keyframes.setFixedHeight(THUMB + 22)
        self.keyframes.setMovement(QListView.Movement.Snap)
        self.keyframes.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.keyframes.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.keyframes.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.keyframes.model().rowsMoved.connect(lambda *_: self.keyframesChanged.emit())
        self.empty_hint = QLabel("Add the current face as a keyframe, change the face, add another — "
                                 "the timeline blends between them.")
        self.empty_hint.setObjectName("timelineHint")
        self.empty_hint.setAccessibleName("Timeline hint")
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setEnabled(False)
        self.empty_hint.setFixedHeight(THUMB + 22)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.add_button = self._button("Add keyframe", "addKeyframeButton", "Add the current face as a keyframe (K)")
        self.add_button.clicked.connect(self.addRequested)
        self.remove_button = self._button("Remove", "removeKeyframeButton", "Remove the selected keyframe")
        self.remove_button.clicked.connect(self.removeRequested)
        self.clear_button = self._button("Clear", "clearKeyframesButton", "Remove all keyframes")
        self.clear_button.clicked.connect(self.clearRequested)

        self.play_button = QToolButton()
        self.play_button.setObjectName("playButton")
        self.play_button.setAccessibleName("Play")
        self.play_button.setToolTip("Play / pause")
        self.play_button.setCheckable(True)
        self.play_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setIconSize(QSize(18, 18))
        self.play_button.toggled.connect(self._play_toggled)

        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setObjectName("timelineScrubber")
        self.scrubber.setAccessibleName("Timeline position")
        self.scrubber.setRange(0, 0)
        self.scrubber.valueChanged.connect(self._scrubbed)
        self.position = QLabel("0 / 0")
        self.position.setObjectName("timelinePosition")
        self.position.setAccessibleName("Frame number")
        self.position.setMinimumWidth(64)
        self.position.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.loop = QCheckBox("Loop")
        self.loop.setObjectName("loopCheck")
        self.loop.setAccessibleName("Loop playback")
        self.loop.setChecked(True)
        self.fps = release_style_cache(QSpinBox())
        self.fps.setObjectName("fpsSpin")
        self.fps.setAccessibleName("Frames per second")
        self.fps.setRange(1, 60)
        self.fps.setValue(24)
        self.fps.setSuffix(" fps")
        self.fps.valueChanged.connect(self._fps_changed)
        self.steps = release_style_cache(QSpinBox())
        self.steps.setObjectName("framesSpin")
        self.steps.setAccessibleName("Frames between keyframes")
        self.steps.setToolTip("Frames from one keyframe to the next")
        self.steps.setRange(2, 240)
        self.steps.setValue(24)
        self.steps.setSuffix(" frames/step")
        self.steps.valueChanged.connect(lambda _: self.pathChanged.emit())
        self.method = QComboBox()
        self.method.setObjectName("interpolationCombo")
        self.method.setAccessibleName("Interpolation")
        self.method.addItem("Curved (slerp)", "slerp")
        self.method.addItem("Straight (lerp)", "lerp")
        self.method.setItemData(0, "Curves between keyframes so in-between faces stay as typical as the keyframes "
                                   "(slerp: along the sphere where most faces' latents lie)", Qt.ItemDataRole.ToolTipRole)
        self.method.setItemData(1, "A straight line between keyframes: in-between faces can look blander and "
                                   "blurrier, nearer the average face (lerp)", Qt.ItemDataRole.ToolTipRole)
        self.method.setToolTip("How the animation moves from one keyframe to the next: curved (slerp) keeps "
                               "in-between faces typical; straight (lerp) can pass through blander, blurrier ones")
        self.method.currentIndexChanged.connect(lambda _: self.pathChanged.emit())
        self.gif_button = self._button("Export GIF…", "exportGifButton", "Save the timeline as an animated GIF")
        self.gif_button.clicked.connect(self.exportGifRequested)
        self.frames_button = self._button("Export frames…", "exportFramesButton",
                                          "Save the timeline as numbered PNG frames")
        self.frames_button.clicked.connect(self.exportFramesRequested)

        self.timer = QTimer(self)
        self.timer.setObjectName("playbackTimer")
        self.timer.timeout.connect(self._tick)

        title = QLabel("<b>Timeline</b>")
        title.setObjectName("timelineTitle")
        title.setAccessibleName("Timeline")
        buttons = QVBoxLayout()
        buttons.setSpacing(4)
        buttons.addWidget(title)
        for widget in (self.add_button, self.remove_button, self.clear_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)

        transport = QHBoxLayout()
        transport.setSpacing(10)
        transport.addWidget(self.play_button)
        transport.addWidget(self.scrubber, 1)
        transport.addWidget(self.position)
        options = QHBoxLayout()
        options.setSpacing(10)
        for widget in (self.loop, self.fps, self.steps, self.method):
            options.addWidget(widget)
        options.addStretch(1)
        options.addWidget(self.gif_button)
        options.addWidget(self.frames_button)

        grid = QGridLayout(self)
        grid.setContentsMargins(10, 6, 10, 8)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(6)
        grid.addLayout(buttons, 0, 0, 3, 1)
        grid.addWidget(self.keyframes, 0, 1)
        grid.addWidget(self.empty_hint, 0, 1)  # in the strip's place while there are no keyframes
        grid.addLayout(transport, 1, 1)
        grid.addLayout(options, 2, 1)
        grid.setColumnStretch(1, 1)
        self._update_enabled()

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(text.rstrip("…"))
        button.setToolTip(tip)
        return button

    # --- keyframes ------------------------------------------------------------------------------------
    def thumbnail(self, image: QImage) -> QIcon:
        return QIcon(QPixmap.fromImage(self._thumb(image)))

    def insert_keyframes(self, keyframes: list[tuple[int, int, QIcon]]) -> None:
        """Put ``(row, key_id, icon)`` keyframes in place, in ascending row order (one change)."""
        item = None
        for row, key_id, icon in keyframes:
            item = QListWidgetItem(icon, "")
            item.setData(ID_ROLE, key_id)
            item.setToolTip(f"Keyframe {row + 1}")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"Keyframe {row + 1}")
            self.keyframes.insertItem(row, item)
        if item is not None:
            self.keyframes.scrollToItem(item)
        self._update_enabled()
        self.keyframesChanged.emit()

    def take_keyframes(self, key_ids: list[int]) -> None:
        """Remove these keyframes (one change)."""
        for row, _, _ in reversed(self.keyframe_items(key_ids)):
            self.keyframes.takeItem(row)
        self._update_enabled()
        self.keyframesChanged.emit()

    def keyframe_items(self, key_ids: list[int]) -> list[tuple[int, int, QIcon]]:
        """These keyframes as ``(row, key_id, icon)``, in ascending row order."""
        return [(row, key_id, self.keyframes.item(row).icon())
                for row, key_id in enumerate(self.keyframe_ids()) if key_id in key_ids]

    def selected_ids(self) -> list[int]:
        """The keyframes "Remove" takes: the selected ones, else the last."""
        rows = sorted({index.row() for index in self.keyframes.selectedIndexes()})
        if not rows and self.keyframes.count():
            rows = [self.keyframes.count() - 1]
        return [self.keyframes.item(row).data(ID_ROLE) for row in rows]

    def set_thumbnail(self, key_id: int, image: QImage) -> None:
        self.set_icon(key_id, self.thumbnail(image))

    def set_icon(self, key_id: int, icon: QIcon) -> None:
        for i in range(self.keyframes.count()):
            item = self.keyframes.item(i)
            if item.data(ID_ROLE) == key_id:
                item.setIcon(icon)

    def _thumb(self, image: QImage) -> QImage:
        return screen_image(image, THUMB, self.devicePixelRatioF())

    def keyframe_ids(self) -> list[int]:
        return [self.keyframes.item(i).data(ID_ROLE) for i in range(self.keyframes.count())]

    # --- frames and transport -------------------------------------------------------------------------
    def set_frame_count(self, count: int, frame: int | None = None) -> None:
        """The frames the window has computed for the current keyframes (0 while there are none);
        ``frame`` puts the position there quietly (no ``frameChanged``), as undo does."""
        self._frames = count
        with QSignalBlocker(self.scrubber):
            self.scrubber.setRange(0, max(0, count - 1))
            if frame is not None:
                self.scrubber.setValue(frame)
        self._show_position()
        self._update_enabled()

    def frame_count(self) -> int:
        return self._frames

    def frame(self) -> int:
        return self.scrubber.value()

    def set_frame(self, index: int) -> None:
        self.scrubber.setValue(index)

    def method_name(self) -> str:
        return self.method.currentData()

    def frames_per_step(self) -> int:
        return self.steps.value()

    def play(self) -> None:
        self.play_button.setChecked(True)

    def pause(self) -> None:
        self.play_button.setChecked(False)

    def is_playing(self) -> bool:
        return self.timer.isActive()

    def _play_toggled(self, on: bool) -> None:
        style = self.style()
        icon = QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(style.standardIcon(icon))
        self.play_button.setAccessibleName("Pause" if on else "Play")
        if on and self._frames > 1:
            if self.frame() >= self._frames - 1:
                self.set_frame(0)
            self.timer.start(round(1000 / self.fps.value()))
        else:
            self.timer.stop()
            if on:
                self.play_button.setChecked(False)

    def _fps_changed(self, fps: int) -> None:
        if self.timer.isActive():
            self.timer.setInterval(round(1000 / fps))

    def _tick(self) -> None:
        nxt = self.frame() + 1
        if nxt >= self._frames:
            if not self.loop.isChecked():
                self.pause()
                return
            nxt = 0
        self.set_frame(nxt)

    def _scrubbed(self, index: int) -> None:
        self._show_position()
        if self._frames:
            self.frameChanged.emit(index)

    def _show_position(self) -> None:
        self.position.setText(f"{self.frame() + 1 if self._frames else 0} / {self._frames}")

    def _update_enabled(self) -> None:
        keys = self.keyframes.count()
        self.empty_hint.setVisible(keys == 0)
        self.keyframes.setVisible(keys > 0)
        self.remove_button.setEnabled(keys > 0)
        self.clear_button.setEnabled(keys > 0)
        ready = keys > 0 and self._frames > 0
        for widget in (self.play_button, self.scrubber, self.gif_button, self.frames_button):
            widget.setEnabled(ready)
        if not ready:
            self.pause()
