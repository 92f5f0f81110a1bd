"""What an edit is, for the undo stack: a snapshot of the face before and after, or keyframes put on
or taken off the timeline.  The commands act on a ``Document`` (the protocol below, which
``faceedit.gui.document.EditorDocument`` implements), never on a window."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
from PySide6.QtGui import QImage, QUndoCommand


@dataclass(frozen=True, eq=False)
class Start:
    """The face an editing session started from: reset returns here, compare shows it."""

    latent: np.ndarray
    image: QImage | None = None  # what "compare" shows: the photo crop, or the decoded start face
    label: str = ""
    photo: np.ndarray | None = None  # the 3×64×64 uint8 crop when the start is a photo
    scene: object = None  # and its PhotoScene (the photo at preview size, its face), when known


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Everything an undo step restores: the model, the latent, the attribute amounts, the start face."""

    source: str
    latent: np.ndarray
    start: Start
    amounts: dict[str, float] = field(default_factory=dict)

    def with_latent(self, latent: np.ndarray, amounts: dict[str, float] | None = None) -> "Snapshot":
        return replace(self, latent=latent, amounts=dict(self.amounts if amounts is None else amounts))

    def is_unedited_photo(self) -> bool:
        return self.start.photo is not None and np.array_equal(self.latent, self.start.latent)


@dataclass(frozen=True, eq=False)
class Keyframe:
    """One timeline keyframe as undo restores it: its place, its latent in each model, its thumbnail."""

    row: int
    key_id: int
    latents: dict[str, np.ndarray]  # model source -> latent
    icon: object = None  # the view's thumbnail (a QIcon in the window), kept as it is across undo


class Document(Protocol):
    """What the undo commands need of the document they edit."""

    def restore(self, snapshot: Snapshot, image: tuple[bytes, int, int] | None = None,
                live: str | None = None, sync: bool = True) -> None: ...

    def restore_model(self, snapshot: Snapshot) -> None: ...

    def insert_keyframes(self, keyframes: list[Keyframe], frame: int = 0) -> None: ...

    def take_keyframes(self, key_ids: list[int], frame: int = 0) -> list[Keyframe]: ...


class EditCommand(QUndoCommand):
    """A change of face within one model. Consecutive commands with the same ``merge_key`` (one slider
    dragged, one attribute, timeline scrubbing) merge into one undo step."""

    MERGE_ID = 4001

    def __init__(self, document: Document, text: str, before: Snapshot, after: Snapshot, *, merge_key=None,
                 image: tuple[bytes, int, int] | None = None, live: str | None = None):
        super().__init__(text)
        self.document = document
        self.before, self.after = before, after
        self.merge_key = merge_key
        self._image = image  # the face of ``after``, when it is already known (no decode needed)
        self._live = live  # the panel that already shows ``after`` on the first redo

    def id(self) -> int:
        return self.MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        self.document.restore(self.after, image=self._image, live=self._live)
        self._image = None
        self._live = None

    def undo(self) -> None:
        self.document.restore(self.before)


def push_edit(stack, document: Document, text: str, before: Snapshot, after: Snapshot, *, merge_key=None,
              image: tuple[bytes, int, int] | None = None, live: str | None = None) -> None:
    """Push an EditCommand, or extend the one on top of ``stack`` when it has the same ``merge_key``.

    QUndoStack's own merge deletes the merged command in C++, but PySide 6 keeps its Python wrapper
    alive, with the document, both snapshots and the face image it references: about 1.3 KB per
    slider move, and every document that was ever edited stays in memory after its window closes. Merging
    here, before a command exists, leaks nothing. Same rules as Qt's: only into the newest step,
    and never into the step the stack marked clean (saved).
    """
    index = stack.index()
    top = stack.command(index - 1) if index > 0 else None
    if (merge_key is not None and isinstance(top, EditCommand) and top.merge_key == merge_key
            and index == stack.count() and index != stack.cleanIndex()):
        top.after = after
        document.restore(after, image=image, live=live)
        return
    stack.push(EditCommand(document, text, before, after, merge_key=merge_key, image=image, live=live))


class ModelCommand(QUndoCommand):
    """A switch of model. The first redo happened in the worker already; later ones ask it again."""

    def __init__(self, document: Document, text: str, before: Snapshot, after: Snapshot):
        super().__init__(text)
        self.document = document
        self.before, self.after = before, after
        self._done = True

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.document.restore_model(self.after)

    def undo(self) -> None:
        self.document.restore_model(self.before)


class KeyframeCommand(QUndoCommand):
    """Keyframes put on the timeline (``add``) or taken off it (remove, clear). Undo also puts the
    timeline's position back where it was (after a keyframe change it starts at the first frame)."""

    def __init__(self, document: Document, text: str, keyframes: list[Keyframe], *, add: bool, frame: int):
        super().__init__(text)
        self.document = document
        self.keyframes = keyframes
        self.add = add
        self.frame = frame

    def redo(self) -> None:
        self._apply(self.add, 0)

    def undo(self) -> None:
        self._apply(not self.add, self.frame)

    def _apply(self, add: bool, frame: int) -> None:
        if add:
            self.document.insert_keyframes(self.keyframes, frame)
        else:
            self.keyframes = self.document.take_keyframes([k.key_id for k in self.keyframes], frame)
