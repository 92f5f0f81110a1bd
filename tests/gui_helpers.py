"""Shared fixtures and helpers of the GUI tests (tests/test_gui_*.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QMessageBox

from faceedit import load_model
from faceedit.gui.app import MainWindow
from faceedit.core.images import to_rgb_bytes
from faceedit.core.model import ArchConfig, BetaVAE, Objective
from faceedit.core.modelfile import save_model_file

WAIT_MS = 30_000
_MODELS: dict = {}


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Settings, recovery copies and the user model folder live in tmp_path: the real ones are never
    touched.  A window closed with unsaved work discards it (tests of that prompt answer it themselves)."""
    monkeypatch.setenv("FACEEDIT_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("FACEEDIT_MODEL_DIR", str(tmp_path / "user-models"))
    monkeypatch.setenv("FACEEDIT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(MainWindow, "ask_unsaved_changes", lambda self, when: QMessageBox.StandardButton.Discard)
    monkeypatch.setenv("FACEEDIT_DEVICE", "cpu")  # a Mac would pick MPS; the tests compare with CPU models


@pytest.fixture
def errors(monkeypatch):
    """Every error dialog the window would show, as (title, message)."""
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(MainWindow, "show_error", lambda self, title, message: seen.append((title, message)))
    return seen


@pytest.fixture
def window(qtbot, errors):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(w.ready, timeout=WAIT_MS)
    settle(qtbot, w)
    yield w
    w.close()


def settle(qtbot, w) -> None:
    qtbot.waitUntil(w.face_settled, timeout=WAIT_MS)


def settle_all(qtbot, w) -> None:
    """Also wait for the batch lanes (gallery, samples, timeline, thumbnails)."""
    qtbot.waitUntil(lambda: w.face_settled() and not w.engine.pending(), timeout=WAIT_MS)


def model(name: str):
    """A FaceModel for computing expectations in the test thread (cached per session)."""
    if name not in _MODELS:
        _MODELS[name] = load_model(name, device="cpu")
    return _MODELS[name]


def decode_bytes(name: str, latent) -> np.ndarray:
    image = model(name).decode(torch.as_tensor(np.asarray(latent, dtype=np.float32)))[0]
    return np.frombuffer(to_rgb_bytes(image)[0], dtype=np.uint8)


def shown(w) -> np.ndarray:
    return np.frombuffer(w.face_view.face_bytes(), dtype=np.uint8)


def assert_face_is(w, name: str, latent) -> None:
    """The face on screen is the decode of ``latent`` (to within rounding of one grey level)."""
    diff = np.abs(shown(w).astype(int) - decode_bytes(name, latent).astype(int))
    assert diff.max() <= 1, f"face differs from the decode of the latent by up to {diff.max()}"


def save_tiny_model(path, *, attributes: bool = True, seed: int = 0) -> None:
    """An untrained small model file with the metadata the app reads."""
    torch.manual_seed(seed)
    net = BetaVAE(ArchConfig(latent_dim=128, channels=(8, 16, 16, 16), refine_channels=0))
    kl = torch.linspace(2.0, 0.0, 128)
    meta = {"name": path.stem, "kl_per_dim": kl.tolist(), "mu_mean": torch.zeros(128).tolist(),
            "mu_std": torch.ones(128).tolist(), "gallery": torch.randn(4, 128)}
    if attributes:
        meta["attribute_names"] = ["Smiling", "Male"]
        meta["attribute_directions"] = torch.randn(2, 128)
    save_model_file(path, net, Objective(beta=2.0), meta)


def image_mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
