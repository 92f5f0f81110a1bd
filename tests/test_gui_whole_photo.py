"""A photo's edit shown in the whole photo (the default for photos) and exported at the photo's own size."""
import numpy as np
import pytest
from PIL import Image

from faceedit.gui.widgets.pixels import image_bytes
from gui_helpers import WAIT_MS
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)

BOX = (100, 40, 96)  # left, top, side of the square the tests encode


def scene_photo(path, width=320, height=200, seed=0):
    """A textured photo (so any change shows) with a lighter square where the face is."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    left, top, side = BOX
    rgb[top:top + side, left:left + side] = rgb[top:top + side, left:left + side] // 2 + 100
    Image.fromarray(rgb).save(path)
    return rgb


def shown_photo(window) -> np.ndarray:
    view = window.face_view
    data, width, height = image_bytes(view._photo)
    return np.frombuffer(data, np.uint8).reshape(height, width, 3)


@pytest.fixture
def photo_open(qtbot, window, tmp_path):
    path = tmp_path / "person.png"
    rgb = scene_photo(path)
    window.ask_crop = lambda image, p: BOX
    steps = window.undo_stack.count()
    assert window.open_path(path)
    qtbot.waitUntil(lambda: window.undo_stack.count() == steps + 1 and window.face_settled()
                    and window.document.current_photo() is not None, timeout=WAIT_MS)
    return path, rgb


def test_an_opened_photo_is_shown_whole_and_unchanged(window, photo_open):
    _, rgb = photo_open
    assert window.whole_photo_action.isChecked() and window.face_view.showing_photo()
    assert window.face_view.photo_size() == (320, 200)
    assert window.export_action.text() == "Export Photo…"
    assert np.array_equal(shown_photo(window), rgb)  # a zero edit is the photo, bit for bit
    fit = window.face_view.fit_rect()
    assert fit.width() / fit.height() == pytest.approx(320 / 200, rel=0.02)  # drawn at its own shape


def test_an_edit_changes_the_face_region_only(qtbot, window, photo_open):
    _, rgb = photo_open
    window.set_attribute("Smiling", 3.0)
    qtbot.waitUntil(lambda: window.face_settled() and window.document.current_photo() is not None, timeout=WAIT_MS)
    edited = shown_photo(window).astype(int)
    left, top, side = BOX
    inside = np.abs(edited - rgb)[top:top + side, left:left + side]
    outside = np.abs(edited - rgb).copy()
    outside[top:top + side, left:left + side] = 0
    assert inside.mean() > 0.5  # the edit shows in the face
    assert outside.max() == 0  # and nowhere else


def test_whole_photo_off_shows_the_face_alone_and_is_remembered(qtbot, window, photo_open):
    window.whole_photo_action.setChecked(False)
    qtbot.waitUntil(window.face_settled, timeout=WAIT_MS)
    assert not window.face_view.showing_photo()
    assert window.settings.value("view/wholePhoto") in (False, "false")
    window.whole_photo_action.setChecked(True)
    qtbot.waitUntil(lambda: window.face_settled() and window.face_view.showing_photo(), timeout=WAIT_MS)


def test_a_gallery_face_is_never_shown_as_a_photo(qtbot, window, photo_open):
    window.pick_start_face("model", 1)
    qtbot.waitUntil(lambda: window.state.start.photo is None and window.face_settled(), timeout=WAIT_MS)
    assert not window.face_view.showing_photo() and window.export_action.text() == "Export Face…"


def test_export_writes_the_whole_photo_at_its_own_size(qtbot, window, photo_open, tmp_path):
    _, rgb = photo_open
    out = tmp_path / "unedited.png"
    assert window.export_photo(out)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), rgb)
    window.set_attribute("Smiling", 3.0)
    qtbot.waitUntil(lambda: window.face_settled() and window.document.current_photo() is not None, timeout=WAIT_MS)
    edited = tmp_path / "edited.png"
    assert window.export_photo(edited)
    pixels = np.asarray(Image.open(edited).convert("RGB"))
    assert pixels.shape == rgb.shape and np.array_equal(pixels, shown_photo(window))  # what the view shows
    small = tmp_path / "small.jpg"
    assert window.export_photo(small, width=160)
    assert Image.open(small).size == (160, 100)


def test_export_of_a_photo_that_vanished_says_so(qtbot, window, photo_open, errors, tmp_path):
    path, _ = photo_open
    path.unlink()
    out = tmp_path / "out.png"
    assert not window.export_photo(out)
    assert errors and "could not be read again" in errors[-1][1] and not out.exists()


def test_export_photo_with_an_unknown_type_is_refused(window, photo_open, errors, tmp_path):
    assert not window.export_photo(tmp_path / "out.xyz")
    assert errors and "unknown image type" in errors[-1][1]


def test_a_project_reopens_with_its_photo_shown_whole(qtbot, window, photo_open, tmp_path):
    path, rgb = photo_open
    window.set_attribute("Smiling", 2.0)
    qtbot.waitUntil(lambda: window.face_settled() and window.document.current_photo() is not None, timeout=WAIT_MS)
    edited = shown_photo(window).copy()
    project = tmp_path / "p.faceedit"
    assert window.save_project_to(project)
    path.unlink()  # the project embeds the photo
    window.pick_start_face("model", 0)
    qtbot.waitUntil(lambda: not window.face_view.showing_photo() and window.face_settled(), timeout=WAIT_MS)
    assert window.open_path(project)
    qtbot.waitUntil(lambda: window.face_view.showing_photo() and window.face_settled()
                    and window.document.current_photo() is not None, timeout=WAIT_MS)
    assert np.array_equal(shown_photo(window), edited)


def test_export_of_a_photo_changed_on_disk_is_refused(qtbot, window, photo_open, errors, tmp_path):
    path, _ = photo_open
    scene_photo(path, width=200, height=320, seed=3)  # another picture under the same name
    out = tmp_path / "out.png"
    assert not window.export_photo(out)
    assert errors and "has changed since it was opened" in errors[-1][1] and not out.exists()


def test_export_photo_with_no_photo_shown_says_so(qtbot, window, photo_open, errors, tmp_path):
    window.whole_photo_action.setChecked(False)
    qtbot.waitUntil(window.face_settled, timeout=WAIT_MS)
    out = tmp_path / "out.png"
    assert not window.export_photo(out)
    assert errors and "No photo is shown" in errors[-1][1] and not out.exists()
