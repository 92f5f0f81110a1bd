"""Export: the face as PNG/JPEG at 64/256/512, the latent as JSON (and back), the clipboard; settings."""
import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QSlider

from faceedit.gui.app import MainWindow
from gui_helpers import assert_face_is, settle, shown, WAIT_MS
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)


@pytest.mark.parametrize("suffix,fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".jpeg", "JPEG")])
@pytest.mark.parametrize("size", [64, 256, 512])
def test_export_face(window, tmp_path, suffix, fmt, size):
    path = tmp_path / f"face{suffix}"
    assert window.export_face(path, size)
    with Image.open(path) as im:
        assert im.format == fmt and im.size == (size, size) and im.mode == "RGB"
        if size == 64 and fmt == "PNG":
            assert np.array_equal(np.asarray(im).reshape(-1), shown(window))


def test_export_action_asks_for_a_path_and_uses_the_export_size(window, tmp_path):
    window.findChild(QAction, "exportSize256Action").trigger()
    assert window.export_size == 256
    window.ask_save_path = lambda *a: str(tmp_path / "picked")  # no suffix: PNG
    window.findChild(QAction, "exportAction").trigger()
    with Image.open(tmp_path / "picked.png") as im:
        assert im.size == (256, 256)


def test_export_errors_get_a_dialog(window, tmp_path, errors):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert not window.export_face(blocker / "face.png")
    assert not window.export_face(tmp_path / "face.tiff")
    assert not window.export_latent(blocker / "z.json")
    assert [t for t, _ in errors] == ["Could not export the face", "Could not export the face",
                                      "Could not export the latent"]
    assert "a-file" in errors[0][1] and ".png or .jpg" in errors[1][1]
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_latent_json_round_trip(qtbot, window, tmp_path):
    window.findChild(QSlider, "attributeSliderSmiling").setValue(520)
    edited = window.state.latent.copy()
    path = tmp_path / "smile.json"
    assert window.export_latent(path)
    data = json.loads(path.read_text())
    assert set(data) == {"model", "latent"} and data["model"] == "beta4" and len(data["latent"]) == 128
    window.reset_face()
    assert not np.array_equal(window.state.latent, edited)
    window.ask_open_path = lambda *a: str(path)
    window.open_action.trigger()
    settle(qtbot, window)
    assert np.array_equal(window.state.latent, edited)
    assert_face_is(window, "beta4", edited)
    window.undo_stack.undo()
    assert not np.array_equal(window.state.latent, edited)


def test_latent_json_of_another_model_switches_to_it(qtbot, window, tmp_path):
    latent = np.linspace(-1, 1, 128).astype(np.float32)
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"model": "beta10", "latent": latent.tolist()}))
    assert window.open_path(path)
    qtbot.waitUntil(lambda: window.info.source == "beta10" and window.face_settled(), timeout=WAIT_MS)
    assert np.array_equal(window.state.latent, latent)
    assert_face_is(window, "beta10", latent)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: window.info.source == "beta4" and window.face_settled(), timeout=WAIT_MS)


def test_bad_latent_files_get_a_dialog(qtbot, window, tmp_path, errors):
    state = window.state
    cases = {
        "garbage.json": "{not json",
        "shape.json": json.dumps({"model": "beta4", "latent": [0.0] * 5}),
        "keys.json": json.dumps({"latent": [0.0] * 128}),
        "nan.json": json.dumps({"model": "beta4", "latent": [float("nan")] * 128}),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        assert not window.open_path(tmp_path / name)
    assert len(errors) == 4 and all(t == "Could not open the latent" for t, _ in errors)
    assert "5 values" in errors[1][1]
    (tmp_path / "nomodel.json").write_text(json.dumps({"model": "no-such-model", "latent": [0.0] * 128}))
    window.open_path(tmp_path / "nomodel.json")
    qtbot.waitUntil(lambda: len(errors) == 5, timeout=WAIT_MS)
    assert errors[-1][0] == "Model not found" and "no-such-model" in errors[-1][1]
    qtbot.waitUntil(window.ready, timeout=WAIT_MS)
    assert window.state is state and window.info.source == "beta4"


def test_copy_face_to_the_clipboard(window):
    window.set_export_size(256)
    window.findChild(QAction, "copyAction").trigger()
    image = QGuiApplication.clipboard().image()
    assert image.width() == 256 and image.height() == 256


def test_settings_keep_geometry_last_model_and_recent_files(qtbot, tmp_path, errors):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(w.ready, timeout=WAIT_MS)
    w.resize(820, 540)
    size = w.size()
    w.set_export_size(64)
    path = tmp_path / "z.json"
    w.export_latent(path)
    w.open_path(path)
    w.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert settings.value("model/last") == "beta4"
    assert int(settings.value("export/size")) == 64
    assert str(path.resolve()) in settings.value("files/recent")
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.height() == size.height() and again.export_size == 64  # (offscreen screen: 800 px wide)
    again.close()
