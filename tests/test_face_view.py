"""The face view: before/after split with a draggable divider, zoom (wheel) and pan (drag), fit."""
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage

from faceedit.gui.widgets.face_view import FaceView


def solid(color) -> QImage:
    image = QImage(64, 64, QImage.Format.Format_RGB888)
    image.fill(QColor(color))
    return image


def view_with_faces(qtbot) -> FaceView:
    view = FaceView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    view.set_face_image(solid("#ff0000"))
    view.set_original(solid("#0000ff"))
    return view


def colour_at(view: FaceView, x: float, y: float) -> QColor:
    return view.grab().toImage().pixelColor(round(x), round(y))


def test_split_shows_before_left_and_after_right_and_the_divider_drags(qtbot):
    view = view_with_faces(qtbot)
    rect = view.face_rect()
    mid_y = rect.center().y()
    assert colour_at(view, rect.left() + 20, mid_y) == QColor("#ff0000")  # no compare: the edit
    view.set_compare(True)
    assert view.splitting() and view.showing_original()
    assert colour_at(view, rect.left() + 20, mid_y) == QColor("#0000ff")
    assert colour_at(view, rect.right() - 20, mid_y) == QColor("#ff0000")
    x = round(view.divider_x())
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(x, round(mid_y)))
    qtbot.mouseMove(view, QPoint(round(rect.left() + 0.8 * rect.width()), round(mid_y)))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(round(rect.left() + 0.8 * rect.width()), round(mid_y)))
    assert abs(view.split - 0.8) < 0.02
    assert colour_at(view, rect.left() + 0.7 * rect.width(), mid_y) == QColor("#0000ff")


def test_wheel_zooms_about_the_cursor_drag_pans_and_double_click_fits(qtbot):
    view = view_with_faces(qtbot)
    fit = view.face_rect()
    corner = QPointF(fit.left() + 10, fit.top() + 10)
    view.set_zoom(2.0, corner)
    assert view.zoom == 2.0 and view.face_rect().width() == 2 * fit.width()
    # the point under the cursor stays put
    r = view.face_rect()
    assert abs(r.left() + 2 * 10 - corner.x()) < 1e-6 and abs(r.top() + 2 * 10 - corner.y()) < 1e-6
    view.fit()
    view.set_zoom(2.0)  # about the centre: room to pan every way
    before = view.face_rect()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))
    qtbot.mouseMove(view, QPoint(230, 190))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(230, 190))
    moved = view.face_rect()
    assert abs(moved.left() - before.left() - 30) < 1e-6 and abs(moved.top() - before.top() + 10) < 1e-6
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))
    qtbot.mouseMove(view, QPoint(390, 390))  # panning stops where the face's edge reaches the view's
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(390, 390))
    assert view.face_rect().left() == view.fit_rect().left() and view.face_rect().top() == view.fit_rect().top()
    view.set_zoom(100)
    assert view.zoom == 8.0
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))
    assert view.zoom == 1.0 and view.face_rect() == fit


def test_holding_the_mouse_unzoomed_shows_the_original(qtbot):
    view = view_with_faces(qtbot)
    rect = view.face_rect()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(round(rect.center().x()), round(rect.center().y())))
    assert view.showing_original() and not view.splitting()
    assert colour_at(view, rect.right() - 20, rect.center().y()) == QColor("#0000ff")
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(round(rect.center().x()), round(rect.center().y())))
    assert not view.showing_original()


def test_the_view_names_itself():
    view = FaceView()
    assert view.objectName() == "faceView" and "divider" in view.accessibleDescription()
