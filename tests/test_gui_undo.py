"""Undo/redo over every kind of edit, with the standard shortcuts."""
import numpy as np
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSlider

from gui_helpers import assert_face_is, settle, WAIT_MS
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)


def test_undo_and_redo_actions_use_the_standard_shortcuts(window):
    undo = window.findChild(QAction, "undoAction")
    redo = window.findChild(QAction, "redoAction")
    assert undo.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert redo.shortcut() == QKeySequence(QKeySequence.StandardKey.Redo)
    assert not undo.isEnabled() and not redo.isEnabled()


def test_one_drag_of_one_slider_is_one_undo_step(qtbot, window):
    original = window.state.latent.copy()
    first, second = window.latent_panel.order()[:2]
    slider = window.findChild(QSlider, f"latentSlider{first}")
    slider.setSliderDown(True)
    for v in range(100, 900, 37):
        slider.setValue(v)
    slider.setSliderDown(False)
    dragged = window.state.latent.copy()
    other = window.findChild(QSlider, f"latentSlider{second}")
    other.setSliderDown(True)
    other.setValue(50)
    other.setSliderDown(False)
    assert window.undo_stack.count() == 2
    window.findChild(QAction, "undoAction").trigger()
    assert np.array_equal(window.state.latent, dragged)
    window.findChild(QAction, "undoAction").trigger()
    settle(qtbot, window)
    assert np.array_equal(window.state.latent, original)
    assert window.latent_panel.rows[first].value() == np.float32(original[first])
    assert_face_is(window, "beta4", original)
    window.findChild(QAction, "redoAction").trigger()
    settle(qtbot, window)
    assert np.array_equal(window.state.latent, dragged)
    assert_face_is(window, "beta4", dragged)


def test_two_drags_of_the_same_slider_are_two_steps(window):
    dim = window.latent_panel.order()[0]
    slider = window.findChild(QSlider, f"latentSlider{dim}")
    for target in (200, 800):
        slider.setSliderDown(True)
        slider.setValue(target)
        slider.setSliderDown(False)
    assert window.undo_stack.count() == 2


def test_undo_redo_across_attribute_random_reset_and_gallery(qtbot, window):
    states = [window.state]
    window.findChild(QSlider, "attributeSliderSmiling").setValue(450)
    states.append(window.state)
    window.random_face()
    qtbot.waitUntil(lambda: window.undo_stack.count() == 2, timeout=WAIT_MS)
    states.append(window.state)
    assert window.state.start.label.startswith("Random face")
    assert window.state.amounts == {}
    window.findChild(QSlider, f"latentSlider{window.latent_panel.order()[0]}").setValue(10)
    states.append(window.state)
    window.reset_face()
    states.append(window.state)
    assert np.array_equal(window.state.latent, states[2].latent)
    qtbot.waitUntil(lambda: window.gallery.face_count("model") > 3, timeout=WAIT_MS)
    window.pick_start_face("model", 3)
    states.append(window.state)
    assert np.allclose(window.state.latent, window.info.gallery[3], atol=1e-6)
    assert window.undo_stack.count() == len(states) - 1
    for expected in reversed(states[:-1]):
        window.undo_stack.undo()
        assert window.state is expected
    settle(qtbot, window)
    assert_face_is(window, "beta4", states[0].latent)
    assert window.attribute_panel.rows["Smiling"].value() == 0.0
    for expected in states[1:]:
        window.undo_stack.redo()
        assert window.state is expected
    settle(qtbot, window)
    assert_face_is(window, "beta4", states[-1].latent)


def test_undo_restores_the_attribute_sliders(qtbot, window):
    window.findChild(QSlider, "attributeSliderYoung").setValue(500)
    amount = window.state.amounts["Young"]
    window.undo_stack.undo()
    assert window.attribute_panel.rows["Young"].value() == 0.0
    window.undo_stack.redo()
    assert window.attribute_panel.rows["Young"].value() == amount


def test_undo_and_redo_shortcuts_from_the_keyboard(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    original = window.state.latent.copy()
    window.findChild(QSlider, "attributeSliderMale").setValue(500)
    edited = window.state.latent.copy()
    qtbot.keySequence(window, QKeySequence(QKeySequence.StandardKey.Undo))
    assert np.array_equal(window.state.latent, original)
    qtbot.keySequence(window, QKeySequence(QKeySequence.StandardKey.Redo))
    assert np.array_equal(window.state.latent, edited)
