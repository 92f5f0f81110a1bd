"""Linux start-up: Qt's xcb plugin needs X libraries that a fresh Debian or Ubuntu does not have.

Without them Qt aborts with "Could not load the Qt platform plugin "xcb"" and a page of text; we
check first and print the one line that fixes it (and print that line too if Qt aborts anyway).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys

# soname → Debian/Ubuntu package (Fedora: xcb-util-cursor, xcb-util-wm, xcb-util-keysyms)
XCB_LIBRARIES = {"libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
                 "libxcb-keysyms.so.1": "libxcb-keysyms1"}
FIX = "sudo apt install " + " ".join(XCB_LIBRARIES.values())


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
        return True
    except OSError:
        return False


def uses_xcb(environ=os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will start its xcb (X11) plugin: Linux, and no other platform chosen."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    return environ.get("XDG_SESSION_TYPE") != "wayland" or not environ.get("WAYLAND_DISPLAY")


def xcb_problem(environ=os.environ, platform: str = sys.platform, loads=_loads) -> str | None:
    """One line naming the missing libraries and the command that installs them, or None."""
    if not uses_xcb(environ, platform):
        return None
    missing = [package for soname, package in XCB_LIBRARIES.items() if not loads(soname)]
    if not missing:
        return None
    return f"the window needs X11 libraries this system lacks; install them with: sudo apt install {' '.join(missing)}"


def hint_for(message: str) -> str | None:
    """The fix for Qt's fatal start-up message, or None when it is not the platform-plugin failure."""
    if "platform plugin" in message.lower():
        return f"faceedit: Qt could not start its window system plugin; on Debian or Ubuntu run: {FIX}"
    return None


@contextlib.contextmanager
def hint_on_plugin_failure():
    """While QApplication starts: if Qt is about to abort for its platform plugin, print the one line
    that fixes it instead of Qt's page (Qt then aborts); otherwise Qt's messages are printed as usual."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    held: list[str] = []

    def handler(kind, context, message):
        hint = hint_for(message) if kind == QtMsgType.QtFatalMsg else None
        if hint:
            print(hint, file=sys.stderr, flush=True)
            held.clear()  # Qt aborts right after this message; its page is not printed
        held.append(message)

    qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(None)
        for message in held:
            print(message, file=sys.stderr)
