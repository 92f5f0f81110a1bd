"""The model picker and β switching that keeps the face; bad and vanished model files."""
import shutil

import numpy as np
import torch
from PySide6.QtWidgets import QLabel

from faceedit.formats import catalog
from faceedit.gui.widgets.model_picker import OPEN_FILE, SOURCE_ROLE
from gui_helpers import (WAIT_MS, assert_face_is, decode_bytes, image_mse, model, save_tiny_model, settle,
                         settle_all, shown)
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)


def switch(qtbot, window, source):
    window.switch_model(source)
    qtbot.waitUntil(lambda: window.info.source == source and window.face_settled(), timeout=WAIT_MS)


def test_picker_lists_bundled_user_models_and_open_file(qtbot, window, tmp_path):
    picker = window.model_picker
    assert picker.objectName() == "modelPicker" and picker.accessibleName()
    assert picker.current_source() == "beta4"
    for name in catalog.bundled_models():
        assert name in picker.sources()
    user_dir = tmp_path / "user-models"
    user_dir.mkdir()
    save_tiny_model(user_dir / "mine.pt")
    picker.refresh()  # also done each time the list opens
    assert "mine" in picker.sources()
    data = [picker.itemData(i, SOURCE_ROLE) for i in range(picker.count())]
    assert data[-1] == OPEN_FILE
    # choosing "Open model file…" asks for a file
    asked = []
    window.ask_open_path = lambda *a: asked.append(a) or None
    picker.activated.emit(picker.count() - 1)
    assert asked and picker.current_source() == "beta4"


def test_switch_keeps_the_face(qtbot, window):
    original = shown(window).copy()
    switch(qtbot, window, "beta1")
    assert window.info.name == "beta1" and window.info.beta == 1
    assert window.model_picker.current_source() == "beta1"
    assert "β = 1" in window.findChild(QLabel, "modelLabel").text()
    assert_face_is(window, "beta1", window.state.latent)
    kept = shown(window).copy()
    prior = torch.randn(8, 128, generator=torch.Generator().manual_seed(0))
    random_faces = [decode_bytes("beta1", z) for z in prior]
    assert image_mse(kept, original) < min(image_mse(f, original) for f in random_faces)
    # the sliders follow the new model's KL order
    kl = window.info.kl_per_dim
    assert [kl[d] for d in window.latent_panel.order()] == sorted(kl, reverse=True)
    # undo switches back to beta4 with exactly the old latent; redo forth again
    switched = window.state
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: window.info.source == "beta4" and window.face_settled(), timeout=WAIT_MS)
    assert np.array_equal(shown(window), original)
    window.undo_stack.redo()
    qtbot.waitUntil(lambda: window.info.source == "beta1" and window.face_settled(), timeout=WAIT_MS)
    assert np.array_equal(window.state.latent, switched.latent)


def test_switch_carries_keyframes_and_the_start_face(qtbot, window):
    window.add_keyframe()
    window.findChild(QLabel, "modelLabel")
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(500)
    window.add_keyframe()
    settle_all(qtbot, window)
    switch(qtbot, window, "beta10")
    settle_all(qtbot, window)
    assert all("beta10" in k and "beta4" in k for k in window.keyframes.values())
    assert window.frames is not None and np.array_equal(window.frames.latents[0],
                                                        window.keyframes[window.timeline.keyframe_ids()[0]]["beta10"])
    # reset goes to the start face as re-encoded into beta10
    window.reset_face()
    settle(qtbot, window)
    assert np.array_equal(window.state.latent, window.state.start.latent)


def test_switch_from_a_photo_encodes_the_photo(qtbot, window, tmp_path):
    from PIL import Image
    face = decode_bytes("beta4", model("beta4").gallery[7]).reshape(64, 64, 3)
    path = tmp_path / "face.png"
    Image.fromarray(face).resize((200, 200)).save(path)
    window.ask_crop = lambda image, p: (0, 0, 200)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.state.start.photo is not None and window.face_settled(), timeout=WAIT_MS)
    crop = window.state.start.photo
    switch(qtbot, window, "beta1")
    mu, _ = model("beta1").encode(torch.as_tensor(crop))
    assert np.allclose(window.state.latent, mu[0].numpy(), atol=1e-4)
    assert window.state.start.photo is crop


def test_bad_model_file_gets_a_dialog_and_keeps_the_work(qtbot, window, tmp_path, errors):
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(500)
    state, steps = window.state, window.undo_stack.count()
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"this is not a model")
    window.ask_open_path = lambda *a: str(bad)
    window.open_model_action.trigger()
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    title, message = errors[-1]
    assert title == "Could not open the model" and "broken.pt" in message and "not a readable model file" in message
    qtbot.waitUntil(window.ready, timeout=WAIT_MS)
    assert window.state is state and window.undo_stack.count() == steps and window.info.source == "beta4"
    assert window.model_picker.current_source() == "beta4"
    assert window.latent_panel.isEnabled()


def test_model_folder_that_vanished(qtbot, window, tmp_path, errors):
    user_dir = tmp_path / "user-models"
    user_dir.mkdir()
    save_tiny_model(user_dir / "gone.pt")
    window.model_picker.refresh()
    assert "gone" in window.model_picker.sources()
    shutil.rmtree(user_dir)
    state = window.state
    window.switch_model("gone")
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    assert "gone" in errors[-1][1] and window.state is state and window.info.source == "beta4"
    qtbot.waitUntil(window.ready, timeout=WAIT_MS)
    window.model_picker.refresh()
    assert "gone" not in window.model_picker.sources()


def test_user_model_and_opened_file_work(qtbot, window, tmp_path):
    user_dir = tmp_path / "user-models"
    user_dir.mkdir()
    save_tiny_model(user_dir / "tiny.pt")
    switch(qtbot, window, "tiny")
    assert window.info.beta == 2.0 and len(window.latent_panel.rows) == 128
    assert sorted(window.attribute_panel.rows) == ["Male", "Smiling"]
    other = tmp_path / "elsewhere" / "other.pt"
    other.parent.mkdir()
    save_tiny_model(other, attributes=False, seed=1)
    window.open_path(other)
    qtbot.waitUntil(lambda: window.info.path == str(other.resolve()) and window.face_settled(), timeout=WAIT_MS)
    assert not window.attribute_panel.rows and window.attribute_panel.empty.isVisibleTo(window)
    assert str(other.resolve()) in window.model_picker.sources()


def test_status_bar_shows_device_model_and_decode_time(qtbot, window):
    assert window.findChild(QLabel, "deviceLabel").text() == "CPU"
    assert window.findChild(QLabel, "modelLabel").text() == "beta4 · β = 4"
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(500)
    qtbot.waitUntil(lambda: "ms" in window.findChild(QLabel, "decodeLabel").text(), timeout=WAIT_MS)


def test_a_bad_start_model_falls_back_to_the_default(qtbot, tmp_path, errors):
    from faceedit.gui.app import MainWindow
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    w = MainWindow(model=str(bad))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(w.ready, timeout=WAIT_MS)
    assert w.info.source == "beta4"
    assert len(errors) == 1 and "bad.pt" in errors[0][1] and "beta4 instead" in errors[0][1]
    w.close()


def test_undo_back_to_a_user_model_whose_folder_vanished(qtbot, window, tmp_path, errors):
    user_dir = tmp_path / "user-models"
    user_dir.mkdir()
    save_tiny_model(user_dir / "tiny.pt")
    switch(qtbot, window, "tiny")
    switch(qtbot, window, "beta4")
    shutil.rmtree(user_dir)
    window.undo_stack.undo()  # the model is still in memory
    qtbot.waitUntil(lambda: window.info.source == "tiny" and window.face_settled(), timeout=WAIT_MS)
    assert not errors


def test_a_failed_undo_of_a_switch_keeps_the_history_in_step(qtbot, window, errors, monkeypatch):
    switch(qtbot, window, "beta1")
    state, index = window.state, window.undo_stack.index()
    worker = window.engine._worker
    original = worker._load

    def refuse(source):
        if source == "beta4":
            raise OSError("disk unplugged")
        return original(source)
    monkeypatch.setattr(worker, "_load", refuse)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.info.source == "beta1" and window.state is state
    assert window.undo_stack.index() == index  # the switch is still the step to undo
    monkeypatch.setattr(worker, "_load", original)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: window.info.source == "beta4" and window.face_settled(), timeout=WAIT_MS)


def test_undo_and_opening_files_wait_while_a_model_loads(qtbot, window, tmp_path):
    import json
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(500)
    edited, steps = window.state, window.undo_stack.count()
    window.switch_model("beta1")
    assert window._switching
    window.undo_action.trigger()  # Ctrl+Z during the switch
    latent = tmp_path / "other.json"
    latent.write_text(json.dumps({"model": "beta10", "latent": [0.0] * 128}))
    assert window.open_path(latent) is False  # Open Recent / drag and drop during the switch
    qtbot.waitUntil(lambda: window.info.source == "beta1" and window.face_settled(), timeout=WAIT_MS)
    assert window.undo_stack.count() == steps + 1 and window.undo_stack.index() == steps + 1
    assert window.undo_stack.command(steps).before is edited
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: window.info.source == "beta4" and window.face_settled(), timeout=WAIT_MS)
    assert np.array_equal(window.state.latent, edited.latent) and window.state.amounts == edited.amounts


def test_switch_from_an_edited_photo_re_encodes_the_photo_and_keeps_the_edit(qtbot, window, tmp_path):
    from PIL import Image
    face = decode_bytes("beta4", model("beta4").gallery[3]).reshape(64, 64, 3)
    path = tmp_path / "face.png"
    Image.fromarray(face).resize((200, 200)).save(path)
    window.ask_crop = lambda image, p: (0, 0, 200)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.state.start.photo is not None and window.face_settled(), timeout=WAIT_MS)
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(500)
    qtbot.waitUntil(lambda: window.state.amounts and window.face_settled(), timeout=WAIT_MS)
    crop, edited, unedited = window.state.start.photo, window.state.latent, window.state.start.latent
    switch(qtbot, window, "beta1")
    old, new = model("beta4"), model("beta1")

    def enc(image):
        return new.encode(torch.as_tensor(image))[0][0].numpy()
    photo = enc(crop)
    delta = enc(old.decode(torch.as_tensor(edited))) - enc(old.decode(torch.as_tensor(unedited)))
    assert np.allclose(window.state.latent, photo + delta, atol=1e-4)
    assert np.allclose(window.state.start.latent, photo, atol=1e-4)
    assert not np.allclose(window.state.latent, enc(old.decode(torch.as_tensor(edited))), atol=1e-3)
    assert_face_is(window, "beta1", window.state.latent)
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: window.info.source == "beta4" and window.face_settled(), timeout=WAIT_MS)
    assert np.array_equal(window.state.latent, edited)
