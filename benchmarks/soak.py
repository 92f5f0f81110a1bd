"""Does the editor's memory stay flat? Opens and closes the real window, then moves a slider a lot.

    python benchmarks/soak.py [--windows 50] [--moves 100000] [--top 0]

Prints the resident memory (RSS) growth over the window cycles and over the slider moves, each
measured after a warm-up (the first cycles and moves fill caches, allocator pools and Qt's glyph
cache once). Target: both flat within 5 MB. ``--top N`` also prints the N Python allocation sites
that grew most (tracemalloc; slower).
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_MB = 5.0


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; elsewhere psutil if it is installed)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import psutil  # macOS, Windows

        return psutil.Process().memory_info().rss / 2**20


def wait(app, condition, timeout: float = 60.0) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not settle")
        app.processEvents()
        time.sleep(0.001)


def flush(app) -> None:
    """Run deferred deletes and collect cycles, so RSS reflects what is really still alive."""
    from PySide6.QtCore import QCoreApplication, QEvent

    for _ in range(3):
        app.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()


def settled(window) -> bool:
    return window.ready() and window.face_settled() and not window.engine.pending()


def open_and_close(app) -> None:
    from PySide6.QtCore import Qt

    from PySide6.QtWidgets import QMessageBox

    from faceedit.gui.app import MainWindow

    window = MainWindow()
    window.ask_unsaved_changes = lambda when: QMessageBox.StandardButton.Discard  # no prompt at close
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.resize(1320, 860)
    window.show()
    wait(app, lambda w=window: settled(w))
    window.close()
    del window
    flush(app)


def window_cycles(app, cycles: int, warmup: int) -> tuple[float, float]:
    for _ in range(warmup):
        open_and_close(app)
    before = rss_mb()
    for _ in range(cycles):
        open_and_close(app)
    return before, rss_mb()


def slider_moves(app, moves: int, warmup: int) -> tuple[float, float]:
    from PySide6.QtWidgets import QMessageBox

    from faceedit.gui.app import MainWindow

    window = MainWindow()
    window.ask_unsaved_changes = lambda when: QMessageBox.StandardButton.Discard  # no prompt at close
    window.resize(1320, 860)
    window.show()
    wait(app, lambda: settled(window))
    slider = window.latent_panel.slider(window.latent_panel.order()[0])

    def move(n: int, start: int) -> None:
        for i in range(start, start + n):
            slider.setValue(100 + (i * 37) % 800)
            app.processEvents()
        wait(app, lambda: settled(window))

    move(warmup, 0)
    flush(app)
    before = rss_mb()
    move(moves, warmup)
    flush(app)
    after = rss_mb()
    window.close()
    return before, after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=50)
    parser.add_argument("--moves", type=int, default=100_000)
    parser.add_argument("--top", type=int, default=0, help="print the N Python allocation sites that grew most")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from faceedit.gui.app import apply_look

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FACEEDIT_SETTINGS"] = os.path.join(tmp, "settings.ini")
        app = QApplication.instance() or QApplication([])
        apply_look(app)
        if args.top:
            import tracemalloc

            tracemalloc.start(12)
        results = []
        t0 = time.perf_counter()
        if args.windows:
            before, after = window_cycles(app, args.windows, warmup=5)
            results.append((f"{args.windows} window open/close cycles", before, after, time.perf_counter() - t0))
        t1 = time.perf_counter()
        if args.moves:
            if args.top:
                base = tracemalloc.take_snapshot()
            before, after = slider_moves(app, args.moves, warmup=min(10_000, args.moves // 10 + 1))
            results.append((f"{args.moves:,} slider moves", before, after, time.perf_counter() - t1))
            if args.top:
                for stat in tracemalloc.take_snapshot().compare_to(base, "traceback")[:args.top]:
                    print(stat, "\n   ", "\n    ".join(stat.traceback.format()[-6:]))
    worst = 0.0
    for label, before, after, seconds in results:
        growth = after - before
        worst = max(worst, growth)
        print(f"{label}: RSS {before:.1f} → {after:.1f} MB, growth {growth:+.1f} MB ({seconds:.0f} s)")
    print(f"target: flat within {TARGET_MB:g} MB · {'PASS' if worst <= TARGET_MB else 'FAIL'} · Python {sys.version.split()[0]}")
    return 0 if worst <= TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
