"""Projects in the editor: Save / Open round trip, the dirty mark, the quit prompt, autosave, and a
killed editor that offers its work back on the next start (a child process, SIGKILLed)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox

from faceedit.formats import project as projectfile
from faceedit.gui import project_actions
from faceedit.gui.app import MainWindow
from gui_helpers import WAIT_MS, assert_face_is, settle, settle_all
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)

REAL_ASK = MainWindow.ask_unsaved_changes  # isolated_settings makes closing windows discard; some tests ask


def new_window(qtbot) -> MainWindow:
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(w.ready, timeout=WAIT_MS)
    settle(qtbot, w)
    return w


def answer(name: str, button: str, seen: list) -> None:
    """Click ``button`` of the modal dialog ``name`` as soon as it is shown (for a dialog run by exec())."""
    tries = [0]

    def poll():
        box = QApplication.activeModalWidget()
        if box is not None and box.objectName() == name:
            seen.append(box.text())
            box.findChild(QAbstractButton, button).click()
        elif tries[0] < 500:
            tries[0] += 1
            QTimer.singleShot(20, poll)
    QTimer.singleShot(0, poll)


def keyframe_latents(w) -> list[dict[str, np.ndarray]]:
    return [{m: z.copy() for m, z in w.keyframes[k].items()} for k in w.document.key_order]


def test_save_and_open_restore_face_keyframes_per_model_and_timeline(qtbot, window, errors, tmp_path):
    w = window
    w.set_latent_value(0, 1.5)
    w.add_keyframe()
    w.set_attribute("Smiling", 1.0)
    w.add_keyframe()
    settle_all(qtbot, w)
    w.switch_model("beta1")  # the keyframes are carried into beta1 too
    qtbot.waitUntil(lambda: w.info.source == "beta1" and w.ready(), timeout=WAIT_MS)
    settle(qtbot, w)
    w.set_latent_value(2, -1.0)
    w.add_keyframe()  # this one exists in beta1 only
    w.timeline.fps.setValue(12)
    w.timeline.loop.setChecked(False)
    w.timeline.steps.setValue(10)
    w.timeline.method.setCurrentIndex(w.timeline.method.findData("lerp"))
    settle_all(qtbot, w)
    latent, start, amounts = w.state.latent.copy(), w.state.start.latent.copy(), dict(w.state.amounts)
    keys = keyframe_latents(w)
    assert [sorted(k) for k in keys] == [["beta1", "beta4"], ["beta1", "beta4"], ["beta1"]]

    path = tmp_path / "work" / "portrait"
    assert w.save_project_to(path)
    saved = tmp_path / "work" / "portrait.faceedit"
    assert saved.is_file() and w.project_path == str(saved.resolve())
    assert w.windowTitle() == "portrait.faceedit[*] — FaceEdit" and not w.isWindowModified()
    assert w.recent_files()[0] == str(saved.resolve())

    other = new_window(qtbot)  # a fresh editor, on beta4
    assert other.info.source == "beta4"
    other._fill_recent_menu()
    recent = other.recent_menu.actions()[0]
    assert recent.objectName() == "recentFile0Action" and recent.text() == "portrait.faceedit"
    recent.trigger()  # Open Recent
    qtbot.waitUntil(lambda: other.project_path == str(saved.resolve()) and other.ready(), timeout=WAIT_MS)
    settle_all(qtbot, other)
    assert other.info.source == "beta1"
    assert other.state.latent.tobytes() == latent.tobytes() and other.state.start.latent.tobytes() == start.tobytes()
    assert other.state.amounts == amounts
    back = keyframe_latents(other)
    assert [sorted(k) for k in back] == [sorted(k) for k in keys]
    assert all(b[m].tobytes() == k[m].tobytes() for b, k in zip(back, keys) for m in k)
    assert (other.timeline.fps.value(), other.timeline.loop.isChecked(), other.timeline.frames_per_step(),
            other.timeline.method_name()) == (12, False, 10, "lerp")
    assert other.timeline.keyframe_ids() == other.document.key_order and other.timeline.frame_count() == 21
    assert other.undo_stack.count() == 0 and not other.isWindowModified()
    assert other.windowTitle() == "portrait.faceedit[*] — FaceEdit"
    assert_face_is(other, "beta1", latent)
    assert not errors


def test_the_dirty_mark_follows_edits_undo_save_and_timeline_settings(qtbot, window, tmp_path):
    w = window
    assert w.windowTitle() == "FaceEdit[*]" and not w.isWindowModified()
    w.set_latent_value(0, 0.5)
    assert w.isWindowModified()
    w.undo()
    assert not w.isWindowModified()  # back where it was
    w.redo()
    assert w.isWindowModified()
    assert w.save_project_to(tmp_path / "a.faceedit")
    assert not w.isWindowModified()
    w.timeline.fps.setValue(7)  # outside the undo history, still unsaved work
    assert w.isWindowModified()
    w.save_action.trigger()  # Ctrl+S: the project's own file, no dialog
    assert not w.isWindowModified() and projectfile.read(tmp_path / "a.faceedit").timeline.fps == 7
    w.set_latent_value(1, 0.25)
    w.undo()
    w.undo()  # before the save point: unsaved again
    assert w.isWindowModified()


def test_save_as_asks_for_a_name_and_a_failed_save_keeps_the_work(qtbot, window, errors, tmp_path, monkeypatch):
    w = window
    w.set_latent_value(0, 0.5)
    monkeypatch.setattr(w, "ask_save_path", lambda title, suggested, filt: str(tmp_path / "notes.txt" / "x"))
    (tmp_path / "notes.txt").write_text("mine")
    assert not w.save_action.trigger() and w.isWindowModified()
    assert errors and errors[-1][0] == "Could not save the project" and "nothing was written" in errors[-1][1]
    assert (tmp_path / "notes.txt").read_text() == "mine" and w.project_path is None
    monkeypatch.setattr(w, "ask_save_path", lambda title, suggested, filt: str(tmp_path / "b.faceedit"))
    assert w.save_project_as() and not w.isWindowModified() and (tmp_path / "b.faceedit").is_file()


def test_a_bad_project_is_one_message_and_the_work_stays(qtbot, window, errors, tmp_path):
    w = window
    w.set_latent_value(0, 0.5)
    settle(qtbot, w)
    latent, steps = w.state.latent.copy(), w.undo_stack.count()
    bad = tmp_path / "bad.faceedit"
    bad.write_bytes(b"PK\x03\x04 truncated")
    assert w.open_path(bad) is False
    assert errors == [("Could not open the project", f"{bad}: damaged or truncated (the end of the zip archive is "
                       "missing)\n\nYour face and history are unchanged.")]
    assert np.array_equal(w.state.latent, latent) and w.undo_stack.count() == steps and w.isWindowModified()


def test_a_project_whose_model_is_gone_changes_nothing(qtbot, window, errors, tmp_path):
    w = window
    project = w.current_project()
    project.model = str(tmp_path / "gone.pt")
    projectfile.write(tmp_path / "p.faceedit", project)
    w.set_latent_value(0, 0.5)
    settle(qtbot, w)
    latent = w.state.latent.copy()
    assert w.open_path(tmp_path / "p.faceedit")
    qtbot.waitUntil(lambda: bool(errors) and w.ready(), timeout=WAIT_MS)
    assert errors[0][0] == "Could not open the project" and "gone.pt" in errors[0][1]
    assert "unchanged" in errors[0][1]
    assert np.array_equal(w.state.latent, latent) and w.info.source == "beta4" and w.project_path is None


def test_quit_with_unsaved_work_asks_save_discard_cancel(qtbot, window, tmp_path, monkeypatch):
    w = window
    monkeypatch.setattr(MainWindow, "ask_unsaved_changes", REAL_ASK)
    monkeypatch.setattr(project_actions, "AUTOSAVE_MS", 50)
    w.set_latent_value(0, 0.75)
    settle(qtbot, w)
    seen: list[str] = []

    answer("unsavedChangesDialog", "cancelCloseButton", seen)
    assert w.close() is False  # Cancel: the window stays, with its work
    assert len(seen) == 1 and w.isVisible() and w.engine.is_running() and w.isWindowModified()

    answer("unsavedChangesDialog", "saveChangesButton", seen)
    monkeypatch.setattr(w, "ask_save_path", lambda title, suggested, filt: None)  # ... and the save dialog cancelled
    assert w.close() is False and w.isVisible() and len(seen) == 2

    target = tmp_path / "kept.faceedit"
    monkeypatch.setattr(w, "ask_save_path", lambda title, suggested, filt: str(target))
    answer("unsavedChangesDialog", "saveChangesButton", seen)
    latent = w.state.latent.copy()
    assert w.close() is True and not w.isVisible() and len(seen) == 3
    assert projectfile.read(target).latent.tobytes() == latent.tobytes()


def test_quit_and_discard_removes_the_recovery_copy(qtbot, tmp_path, monkeypatch, errors):
    monkeypatch.setattr(project_actions, "AUTOSAVE_MS", 50)
    monkeypatch.setattr(MainWindow, "ask_unsaved_changes", REAL_ASK)
    w = new_window(qtbot)
    w.set_latent_value(0, 0.75)
    qtbot.waitUntil(w.recovery_file().exists, timeout=WAIT_MS)
    assert projectfile.read(w.recovery_file()).latent.tobytes() == w.state.latent.tobytes()
    seen: list[str] = []
    answer("unsavedChangesDialog", "discardChangesButton", seen)
    assert w.close() is True and seen
    assert not w.recovery_file().exists() and not list(projectfile.recovery_dir().iterdir())


def test_autosave_follows_changes_and_an_explicit_save_removes_the_copy(qtbot, tmp_path, monkeypatch, errors):
    monkeypatch.setattr(project_actions, "AUTOSAVE_MS", 50)
    w = new_window(qtbot)
    assert not w.recovery_file().exists()
    w.set_latent_value(0, 0.75)
    qtbot.waitUntil(w.recovery_file().exists, timeout=WAIT_MS)
    w.add_keyframe()
    qtbot.waitUntil(lambda: len(projectfile.read(w.recovery_file()).keyframes) == 1, timeout=WAIT_MS)
    assert w.save_project_to(tmp_path / "p.faceedit")
    assert not w.recovery_file().exists()
    w.set_latent_value(1, 0.5)  # unsaved again: a copy again, naming the project it belongs to
    qtbot.waitUntil(w.recovery_file().exists, timeout=WAIT_MS)
    assert projectfile.read(w.recovery_file()).file == str((tmp_path / "p.faceedit").resolve())
    w.undo()  # back to the saved state: the copy goes at the next autosave
    qtbot.waitUntil(lambda: not w.recovery_file().exists(), timeout=WAIT_MS)


def test_a_running_editors_copy_is_not_offered_but_an_orphan_can_be_discarded(qtbot, monkeypatch, errors):
    monkeypatch.setattr(project_actions, "AUTOSAVE_MS", 50)
    first = new_window(qtbot)
    first.set_latent_value(0, 0.75)
    qtbot.waitUntil(first.recovery_file().exists, timeout=WAIT_MS)
    orphan = projectfile.recovery_dir() / "session-orphan.faceedit"
    projectfile.write(orphan, first.current_project())  # no lock: its editor is gone
    second = new_window(qtbot)
    qtbot.waitUntil(lambda: second.findChild(QMessageBox, "recoveryDialog") is not None, timeout=WAIT_MS)
    box = second.findChild(QMessageBox, "recoveryDialog")
    assert "never saved" in box.text()
    box.findChild(QAbstractButton, "discardRecoveryButton").click()
    qtbot.waitUntil(lambda: not orphan.exists(), timeout=WAIT_MS)
    assert first.recovery_file().exists()  # the running editor's copy is untouched
    assert not errors


CHILD = r'''
import json, os, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from faceedit.gui import project_actions
project_actions.AUTOSAVE_MS = 200
from faceedit.gui.app import MainWindow

app = QApplication([])
window = MainWindow(model="beta4", device="cpu")
window.show()

def edit():
    if not window.face_settled():
        QTimer.singleShot(50, edit)
        return
    window.set_latent_value(0, 1.25)
    window.add_keyframe()
    window.set_latent_value(1, -0.75)
    window.add_keyframe()
    window.timeline.fps.setValue(9)
    record = {"latent": window.state.latent.tolist(),
              "keyframes": [window.keyframes[k]["beta4"].tolist() for k in window.document.key_order]}
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])

QTimer.singleShot(0, edit)
app.exec()
'''


def recovered(expected: dict) -> bool:
    """A recovery copy holds the child's work (atomic writes: a file is whole or absent)."""
    for path in projectfile.recovery_dir().glob("session-*.faceedit"):
        project = projectfile.read(path)
        if (np.array_equal(project.latent, np.float32(expected["latent"])) and len(project.keyframes) == 2
                and project.timeline.fps == 9):
            return True
    return False


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_a_killed_editor_offers_its_work_back_on_the_next_start(qtbot, tmp_path, errors):
    script, done, log = tmp_path / "child.py", tmp_path / "edited.json", tmp_path / "child.log"
    script.write_text(CHILD)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")  # the settings and state folders of isolated_settings
    with open(log, "wb") as out:
        child = subprocess.Popen([sys.executable, str(script), str(done)], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 180
        expected = None
        while expected is None or not recovered(expected):
            assert child.poll() is None, f"the child editor exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"no autosave seen: {log.read_text()[-2000:]}"
            if expected is None and done.exists():
                expected = json.loads(done.read_text())
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(60)
    assert child.returncode == -signal.SIGKILL
    copies = list(projectfile.recovery_dir().glob("session-*.faceedit"))
    assert len(copies) == 1

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.findChild(QMessageBox, "recoveryDialog") is not None, timeout=WAIT_MS)
    box = w.findChild(QMessageBox, "recoveryDialog")
    assert "closed without saving" in box.text()
    box.findChild(QAbstractButton, "restoreRecoveryButton").click()
    latent = np.float32(expected["latent"])
    qtbot.waitUntil(lambda: w.state is not None and np.array_equal(w.state.latent, latent)
                    and len(w.document.key_order) == 2 and w.ready(), timeout=WAIT_MS)
    settle_all(qtbot, w)
    assert [w.keyframes[k]["beta4"].tobytes() for k in w.document.key_order] == \
        [np.float32(k).tobytes() for k in expected["keyframes"]]
    assert w.timeline.fps.value() == 9 and w.timeline.frame_count() > 1
    assert w.isWindowModified() and w.project_path is None  # restored, and still unsaved
    assert_face_is(w, "beta4", latent)
    assert not copies[0].exists() and w.recovery_file().exists()  # the copy is now this session's
    assert not errors
    w.close()  # a clean quit (the work discarded): no copy is left to offer
    assert not list(projectfile.recovery_dir().glob("session-*.faceedit"))


def test_the_file_menu_has_save_and_keeps_its_names(window):
    names = [a.objectName() for a in window.findChild(type(window.recent_menu), "fileMenu").actions()]
    assert names[:5] == ["openAction", "recentMenuAction", "saveAction", "saveAsAction", "embedPhotosAction"]
    save_button = window.toolbar.widgetForAction(window.save_action)
    assert save_button.objectName() == "saveActionButton" and save_button.accessibleName() == "Save"
    assert "Save" in window.save_action.text() and window.save_action.shortcut().toString() == "Ctrl+S"


def test_embedding_photos_can_be_turned_off(qtbot, window, tmp_path):
    from PIL import Image

    photo = tmp_path / "me.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (80, 80, 3), dtype=np.uint8)).save(photo)
    assert window.open_photo_file(photo, box=(0, 0, 80))
    qtbot.waitUntil(lambda: window.state.start.photo is not None, timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.save_project_to(tmp_path / "embedded.faceedit")
    embedded = projectfile.read(tmp_path / "embedded.faceedit")
    assert embedded.photo.data == photo.read_bytes() and embedded.photo.box == (0, 0, 80)
    assert np.array_equal(embedded.start_crop, window.state.start.photo)
    window.embed_photos_action.setChecked(False)
    assert window.save_project_to(tmp_path / "referenced.faceedit")
    referenced = projectfile.read(tmp_path / "referenced.faceedit")
    assert referenced.photo.data is None and referenced.photo.path == str(photo)
    assert Path(tmp_path / "referenced.faceedit").stat().st_size < Path(tmp_path / "embedded.faceedit").stat().st_size
