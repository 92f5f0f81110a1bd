"""A closed editor window gives everything back: its widgets, its worker thread, and Qt's style-sheet cache
entries for its spin boxes (``faceedit.gui.widgets.spin_box``).  ``benchmarks/soak.py`` measures the memory."""
import gc
import weakref

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QPixmap, QPixmapCache
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QDoubleSpinBox, QHBoxLayout, QSpinBox, QWidget

from faceedit.gui.app import MainWindow
from faceedit.gui.appearance import apply_look
from faceedit.gui.widgets.spin_box import release_style_cache
from gui_helpers import WAIT_MS, settle_all
from gui_helpers import errors, isolated_settings, window  # noqa: F401 (fixtures)


def flush() -> None:
    for _ in range(3):
        QApplication.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()


def test_a_closed_window_leaves_no_widget_thread_or_python_object_behind(qtbot, errors):
    flush()
    widgets_before = len(QApplication.allWidgets())
    w = MainWindow()
    w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # as main() leaves it to the app: closed is gone
    w.show()
    qtbot.waitUntil(w.ready, timeout=WAIT_MS)
    settle_all(qtbot, w)
    assert len(QApplication.allWidgets()) > widgets_before + 100  # the sliders are built
    thread = w.engine._thread
    QPixmapCache.insert("drawn-for-this-window", QPixmap(8, 8))  # as the style caches its drawings
    refs = [weakref.ref(o) for o in (w, w.engine, w.document, w.latent_panel, w.timeline)]
    w.close()
    del w
    flush()
    assert len(QApplication.allWidgets()) == widgets_before
    assert thread.isFinished()
    assert QPixmapCache.find("drawn-for-this-window") is None  # keyed to dead palettes: dropped
    assert [r() for r in refs] == [None] * len(refs)
    assert not errors


def test_every_spin_box_of_the_window_releases_its_style_cache_entry(window):
    spins = window.findChildren(QAbstractSpinBox)
    assert len(spins) > len(window.latent_panel.rows)  # the slider rows', the temperature's, the timeline's
    untracked = [s.objectName() for s in spins if not s.lineEdit().styleSheet()]
    assert untracked == []


@pytest.mark.parametrize("dark", [False, True])
def test_releasing_the_style_cache_changes_no_pixel(qtbot, qapp, dark):
    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    apply_look(qapp, dark=dark)  # the editor's look, with its application style sheet
    try:
        def shot(release: bool, enabled: bool):
            box = QWidget()
            qtbot.addWidget(box)
            layout = QHBoxLayout(box)
            value = QDoubleSpinBox()
            value.setDecimals(3)
            value.setRange(-100, 100)
            value.setValue(-1.234)
            value.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
            frames = QSpinBox()
            frames.setSuffix(" fps")
            frames.setValue(24)
            for spin in (value, frames):
                spin.setEnabled(enabled)
                layout.addWidget(release_style_cache(spin) if release else spin)
            box.resize(320, 60)
            box.show()
            qtbot.waitExposed(box)
            return box.grab().toImage()

        for enabled in (True, False):
            plain = shot(False, enabled)
            assert shot(True, enabled) == plain
        assert shot(False, False) != shot(False, True)  # the comparison sees a difference when there is one
    finally:
        qapp.setStyle(style)
        qapp.setPalette(palette)
        qapp.setStyleSheet(sheet)


def test_release_style_cache_keeps_a_line_edits_own_style_sheet(qtbot):
    spin = QSpinBox()
    qtbot.addWidget(spin)
    spin.lineEdit().setStyleSheet("color: red;")
    assert release_style_cache(spin) is spin
    assert spin.lineEdit().styleSheet() == "color: red;"
