"""The editing document: what is being edited, its undo history, and the engine's answers about it.

``EditorDocument`` owns the current ``Snapshot`` (model, latent, attribute amounts, start face), the
timeline's keyframes (their order and their latent in every model they were encoded into), the photos
opened in this session, the model switch in progress, and the ``QUndoStack``.  It posts requests to the
``Engine`` and routes its answers; views (the window and its widgets) follow its signals and call its
methods.  It builds no widget, so it is tested with no window at all (``tests/test_document.py``).
"""
from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QUndoStack

from faceedit.formats import catalog, latentfile
from faceedit.gui.engine import Engine
from faceedit.gui.keyframes import face_tuple
from faceedit.gui.messages import Batch, Decoded, Encoded, Face, Failure, Lane, ModelInfo, ModelLoaded, Purpose, Tag
from faceedit.gui.history import ModelCommand, Snapshot, Start, push_edit
from faceedit.gui.keyframes import KeyframesMixin
from faceedit.gui.project_state import ProjectContext, ProjectMixin
from faceedit.gui.widgets.pixels import rgb_image

RANDOM_SAMPLES = 24
MAX_EMBEDDED_PHOTO = 64 << 20  # a larger source photo is saved in projects as a reference only
UNDO_LIMIT = 1000


# ----------------------------------------------------------------------------- request contexts
@dataclass(frozen=True)
class StartupContext:
    fallback: bool = False  # this load is the bundled default, after the asked-for model failed


@dataclass(frozen=True)
class SwitchContext:
    before: Snapshot
    keys: list[int]  # keyframes carried along (after the face and the start face)
    key_offset: int = 2
    photo_edit: bool = False  # an edited photo: the photo, plus the edit (items 2 and 3) carried across


@dataclass(frozen=True)
class OpenLatentContext:
    before: Snapshot
    path: str
    keys: list[int]
    key_offset: int = 0


@dataclass(frozen=True)
class RestoreContext:
    snapshot: Snapshot
    keys: list[int]
    key_offset: int = 0


@dataclass(eq=False)
class Photo:
    """A photo opened in this session: its path, the crop shown by compare, and the 3×64×64 crop."""

    path: str
    image: QImage
    crop: np.ndarray | None = None
    box: tuple[int, int, int] | None = None  # the square of the photo that was encoded
    angle: float = 0.0  # turned by this many degrees about its centre (a detected face's eye line)
    data: bytes | None = None  # the photo file, once read for a project (or as a project embedded it)
    on_disk: bool = True  # False: it came embedded in a project, and ``path`` is only its name
    scene: object = None  # the PhotoScene the edit is put back into (None: the face alone is shown)
    stamp: tuple[int, int] | None = None  # the file's size and modification time when it was opened

    def changed_on_disk(self) -> bool:
        """Whether the file is no longer the one that was opened (its bytes not kept)."""
        if self.data is not None or not self.on_disk or self.stamp is None:
            return False
        now = _stamp(self.path)
        return now is not None and now != self.stamp  # gone (None): reading it says so

    @property
    def name(self) -> str:
        return Path(self.path).name

    def read_data(self) -> bytes | None:
        """The photo file's bytes (read once, kept for later saves); None when it cannot be read."""
        if self.data is None and self.on_disk:
            try:
                if Path(self.path).stat().st_size <= MAX_EMBEDDED_PHOTO:
                    self.data = Path(self.path).read_bytes()
            except OSError:
                return None
        return self.data


@dataclass(frozen=True)
class Shown:
    """What ``stateChanged`` carries: the new snapshot and how the views should follow it."""

    snapshot: Snapshot
    new_start: bool  # the start face changed: the reset values and the compare image follow
    image: tuple[bytes, int, int] | None  # the face, when already known (else a decode is on its way)
    seq: int  # the face's sequence number, when ``image`` is given
    live: str | None  # "latent" or "attribute": that panel already shows the snapshot
    sync: bool  # whether the panels should be set from the snapshot


def photo_scene(photo, box: tuple[int, int, int], angle: float = 0.0):
    """The PhotoScene of an upright RGB PIL photo and the crop (``box``, turned by ``angle``) encoded from it."""
    from faceedit.core.composite import preview_scene
    from faceedit.core.faces import face_from_crop

    return preview_scene(np.asarray(photo.convert("RGB")), face_from_crop(*box, angle))


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def face_image(face: Face) -> QImage:
    return rgb_image(face.rgb, face.width, face.height)


def gallery_label(index: int, info: ModelInfo | None) -> str:
    names = info.gallery_names if info else []
    return f"Gallery face {index + 1}" + (f" · {Path(names[index]).name}" if index < len(names) else "")


class EditorDocument(KeyframesMixin, ProjectMixin, QObject):
    """The face being edited, its history and its timeline; the engine does the model work."""

    stateChanged = Signal(object)  # Shown
    faceDecoded = Signal(object)  # Decoded: a fresh face to paint
    startImageChanged = Signal(object)  # Start: its image is known now
    modelChanged = Signal(object, bool)  # ModelInfo, whether it is the first model
    editingChanged = Signal(bool)  # False while a model loads
    keyframesInserted = Signal(object)  # list[Keyframe], in ascending row order
    keyframesTaken = Signal(object)  # list[int]
    keyframesChanged = Signal()  # any change of the keyframes or their order
    keyframeThumbnails = Signal(object, object)  # key ids, thumbnails
    framesChanged = Signal(int, int)  # the timeline's frame count, the position to show
    galleryChanged = Signal(str, object, object)  # kind ("model" or "random"), images, labels
    photoAdded = Signal(object)  # Photo
    fileOpened = Signal(str)  # a file was read (for recent files)
    failed = Signal(str, str)  # title, message
    noModel = Signal()  # no model could be opened at all
    modifiedChanged = Signal(bool)  # whether there is unsaved work
    contentChanged = Signal()  # any change of the work (an undo step, keyframe order, timeline settings)
    projectOpened = Signal(object)  # ProjectContext: a project replaced the work

    def __init__(self, engine: Engine, parent: QObject | None = None,
                 thumbnail: Callable[[QImage], object] = lambda image: image):
        super().__init__(parent)
        self.engine = engine
        self.thumbnail = thumbnail  # the view's keyframe thumbnail of a face image
        self.info: ModelInfo | None = None
        self.state: Snapshot | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setObjectName("undoStack")
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.keyframes: dict[int, dict[str, np.ndarray]] = {}  # keyframe id -> {model source: latent}
        self.key_order: list[int] = []
        self.icons: dict[int, object] = {}
        self._next_key = 1
        self.method = "slerp"
        self.frames_per_step = 12
        self._restore_frame = 0  # the timeline position an undo of a keyframe change puts back ...
        self._timeline_frame = 0  # ... once the frames being computed arrive
        self.frames: Batch | None = None  # the timeline's frames for the current keyframes
        self.gallery_latents = np.zeros((0, 0), np.float32)
        self.sample_latents: np.ndarray | None = None
        self.photos: list[Photo] = []
        self.switching = False
        self.closed = False
        self.show_photo = True  # a photo's edit is shown in the whole photo (False: the VAE face only)
        self.photo_edit: Decoded | None = None  # the newest face decoded with its photo
        self._gesture = 0
        self._startup_source = ""
        engine.modelLoaded.connect(self._on_model_loaded)
        engine.faceDecoded.connect(self._on_face)
        engine.photoEncoded.connect(self._on_photo)
        engine.batchDecoded.connect(self._on_batch)
        engine.failed.connect(self._on_failure)
        self._watch_changes()

    # ================================================================================== the model
    def start(self, source: str) -> None:
        """Load the first model (with its default face); the bundled default if that fails."""
        self._startup_source = str(source or "")
        self.engine.load_model(self._startup_source, default_face=True, purpose=Purpose.STARTUP,
                               context=StartupContext())

    def switch_model(self, source: str) -> None:
        """Re-encode the current face (and start face, keyframes) into another model, in the worker."""
        if self.state is None or self.info is None or self.switching:
            return
        state = self.state
        current = state.start.photo if state.is_unedited_photo() else state.latent
        start = state.start.photo if state.start.photo is not None else state.start.latent
        keys = self._keys_missing(source)
        carry, context = [current, start], SwitchContext(state, keys)
        if state.start.photo is not None and not state.is_unedited_photo():
            # re-encode the photo itself, not the decoded edit; the edit goes across as the difference
            # between the edited and the unedited face, both decoded and re-encoded the same way
            carry, context = [start, start, state.latent, state.start.latent], SwitchContext(state, keys, 4, True)
        self._begin_switch()
        self.engine.load_model(source, carry=carry + self._latents_of(keys), purpose=Purpose.SWITCH,
                               context=context)

    def restore_model(self, snapshot: Snapshot) -> None:
        """Undo/redo of a model switch: load that model again (from memory) with the snapshot's latents."""
        if self.info is not None and snapshot.source == self.info.source:
            self.restore(snapshot)
            return
        keys = self._keys_missing(snapshot.source)
        self._begin_switch()
        self.engine.load_model(snapshot.source, keep=[snapshot.latent, snapshot.start.latent],
                               carry=self._latents_of(keys), purpose=Purpose.RESTORE,
                               context=RestoreContext(snapshot, keys))

    def _keys_missing(self, source: str) -> list[int]:
        return [k for k in self.key_order if source not in self.keyframes.get(k, {})]

    def _latents_of(self, keys: list[int]) -> list[np.ndarray]:
        return [self.keyframes[k][self.info.source] for k in keys]

    def _begin_switch(self) -> None:
        self.switching = True
        self.editingChanged.emit(False)

    def request_model_faces(self, temperature: float) -> None:
        """The views are ready for the model: decode the gallery, samples, thumbnails and timeline."""
        info = self.info
        if info is None or self.closed:
            return
        self.engine.decode_batch(Tag.GALLERY, info.gallery if len(info.gallery) else np.zeros((0, info.latent_dim)))
        if self.sample_latents is None or self.sample_latents.shape[1] != info.latent_dim:
            self.new_samples(temperature)
        else:
            self.engine.decode_batch(Tag.SAMPLES, self.sample_latents)
        ids = [k for k in self.key_order if info.source in self.keyframes.get(k, {})]
        if ids:
            self.engine.decode_batch(Tag.KEYFRAMES, [self.keyframes[k][info.source] for k in ids], context=ids)
        self.recompute_timeline()

    # ================================================================================== engine answers
    def _on_model_loaded(self, result: ModelLoaded) -> None:
        info = result.info
        first = self.info is None
        self.info = info
        self.switching = False
        self.editingChanged.emit(True)
        context = result.context
        if isinstance(context, (SwitchContext, OpenLatentContext, RestoreContext)):
            self._update_keyframes(info.source, context.keys, result.carried[context.key_offset:])
        if isinstance(context, ProjectContext):
            self._apply_project(result, context)
        elif result.purpose == Purpose.STARTUP:
            label = gallery_label(0, info) if len(info.gallery) else "Average face"
            start = Start(result.kept[0], face_image(result.kept_faces[0]), label)
            self.state = None
            self.restore(Snapshot(info.source, result.kept[0], start), image=face_tuple(result.kept_faces[0]),
                         sync=False)
        elif result.purpose == Purpose.SWITCH:
            before = context.before
            start_image = before.start.image if before.start.photo is not None else face_image(result.carried_faces[1])
            start = replace(before.start, latent=result.carried[1], image=start_image)
            latent, image = result.carried[0], face_tuple(result.carried_faces[0])
            if context.photo_edit:
                latent = (result.carried[1] + result.carried[2] - result.carried[3]).astype(np.float32)
                image = None  # decoded by the engine
            after = Snapshot(info.source, latent, start)
            self.undo_stack.push(ModelCommand(self, f"Switch to {info.name}", before, after))
            self.restore(after, image=image)
        elif result.purpose == Purpose.OPEN_LATENT:
            name = Path(context.path).name
            start = Start(result.kept[0], face_image(result.kept_faces[0]), name)
            after = Snapshot(info.source, result.kept[0], start)
            self.undo_stack.push(ModelCommand(self, f"Open {name}", context.before, after))
            self.restore(after, image=face_tuple(result.kept_faces[0]))
        else:  # RESTORE: undo or redo of a model switch
            snapshot = context.snapshot
            start_image = snapshot.start.image if snapshot.start.image is not None else face_image(result.kept_faces[1])
            snapshot = replace(snapshot, start=replace(snapshot.start, image=start_image))
            self.restore(snapshot, image=face_tuple(result.kept_faces[0]))
        self.modelChanged.emit(info, first)

    def _on_face(self, decoded: Decoded) -> None:
        if decoded.photo is not None:
            self.photo_edit = decoded
        self.faceDecoded.emit(decoded)
        if self.state is not None and self.state.start.image is None \
                and np.array_equal(decoded.latent, self.state.start.latent):
            start = replace(self.state.start, image=face_image(decoded.face))
            self.state = replace(self.state, start=start)
            self.startImageChanged.emit(start)

    def _on_photo(self, encoded: Encoded) -> None:
        photo = encoded.context
        if self.state is None or not isinstance(photo, Photo):
            return
        if not any(p is photo for p in self.photos):
            self.photos.append(photo)
            self.photoAdded.emit(photo)
        photo.crop = encoded.photo
        start = Start(encoded.latent, photo.image, photo.name, photo=encoded.photo, scene=photo.scene)
        self._push(f"Open {photo.name}", Snapshot(self.state.source, encoded.latent, start),
                   image=face_tuple(encoded.face))

    def _on_batch(self, batch: Batch) -> None:
        images = [face_image(f) for f in batch.faces]
        if batch.tag == Tag.GALLERY:
            self.gallery_latents = batch.latents
            self.galleryChanged.emit("model", images, [gallery_label(i, self.info) for i in range(len(images))])
        elif batch.tag == Tag.SAMPLES:
            self.sample_latents = batch.latents
            self.galleryChanged.emit("random", images, [f"Random face {i + 1}" for i in range(len(images))])
        elif batch.tag == Tag.RANDOM_FACE:
            self._set_start(batch.latents[0], images[0], f"Random face (T {batch.context:.1f})",
                            face_tuple(batch.faces[0]), "Random face")
        elif batch.tag == Tag.KEYFRAMES:
            live = [(k, image) for k, image in zip(batch.context, images) if k in self.keyframes]
            icons = [self.thumbnail(image) for _, image in live]
            for (key_id, _), icon in zip(live, icons):
                self.icons[key_id] = icon
            self.keyframeThumbnails.emit([k for k, _ in live], icons)
        elif batch.tag == Tag.TIMELINE:
            if batch.context == self._timeline_key():
                self.frames = batch
                self.framesChanged.emit(len(batch.faces), self._timeline_frame)

    def _on_failure(self, failure: Failure) -> None:
        context = failure.context
        if failure.lane == Lane.MODEL:
            self.switching = False
            self.editingChanged.emit(self.info is not None)
            if isinstance(context, RestoreContext):
                self._return_to_current_step(context.snapshot)
        startup = failure.purpose == Purpose.STARTUP and self.info is None
        fallback = catalog.default_model() if startup else None
        retry = bool(fallback) and self._startup_source != fallback \
            and not (isinstance(context, StartupContext) and context.fallback)
        if startup:
            note = f"\n\nFaceEdit opens the bundled model {fallback} instead." if retry else ""
        elif self.info is not None and failure.lane == Lane.MODEL:
            note = f"\n\nYour face and history are unchanged; the model is still {self.info.name}."
        else:
            note = "\n\nYour face and history are unchanged."
        title, message = self._project_failure(failure) or (failure.title, failure.message)
        self.failed.emit(title, message + note)
        if startup:
            if retry:
                self._startup_source = fallback
                self.engine.load_model(fallback, default_face=True, purpose=Purpose.STARTUP,
                                       context=StartupContext(fallback=True))
            else:
                self.noModel.emit()

    def _return_to_current_step(self, snapshot: Snapshot) -> None:
        """An undo or redo of a model switch failed: move the history back to the face still shown
        (the step back stays within the current model, so it only decodes)."""
        stack = self.undo_stack
        undone = stack.command(stack.index())
        redone = stack.command(stack.index() - 1)
        if isinstance(undone, ModelCommand) and undone.before is snapshot:
            stack.redo()
        elif isinstance(redone, ModelCommand) and redone.after is snapshot:
            stack.undo()

    # ================================================================================== state and history
    def restore(self, snapshot: Snapshot, image: tuple[bytes, int, int] | None = None, live: str | None = None,
                sync: bool = True) -> None:
        """Make ``snapshot`` the current face: the views follow, and the face is decoded unless given."""
        previous = self.state
        self.state = snapshot
        seq = self.engine.claim_face() if image is not None else 0
        new_start = previous is None or previous.start is not snapshot.start
        self.stateChanged.emit(Shown(snapshot, new_start, image, seq, live, sync))
        scene = self.photo_scene()
        if image is None or scene is not None:
            self.engine.decode(snapshot.latent, scene, snapshot.start.latent)

    def photo_scene(self):
        """The PhotoScene the face is shown in, or None when the face is shown alone."""
        if self.state is None or not self.show_photo:
            return None
        return self.state.start.scene

    def current_photo(self) -> tuple[Photo, np.ndarray] | None:
        """The photo the face is shown in and the edit (decode(latent) − decode(start), 64×64×3) of the
        current face, or None while there is none or its decode is still on its way."""
        scene, edit = self.photo_scene(), self.photo_edit
        if scene is None or edit is None or not np.array_equal(edit.latent, self.state.latent):
            return None
        photo = next((p for p in self.photos if p.scene is scene), None)
        return None if photo is None else (photo, edit.difference)

    def set_show_photo(self, on: bool) -> None:
        """Show a photo's edit in the whole photo (the default) or the VAE's face alone."""
        self.show_photo = bool(on)
        if self.state is not None and self.state.start.scene is not None:
            self.engine.decode(self.state.latent, self.photo_scene(), self.state.start.latent)

    def undo(self) -> None:
        """Undo (not while a model loads: its answer is built on the face as it was when asked)."""
        if not self.switching:
            self.undo_stack.undo()

    def redo(self) -> None:
        if not self.switching:
            self.undo_stack.redo()

    def new_gesture(self, *_) -> None:
        """A slider press: the moves that follow merge into one undo step."""
        self._gesture += 1

    def _push(self, text: str, after: Snapshot, **kwargs) -> None:
        if self.state is None or self.switching:
            return
        push_edit(self.undo_stack, self, text, self.state, after, **kwargs)  # (QUndoStack's own merge leaks)

    # ================================================================================== edits
    def set_latent_value(self, dim: int, value: float) -> None:
        """A latent slider moved (live while dragging): one undo step per drag of one slider."""
        if self.state is None:
            return
        latent = self.state.latent.copy()
        latent[dim] = value
        self._push(f"Move z{dim}", self.state.with_latent(latent), merge_key=("latent", dim, self._gesture),
                   live="latent")

    def set_attribute(self, name: str, amount: float) -> bool:
        """An attribute slider moved: the latent moves along that direction from where it is now."""
        if self.state is None or self.info is None or name not in self.info.attributes:
            return False
        amounts = dict(self.state.amounts)
        delta = amount - amounts.get(name, 0.0)
        amounts[name] = amount
        latent = (self.state.latent + np.float32(delta) * self.info.attributes[name]).astype(np.float32)
        self._push(f"Attribute {name}", self.state.with_latent(latent, amounts),
                   merge_key=("attribute", name, self._gesture), live="attribute")
        return True

    def random_face(self, temperature: float) -> None:
        if self.info is not None:
            self.engine.sample(Tag.RANDOM_FACE, 1, temperature, random.getrandbits(31), context=temperature)

    def new_samples(self, temperature: float) -> None:
        if self.info is not None:
            self.engine.sample(Tag.SAMPLES, RANDOM_SAMPLES, temperature, random.getrandbits(31))

    def reset_face(self) -> None:
        if self.state is not None:
            self._push("Reset to start face", self.state.with_latent(self.state.start.latent.copy(), {}))

    def pick_start_face(self, kind: str, index: int) -> None:
        """A face of the gallery ("model"), the random samples ("random") or the photos ("photos")."""
        if self.state is None:
            return
        if kind == "photos":
            if 0 <= index < len(self.photos):
                photo = self.photos[index]
                self.engine.encode_photo(photo.crop, context=photo)
            return
        latents = self.gallery_latents if kind == "model" else self.sample_latents
        if latents is None or not 0 <= index < len(latents):
            return
        label = gallery_label(index, self.info) if kind == "model" else f"Random face {index + 1}"
        self._set_start(latents[index].copy(), None, label, None, f"Pick {label}")

    def _set_start(self, latent: np.ndarray, image: QImage | None, label: str, face, text: str) -> None:
        if self.state is None:
            return
        self._push(text, Snapshot(self.state.source, latent, Start(latent, image, label)), image=face)

    def encode_photo(self, photo, box: tuple[int, int, int], path: str, shown: QImage, angle: float = 0.0) -> None:
        """Encode an upright PIL photo's square ``box`` (turned by ``angle`` degrees, so that a detected
        face's eyes are level) in the worker; it becomes the start face."""
        path, box, angle = os.path.abspath(path), tuple(box), float(angle)
        same = next((p for p in self.photos if os.path.abspath(p.path) == path and p.box == box
                     and p.angle == angle), None)
        photo_record = same or Photo(path, shown, box=box, angle=angle, scene=photo_scene(photo, box, angle),
                                     stamp=_stamp(path))
        self.engine.encode_photo(photo, box, context=photo_record, angle=angle)

    def open_latent(self, path) -> bool:
        """A latent saved as JSON {"model": name, "latent": [...]} (by this app or the CLI)."""
        if self.state is None or self.info is None:
            return False
        try:
            model, latent = latentfile.read(path)
            if model is None:
                raise latentfile.LatentFileError(f"{path}: it does not name its model")
        except OSError as e:
            self.failed.emit("Could not open the latent", f"{path}: {e.strerror or e}")
            return False
        except latentfile.LatentFileError as e:
            self.failed.emit("Could not open the latent", f"{e}.")
            return False
        self.fileOpened.emit(str(path))
        if model in (self.info.source, self.info.name, self.info.path):
            if len(latent) != self.info.latent_dim:
                self.failed.emit("Could not open the latent", f"{path}: it has {len(latent)} values, but "
                                 f"{self.info.name} has {self.info.latent_dim} latent dimensions.")
                return False
            start = Start(latent, None, Path(path).name)
            self._push(f"Open {Path(path).name}", Snapshot(self.state.source, latent, start))
            return True
        keys = self._keys_missing(model)
        self._begin_switch()
        self.engine.load_model(model, keep=[latent], carry=self._latents_of(keys), purpose=Purpose.OPEN_LATENT,
                               context=OpenLatentContext(self.state, str(path), keys))
        return True
