"""The float64 guard (tests/float64_guard.py) itself, and the training and evaluation steps under it.

conftest.py also runs every test in test_training.py and test_evaluate.py under the guard."""
import pytest
import torch

from float64_guard import Float64OnDevice, NoFloat64OnDevice
from synthetic import make_celeba
from training.data import load_faces
from training.loop import Trainer, TrainConfig
from training.metrics import evaluate_split

DEVICE = torch.device("cpu")  # stands for MPS: the guard treats it as the compute device


def test_float64_made_on_the_device_is_rejected():
    with NoFloat64OnDevice():
        x = torch.ones(4).to(DEVICE)
        with pytest.raises(Float64OnDevice):
            x.sum(0).double().cpu()  # the shape of the bug in training/metrics.py
        with pytest.raises(Float64OnDevice):
            x.to(torch.float64)
        with pytest.raises(Float64OnDevice):
            torch.nn.Linear(2, 2).weight * torch.ones(2, dtype=torch.float64)
        with pytest.raises(Float64OnDevice):
            torch.zeros(2, dtype=torch.float64).to(DEVICE)


def test_float64_on_the_host_is_allowed():
    with NoFloat64OnDevice():
        x = torch.ones(4).to(DEVICE)
        assert x.sum(0).cpu().double().dtype == torch.float64
        assert torch.zeros(3, dtype=torch.float64).sum().dtype == torch.float64
        assert x.to("cpu").double().dtype == torch.float64
        with pytest.raises(Float64OnDevice):  # .cpu() marked an alias; the device tensor is still one
            x.double()


def test_training_and_evaluation_make_no_float64_on_the_device(tmp_path):
    data = load_faces(make_celeba(tmp_path / "d", n=80), use_cache=False)
    cfg = TrainConfig(epochs=1, batch_size=16, channels=[8, 16, 32, 64], refine_channels=0, limit=32, gallery_size=4)
    guard = NoFloat64OnDevice()
    with guard:  # nested inside conftest's guard: counts the calls this test makes
        trainer = Trainer(data, cfg, tmp_path / "m.pt", tmp_path / "m.run", DEVICE, progress=False)
        trainer.run()
        val = data.indices("val")
        evaluate_split(trainer.model, data.images[val], data.attributes[val], batch_size=8, mig_bootstrap=2)
    assert guard.checked > 1000  # the steps really ran under the guard
