"""The Apple MPS path (skipped where there is no MPS, as in CI): device choice, model use, training and exact
resume, evaluation (no float64 on the device), and the out-of-memory line.  Run first on a Mac:
``pytest tests/test_mps.py``."""
import json
import os
import signal

import pytest
import torch

import faceedit
from faceedit.core.device import _mps_available, choose_device, device_error
from synthetic import make_celeba
from test_modelfile import tiny_model_file
from training import cli
from training.data import load_faces
from training.loop import Trainer, TrainConfig, TrainingStopped

pytestmark = pytest.mark.skipif(not _mps_available(), reason="no MPS device")

SMALL = ["--channels", "8", "16", "32", "64", "--refine-channels", "0", "--batch-size", "16", "--quiet", "--no-cache"]


@pytest.fixture(autouse=True)
def _auto_device(monkeypatch):
    monkeypatch.setenv("FACEEDIT_DEVICE", "auto")  # conftest pins the other tests to the CPU


def cfg(epochs):
    return TrainConfig(epochs=epochs, batch_size=16, channels=[8, 16, 32, 64], refine_channels=0, limit=64,
                       gallery_size=4)


def test_auto_picks_mps_and_model_matches_cpu(tmp_path):
    assert choose_device().type == "mps"
    tiny_model_file(tmp_path / "m.pt")
    gpu, cpu = faceedit.load_model(tmp_path / "m.pt"), faceedit.load_model(tmp_path / "m.pt", device="cpu")
    assert gpu.device.type == "mps"
    z = torch.randn(8, 128)
    assert (gpu.decode(z) - cpu.decode(z)).abs().max() < 1e-3
    faces = (cpu.decode(z) * 255).round().to(torch.uint8)
    assert (gpu.encode(faces)[0] - cpu.encode(faces)[0]).abs().max() < 1e-2


def test_train_and_evaluate_through_the_cli_on_mps(tmp_path):
    data = make_celeba(tmp_path / "d", n=120)
    out = tmp_path / "m.pt"
    assert cli.main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--limit", "64", *SMALL]) == 0
    assert json.loads((tmp_path / "m.run" / "config.json").read_text())["device"] == "mps"
    assert cli.main(["evaluate", str(out), "--data", str(data), "--json", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())


def test_resume_on_mps_is_exact(tmp_path, monkeypatch):
    """Ctrl-C in epoch 2 and a resume end where the uninterrupted run ends (the MPS noise generator is restored)."""
    data = load_faces(make_celeba(tmp_path / "d", n=120), use_cache=False)
    dev = torch.device("mps")
    straight = Trainer(data, cfg(2), tmp_path / "s.pt", tmp_path / "s.run", dev, progress=False)
    straight.run()
    original_batch = Trainer._batch

    def ctrl_c_at_step_6(self, perm, b):
        if self.step == 6:
            os.kill(os.getpid(), signal.SIGINT)
        return original_batch(self, perm, b)

    monkeypatch.setattr(Trainer, "_batch", ctrl_c_at_step_6)
    with pytest.raises(TrainingStopped):
        Trainer(data, cfg(2), tmp_path / "b.pt", tmp_path / "b.run", dev, progress=False).run()
    monkeypatch.setattr(Trainer, "_batch", original_batch)
    assert "mps_rng" in torch.load(tmp_path / "b.run" / "checkpoint.pt", weights_only=True)
    torch.mps.manual_seed(12345)  # whatever ran in between must not matter
    resumed = Trainer(data, cfg(2), tmp_path / "b.pt", tmp_path / "b.run", dev, progress=False)
    resumed.load_checkpoint()
    assert all(s["step"].device.type == "cpu" for s in resumed.opt.state.values())
    resumed.run()
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.allclose(a.cpu(), b.cpu(), atol=1e-4)


def test_mps_out_of_memory_is_one_clear_line():
    try:
        torch.empty(1 << 62, dtype=torch.uint8, device="mps")
    except RuntimeError as e:
        line = device_error(e)
        assert line is not None and "out of Apple GPU (MPS) memory" in line and "\n" not in line
    else:
        pytest.skip("MPS allocated 4 EiB")
