"""The editing document with no window and no widgets: an Engine, an EditorDocument and its signals."""
from __future__ import annotations

import json

import numpy as np
import pytest

from faceedit.gui.document import EditorDocument, Shown
from faceedit.gui.engine import Engine
from faceedit.gui.history import EditCommand, KeyframeCommand, Keyframe, Snapshot, Start
from gui_helpers import decode_bytes, isolated_settings  # noqa: F401 - a fixture pytest finds by name

WAIT_MS = 30_000


class Recorder:
    """Every signal of a document, in order, as (name, arguments)."""

    def __init__(self, doc: EditorDocument):
        self.seen: list[tuple[str, tuple]] = []
        for name in ("stateChanged", "modelChanged", "editingChanged", "keyframesInserted", "keyframesTaken",
                     "framesChanged", "failed", "faceDecoded", "galleryChanged"):
            getattr(doc, name).connect(lambda *args, name=name: self.seen.append((name, args)))

    def of(self, name: str) -> list[tuple]:
        return [args for n, args in self.seen if n == name]


@pytest.fixture
def doc(qtbot):
    engine = Engine("cpu")
    document = EditorDocument(engine)
    recorder = Recorder(document)
    document.recorder = recorder
    document.start("beta4")
    qtbot.waitUntil(lambda: document.info is not None and not engine.pending(), timeout=WAIT_MS)
    yield document
    document.closed = True
    assert engine.shutdown()


def settle(qtbot, doc) -> None:
    qtbot.waitUntil(lambda: not doc.engine.pending(), timeout=WAIT_MS)


def test_the_first_model_gives_a_state_and_a_face_with_no_history(doc):
    assert doc.info.source == "beta4" and doc.state is not None and doc.state.source == "beta4"
    shown = doc.recorder.of("stateChanged")
    assert len(shown) == 1 and isinstance(shown[0][0], Shown)
    first: Shown = shown[0][0]
    assert first.snapshot is doc.state and first.new_start and first.image is not None and not first.sync
    rgb, _, _ = first.image
    assert np.array_equal(np.frombuffer(rgb, np.uint8), decode_bytes("beta4", doc.state.latent))
    assert doc.recorder.of("modelChanged") == [(doc.info, True)]
    assert doc.recorder.of("editingChanged") == [(True,)]
    assert doc.undo_stack.count() == 0


def test_one_drag_is_one_undo_step_and_undo_restores_exactly(qtbot, doc):
    start = doc.state.latent.copy()
    doc.new_gesture()
    for value in (0.5, 1.0, 1.5):
        doc.set_latent_value(3, value)
    assert doc.undo_stack.count() == 1 and doc.state.latent[3] == np.float32(1.5)
    assert doc.recorder.of("stateChanged")[-1][0].live == "latent"
    doc.new_gesture()
    doc.set_latent_value(3, -1.0)
    assert doc.undo_stack.count() == 2
    doc.undo()
    assert doc.state.latent[3] == np.float32(1.5)
    doc.undo()
    assert np.array_equal(doc.state.latent, start)
    settle(qtbot, doc)
    decoded = doc.recorder.of("faceDecoded")[-1][0]  # the undone face is decoded again
    assert np.array_equal(decoded.latent, start)


def test_an_attribute_moves_along_its_direction_and_unknown_ones_do_nothing(doc):
    name = next(iter(doc.info.attributes))
    before = doc.state.latent.copy()
    assert doc.set_attribute(name, 2.0)
    assert np.allclose(doc.state.latent - before, 2.0 * doc.info.attributes[name], atol=1e-5)
    assert doc.state.amounts == {name: 2.0}
    steps = doc.undo_stack.count()
    assert not doc.set_attribute("No such attribute", 1.0)
    assert doc.undo_stack.count() == steps


def test_keyframes_are_undo_steps_and_the_timeline_follows(qtbot, doc):
    doc.add_keyframe("icon-1")
    doc.new_gesture()
    doc.set_latent_value(0, 2.0)
    doc.add_keyframe("icon-2")
    settle(qtbot, doc)
    assert len(doc.key_order) == 2 and doc.frames is not None
    assert len(doc.frames.faces) == doc.frames_per_step + 1
    assert doc.recorder.of("framesChanged")[-1] == (doc.frames_per_step + 1, 0)
    first, second = doc.key_order
    assert doc.keyframes[second]["beta4"][0] == np.float32(2.0)
    doc.clear_keyframes()
    assert doc.key_order == [] and doc.keyframes == {} and doc.frames is None
    assert doc.recorder.of("keyframesTaken")[-1] == ([first, second],)
    doc.undo()  # the clear: both come back, in order, with the view's thumbnails as they were
    assert doc.key_order == [first, second]
    inserted = doc.recorder.of("keyframesInserted")[-1][0]
    assert [(k.row, k.key_id, k.icon) for k in inserted] == [(0, first, "icon-1"), (1, second, "icon-2")]
    doc.set_keyframe_order([second, first])  # a drag in the view
    assert doc.key_order == [second, first]
    doc.set_keyframe_order([second])  # not a reorder: ignored
    assert doc.key_order == [second, first]


def test_a_model_switch_carries_the_face_and_keyframes_and_undoes(qtbot, doc):
    doc.add_keyframe()
    before = doc.state
    doc.switch_model("beta1")
    assert doc.switching and doc.recorder.of("editingChanged")[-1] == (False,)
    doc.undo()  # refused while the model loads
    assert doc.undo_stack.index() == 1
    qtbot.waitUntil(lambda: doc.info.source == "beta1" and not doc.switching, timeout=WAIT_MS)
    settle(qtbot, doc)
    assert doc.state.source == "beta1" and doc.undo_stack.undoText() == "Switch to beta1"
    assert all(set(latents) == {"beta4", "beta1"} for latents in doc.keyframes.values())
    doc.undo()
    qtbot.waitUntil(lambda: doc.info.source == "beta4" and not doc.switching, timeout=WAIT_MS)
    assert doc.state.source == "beta4" and np.array_equal(doc.state.latent, before.latent)
    assert doc.state.start.label == before.start.label and doc.undo_stack.index() == 1


def test_a_bad_latent_file_is_a_message_and_changes_nothing(doc, tmp_path):
    state, steps = doc.state, doc.undo_stack.count()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert not doc.open_latent(bad)
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"model": "beta4", "latent": [0.0] * 3}))
    assert not doc.open_latent(short)
    titles = [title for title, _ in doc.recorder.of("failed")]
    assert titles == ["Could not open the latent", "Could not open the latent"]
    assert "3 values" in doc.recorder.of("failed")[-1][1]
    assert doc.state is state and doc.undo_stack.count() == steps


def test_a_model_that_fails_to_load_leaves_everything_as_it_was(qtbot, doc, tmp_path):
    state = doc.state
    doc.switch_model(str(tmp_path / "missing.pt"))
    qtbot.waitUntil(lambda: not doc.switching, timeout=WAIT_MS)
    title, message = doc.recorder.of("failed")[-1]
    assert "model is still beta4" in message
    assert doc.state is state and doc.info.source == "beta4" and doc.recorder.of("editingChanged")[-1] == (True,)


class FakeDocument:
    """The undo commands need only the Document protocol."""

    def __init__(self):
        self.calls: list[tuple] = []

    def restore(self, snapshot, image=None, live=None, sync=True):
        self.calls.append(("restore", snapshot, image, live))

    def restore_model(self, snapshot):
        self.calls.append(("restore_model", snapshot))

    def insert_keyframes(self, keyframes, frame=0):
        self.calls.append(("insert", [k.key_id for k in keyframes], frame))

    def take_keyframes(self, key_ids, frame=0):
        self.calls.append(("take", list(key_ids), frame))
        return [Keyframe(0, k, {}) for k in key_ids]


def test_undo_commands_act_on_the_document_protocol():
    fake = FakeDocument()
    a = Snapshot("m", np.zeros(2, np.float32), Start(np.zeros(2, np.float32)))
    b = a.with_latent(np.ones(2, np.float32))
    command = EditCommand(fake, "Move", a, b, image=(b"x", 1, 1), live="latent")
    command.redo()
    command.undo()
    command.redo()  # the known face and the live panel apply to the first redo only
    assert fake.calls == [("restore", b, (b"x", 1, 1), "latent"), ("restore", a, None, None),
                          ("restore", b, None, None)]
    fake.calls.clear()
    keys = KeyframeCommand(fake, "Add", [Keyframe(0, 7, {})], add=True, frame=5)
    keys.redo()
    keys.undo()
    assert fake.calls == [("insert", [7], 0), ("take", [7], 5)]
