"""The interpolation timeline: keyframes, exact endpoints, scrubbing, playback, GIF and PNG export."""
import numpy as np
from PIL import Image
from PySide6.QtWidgets import QSlider

from gui_helpers import assert_face_is, settle, settle_all, WAIT_MS
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)


def add_three_keyframes(qtbot, window):
    keys = [window.state.latent.copy()]
    window.add_keyframe()
    qtbot.waitUntil(lambda: window.gallery.face_count("model") > 5, timeout=WAIT_MS)
    for index in (2, 5):
        window.pick_start_face("model", index)
        settle(qtbot, window)
        keys.append(window.state.latent.copy())
        window.timeline.add_button.click()
    settle_all(qtbot, window)
    return keys


def test_keyframes_and_exact_interpolation_endpoints(qtbot, window):
    keys = add_three_keyframes(qtbot, window)
    assert window.timeline.keyframes.count() == 3
    steps = window.timeline.frames_per_step()
    frames = window.frames
    assert frames is not None and len(frames.faces) == 2 * steps + 1 == window.timeline.frame_count()
    assert np.array_equal(frames.latents[0], keys[0])
    assert np.array_equal(frames.latents[-1], keys[-1])
    assert np.allclose(frames.latents[steps], keys[1], atol=1e-5)
    # slerp by default; lerp on request
    assert window.timeline.method_name() == "slerp"
    mid = frames.latents[steps // 2]
    window.timeline.method.setCurrentIndex(window.timeline.method.findData("lerp"))
    settle_all(qtbot, window)
    lerp_mid = window.frames.latents[steps // 2]
    t = (steps // 2) / steps
    assert np.allclose(lerp_mid, keys[0] + (keys[1] - keys[0]) * t, atol=1e-5)
    assert not np.allclose(mid, lerp_mid, atol=1e-4)
    assert np.array_equal(window.frames.latents[0], keys[0]) and np.array_equal(window.frames.latents[-1], keys[-1])


def test_scrubbing_shows_frames_and_is_one_undo_step(qtbot, window):
    keys = add_three_keyframes(qtbot, window)
    count_before = window.undo_stack.count()
    scrubber = window.findChild(QSlider, "timelineScrubber")
    for index in (3, 10, window.timeline.frame_count() - 1):
        scrubber.setValue(index)
        assert np.array_equal(window.state.latent, window.frames.latents[index])
        assert window.face_view.face_bytes() == window.frames.faces[index].rgb
    assert np.array_equal(window.state.latent, keys[-1])
    assert window.undo_stack.count() == count_before + 1
    window.undo_stack.undo()
    assert np.array_equal(window.state.latent, keys[-1])  # the face before scrubbing was the last keyframe
    settle(qtbot, window)
    assert_face_is(window, "beta4", keys[-1])


def test_play_pause_and_loop(qtbot, window):
    add_three_keyframes(qtbot, window)
    timeline = window.timeline
    timeline.fps.setValue(60)
    timeline.loop.setChecked(False)
    timeline.set_frame(0)
    timeline.play()
    assert timeline.is_playing()
    qtbot.waitUntil(lambda: not timeline.is_playing(), timeout=WAIT_MS)  # stops at the end without loop
    assert timeline.frame() == timeline.frame_count() - 1
    assert not timeline.play_button.isChecked()
    timeline.loop.setChecked(True)
    timeline.play()
    qtbot.waitUntil(lambda: timeline.frame() < 5, timeout=WAIT_MS)  # wrapped around
    assert timeline.is_playing()
    timeline.pause()
    assert not timeline.is_playing()


def test_remove_and_clear_keyframes(qtbot, window):
    add_three_keyframes(qtbot, window)
    window.timeline.keyframes.setCurrentRow(1)
    window.timeline.remove_button.click()
    settle_all(qtbot, window)
    assert window.timeline.keyframes.count() == 2 and len(window.keyframes) == 2
    assert window.timeline.frame_count() == window.timeline.frames_per_step() + 1
    window.timeline.clear_button.click()
    assert window.timeline.frame_count() == 0 and not window.keyframes
    assert not window.timeline.play_button.isEnabled()


def test_export_gif_and_numbered_png_frames(qtbot, window, tmp_path):
    add_three_keyframes(qtbot, window)
    count = window.timeline.frame_count()
    gif = tmp_path / "blend.gif"
    assert window.export_gif(gif, size=64)
    with Image.open(gif) as im:
        assert im.n_frames == count and im.size == (64, 64)
    # through the button, with the file dialog answered
    window.ask_save_path = lambda *a: str(tmp_path / "via-button.gif")
    window.timeline.gif_button.click()
    assert (tmp_path / "via-button.gif").exists()
    folder = tmp_path / "frames"
    window.ask_folder = lambda *a: str(folder)
    window.timeline.frames_button.click()
    files = sorted(folder.glob("frame_*.png"))
    assert [f.name for f in files][:2] == ["frame_0001.png", "frame_0002.png"] and len(files) == count
    with Image.open(files[-1]) as im:
        assert im.size == (window.export_size, window.export_size)


def test_frames_come_with_a_manifest_of_their_latents_and_a_failed_export_leaves_nothing(
        qtbot, window, tmp_path, errors, monkeypatch):
    import json

    add_three_keyframes(qtbot, window)
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "mine.txt").write_text("kept")  # a folder of the user's: the export goes beside it
    assert window.export_frames(folder, size=64)
    lines = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    assert [r["file"] for r in lines] == sorted(p.name for p in folder.glob("frame_*.png"))
    assert all(np.array_equal(np.float32(r["latent"]), window.frames.latents[k]) for k, r in enumerate(lines))
    assert lines[0]["model"] == window.info.source and (folder / "mine.txt").read_text() == "kept"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left behind

    saved = []
    real_save = Image.Image.save

    def full_after_two(self, fp, *args, **kwargs):
        if len(saved) == 2:
            raise OSError(28, "No space left on device")
        saved.append(fp)
        return real_save(self, fp, *args, **kwargs)
    monkeypatch.setattr(Image.Image, "save", full_after_two)
    other = tmp_path / "other"
    assert not window.export_frames(other, size=64)
    assert "no space left" in errors[-1][1] and not other.exists()


def test_timeline_export_errors_keep_the_work(qtbot, window, tmp_path, errors):
    assert not window.export_gif(tmp_path / "nothing.gif")
    assert errors and errors[-1][0] == "Nothing to export"
    add_three_keyframes(qtbot, window)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert not window.export_frames(blocker / "frames")
    assert not window.export_gif(blocker / "x.gif")
    assert len(errors) == 3 and "your work is unchanged" in errors[-1][1]
    assert window.timeline.keyframes.count() == 3


# --- adding, removing and clearing keyframes are undo steps -----------------------------------------------
def keyframe_state(window):
    """The timeline as undo must restore it: order, latents per model, thumbnails."""
    ids = window.timeline.keyframe_ids()
    latents = [{source: latent.copy() for source, latent in window.keyframes[k].items()} for k in ids]
    icons = [item[2].cacheKey() for item in window.timeline.keyframe_items(ids)]
    return ids, latents, icons


def assert_keyframes_are(window, state):
    ids, latents, icons = keyframe_state(window)
    assert ids == state[0] and icons == state[2]
    assert [sorted(k) for k in latents] == [sorted(k) for k in state[1]]
    assert all(np.array_equal(a[s], b[s]) for a, b in zip(latents, state[1]) for s in a)


def test_adding_keyframes_is_undoable(qtbot, window):
    keys = [window.state.latent.copy()]
    window.add_keyframe()
    qtbot.waitUntil(lambda: window.gallery.face_count("model") > 5, timeout=WAIT_MS)
    window.pick_start_face("model", 3)
    settle(qtbot, window)
    keys.append(window.state.latent.copy())
    window.timeline.add_button.click()
    settle_all(qtbot, window)
    two = keyframe_state(window)
    assert window.undo_stack.undoText() == "Add keyframe"

    window.undo_action.trigger()  # Ctrl+Z
    assert window.timeline.keyframe_ids() == two[0][:1] and list(window.keyframes) == two[0][:1]
    assert np.array_equal(window.keyframes[two[0][0]]["beta4"], keys[0])
    assert np.array_equal(window.state.latent, keys[1])  # the face is not part of the step
    settle_all(qtbot, window)
    assert window.timeline.frame_count() == 1

    window.redo_action.trigger()  # Ctrl+Shift+Z
    assert_keyframes_are(window, two)
    settle_all(qtbot, window)
    assert np.array_equal(window.frames.latents[0], keys[0]) and np.array_equal(window.frames.latents[-1], keys[1])


def test_removing_and_clearing_keyframes_are_undoable_and_restore_the_position(qtbot, window):
    keys = add_three_keyframes(qtbot, window)
    three = keyframe_state(window)
    window.timeline.set_frame(10)  # scrubbing: a face edit of its own
    scrubbed = window.state.latent.copy()
    window.timeline.keyframes.setCurrentRow(1)
    window.timeline.remove_button.click()
    assert window.undo_stack.undoText() == "Remove keyframe"
    assert window.timeline.keyframe_ids() == [three[0][0], three[0][2]]
    settle_all(qtbot, window)

    window.undo_action.trigger()
    assert_keyframes_are(window, three)
    settle_all(qtbot, window)
    assert window.timeline.frame_count() == 2 * window.timeline.frames_per_step() + 1
    assert window.timeline.frame() == 10 and window.timeline.position.text().startswith("11 /")
    assert np.array_equal(window.state.latent, scrubbed)  # putting the position back is not a new edit
    window.redo_action.trigger()
    assert window.timeline.keyframe_ids() == [three[0][0], three[0][2]]
    settle_all(qtbot, window)

    two = keyframe_state(window)
    window.timeline.clear_button.click()
    assert window.undo_stack.undoText() == "Clear keyframes"
    assert not window.keyframes and window.timeline.keyframes.count() == 0
    window.undo_action.trigger()
    assert_keyframes_are(window, two)
    window.undo_action.trigger()
    assert_keyframes_are(window, three)
    settle_all(qtbot, window)
    assert window.timeline.frame() == 10
    assert np.array_equal(window.frames.latents[0], keys[0]) and np.array_equal(window.frames.latents[-1], keys[-1])
    window.redo_action.trigger()
    window.redo_action.trigger()
    assert not window.keyframes and window.timeline.keyframes.count() == 0


def test_keyframe_undo_keeps_the_latents_of_every_model_and_waits_for_a_load(qtbot, window):
    add_three_keyframes(qtbot, window)
    window.switch_model("beta10")
    assert window._switching
    window.undo_action.trigger()  # Ctrl+Z while the model loads: nothing happens
    window.add_keyframe()  # nor can a keyframe be added then
    assert window.timeline.keyframes.count() == 3
    qtbot.waitUntil(lambda: window.info.source == "beta10" and window.face_settled(), timeout=WAIT_MS)
    settle_all(qtbot, window)
    carried = keyframe_state(window)
    assert all(sorted(k) == ["beta10", "beta4"] for k in carried[1])
    window.timeline.clear_button.click()
    window.undo_action.trigger()
    assert_keyframes_are(window, carried)
    window.undo_action.trigger()  # the switch: back to beta4, keyframes as they were
    qtbot.waitUntil(lambda: window.info.source == "beta4" and window.face_settled(), timeout=WAIT_MS)
    settle_all(qtbot, window)
    ids = window.timeline.keyframe_ids()
    assert ids == carried[0]
    assert all(np.array_equal(window.frames.latents[i * window.timeline.frames_per_step()], latents["beta4"])
               for i, latents in enumerate(carried[1]))
