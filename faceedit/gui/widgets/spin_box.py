"""Spin boxes that give their memory back when they go: a workaround for Qt's style-sheet cache.

While a style sheet is active (FaceEdit sets one on the application, ``appearance.apply_look``), Qt's
style-sheet style caches a render rule for a spin box's inner line edit as soon as the line edit is built.
That line edit is styled through its spin box, so Qt never connects its ``destroyed`` signal to the code
that drops cache entries: every spin box ever built leaks about 1 KB (PySide6 6.11; each editor window
builds one per latent dimension and per attribute, about 140 KB a window; ``benchmarks/soak.py``).
A blank style sheet of the line edit's own makes Qt track it, so its entry goes with it.  With
FaceEdit's look it draws nothing differently: the pixels are the same, light and dark
(``tests/test_gui_release.py``).
"""
from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QAbstractSpinBox

SpinBox = TypeVar("SpinBox", bound=QAbstractSpinBox)

BLANK_SHEET = " "  # not empty: an empty style sheet is what leaves the line edit untracked


def release_style_cache(spin: SpinBox) -> SpinBox:
    """Give ``spin``'s line edit a blank style sheet of its own (see the module's text); returns ``spin``."""
    line_edit = spin.lineEdit()
    if line_edit is not None and not line_edit.styleSheet():
        line_edit.setStyleSheet(BLANK_SHEET)
    return spin
