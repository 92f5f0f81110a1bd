"""The worker thread: coalescing, stale results, the busy indicator, clean shutdown, main()."""
import time

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from faceedit import app as app_module
from faceedit.engine import Engine
from gui_helpers import settle, WAIT_MS
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)


def make_engine(qtbot):
    engine = Engine("cpu")
    loaded = []
    engine.modelLoaded.connect(loaded.append)
    engine.load_model("beta4", default_face=True, purpose="startup")
    qtbot.waitUntil(lambda: bool(loaded), timeout=WAIT_MS)
    return engine, loaded[0]


def test_engine_coalesces_latest_wins_and_never_shows_a_stale_face(qtbot):
    engine, loaded = make_engine(qtbot)
    shown = []
    engine.faceDecoded.connect(shown.append)
    base = loaded.kept[0]
    seqs = [engine.decode(base + i * 0.01) for i in range(300)]
    qtbot.waitUntil(lambda: not engine.pending(), timeout=WAIT_MS)
    assert engine.face_decodes < 300
    assert shown[-1].seq == seqs[-1] and np.allclose(shown[-1].latent, base + 299 * 0.01)
    assert [d.seq for d in shown] == sorted(d.seq for d in shown)  # never older than what was shown
    # a face shown directly (a cached frame) makes results still on their way stale
    count = len(shown)
    engine.decode(base)
    engine.claim_face()
    qtbot.wait(100)
    assert len(shown) == count
    assert engine.shutdown()


def test_results_of_a_replaced_model_are_dropped(qtbot):
    engine, loaded = make_engine(qtbot)
    shown = []
    engine.faceDecoded.connect(shown.append)
    switched = []
    engine.modelLoaded.connect(switched.append)
    engine.decode(loaded.kept[0])  # asked for with beta4
    engine.load_model("beta1", carry=[loaded.kept[0]])
    qtbot.waitUntil(lambda: bool(switched) and not engine.pending(), timeout=WAIT_MS)
    assert all(d.generation == engine.generation for d in shown)
    assert engine.shutdown()


def test_busy_indicator_only_for_slow_requests(qtbot, window, monkeypatch):
    changes = []
    window.engine.busyChanged.connect(changes.append)
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(350)
    settle(qtbot, window)
    worker = window.engine._worker
    original = worker._do_decode

    def slow(request):
        time.sleep(0.4)
        return original(request)
    monkeypatch.setattr(worker, "_do_decode", slow)
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(400)
    qtbot.waitUntil(lambda: window.busy_indicator.isVisible(), timeout=WAIT_MS)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: not window.busy_indicator.isVisible(), timeout=WAIT_MS)
    assert changes[-2:] == [True, False]


def test_closing_during_a_decode_stops_the_thread(qtbot, window):
    engine = window.engine
    window.timeline.steps.setValue(240)
    window.add_keyframe()
    window.random_face()
    window.add_keyframe()
    window._recompute_timeline()  # a long batch in flight
    for i in range(50):
        window.set_latent_value(window.latent_panel.order()[0], i * 0.01)
    window.close()
    assert not engine.is_running()
    assert engine.shutdown()  # twice is fine
    QApplication.processEvents()


def test_closing_while_the_model_loads(qtbot, errors):
    w = app_module.MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.close()  # the first model load is still running
    assert not w.engine.is_running()
    assert not errors


def test_main_starts_the_editor_and_returns_its_exit_code(qtbot, errors, monkeypatch):
    started = []

    def close_when_ready():
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, app_module.MainWindow) and widget.isVisible():
                if not widget.ready():
                    QTimer.singleShot(50, close_when_ready)
                    return
                started.append(widget)
                widget.close()  # the last window closed: the app quits, main() returns
    QTimer.singleShot(50, close_when_ready)
    monkeypatch.setattr(app_module, "apply_look", lambda app: None)  # keep the test app's style
    assert app_module.main(["--model", "beta1"]) == 0
    assert started and started[0].info.source == "beta1" and started[0].windowTitle() == "FaceEdit"


def test_main_rejects_an_unknown_device(capsys):
    assert app_module.main(["--device", "tpu"]) == 2
    assert "unknown device" in capsys.readouterr().err
