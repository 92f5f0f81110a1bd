"""Opening a photo starts the crop on the detected face: several → the user picks, none → centre,
too small → said so; detection runs in a thread."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from faceedit.gui.open_actions import FaceFinder, face_squares
from faceedit.gui.widgets.crop_dialog import CropDialog
from gui_helpers import WAIT_MS
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)


def dialog_for(qtbot, width=400, height=300):
    image = QImage(width, height, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.darkGray)
    dialog = CropDialog(image, detecting=True)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_one_face_moves_the_square_onto_it(qtbot):
    dialog = dialog_for(qtbot)
    assert dialog.status.text() == "Looking for faces…" and dialog.box() == (50, 0, 300)
    dialog.set_faces([((30, 40, 120), 70, False)])
    assert dialog.box() == (30, 40, 120) and dialog.size_slider.value() == 120
    assert "Found a face" in dialog.status.text() and not dialog.face_combo.isVisible()


def test_several_faces_are_picked_from_the_list_or_by_a_click(qtbot):
    dialog = dialog_for(qtbot)
    dialog.set_faces([((200, 100, 150), 90, False), ((20, 20, 80), 48, False), ((5, 5, 12), 8, True)])
    assert dialog.box() == (200, 100, 150) and dialog.face_combo.isVisible()
    assert dialog.face_combo.count() == 2 and "2 faces" in dialog.status.text()
    dialog.face_combo.activated.emit(1)
    assert dialog.box() == (20, 20, 80)
    view = dialog.view
    scale, origin = view._scale()
    click = QPoint(round(origin.x() + 270 * scale), round(origin.y() + 170 * scale))
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=click)
    assert dialog.box() == (200, 100, 150) and dialog.face_combo.currentIndex() == 0


def test_no_face_keeps_the_centre_and_says_so(qtbot):
    dialog = dialog_for(qtbot)
    dialog.set_faces([])
    assert dialog.box() == (50, 0, 300) and "No face found" in dialog.status.text()


def test_a_tiny_face_is_too_small_and_left_to_the_hand(qtbot):
    dialog = dialog_for(qtbot)
    dialog.set_faces([((10, 10, 30), 18, True)])
    assert dialog.box() == (50, 0, 300) and "Face too small (18 px" in dialog.status.text()


def test_a_square_moved_by_hand_is_not_overridden(qtbot):
    dialog = dialog_for(qtbot)
    dialog.size_slider.sliderPressed.emit()
    dialog.size_slider.setValue(100)
    dialog.set_faces([((30, 40, 120), 70, False)])
    assert dialog.box()[2] == 100


def test_the_window_detects_in_a_thread_and_starts_on_the_face(qtbot, window, tmp_path, monkeypatch):
    from PIL import Image

    import threading
    threads = []

    def fake(rgb):
        threads.append(threading.current_thread() is threading.main_thread())
        assert rgb.shape == (300, 400, 3)
        return [((100, 50, 120), 70, False, 12.0)]
    monkeypatch.setattr(FaceFinder, "find", staticmethod(fake))
    path = tmp_path / "scene.png"
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    seen = []

    def accept_when_found():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, CropDialog) and "Found" in dialog.status.text():
            seen.append(dialog.box())
            dialog.accept()
        else:
            QTimer.singleShot(20, accept_when_found)
    QTimer.singleShot(0, accept_when_found)
    steps = window.undo_stack.count()
    assert window.open_path(path)
    qtbot.waitUntil(lambda: window.undo_stack.count() == steps + 1 and window.face_settled(), timeout=WAIT_MS)
    assert seen == [(100, 50, 120)] and threads == [False]
    photo = window.photos[-1]
    assert photo.box == (100, 50, 120) and photo.angle == 12.0
    # the face is encoded turned by the detected tilt (eyes level), and shown back in the photo there
    from faceedit.core.faces import extract
    from faceedit.core.faces import face_from_crop
    expected = extract(rgb, face_from_crop(100, 50, 120, 12.0), 64)
    assert np.array_equal(window.state.start.photo, expected.transpose(2, 0, 1))
    assert photo.scene.face.angle == 12.0
    # a square the user moved off the detected face has no tilt
    dialog = CropDialog(window.face_view.image())
    dialog.set_faces([((10, 10, 40), 30, False, 12.0)])
    assert dialog.choice() == (10, 10, 40, 12.0)
    dialog.view._place(12, 10)
    assert dialog.choice() == (12, 10, 40)


def test_face_squares_on_a_real_portrait():
    data = pytest.importorskip("skimage.data")
    rgb = np.ascontiguousarray(data.astronaut())
    found = face_squares(rgb)
    assert found and not found[0][2]
    (left, top, side), width, _, tilt = found[0]
    assert abs(tilt) < 15  # the astronaut's head is nearly upright
    assert 150 < left + side / 2 < 300 and 50 < top + side / 2 < 200 and side > width
