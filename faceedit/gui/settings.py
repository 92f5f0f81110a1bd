"""The editor's settings: where they live, the window's remembered layout, the last folder and recent files."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

SETTINGS_ENV = "FACEEDIT_SETTINGS"  # a path: keep the settings in this INI file (tests, portable use)
MAX_RECENT = 10
EXPORT_SIZES = (64, 256, 512)


def open_settings() -> QSettings:
    """The app's QSettings ("FaceEdit"/"FaceEdit"), or an INI file named by $FACEEDIT_SETTINGS."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("FaceEdit", "FaceEdit")


def export_size(settings: QSettings) -> int:
    size = int(settings.value("export/size", 512) or 512)
    return size if size in EXPORT_SIZES else 512


def whole_photo(settings: QSettings) -> bool:
    """View ▸ Whole Photo (on unless the user turned it off)."""
    return str(settings.value("view/wholePhoto", True)).lower() not in ("false", "0")


def temperature(settings: QSettings) -> float:
    return float(settings.value("random/temperature", 0.8) or 0.8)


def last_folder(settings: QSettings) -> str:
    return str(settings.value("files/lastFolder", "") or Path.home())


def remember(settings: QSettings, path: str | os.PathLike, folder_only: bool = False) -> None:
    """``path`` was opened or written: its folder is where the next dialog starts, and (unless
    ``folder_only``) it heads the recent files."""
    path = str(Path(path).resolve())
    settings.setValue("files/lastFolder", str(Path(path).parent if not Path(path).is_dir() else path))
    if folder_only:
        return
    recent = [p for p in recent_files(settings) if p != path]
    settings.setValue("files/recent", [path, *recent][:MAX_RECENT])


def embed_photos(settings: QSettings) -> bool:
    """Whether projects embed the source photo (else they hold a reference to its file)."""
    return str(settings.value("projects/embedPhotos", True)).lower() not in ("false", "0")


def set_embed_photos(settings: QSettings, on: bool) -> None:
    settings.setValue("projects/embedPhotos", bool(on))


def recent_files(settings: QSettings) -> list[str]:
    value = settings.value("files/recent", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])]


def restore_window(window) -> None:
    """Geometry, splitter, and the timeline's frame rate and method, as the window was closed."""
    settings = window.settings
    geometry = settings.value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    else:
        window.resize(1320, 860)
    split = settings.value("window/splitter")
    if isinstance(split, QByteArray) and not split.isEmpty():
        window.main_split.restoreState(split)
    window.timeline.fps.setValue(int(settings.value("timeline/fps", 24) or 24))
    method = settings.value("timeline/method", "slerp")
    window.timeline.method.setCurrentIndex(max(0, window.timeline.method.findData(method)))


def save_window(window) -> None:
    s = window.settings
    s.setValue("window/geometry", window.saveGeometry())
    s.setValue("window/splitter", window.main_split.saveState())
    s.setValue("export/size", window.export_size)
    s.setValue("random/temperature", window.temperature.value())
    s.setValue("timeline/fps", window.timeline.fps.value())
    s.setValue("timeline/method", window.timeline.method_name())
    if window.info is not None:
        s.setValue("model/last", window.info.source)
    s.sync()
