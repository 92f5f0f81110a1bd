"""How fast the editor follows a slider, and how fast it starts.

Drives the real window offscreen: moves the most informative latent slider through 500 values as
fast as events allow (and once more paced like a 120 Hz mouse), and prints the p50/p95 time from each
slider change to the repainted face that shows it (or a newer value), and how many decodes ran.
Then starts the editor in fresh processes and prints the time to the first face on screen.
It names the device the model ran on (FACEEDIT_DEVICE or --device picks it; default auto: MPS → CUDA
→ CPU), and, on a GPU, times one single-face decode there and on the CPU and says which one the editor
picks for the face that follows the slider (faceedit.core.device.pick_face_device; FACEEDIT_FACE_DEVICE
overrides it).

    python benchmarks/gui_latency.py [--values 500] [--cold-runs 3] [--device auto|cpu|mps|cuda]
                                     [--photo PHOTO.jpg]

``--photo`` also times the slider with that photo open and shown whole (View ▸ Whole Photo): each
repaint then shows the photo (at most 1600 px long) with the edit put back.

Targets on a 2-core CPU: p95 ≤ 8 ms, cold start ≤ 3 s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

COLD_START = r"""
import os, sys, time
from PySide6.QtWidgets import QApplication, QMessageBox
from faceedit.gui.app import MainWindow, apply_look
app = QApplication([])
apply_look(app)
window = MainWindow()
window.ask_unsaved_changes = lambda when: QMessageBox.StandardButton.Discard  # no prompt at close
def painted(seq):
    if window.face_view.has_face():
        print("FIRST_FACE", flush=True)
        window.close()
        app.quit()
window.face_view.facePainted.connect(painted)
window.show()
app.exec()
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def wait(app, condition, timeout: float = 30.0) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not settle")
        app.processEvents()
        time.sleep(0.0005)


def run_event_loop_until(deadline: float) -> None:
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    left_ms = int((deadline - time.perf_counter()) * 1000)
    if left_ms > 0:
        loop = QEventLoop()
        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        timer.start(left_ms)
        loop.exec()


def open_photo(app, window, path: str) -> None:
    """Open ``path`` with the crop on the largest detected face (the centre square if none)."""
    import numpy as np

    from faceedit.gui.open_actions import face_squares
    from faceedit.gui.widgets.pixels import image_bytes

    def largest_face(image, _path):
        data, width, height = image_bytes(image)
        found = face_squares(np.frombuffer(data, np.uint8).reshape(height, width, 3))
        side = min(width, height)
        return found[0][0] if found else ((width - side) // 2, (height - side) // 2, side)
    def fail(title: str, message: str) -> None:
        raise SystemExit(f"{title}: {message}")
    window.ask_crop, window.show_error = largest_face, fail  # no modal dialog in a benchmark
    if not window.open_path(path):
        raise SystemExit(f"could not open {path}")
    wait(app, lambda: window.document.current_photo() is not None and not window.engine.pending())


def slider_latency(values: int, pace_hz: float | None, photo: str | None = None) -> dict:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from faceedit.gui.app import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.ask_unsaved_changes = lambda when: QMessageBox.StandardButton.Discard  # no prompt at close
    window.resize(1320, 860)
    window.show()
    wait(app, lambda: window.face_settled() and not window.engine.pending())
    if photo:
        open_photo(app, window, photo)
    dim = window.latent_panel.order()[0]
    slider = window.latent_panel.slider(dim)
    paints: list[tuple[int, float]] = []
    window.face_view.facePainted.connect(lambda seq: paints.append((seq, time.perf_counter())))
    decode_ms: list[float] = []
    window.engine.faceDecoded.connect(lambda decoded: decode_ms.append(decoded.seconds * 1000))
    positions = [round(500 + 450 * ((-1) ** (i // 100)) * ((i % 100) / 100 - 0.5) * 2) for i in range(values)]
    for i in range(1, len(positions)):
        if positions[i] == positions[i - 1]:
            positions[i] += 1
    decodes_before = window.engine.face_decodes
    sent: list[tuple[int, float]] = []
    period = 1.0 / pace_hz if pace_hz else 0.0
    next_at = time.perf_counter()
    for position in positions:
        if period:  # the real event loop runs between mouse events (blocked in Qt, the GIL free)
            run_event_loop_until(next_at)
            next_at += period
        start = time.perf_counter()
        slider.setValue(position)
        sent.append((window.engine.latest_face_seq, start))
        app.processEvents()
    wait(app, lambda: window.face_settled() and window.face_view.painted_seq == window.engine.latest_face_seq)
    latencies = []
    j = 0
    for seq, start in sent:
        while paints[j][0] < seq:
            j += 1
        latencies.append((paints[j][1] - start) * 1000)
    result = {"events": len(sent), "decodes": window.engine.face_decodes - decodes_before,
              "paints": len(paints), "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
              "max": max(latencies), "decode": statistics.median(decode_ms), "device": window.info.device,
              "shown": "x".join(map(str, window.face_view.photo_size() or (64, 64)))}
    window.close()
    return result


def cold_start(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FACEEDIT_SETTINGS=os.path.join(tmp, "s.ini"))
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", COLD_START], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True, env=env)
            for line in proc.stdout:
                if line.startswith("FIRST_FACE"):
                    times.append(time.perf_counter() - start)
                    break
            proc.wait(timeout=60)
    return times


def single_face_choice() -> None:
    """Which device decodes one face faster, measured, and which one the editor therefore uses."""
    import torch

    from faceedit.core.device import choose_device, describe, pick_face_device, seconds_per_face
    from faceedit.core.facemodel import load_model

    device = choose_device()
    models = {"cpu": load_model("beta4", device="cpu")}
    models[device.type] = load_model("beta4", device=device)
    ms = {kind: seconds_per_face(m.decode, m.latent_dim, repeats=50) * 1000 for kind, m in models.items()}
    if device.type == "cpu":
        print(f"device: {describe(device)}; one face decodes in {ms['cpu']:.2f} ms (median of 50); "
              f"torch threads {torch.get_num_threads()}")
        return
    chosen = pick_face_device(device, lambda d: ms[d.type])
    print(f"device: {describe(device)}; one face decodes in {ms[device.type]:.2f} ms there and "
          f"{ms['cpu']:.2f} ms on the CPU (medians of 50) → the editor decodes single faces on "
          f"{describe(chosen)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--values", type=int, default=500)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--device", help="auto (default), cpu, mps or cuda; sets FACEEDIT_DEVICE")
    parser.add_argument("--photo", help="also time the slider with this photo shown whole")
    args = parser.parse_args()
    if args.device:
        os.environ["FACEEDIT_DEVICE"] = args.device
    single_face_choice()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FACEEDIT_SETTINGS"] = os.path.join(tmp, "settings.ini")
        runs = [(label, pace, None) for label, pace in (("as fast as events allow", None), ("paced at 120 Hz", 120.0))]
        if args.photo:
            runs += [(f"{label}, photo shown whole", pace, args.photo) for label, pace, _ in runs]
        for label, pace, photo in runs:
            r = slider_latency(args.values, pace, photo)
            print(f"slider → repainted {r['shown']} picture, {label}: {r['events']} values, {r['decodes']} decodes, "
                  f"{r['paints']} repaints; p50 {r['p50']:.2f} ms, p95 {r['p95']:.2f} ms, max {r['max']:.1f} ms "
                  f"(one decode in the worker: median {r['decode']:.2f} ms; device {r['device']})")
    times = cold_start(args.cold_runs)
    print(f"cold start to the first face on screen ({len(times)} fresh processes): "
          f"median {statistics.median(times):.2f} s, best {min(times):.2f} s, worst {max(times):.2f} s")
    print(f"targets: p95 ≤ 8 ms, cold start ≤ 3 s · {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
