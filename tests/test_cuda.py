"""The CUDA path (skipped where there is no GPU, as in CI): device choice, model use, training, resume."""
import pytest
import torch

import faceedit
from faceedit.core.device import choose_device
from synthetic import make_celeba
from test_modelfile import tiny_model_file
from training.data import load_faces
from training.loop import Trainer, TrainConfig

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(autouse=True)
def _auto_device(monkeypatch):
    monkeypatch.setenv("FACEEDIT_DEVICE", "auto")  # conftest pins the other tests to the CPU


def test_auto_picks_cuda_and_model_matches_cpu(tmp_path):
    assert choose_device().type == "cuda"
    tiny_model_file(tmp_path / "m.pt")
    gpu, cpu = faceedit.load_model(tmp_path / "m.pt"), faceedit.load_model(tmp_path / "m.pt", device="cpu")
    assert gpu.device.type == "cuda"
    z = torch.randn(8, 128)
    assert (gpu.decode(z) - cpu.decode(z)).abs().max() < 1e-3
    faces = (cpu.decode(z) * 255).round().to(torch.uint8)
    assert (gpu.encode(faces)[0] - cpu.encode(faces)[0]).abs().max() < 1e-2


def test_training_and_resume_on_cuda(tmp_path):
    data = load_faces(make_celeba(tmp_path / "d", n=120), use_cache=False)
    def cfg(epochs):
        return TrainConfig(epochs=epochs, batch_size=16, channels=[8, 16, 32, 64], refine_channels=0, limit=64,
                           gallery_size=4)

    dev = torch.device("cuda")
    Trainer(data, cfg(1), tmp_path / "a.pt", tmp_path / "a.run", dev, progress=False).run()
    resumed = Trainer(data, cfg(2), tmp_path / "b.pt", tmp_path / "a.run", dev, progress=False)
    resumed.load_checkpoint()
    assert resumed.epoch == 1
    resumed.run()
    m = faceedit.load_model(tmp_path / "b.pt", device="cuda")
    assert torch.isfinite(m.decode(torch.zeros(1, 128))).all()
