"""The document's half of projects, for ``EditorDocument``: whether the work is saved, the document as a
``faceedit.formats.project.Project``, and opening one (its model loads in the worker, then the face,
the start face, the keyframes and the timeline settings replace the current ones, with a fresh history).

The file format itself is ``faceedit.formats.project`` (no Qt); the window's Save, Open, autosave and
recovery are ``faceedit.gui.project_actions``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QImage

from faceedit.formats import project as projectfile
from faceedit.gui.history import Keyframe, Snapshot, Start
from faceedit.gui.keyframes import face_tuple
from faceedit.gui.messages import Failure, ModelLoaded, Purpose


@dataclass(frozen=True)
class ProjectContext:
    """A project being opened: its model loads with the face and start face kept as they are."""

    project: projectfile.Project
    path: str  # the file it was read from
    recovered: bool = False  # a recovery copy (the work is unsaved)


def png_bytes(image: QImage | None) -> bytes | None:
    if image is None or image.isNull():
        return None
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


class ProjectMixin:
    """The project half of ``EditorDocument`` (which provides the state, the engine, the undo stack and
    the signals ``modifiedChanged``, ``contentChanged`` and ``projectOpened``)."""

    _touched = False  # changed in a way the undo stack does not record (keyframe order, timeline settings)
    _shown_modified = False

    # ================================================================================== saved or not
    def _watch_changes(self) -> None:
        # bound methods, not lambdas: the connections end with the document, before its undo stack goes
        self.undo_stack.indexChanged.connect(self._content_changed)
        self.undo_stack.cleanChanged.connect(self._check_modified)

    def is_modified(self) -> bool:
        """Whether there is work that no project file (or recovery copy of this session) holds yet."""
        return self.state is not None and (self._touched or not self.undo_stack.isClean())

    def touch(self) -> None:
        """A change outside the undo history (keyframe order, timeline settings)."""
        if self.state is not None and not self.switching:
            self._touched = True
            self._content_changed()

    def mark_saved(self) -> None:
        self._touched = False
        self.undo_stack.setClean()
        self._check_modified()

    def mark_modified(self) -> None:
        self._touched = True
        self._content_changed()

    def _content_changed(self, *_) -> None:
        self._check_modified()
        self.contentChanged.emit()

    def _check_modified(self, *_) -> None:
        modified = self.is_modified()
        if modified != self._shown_modified:
            self._shown_modified = modified
            self.modifiedChanged.emit(modified)

    # ================================================================================== to a project
    def to_project(self, timeline: projectfile.Timeline, embed_photo: bool = True) -> projectfile.Project | None:
        """The document as a project (None before the first model has loaded)."""
        state, info = self.state, self.info
        if state is None or info is None:
            return None
        start = state.start
        photo = None
        if start.photo is not None:
            found = next((p for p in self.photos if p.crop is start.photo), None) \
                or next((p for p in self.photos if p.crop is not None and np.array_equal(p.crop, start.photo)), None)
            if found is not None:
                data = found.read_data() if embed_photo else None
                photo = projectfile.PhotoSource(found.name, found.path if found.on_disk else None, data, found.box,
                                                found.angle)
        stack = self.undo_stack
        return projectfile.Project(
            model=info.source, latent=state.latent.copy(), start_latent=start.latent.copy(), start_label=start.label,
            amounts=dict(state.amounts), start_image=self._start_png(start.image), start_crop=start.photo, photo=photo,
            keyframes=[{m: z.copy() for m, z in self.keyframes[k].items()} for k in self.key_order],
            timeline=timeline, history_label=stack.undoText(), history_step=stack.index(), history_steps=stack.count())

    def _start_png(self, image: QImage | None) -> bytes | None:
        """The start image as PNG, encoded once per image (autosaves repeat it every 30 s)."""
        if image is None or image.isNull():
            return None
        cached = getattr(self, "_png_cache", None)
        if cached is None or cached[0] != image.cacheKey():
            cached = self._png_cache = (image.cacheKey(), png_bytes(image))
        return cached[1]

    # ================================================================================== from a project
    def open_project(self, project: projectfile.Project, path: str, recovered: bool = False) -> bool:
        """Load the project's model (from memory when it is loaded already) with its face and start face;
        ``projectOpened`` follows, or ``failed`` (and nothing changes)."""
        if self.state is None or self.switching:
            return False
        self._begin_switch()
        self.engine.load_model(project.model, keep=[project.latent, project.start_latent], purpose=Purpose.RESTORE,
                               context=ProjectContext(project, str(path), recovered))
        return True

    def _apply_project(self, result: ModelLoaded, context: ProjectContext) -> None:
        """The project's model is loaded: its face, start face, keyframes and timeline replace the current
        ones, and the history starts afresh."""
        from faceedit.gui.document import Photo, face_image

        project, info = context.project, result.info
        image = QImage.fromData(project.start_image, "PNG") if project.start_image else None
        if image is None or image.isNull():
            image = face_image(result.kept_faces[1])
        if project.start_crop is not None and project.photo is not None:
            source = project.photo
            photo = Photo(source.path or source.name, image, project.start_crop, box=source.box, angle=source.angle,
                          data=source.data, on_disk=source.path is not None, scene=_scene_of(source))
            self.photos.append(photo)
            self.photoAdded.emit(photo)
        start = Start(result.kept[1], image, project.start_label, photo=project.start_crop,
                      scene=photo.scene if project.start_crop is not None and project.photo is not None else None)
        amounts = {name: value for name, value in project.amounts.items() if name in info.attributes}
        if self.key_order:
            self.take_keyframes(list(self.key_order))
        self.method, self.frames_per_step = project.timeline.method, project.timeline.frames_per_step
        keyframes = []
        for row, latents in enumerate(project.keyframes):
            keyframes.append(Keyframe(row, self._next_key, {m: z.copy() for m, z in latents.items()}))
            self._next_key += 1
        if keyframes:
            self.insert_keyframes(keyframes)
        self._restore_frame = project.timeline.frame  # the views ask for the timeline's frames next
        self.state = None
        self.restore(Snapshot(info.source, result.kept[0], start, amounts), image=face_tuple(result.kept_faces[0]))
        self.undo_stack.clear()
        self._touched = False
        self._check_modified()
        self.projectOpened.emit(context)

    @staticmethod
    def _project_failure(failure: Failure) -> tuple[str, str] | None:
        """A project's model could not be loaded: say so in the project's words."""
        context = failure.context
        if not isinstance(context, ProjectContext):
            return None
        model = context.project.model
        return ("Could not open the project",
                f"{Path(context.path).name} needs the model {model!r}, which could not be opened: {failure.message}")


def _scene_of(source):
    """The PhotoScene of a project's photo (embedded, else on disk), or None when it cannot be read
    (the face is then shown alone)."""
    from faceedit.core.images import PhotoError, open_photo
    from faceedit.gui.document import photo_scene

    if source.box is None:
        return None
    try:
        photo = open_photo(io.BytesIO(source.data) if source.data else source.path)
    except (PhotoError, TypeError):
        return None
    return photo_scene(photo, source.box, source.angle)
