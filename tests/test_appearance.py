"""The editor's presentation: name and icon, macOS menu roles, a palette from one base colour, Ctrl-C."""
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import QMainWindow

from faceedit.gui import appearance
from faceedit.gui.appearance import (DARK_BASE, LIGHT_BASE, SigintCloser, apply_look, is_dark, make_palette,
                                     name_macos_bundle, set_identity, set_menu_roles, style_sheet)

BACKGROUNDS = [QPalette.ColorRole.Window, QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase,
               QPalette.ColorRole.Button, QPalette.ColorRole.ToolTipBase]
TEXTS = [QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
         QPalette.ColorRole.ToolTipText]


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio."""
    def lum(c):
        ch = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c.getRgbF()[:3]]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture
def restore_look(qapp):
    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)


@pytest.mark.parametrize("base", [LIGHT_BASE, DARK_BASE, QColor("#1e2a3a"), QColor("#e8efe4")])
def test_every_role_follows_the_one_base_colour(base):
    palette = make_palette(base)
    dark = is_dark(base)
    for role in BACKGROUNDS:
        assert is_dark(palette.color(role)) == dark, role  # no light field in a dark window, or the reverse
    for role in TEXTS:
        assert is_dark(palette.color(role)) != dark, role
        for background in BACKGROUNDS:
            assert contrast(palette.color(role), palette.color(background)) >= 7, (role, background)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert 1.5 < contrast(disabled, base) < contrast(palette.color(QPalette.ColorRole.Text), base)


def test_the_style_sheet_takes_its_colours_from_the_palette():
    for base in (LIGHT_BASE, DARK_BASE):
        colours = [QColor(c) for c in re.findall(r"#[0-9a-fA-F]{6}", style_sheet(make_palette(base)))]
        assert colours
        backgrounds = re.findall(r"background: (#[0-9a-fA-F]{6})", style_sheet(make_palette(base)))
        assert backgrounds and all(is_dark(QColor(c)) == is_dark(base) for c in backgrounds)


def test_apply_look_dark_and_light(qapp, restore_look):
    apply_look(qapp, dark=True)
    assert is_dark(qapp.palette().color(QPalette.ColorRole.Base))
    assert not is_dark(qapp.palette().color(QPalette.ColorRole.Text))
    apply_look(qapp, dark=False)
    assert not is_dark(qapp.palette().color(QPalette.ColorRole.Base))


def test_identity_and_icon(qapp):
    assert appearance.icon_path().is_file()
    set_identity(qapp)
    assert qapp.applicationName() == "FaceEdit" and qapp.applicationDisplayName() == "FaceEdit"
    assert not qapp.windowIcon().isNull() and qapp.windowIcon().actualSize(QSize(512, 512)).width() >= 256


def test_menu_roles_put_about_preferences_quit_in_the_app_menu_and_nothing_else(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    actions = {}
    for name, text in [("aboutAction", "About FaceEdit"), ("quitAction", "Quit"),
                       ("preferencesAction", "Preferences…"), ("modelFolderAction", "Settings Folder"),
                       ("openAction", "About Photos…")]:
        actions[name] = QAction(text, window)
        actions[name].setObjectName(name)
    set_menu_roles(window)
    assert actions["aboutAction"].menuRole() == QAction.MenuRole.AboutRole
    assert actions["quitAction"].menuRole() == QAction.MenuRole.QuitRole
    assert actions["preferencesAction"].menuRole() == QAction.MenuRole.PreferencesRole
    assert actions["modelFolderAction"].menuRole() == QAction.MenuRole.NoRole  # the text heuristic would move it
    assert actions["openAction"].menuRole() == QAction.MenuRole.NoRole


def test_the_macos_bundle_name_is_left_alone_elsewhere():
    assert name_macos_bundle(platform="linux") is False
    if sys.platform != "darwin":
        assert name_macos_bundle() is False


class Recorder(QMainWindow):
    def __init__(self):
        super().__init__()
        self.closed = 0

    def closeEvent(self, event):
        self.closed += 1
        super().closeEvent(event)


@pytest.mark.skipif(sys.platform == "win32", reason="no os.kill(SIGINT) on Windows")
def test_ctrl_c_closes_the_window_once_and_gives_sigint_back(qtbot):
    before = signal.getsignal(signal.SIGINT)
    window = Recorder()
    qtbot.addWidget(window)
    window.show()
    closer = SigintCloser(window)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: window.closed == 1, timeout=5000)
        assert not window.isVisible() and closer.presses == 1
    finally:
        closer.restore()
    closer.restore()  # twice is harmless
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.skipif(sys.platform == "win32", reason="no os.kill(SIGINT) on Windows")
def test_ctrl_c_in_the_terminal_closes_the_editor_cleanly_and_saves_its_settings(tmp_path):
    """The real editor, its event loop waiting in C++: Ctrl-C wakes it, the window closes and saves."""
    script = textwrap.dedent("""
        import sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from faceedit.gui import app as editor

        def poll():
            for w in app.topLevelWidgets():
                if isinstance(w, editor.MainWindow) and w.isVisible() and w.ready():
                    w.temperature.setValue(1.3)
                    roles = (w.about_action.menuRole(), w.quit_action.menuRole(), w.open_action.menuRole())
                    print("ready", *(r.name for r in roles), flush=True)
                    return
            QTimer.singleShot(50, poll)

        QTimer.singleShot(0, poll)
        sys.exit(editor.main(["--model", "beta1"]))
    """)
    settings = tmp_path / "settings.ini"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FACEEDIT_SETTINGS": str(settings),
           "FACEEDIT_MODEL_DIR": str(tmp_path / "models"), "FACEEDIT_DEVICE": "cpu"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().split() == ["ready", "AboutRole", "QuitRole", "NoRole"], proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    stderr = proc.stderr.read()
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    text = settings.read_text()
    assert "geometry" in text and "temperature=1.3" in text and "model" in text
