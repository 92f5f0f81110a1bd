"""The timeline's keyframes, for ``EditorDocument``: their order, their latent in every model they were
encoded into, adding, removing and clearing them as undo steps, and the frames between them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceedit.gui.history import Keyframe, KeyframeCommand
from faceedit.gui.messages import Face, Tag


@dataclass(frozen=True)
class TimelineKey:
    """Which keyframes, model and path a timeline batch was computed for (older ones are dropped)."""

    source: str | None
    ids: tuple[int, ...]
    method: str
    frames_per_step: int


def face_tuple(face: Face) -> tuple[bytes, int, int]:
    return face.rgb, face.width, face.height


class KeyframesMixin:
    """The keyframe half of ``EditorDocument`` (which provides the state, the engine and the signals)."""

    # ================================================================================== keyframes
    def add_keyframe(self, icon: object = None, frame: int = 0) -> None:
        """The current face becomes the last keyframe (one undo step; not while a model loads)."""
        if self.state is None or self.info is None or self.switching:
            return
        key_id = self._next_key
        self._next_key += 1
        keyframe = Keyframe(len(self.key_order), key_id, {self.info.source: self.state.latent.copy()}, icon)
        self.undo_stack.push(KeyframeCommand(self, "Add keyframe", [keyframe], add=True, frame=frame))

    def remove_keyframes(self, key_ids: list[int], frame: int = 0, text: str = "Remove keyframe") -> None:
        if not key_ids or self.switching:
            return
        keyframes = self._keyframes_as_they_are(key_ids)
        self.undo_stack.push(KeyframeCommand(self, text, keyframes, add=False, frame=frame))

    def clear_keyframes(self, frame: int = 0) -> None:
        self.remove_keyframes(list(self.key_order), frame, "Clear keyframes")

    def _keyframes_as_they_are(self, key_ids: list[int]) -> list[Keyframe]:
        return [Keyframe(row, k, dict(self.keyframes[k]), self.icons.get(k))
                for row, k in enumerate(self.key_order) if k in key_ids]

    def insert_keyframes(self, keyframes: list[Keyframe], frame: int = 0) -> None:
        """Undo/redo: put keyframes back, with their latents in every model they were encoded into."""
        for k in keyframes:
            self.keyframes[k.key_id] = dict(k.latents)
            self.icons[k.key_id] = k.icon
            self.key_order.insert(k.row, k.key_id)
        self._restore_frame = frame
        self.keyframesInserted.emit(keyframes)
        self._keyframes_changed()

    def take_keyframes(self, key_ids: list[int], frame: int = 0) -> list[Keyframe]:
        """Undo/redo: take keyframes off the timeline; returns them as they were, to put back later."""
        keyframes = self._keyframes_as_they_are(key_ids)
        taken = [k.key_id for k in keyframes]
        self.key_order = [k for k in self.key_order if k not in taken]
        for key_id in taken:
            del self.keyframes[key_id]
            self.icons.pop(key_id, None)
        self._restore_frame = frame
        self.keyframesTaken.emit(taken)
        self._keyframes_changed()
        return keyframes

    def set_keyframe_order(self, key_ids: list[int]) -> None:
        """The view reordered the keyframes (drag and drop)."""
        if list(key_ids) != self.key_order and sorted(key_ids) == sorted(self.key_order):
            self.key_order = list(key_ids)
            self._keyframes_changed()
            self.touch()

    def set_path(self, method: str, frames_per_step: int) -> None:
        """The timeline's interpolation method or frames per step changed."""
        if (method, frames_per_step) != (self.method, self.frames_per_step):
            self.method, self.frames_per_step = method, int(frames_per_step)
            self.recompute_timeline()
            self.touch()

    def _keyframes_changed(self) -> None:
        self.keyframesChanged.emit()
        self.recompute_timeline()

    def _update_keyframes(self, source: str, keys: list[int], latents: list[np.ndarray]) -> None:
        for key_id, latent in zip(keys, latents):
            if key_id in self.keyframes:
                self.keyframes[key_id][source] = latent

    def keyframe_latents(self) -> list[np.ndarray]:
        if self.info is None:
            return []
        return [self.keyframes[k][self.info.source] for k in self.key_order
                if self.info.source in self.keyframes.get(k, {})]

    def _timeline_key(self) -> TimelineKey:
        return TimelineKey(self.info.source if self.info else None, tuple(self.key_order), self.method,
                           self.frames_per_step)

    def recompute_timeline(self) -> None:
        self._timeline_frame, self._restore_frame = self._restore_frame, 0
        self.frames = None
        self.framesChanged.emit(0, 0)
        keys = self.keyframe_latents()
        if not keys:
            return
        frames = (len(keys) - 1) * self.frames_per_step + 1
        self.engine.interpolate(Tag.TIMELINE, keys, frames, self.method, context=self._timeline_key())

    def show_frame(self, index: int) -> None:
        """Scrubbing or playback: the frame becomes the face (one undo step for a whole scrub)."""
        if self.frames is None or self.state is None or not 0 <= index < len(self.frames.faces):
            return
        latent = self.frames.latents[index].copy()
        self._push("Timeline", self.state.with_latent(latent, {}), merge_key=("timeline",),
                   image=face_tuple(self.frames.faces[index]))
