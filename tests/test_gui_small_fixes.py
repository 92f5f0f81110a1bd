"""Small fixes of the photo issue: GIF export size, a new frames folder, no duplicate photos, no
"no attribute directions" while a model loads, a minimum window size, Ctrl+Y redoes."""
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QLineEdit, QSlider

from faceedit.gui.app import MIN_WINDOW
from faceedit.gui.widgets.attribute_panel import AttributePanel
from faceedit.gui.widgets.folder_dialog import FolderDialog
from gui_helpers import WAIT_MS
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)
from test_gui_timeline import add_three_keyframes


def test_gif_export_uses_the_export_size(qtbot, window, tmp_path):
    add_three_keyframes(qtbot, window)
    window.set_export_size(512)
    window.ask_save_path = lambda *a: str(tmp_path / "big.gif")
    window.timeline.gif_button.click()
    with Image.open(tmp_path / "big.gif") as im:
        assert im.size == (512, 512)


def test_frames_go_into_a_folder_that_does_not_exist_yet(qtbot, window, tmp_path):
    add_three_keyframes(qtbot, window)
    new = tmp_path / "not-yet"
    assert not new.exists()
    assert window.export_frames(new, size=64)
    assert (new / "frame_0001.png").exists() and (new / "manifest.jsonl").exists()


def test_the_folder_dialog_accepts_a_new_folder_name(qtbot, tmp_path):
    dialog = FolderDialog(None, "Export frames", str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.directory().absolutePath() == str(tmp_path), timeout=WAIT_MS)
    dialog.findChild(QLineEdit, "fileNameEdit").setText("fresh")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.folder() == str(tmp_path / "fresh")
    # an existing folder is chosen as itself
    (tmp_path / "old").mkdir()
    dialog = FolderDialog(None, "Export frames", str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.directory().absolutePath() == str(tmp_path), timeout=WAIT_MS)
    dialog.findChild(QLineEdit, "fileNameEdit").setText("old")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.folder() == str(tmp_path / "old")


def test_opening_the_same_photo_twice_adds_it_once(qtbot, window, tmp_path):
    from test_gui_photos import halves, open_and_wait

    def centre(image, path):
        side = min(image.width(), image.height())
        return (image.width() - side) // 2, (image.height() - side) // 2, side
    window.ask_crop = centre
    path = tmp_path / "person.png"
    halves(120, 90, (200, 150, 120), (60, 40, 30)).save(path)
    open_and_wait(qtbot, window, path)
    open_and_wait(qtbot, window, path)
    assert len(window.photos) == 1 and window.gallery.face_count("photos") == 1
    other = tmp_path / "other.png"
    halves(120, 90, (20, 150, 120), (60, 40, 30)).save(other)
    open_and_wait(qtbot, window, other)
    assert len(window.photos) == 2 and window.gallery.face_count("photos") == 2


def test_no_attribute_message_while_a_model_loads(qtbot):
    panel = AttributePanel()
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.empty.isVisible()  # nothing known yet: the model is loading
    panel.set_attributes([])
    assert panel.empty.isVisible()
    panel.set_attributes(["Smiling"])
    assert not panel.empty.isVisible()


def test_the_window_has_a_minimum_size(qtbot, window):
    window.resize(800, 560)
    qtbot.wait(10)
    assert window.width() >= MIN_WINDOW.width() and window.height() >= MIN_WINDOW.height()
    assert window.minimumWidth() >= window.centralWidget().minimumSizeHint().width()


def test_ctrl_y_redoes(qtbot, window):
    assert QKeySequence("Ctrl+Y") in window.redo_action.shortcuts()
    assert QKeySequence(QKeySequence.StandardKey.Redo) in window.redo_action.shortcuts()
    before = window.state.latent.copy()
    window.findChild(QSlider, "attributeSliderSmiling").setValue(500)
    qtbot.waitUntil(lambda: window.undo_stack.canUndo(), timeout=WAIT_MS)
    edited = window.state.latent.copy()
    window.activateWindow()
    window.undo_action.trigger()
    assert (window.state.latent == before).all()
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: (window.state.latent == edited).all(), timeout=WAIT_MS)
