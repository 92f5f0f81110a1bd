"""How the editor presents itself to the desktop: name, icon, menu roles, palette, and Ctrl-C.

- ``set_identity``: the application and display name and the window (and Dock) icon from ``resources/``.
  On macOS, started from a terminal, the process belongs to Python's bundle, whose ``CFBundleName`` makes
  the app menu read "About Python" and "Quit Python"; ``name_macos_bundle`` renames it before Qt reads it.
- ``set_menu_roles``: About, Preferences and Quit go to the macOS application menu; every other action keeps
  its place (Qt's default heuristic would move any action whose text starts with "About", "Settings"…).
- ``make_palette`` / ``apply_look``: the Fusion style with a palette built from one base colour, light or
  dark with the system's colour scheme, so no role is left light in Dark Mode (or dark in light mode).
- ``SigintCloser``: Ctrl-C in the terminal closes the window the normal way (its ``closeEvent`` saves the
  settings and stops the worker), on every platform, even while Qt's event loop is waiting.
"""
from __future__ import annotations

import signal
import socket
import sys

from PySide6.QtCore import QObject, QSocketNotifier, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import isValid

from faceedit.formats.catalog import resources_dir

APP_NAME = "FaceEdit"
LIGHT_BASE = QColor("#f3f3f1")
DARK_BASE = QColor("#2a2b2e")
ACCENT = QColor("#4a7bd0")
MENU_ROLES = {"aboutAction": QAction.MenuRole.AboutRole, "preferencesAction": QAction.MenuRole.PreferencesRole,
              "quitAction": QAction.MenuRole.QuitRole}


# ------------------------------------------------------------------------------------------- identity
def icon_path():
    return resources_dir() / "icon.png"


def app_icon() -> QIcon:
    return QIcon(str(icon_path()))


def name_macos_bundle(name: str = APP_NAME, platform: str = sys.platform) -> bool:
    """Set ``CFBundleName`` of the running bundle (Python's, from a terminal) so the app menu says ``name``.

    Call before the QApplication exists.  Returns whether it was set; elsewhere than macOS, or if the
    Objective-C runtime cannot be reached, it does nothing.
    """
    if platform != "darwin":
        return False
    try:
        import ctypes
        import ctypes.util

        objc = ctypes.cdll.LoadLibrary(ctypes.util.find_library("objc"))
        ctypes.cdll.LoadLibrary(ctypes.util.find_library("Foundation"))
        objc.objc_getClass.restype = objc.sel_registerName.restype = ctypes.c_void_p
        objc.objc_getClass.argtypes = objc.sel_registerName.argtypes = [ctypes.c_char_p]
        send = ctypes.cast(objc.objc_msgSend, ctypes.c_void_p).value

        def call(restype, receiver, selector: bytes, *args):
            # objc_msgSend needs an exact prototype per call (it is not variadic on arm64)
            types = [ctypes.c_void_p if not isinstance(a, bytes) else ctypes.c_char_p for a in args]
            fn = ctypes.CFUNCTYPE(restype, ctypes.c_void_p, ctypes.c_void_p, *types)(send)
            return fn(receiver, objc.sel_registerName(selector), *args)

        nsstring = objc.objc_getClass(b"NSString")
        value = call(ctypes.c_void_p, nsstring, b"stringWithUTF8String:", name.encode())
        key = call(ctypes.c_void_p, nsstring, b"stringWithUTF8String:", b"CFBundleName")
        bundle = call(ctypes.c_void_p, objc.objc_getClass(b"NSBundle"), b"mainBundle")
        done = False
        for getter in (b"localizedInfoDictionary", b"infoDictionary"):
            info = call(ctypes.c_void_p, bundle, getter)
            if info:
                call(None, info, b"setObject:forKey:", value, key)
                done = True
        return done
    except Exception:  # noqa: BLE001 - cosmetic: never stop the app from starting
        return False


def set_identity(app: QApplication) -> None:
    """Organisation, application and display name, and the window icon (the Dock icon on macOS)."""
    app.setOrganizationName(APP_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setWindowIcon(app_icon())


def set_menu_roles(window: QWidget) -> None:
    """About/Preferences/Quit (by object name) to the macOS application menu; all other actions stay put."""
    for action in window.findChildren(QAction):
        action.setMenuRole(MENU_ROLES.get(action.objectName(), QAction.MenuRole.NoRole))


# ------------------------------------------------------------------------------------------- palette
def _shade(base: QColor, delta: float) -> QColor:
    """``base`` with its HSL lightness moved by ``delta`` (clamped to 0..1)."""
    hue, sat, light, alpha = base.getHslF()
    return QColor.fromHslF(max(hue, 0.0), sat, min(1.0, max(0.0, light + delta)), alpha)


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3])))


def is_dark(color: QColor) -> bool:
    return color.lightnessF() < 0.5


def make_palette(base: QColor, accent: QColor = ACCENT) -> QPalette:
    """Every role from one base colour: fields and buttons a little away from it, text far across."""
    dark = is_dark(base)
    away = -1.0 if dark else 1.0  # the direction of "more like paper" for this scheme
    text = QColor.fromHslF(max(base.hslHueF(), 0.0), 0.06, 0.91 if dark else 0.16)
    roles = {
        QPalette.ColorRole.Window: base,
        QPalette.ColorRole.Base: _shade(base, 0.05 * away),
        QPalette.ColorRole.AlternateBase: _shade(base, 0.02 * away),
        QPalette.ColorRole.Button: _shade(base, 0.03 if not dark else 0.06),
        QPalette.ColorRole.ToolTipBase: _shade(base, 0.06 * away),
        QPalette.ColorRole.Light: _shade(base, 0.12),
        QPalette.ColorRole.Midlight: _shade(base, 0.06),
        QPalette.ColorRole.Mid: _mix(base, text, 0.45),
        QPalette.ColorRole.Dark: _shade(base, -0.25),
        QPalette.ColorRole.Shadow: _shade(base, -0.4),
        QPalette.ColorRole.WindowText: text, QPalette.ColorRole.Text: text,
        QPalette.ColorRole.ButtonText: text, QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: _mix(base, text, 0.6),
        QPalette.ColorRole.BrightText: QColor("#ffffff") if not dark else QColor("#000000"),
        QPalette.ColorRole.Highlight: accent, QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: _shade(accent, 0.15) if dark else accent,
        QPalette.ColorRole.LinkVisited: _shade(accent, 0.05) if dark else _shade(accent, -0.1),
    }
    palette = QPalette()
    for role, color in roles.items():
        palette.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, _mix(base, text, 0.45))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, _mix(base, text, 0.3))
    return palette


def style_sheet(palette: QPalette) -> str:
    """The few touches beyond the palette, in the palette's own colours."""
    window = palette.color(QPalette.ColorRole.Window)
    border = _mix(window, palette.color(QPalette.ColorRole.Text), 0.16).name()
    panel = palette.color(QPalette.ColorRole.AlternateBase).name()
    quiet = palette.color(QPalette.ColorRole.PlaceholderText).name()
    return f"""
        QToolBar {{ spacing: 6px; padding: 4px 8px; border: none; }}
        QToolBar QToolButton {{ padding: 4px 8px; }}
        QStatusBar QLabel {{ color: {quiet}; }}
        QTabWidget::pane {{ border: none; }}
        QListWidget {{ border: 1px solid {border}; border-radius: 4px; }}
        QFrame#timelineFrame {{ border: 1px solid {border}; border-radius: 6px; background: {panel}; }}
    """


def system_is_dark(app: QGuiApplication) -> bool:
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_look(app: QApplication, dark: bool | None = None) -> None:
    """Fusion with a calm palette from one base colour: dark when the system is (or ``dark``), else light.
    Without ``dark``, it follows the system when the user switches the scheme."""
    app.setStyle("Fusion")
    palette = make_palette(DARK_BASE if (system_is_dark(app) if dark is None else dark) else LIGHT_BASE)
    app.setPalette(palette)
    app.setStyleSheet(style_sheet(palette))
    if dark is None and not getattr(app, "_faceedit_follows_scheme", False):
        app._faceedit_follows_scheme = True
        app.styleHints().colorSchemeChanged.connect(lambda *_: apply_look(app))


# ------------------------------------------------------------------------------------------- Ctrl-C
class SigintCloser(QObject):
    """Ctrl-C closes ``window`` (first press) or ends the event loop (second press), on every platform.

    Python runs a signal handler only when the interpreter gets control, which it does not while Qt waits
    in its event loop.  The C-level handler writes a byte to a socket (``signal.set_wakeup_fd``); a
    ``QSocketNotifier`` on the other end wakes Qt, the slot enters Python, and Python runs the handler.
    """

    def __init__(self, window: QWidget, app: QApplication | None = None):
        app = app or QApplication.instance()
        super().__init__(app)  # not the window's child: it must outlive the window to give SIGINT back
        self.window, self.app = window, app
        self.presses = 0
        self._read, self._write = socket.socketpair()
        for s in (self._read, self._write):
            s.setblocking(False)
        self._old_wakeup = signal.set_wakeup_fd(self._write.fileno())  # ValueError off the main thread
        self._old_handler = signal.signal(signal.SIGINT, self._handle)
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        self.app.aboutToQuit.connect(self.restore)

    def _drain(self, *_) -> None:
        try:
            self._read.recv(64)
        except OSError:
            pass

    def _handle(self, *_) -> None:
        if not isValid(self.window):  # the window is gone without the app quitting (tests, embedding)
            self.restore()
            raise KeyboardInterrupt
        self.presses += 1
        if self.presses == 1:
            QTimer.singleShot(0, self.window.close)  # closeEvent saves the settings and stops the worker
        else:
            self.app.exit(130)

    def restore(self) -> None:
        """Give SIGINT back to what had it before (idempotent)."""
        if self._notifier is None:
            return
        self._notifier.setEnabled(False)
        self._notifier = None
        signal.signal(signal.SIGINT, self._old_handler)
        signal.set_wakeup_fd(self._old_wakeup)
        self._read.close()
        self._write.close()


def close_on_sigint(window: QWidget) -> SigintCloser | None:
    """Install ``SigintCloser`` for ``window``; None where signals cannot be handled (not the main thread)."""
    try:
        return SigintCloser(window)
    except ValueError:
        return None


def prepare_window(window: QWidget) -> None:
    """What the main window needs from this module: its menu roles and Ctrl-C handling."""
    set_menu_roles(window)
    close_on_sigint(window)
