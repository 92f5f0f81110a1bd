"""PySide6 6.12.0 on Python < 3.12 drops a reference to None on every void call, and the process
dies with "none_dealloc" after a few thousand slider moves. pyproject excludes that release; this
test fails if an installed PySide6 has the bug again."""
import sys

from PySide6.QtWidgets import QSlider


def test_void_calls_do_not_leak_references_to_none(qtbot):
    slider = QSlider()
    qtbot.addWidget(slider)
    for i in range(100):  # warm-up
        slider.setValue(i)
    before = sys.getrefcount(None)
    for i in range(5000):
        slider.setValue(i % 100)
        slider.setToolTip("x")
    after = sys.getrefcount(None)
    assert after >= before - 50, f"None lost {before - after} references over 10,000 void calls"
