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
