"""Opening photos: file dialog, drag and drop, EXIF rotation, odd modes, the crop, bad files."""
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QDialog

from faceedit.gui.widgets.crop_dialog import CropDialog
from gui_helpers import assert_face_is, WAIT_MS
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)


@pytest.fixture
def centre_crop(window):
    asked = []

    def ask(image, path):
        asked.append((image.width(), image.height()))
        side = min(image.width(), image.height())
        return (image.width() - side) // 2, (image.height() - side) // 2, side
    window.ask_crop = ask
    return asked


def open_and_wait(qtbot, window, path):
    steps = window.undo_stack.count()
    assert window.open_path(path)
    qtbot.waitUntil(lambda: window.undo_stack.count() == steps + 1 and window.face_settled(), timeout=WAIT_MS)


def halves(width, height, first, second, vertical=True):
    """An image whose top (or left) half is ``first`` and the other half ``second``."""
    im = Image.new("RGB", (width, height), second)
    box = (0, 0, width, height // 2) if vertical else (0, 0, width // 2, height)
    im.paste(first, box)
    return im


def test_open_photo_encodes_and_shows_it(qtbot, window, tmp_path, centre_crop):
    path = tmp_path / "person.jpg"
    halves(120, 90, (200, 150, 120), (60, 40, 30)).save(path, quality=95)
    window.ask_open_path = lambda *a: str(path)
    steps = window.undo_stack.count()
    window.open_action.trigger()
    qtbot.waitUntil(lambda: window.undo_stack.count() == steps + 1 and window.face_settled(), timeout=WAIT_MS)
    assert centre_crop == [(120, 90)]
    start = window.state.start
    assert start.photo.shape == (3, 64, 64) and start.photo.dtype == np.uint8
    assert start.label == "person.jpg" and np.array_equal(window.state.latent, start.latent)
    assert window.gallery.face_count("photos") == 1
    assert_face_is(window, "beta4", window.state.latent)
    assert str(path.resolve()) in window.recent_files()
    # compare shows the original photo
    window.compare_action.setChecked(True)
    assert window.face_view.showing_original()
    # picking the photo again from the gallery re-encodes it
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(500)
    window.pick_start_face("photos", 0)
    qtbot.waitUntil(lambda: window.state.amounts == {} and window.face_settled(), timeout=WAIT_MS)
    assert np.array_equal(window.state.latent, start.latent)


def test_exif_rotation_is_respected(qtbot, window, tmp_path, centre_crop):
    # stored sideways: left half red, right half blue; EXIF 6 says "rotate 90° clockwise to view",
    # which puts the left half on top
    im = halves(90, 60, (220, 20, 20), (20, 20, 220), vertical=False)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    im.save(path, exif=exif, quality=95)
    open_and_wait(qtbot, window, path)
    assert centre_crop == [(60, 90)]  # upright: 60 wide, 90 high
    crop = window.state.start.photo.astype(int)
    top, bottom = crop[:, :20].mean(axis=(1, 2)), crop[:, -20:].mean(axis=(1, 2))
    assert top[0] > 150 and top[2] < 80, top
    assert bottom[2] > 150 and bottom[0] < 80, bottom


@pytest.mark.parametrize("mode", ["P", "RGBA", "L", "I;16"])
def test_odd_modes_open(qtbot, window, tmp_path, centre_crop, mode):
    base = halves(80, 80, (240, 200, 160), (40, 60, 90))
    if mode == "P":
        im = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    elif mode == "RGBA":
        im = base.convert("RGBA")
        im.putalpha(Image.new("L", im.size, 0).point(lambda _: 0))
        im.paste((10, 10, 10, 255), (0, 40, 80, 80))
    elif mode == "L":
        im = base.convert("L")
    else:
        values = np.full((80, 80), 1000, dtype=np.uint16)
        values[:40] = 60000
        im = Image.fromarray(values)
        assert im.mode == "I;16"
    path = tmp_path / f"odd-{mode.replace(';', '')}.png"
    im.save(path)
    open_and_wait(qtbot, window, path)
    crop = window.state.start.photo
    assert crop.shape == (3, 64, 64)
    top, bottom = crop[:, :24].mean(), crop[:, -24:].mean()
    assert top > bottom  # bright top (transparent → white for RGBA), dark bottom
    assert_face_is(window, "beta4", window.state.latent)


def test_unreadable_photo_gets_a_dialog_and_keeps_the_work(qtbot, window, tmp_path, errors, centre_crop):
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(500)
    state, steps = window.state, window.undo_stack.count()
    fake = tmp_path / "holiday.png"
    fake.write_text("not an image at all")
    assert not window.open_path(fake)
    missing = tmp_path / "missing.jpg"
    assert not window.open_path(missing)
    assert [t for t, _ in errors] == ["Could not open the photo"] * 2
    assert "holiday.png" in errors[0][1] and "not an image" in errors[0][1]
    assert "no such file" in errors[1][1]
    assert window.state is state and window.undo_stack.count() == steps and not centre_crop


def test_cancelled_crop_changes_nothing(window, tmp_path):
    path = tmp_path / "p.png"
    halves(50, 50, (255, 0, 0), (0, 0, 255)).save(path)
    window.ask_crop = lambda image, p: None
    state = window.state
    assert not window.open_path(path)
    assert window.state is state


def test_drag_and_drop_opens_a_photo(qtbot, window, tmp_path, centre_crop):
    path = tmp_path / "dropped.webp"
    halves(64, 64, (230, 180, 150), (30, 30, 30)).save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    steps = window.undo_stack.count()
    event = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.undo_stack.count() == steps + 1 and window.face_settled(), timeout=WAIT_MS)
    assert window.state.start.label == "dropped.webp"


def test_crop_dialog_moves_and_resizes_the_square(qtbot):
    image = QImage(300, 200, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.darkGray)
    dialog = CropDialog(image)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.box() == (50, 0, 200)
    dialog.size_slider.setValue(100)
    assert dialog.box() == (100, 50, 100)
    view = dialog.view
    scale = min(view.width() / 300, view.height() / 200)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(view.width() // 2, view.height() // 2))
    qtbot.mouseMove(view, QPoint(view.width() // 2 + round(500 * scale), view.height() // 2))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton,
                       pos=QPoint(view.width() // 2 + round(500 * scale), view.height() // 2))
    left, top, side = dialog.box()
    assert side == 100 and left + side <= 300 and top + side <= 200
    dialog.findChild(type(dialog.size_slider.parent()), "cropDialog")
    dialog.reject()
    assert dialog.result() == QDialog.DialogCode.Rejected
