"""Latent and attribute sliders: 128 of them ordered by KL, live updates, resets, a burst of events."""
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QListWidget,
                               QScrollBar, QSlider)

from gui_helpers import assert_face_is, settle, shown
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)


def test_128_latent_sliders_ordered_by_kl(window):
    kl = window.info.kl_per_dim
    sliders = {i: window.findChild(QSlider, f"latentSlider{i}") for i in range(128)}
    assert all(s is not None for s in sliders.values())
    assert all(s.accessibleName() for s in sliders.values())
    order = window.latent_panel.order()
    assert sorted(order) == list(range(128))
    assert [kl[d] for d in order] == sorted(kl, reverse=True)
    # the layout shows them in that order: active ones top to bottom, inactive ones folded away
    active = window.latent_panel.active_dims()
    assert active == [d for d in order if kl[d] >= 0.01] and len(active) > 0
    ys = [sliders[d].mapTo(window, sliders[d].rect().topLeft()).y() for d in active]
    assert ys == sorted(ys)
    assert all(sliders[d].isVisible() or not window.latent_panel.isVisible() for d in active[:3])
    # the calibrated bundled models use all 128 dimensions, so there is nothing to fold away
    assert window.latent_panel.inactive_toggle.isHidden() == (len(active) == 128)
    top = order[0]
    assert f"KL {kl[top]:.3f}" in sliders[top].toolTip()


def test_slider_range_is_three_sigma_around_the_mean(window):
    dim = window.latent_panel.order()[0]
    row = window.latent_panel.rows[dim]
    sigma, mean = window.info.mu_std[dim], window.info.mu_mean[dim]
    assert np.isclose(row.lo, mean - 3 * sigma, atol=1e-5) and np.isclose(row.hi, mean + 3 * sigma, atol=1e-5)


def test_slider_move_changes_the_face(qtbot, window):
    before = shown(window).copy()
    dim = window.latent_panel.order()[0]
    slider = window.findChild(QSlider, f"latentSlider{dim}")
    target = 900 if slider.value() < 500 else 100
    slider.setValue(target)
    settle(qtbot, window)
    value = window.latent_panel.rows[dim].value_at(target)
    assert window.state.latent[dim] == np.float32(value)
    assert not np.array_equal(shown(window), before)
    assert_face_is(window, "beta4", window.state.latent)


def test_live_update_while_dragging(qtbot, window):
    """Every valueChanged during a drag (slider held down) updates the face, not only the release."""
    dim = window.latent_panel.order()[0]
    slider = window.findChild(QSlider, f"latentSlider{dim}")
    slider.setSliderDown(True)
    faces = []
    for position in (100, 500, 900):
        slider.setValue(position)
        settle(qtbot, window)
        faces.append(shown(window).copy())
    assert slider.isSliderDown()
    assert not np.array_equal(faces[0], faces[1]) and not np.array_equal(faces[1], faces[2])
    slider.setSliderDown(False)
    assert window.undo_stack.count() == 1  # one drag, one undo step


def test_typed_value_and_double_click_reset(qtbot, window):
    dim = window.latent_panel.order()[1]
    row = window.latent_panel.rows[dim]
    start_value = window.state.start.latent[dim]
    row.spin.setValue(1.234)  # typing commits like this (keyboard tracking is off)
    settle(qtbot, window)
    assert np.isclose(window.state.latent[dim], 1.234)
    qtbot.mouseDClick(row.slider, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    assert window.state.latent[dim] == np.float32(start_value)
    assert_face_is(window, "beta4", window.state.latent)


def test_attribute_slider_moves_along_its_direction(qtbot, window):
    names = window.info.attributes
    for name in ("Smiling", "Male", "Young", "Eyeglasses", "Blond_Hair", "Black_Hair", "Bangs", "Mustache",
                 "Heavy_Makeup", "Wavy_Hair"):
        assert window.findChild(QSlider, f"attributeSlider{name}") is not None
    before = window.state.latent.copy()
    smiling = window.findChild(QSlider, "attributeSliderSmiling")
    smiling.setValue(450)  # -3 + 6 * 450/600 = +1.5
    settle(qtbot, window)
    assert np.allclose(window.state.latent - before, 1.5 * names["Smiling"], atol=1e-5)
    # from where the face is now: a latent edit in between is kept
    dim = window.latent_panel.order()[0]
    window.findChild(QSlider, f"latentSlider{dim}").setValue(800)
    moved = window.state.latent.copy()
    male = window.findChild(QSlider, "attributeSliderMale")
    male.setValue(200)  # -1.0
    settle(qtbot, window)
    assert np.allclose(window.state.latent - moved, -1.0 * names["Male"], atol=1e-5)
    assert window.state.amounts == {"Smiling": 1.5, "Male": -1.0}
    assert_face_is(window, "beta4", window.state.latent)
    # double-click takes the attribute back out
    qtbot.mouseDClick(smiling, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    assert window.state.amounts["Smiling"] == 0.0
    assert np.allclose(window.state.latent, moved - 1.5 * names["Smiling"] - names["Male"], atol=1e-5)


def test_more_attributes_on_request(qtbot, window):
    combo = window.findChild(QComboBox, "moreAttributesCombo")
    index = combo.findData("Goatee")
    assert index > 0
    combo.activated.emit(index)
    slider = window.findChild(QSlider, "attributeSliderGoatee")
    assert slider is not None and slider.accessibleName()
    assert combo.findData("Goatee") == -1
    before = window.state.latent.copy()
    slider.setValue(400)  # +1.0
    settle(qtbot, window)
    assert np.allclose(window.state.latent - before, window.info.attributes["Goatee"], atol=1e-5)


def test_burst_of_1000_slider_events_ends_on_the_last_value_without_backlog(qtbot, window):
    dim = window.latent_panel.order()[0]
    slider = window.findChild(QSlider, f"latentSlider{dim}")
    decodes_before = window.engine.face_decodes
    values = [(i * 7) % 1001 for i in range(999)] + [321]
    for v in values:
        slider.setValue(v)
    settle(qtbot, window)
    decodes = window.engine.face_decodes - decodes_before
    assert 1 <= decodes < len(values)
    expected = np.float32(window.latent_panel.rows[dim].value_at(321))
    assert window.state.latent[dim] == expected
    assert_face_is(window, "beta4", window.state.latent)
    assert not window.engine.pending(("face",))
    qtbot.wait(50)
    assert window.engine.face_decodes - decodes_before == decodes  # nothing queued behind


def test_every_control_has_object_and_accessible_names(window):
    kinds = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QListWidget)
    missing = []
    from PySide6.QtWidgets import QWidget
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, kinds):
            continue
        if isinstance(widget, QScrollBar) or widget.objectName().startswith("qt_"):
            continue
        if type(widget).__name__ == "QToolButton" and widget.parent() is not None \
                and type(widget.parent()).__name__ == "QTabBar":
            continue  # the tab bar's own scroll arrows
        if not widget.objectName() or not widget.accessibleName():
            missing.append((type(widget).__name__, widget.objectName(), widget.accessibleName()))
    assert not missing
    from PySide6.QtGui import QAction
    unnamed = [a.text() for a in window.findChildren(QAction) if a.text() and not a.objectName() and not a.isSeparator()]
    assert not unnamed
    for name in ("faceView", "modelPicker", "timeline", "undoAction", "redoAction", "exportAction", "gallery"):
        from PySide6.QtCore import QObject
        assert window.findChild(QObject, name) is not None, name


def test_inactive_dimensions_are_folded_away(qtbot):
    from faceedit.gui.widgets.latent_panel import LatentPanel
    panel = LatentPanel()
    qtbot.addWidget(panel)
    kl = [2.0, 0.001, 0.5, 0.0, 1.0, 0.005]
    panel.set_model(kl, [0.0] * 6, [1.0] * 6)
    panel.show()
    assert panel.order() == [0, 4, 2, 5, 1, 3] and panel.active_dims() == [0, 4, 2]
    assert not panel.inactive_toggle.isHidden() and "(3," in panel.inactive_toggle.text()
    assert not any(panel.slider(d).isVisibleTo(panel) for d in (5, 1, 3))
    panel.inactive_toggle.click()
    assert all(panel.slider(d).isVisibleTo(panel) for d in (5, 1, 3))
