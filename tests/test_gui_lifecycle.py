"""The worker thread: coalescing, stale results, the busy indicator, clean shutdown, main()."""
import threading

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from faceedit.gui import app as app_module
from faceedit.gui.engine import Engine
from gui_helpers import settle, settle_all, WAIT_MS
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
    from faceedit.gui import engine as engine_module

    settle_all(qtbot, window)  # the start-up batches may have shown it: wait until it is gone
    qtbot.waitUntil(lambda: not window.busy_indicator.isVisible(), timeout=WAIT_MS)
    # "slow" means slower than BUSY_AFTER_MS; a wide line keeps a 1 ms decode fast on a loaded machine
    monkeypatch.setattr(engine_module, "BUSY_AFTER_MS", 2000)
    changes = []
    window.engine.busyChanged.connect(changes.append)
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(350)
    settle(qtbot, window)
    assert changes == [] and not window.busy_indicator.isVisible()  # a fast decode shows nothing
    worker = window.engine._worker
    original = worker._do_decode
    release = threading.Event()

    def slow(request):
        release.wait(WAIT_MS / 1000)  # held until the indicator is up
        return original(request)
    monkeypatch.setattr(worker, "_do_decode", slow)
    window.findChild(type(window.attribute_panel.rows["Smiling"].slider), "attributeSliderSmiling").setValue(400)
    qtbot.waitUntil(lambda: window.busy_indicator.isVisible(), timeout=WAIT_MS)
    release.set()
    settle(qtbot, window)
    qtbot.waitUntil(lambda: not window.busy_indicator.isVisible(), timeout=WAIT_MS)
    assert changes == [True, False]  # shown once, for the slow request only


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
    assert started and started[0].info.source == "beta1" and started[0].windowTitle() == "FaceEdit[*]"


def test_main_rejects_an_unknown_device(capsys):
    assert app_module.main(["--device", "tpu"]) == 2
    assert "unknown device" in capsys.readouterr().err


def test_faceedit_takes_editor_options_in_both_spellings(capsys):
    from faceedit.cli import main as faceedit_main

    for argv in (["--device", "tpu"], ["--device=tpu"], ["--model=beta4", "--device=tpu"]):
        assert faceedit_main(argv) == 2  # the editor's check, not the subcommand parser's usage error
        err = capsys.readouterr().err
        assert "unknown device" in err and "invalid choice" not in err, argv


def test_a_failed_newest_load_after_an_earlier_one_ran_keeps_engine_and_worker_in_step(qtbot, tmp_path):
    import threading
    engine, loaded = make_engine(qtbot)
    worker = engine._worker
    started, release = threading.Event(), threading.Event()
    original = worker._load

    def gated(source):
        if source == "beta1":
            started.set()
            release.wait(10)
        return original(source)
    worker._load = gated
    switched, failed, shown = [], [], []
    engine.modelLoaded.connect(switched.append)
    engine.failed.connect(failed.append)
    engine.faceDecoded.connect(shown.append)
    engine.load_model("beta1", keep=[loaded.kept[0]])
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)  # the worker is loading beta1 now
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    engine.load_model(str(bad))  # the newest request: it will fail
    release.set()
    qtbot.waitUntil(lambda: bool(failed) and not engine.pending(), timeout=WAIT_MS)
    # the worker switched to beta1 before the bad file failed: the window is told so
    assert [m.info.name for m in switched] == ["beta1"] and engine.generation == worker._generation
    engine.decode(loaded.kept[0])
    qtbot.waitUntil(lambda: bool(shown), timeout=WAIT_MS)  # requests are not skipped as stale forever
    assert engine.shutdown()


def test_a_load_that_fails_after_opening_the_file_keeps_the_old_model(qtbot, monkeypatch):
    engine, loaded = make_engine(qtbot)
    worker = engine._worker
    original = worker._load

    class BrokenDecoder:  # the file reads fine, its first decode fails (out of memory, a driver error)
        def __init__(self, model):
            self._model = model

        def __getattr__(self, name):
            return getattr(self._model, name)

        def decode(self, z):
            raise RuntimeError("decoder failed")
    monkeypatch.setattr(worker, "_load", lambda source: BrokenDecoder(original(source)))
    failed, shown = [], []
    engine.failed.connect(failed.append)
    engine.faceDecoded.connect(shown.append)
    engine.load_model("beta1", keep=[loaded.kept[0]])
    qtbot.waitUntil(lambda: bool(failed) and not engine.pending(), timeout=WAIT_MS)
    assert worker._model.name == "beta4" and worker._generation == engine.generation
    engine.decode(loaded.kept[0])
    qtbot.waitUntil(lambda: bool(shown), timeout=WAIT_MS)
    assert engine.shutdown()


def test_shutdown_that_gives_up_waiting_keeps_the_thread_until_it_ends(qtbot, monkeypatch):
    import threading

    from faceedit.gui import engine as engine_module

    real = engine_module.FaceModel
    started, release = threading.Event(), threading.Event()

    def slow_model(*args, **kwargs):
        started.set()
        release.wait(10)  # a model read from a very slow disk
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_module, "FaceModel", slow_model)
    engine = engine_module.Engine(device="cpu")
    engine.load_model("beta4")
    assert started.wait(10)  # the load is running in the worker
    assert engine.shutdown(timeout_ms=10) is False
    release.set()
    assert len(engine_module._UNFINISHED) == 1
    del engine  # the Python wrapper goes; the running QThread must survive it
    qtbot.waitUntil(lambda: not engine_module._UNFINISHED, timeout=5000)
