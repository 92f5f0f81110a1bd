"""Names a newcomer understands: attributes a model cannot render are greyed out under More… with the measured
reason, latent sliders are named after the attribute they correlate with, and old model files look as before."""
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSlider

from faceedit.core.modelfile import update_metadata
from faceedit.gui.widgets.attribute_panel import CANNOT_RENDER, AttributePanel
from faceedit.gui.widgets.latent_panel import LatentPanel
from faceedit.gui.widgets.plain_words import NAME_MIN_R, dimension_label
from gui_helpers import WAIT_MS, save_tiny_model
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)

NAMES = ["Smiling", "Male", "Eyeglasses", "Goatee", "Wearing_Hat"]
QUALITY = {"Smiling": {"renderable": True, "flip": 0.86},
           "Eyeglasses": {"renderable": False, "recon_auc": 0.58, "flip": 0.04},
           "Goatee": {"renderable": True, "flip": 0.81},
           "Wearing_Hat": {"renderable": True, "flip": 0.31}}


def more_entries(combo: QComboBox) -> list[tuple[str, object, bool, str]]:
    """(text, data, enabled, tooltip) of every entry of the More… list after its placeholder."""
    model = combo.model()
    return [(combo.itemText(i), combo.itemData(i), model.item(i).isEnabled(),
             combo.itemData(i, Qt.ItemDataRole.ToolTipRole) or "") for i in range(1, combo.count())
            if combo.itemText(i)]  # not the separator


def save_measured_model(path) -> None:
    """A tiny model whose file says Eyeglasses is not kept and Wearing_Hat barely flips; dims 0–2 are named."""
    save_tiny_model(path)
    pairs = [None] * 128
    pairs[0], pairs[1], pairs[2] = ["Blond_Hair", 0.52], ["Young", -0.41], ["Smiling", 0.12]
    update_metadata(path, {"attribute_names": NAMES, "attribute_directions": torch.randn(len(NAMES), 128),
                           "attribute_scales": torch.full((len(NAMES),), 2.0), "attribute_quality": QUALITY,
                           "dimension_attributes": pairs})


# --------------------------------------------------------------------------------------------- widgets alone
def test_unrenderable_attributes_are_greyed_under_more_with_their_reason(qtbot):
    panel = AttributePanel()
    qtbot.addWidget(panel)
    reason = "β=10 does not keep eyeglasses: flip rate 4%"
    panel.set_attributes(NAMES, {"Eyeglasses": reason}, scaled=True)
    # Eyeglasses is one of the usual sliders, but this model cannot render it: no slider
    assert "Eyeglasses" not in panel.rows and panel.findChild(QSlider, "attributeSliderEyeglasses") is None
    assert sorted(panel.rows) == ["Male", "Smiling"]
    entries = more_entries(panel.more)
    offered = [(text, data) for text, data, enabled, _ in entries if enabled]
    assert offered == [("Goatee", "Goatee"), ("Wearing hat", "Wearing_Hat")]
    greyed = [(text.strip(), data, tip) for text, data, enabled, tip in entries if not enabled]
    assert greyed[0][0] == CANNOT_RENDER + ":" and greyed[1:] == [("Eyeglasses", "Eyeglasses", reason)]
    assert entries[0][0].startswith(CANNOT_RENDER)  # listed first, where a newcomer sees it
    assert panel.more.isEnabled() and panel.unrenderable() == {"Eyeglasses": reason}
    # a greyed entry cannot be added, even when asked by name
    panel.add_attribute("Eyeglasses")
    assert "Eyeglasses" not in panel.rows
    # a renderable one from More… becomes a slider
    panel.more.activated.emit(panel.more.findData("Goatee"))
    assert "Goatee" in panel.rows


def test_a_usual_slider_comes_back_in_its_place_when_the_next_model_renders_it(qtbot):
    panel = AttributePanel()
    qtbot.addWidget(panel)
    panel.set_attributes(NAMES, {"Smiling": "cannot"}, scaled=True)
    assert "Smiling" not in panel.rows
    panel.set_attributes(NAMES, {}, scaled=True)
    place = {n: panel._rows.indexOf(panel.rows[n]) for n in panel.rows}
    assert place["Smiling"] < place["Male"] < place["Eyeglasses"]  # the usual order (SHOWN), not at the end
    assert all(enabled for _, _, enabled, _ in more_entries(panel.more))


def test_attribute_tooltips_say_what_plus_one_means(qtbot):
    panel = AttributePanel()
    qtbot.addWidget(panel)
    panel.set_attributes(["Smiling"], scaled=True)
    tip = panel.slider("Smiling").toolTip()
    assert "+1 makes smiling visible on 80% of faces without it" in tip and "measured" in tip
    panel.set_attributes(["Smiling"], scaled=True, unit_flip=0.9)  # the file says what +1 was calibrated to
    assert "visible on 90% of faces" in panel.slider("Smiling").toolTip()
    panel.set_attributes(["Smiling"], scaled=False)  # an older file: the same slider, an honest tooltip
    tip = panel.slider("Smiling").toolTip()
    assert "unscaled" in tip and "80%" not in tip


def test_old_model_data_behaves_as_before(qtbot):
    panel = AttributePanel()
    qtbot.addWidget(panel)
    panel.set_attributes(NAMES)  # no quality data
    assert sorted(panel.rows) == ["Eyeglasses", "Male", "Smiling"]
    assert all(enabled for _, _, enabled, _ in more_entries(panel.more))
    assert [d for _, d, _, _ in more_entries(panel.more)] == ["Goatee", "Wearing_Hat"]
    panel.set_attributes(["Smiling"])
    assert panel.more.itemText(0) == "All attributes shown" and not panel.more.isEnabled()


def test_latent_labels_name_strongly_correlated_dimensions_only(qtbot):
    panel = LatentPanel()
    qtbot.addWidget(panel)
    hints = [("Blond_Hair", 0.52), ("Young", -NAME_MIN_R), ("Smiling", NAME_MIN_R - 0.01), None]
    panel.set_model([2.0, 1.5, 1.0, 0.5], [0.0] * 4, [1.0] * 4, hints)
    labels = [panel.rows[d].label.text for d in range(4)]
    assert labels == ["z0 · hair colour?", "z1 · age?", "z2", "z3"]
    tip0, tip1 = panel.rows[0].toolTip(), panel.rows[1].toolTip()
    assert "r = +0.52" in tip0 and "more “blond hair”" in tip0 and "hint" in tip0
    assert "less “young”" in tip1
    assert "How much this dimension carries (KL 2.000 nats" in tip0 and "changes the face more" in tip0
    assert "correlates" not in panel.rows[2].toolTip()
    # every label fits its width: nothing elided for these
    width = panel.rows[0].label.width()
    metrics = panel.rows[0].label.fontMetrics()
    assert all(metrics.horizontalAdvance(t) <= width - 4 for t in labels)
    # stable names for tests and screen readers; the hint goes in the description
    assert panel.slider(0).objectName() == "latentSlider0" and panel.slider(0).accessibleName() == "Latent dimension 0"
    assert panel.slider(0).accessibleDescription() == "probably hair colour"
    # a model without hints: bare names, narrow labels
    panel.set_model([2.0, 1.5, 1.0, 0.5], [0.0] * 4, [1.0] * 4)
    assert [panel.rows[d].label.text for d in range(4)] == ["z0", "z1", "z2", "z3"]
    assert panel.rows[0].label.width() == 40 and panel.slider(0).accessibleDescription() == ""


@pytest.mark.parametrize("name, r, label", [("Male", 0.9, "z7 · gender?"), ("Wearing_Hat", -0.2, "z7 · hat?"),
                                            ("Unknown_Thing", 0.5, "z7 · unknown thing?"), ("Male", 0.19, "z7")])
def test_dimension_label_wording(name, r, label):
    assert dimension_label(7, (name, r)) == label


# --------------------------------------------------------------------------------------------- the window
def switch(qtbot, window, source):
    window.switch_model(source)
    qtbot.waitUntil(lambda: window.info.source == source and window.face_settled(), timeout=WAIT_MS)


def test_window_shows_a_measured_models_names_and_greyed_attributes(qtbot, window, tmp_path):
    user_dir = tmp_path / "user-models"
    user_dir.mkdir()
    save_measured_model(user_dir / "measured.pt")
    switch(qtbot, window, "measured")
    info = window.info
    assert set(info.attribute_problems) == {"Eyeglasses", "Wearing_Hat"} and info.attributes_scaled
    assert info.dimension_attributes[0] == ("Blond_Hair", 0.52) and info.dimension_attributes[5] is None
    panel = window.attribute_panel
    assert sorted(panel.rows) == ["Male", "Smiling"]
    greyed = {data: tip for _, data, enabled, tip in more_entries(panel.more) if not enabled and data}
    assert greyed["Eyeglasses"].startswith("β=2 does not keep eyeglasses") and "AUC 0.58" in greyed["Eyeglasses"]
    assert greyed["Wearing_Hat"].startswith("β=2 barely renders wearing hat") and "31%" in greyed["Wearing_Hat"]
    assert [d for _, d, enabled, _ in more_entries(panel.more) if enabled] == ["Goatee"]
    assert "80% of faces" in panel.slider("Smiling").toolTip()
    labels = window.latent_panel.rows
    assert (labels[0].label.text, labels[1].label.text, labels[2].label.text) == ("z0 · hair colour?", "z1 · age?", "z2")


def test_window_with_an_old_model_file_is_unchanged(qtbot, window, tmp_path):
    user_dir = tmp_path / "user-models"
    user_dir.mkdir()
    save_tiny_model(user_dir / "old.pt")
    switch(qtbot, window, "old")
    info = window.info
    assert info.attribute_problems == {} and not info.attributes_scaled
    assert info.dimension_attributes == [None] * 128
    panel = window.attribute_panel
    assert sorted(panel.rows) == ["Male", "Smiling"] and not panel.unrenderable()
    assert panel.more.itemText(0) == "All attributes shown" and not panel.more.isEnabled()
    assert "unscaled" in panel.slider("Smiling").toolTip()
    assert all(row.label.text == f"z{d}" for d, row in window.latent_panel.rows.items())
