"""The crop dialog's wheel zoom: a trackpad's many small wheel events add up instead of each rounding away."""
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from faceedit.gui.widgets.crop_dialog import MIN_SIDE, CropDialog


def wheel(widget, angle_y: int, pixel_y: int = 0) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, widget.mapToGlobal(centre), QPoint(0, pixel_y), QPoint(0, angle_y),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.ScrollUpdate, False)
    QApplication.sendEvent(widget, event)


def dialog(qtbot, side=40, size=200):
    image = QImage(size, size, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.gray)
    d = CropDialog(image, (0, 0, side))
    qtbot.addWidget(d)
    return d


def test_small_trackpad_steps_add_up_to_a_notch(qtbot):
    d = dialog(qtbot)
    for _ in range(24):  # 24 × 5 units = one notch of a mouse wheel, as a trackpad sends it
        wheel(d.view, 5, pixel_y=1)
    assert d.view.side == round(40 * 0.95)  # 38: before, each event rounded back to 40
    assert d.size_slider.value() == d.view.side
    for _ in range(24):
        wheel(d.view, -5, pixel_y=-1)
    assert d.view.side == 40


def test_a_mouse_notch_still_zooms_five_percent_and_stops_at_the_limits(qtbot):
    d = dialog(qtbot, side=100)
    wheel(d.view, 120)
    assert d.view.side == 95
    for _ in range(200):
        wheel(d.view, 120)
    assert d.view.side == MIN_SIDE
    for _ in range(200):
        wheel(d.view, -120)
    assert d.view.side == 200
    wheel(d.view, 120)  # no wind-up beyond the limit: one notch back is one notch
    assert d.view.side == 190


def test_the_slider_resets_the_wheel(qtbot):
    d = dialog(qtbot, side=100)
    wheel(d.view, 60)
    d.size_slider.setValue(50)
    wheel(d.view, 120)
    assert d.view.side == round(50 * 0.95)
