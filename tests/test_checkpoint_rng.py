"""The checkpoint holds the random state of every backend present (CPU, every CUDA GPU, MPS) and a resume
puts each one back.  No GPU runs here, so the accelerators are stand-ins with real generators."""
import torch

from synthetic import make_celeba
from training import loop
from training.data import load_faces
from training.loop import Trainer, TrainConfig, rng_backends


class FakeBackend:
    """The RNG surface of torch.cuda (n GPUs) and torch.mps (one generator), each a real torch.Generator."""

    def __init__(self, n: int = 1, available: bool = True):
        self.gens = [torch.Generator().manual_seed(100 + i) for i in range(n)]
        self.available = available

    def is_available(self):
        return self.available

    def device_count(self):
        return len(self.gens)

    def get_rng_state_all(self):
        return [g.get_state() for g in self.gens]

    def set_rng_state_all(self, states):
        for g, s in zip(self.gens, states):
            g.set_state(s)

    def get_rng_state(self):
        return self.gens[0].get_state()

    def set_rng_state(self, state):
        self.gens[0].set_state(state)

    def draw(self):
        return [torch.rand(3, generator=g) for g in self.gens]


def test_only_backends_that_are_present_are_saved():
    cuda, mps = FakeBackend(2), FakeBackend()
    assert set(rng_backends(cuda, mps, lambda: True)) == {"cuda_rng", "mps_rng"}
    assert set(rng_backends(FakeBackend(available=False), mps, lambda: True)) == {"mps_rng"}
    assert rng_backends(FakeBackend(available=False), mps, lambda: False) == {}


def test_checkpoint_saves_and_restores_every_backend(tmp_path, monkeypatch):
    cuda, mps = FakeBackend(2), FakeBackend()
    monkeypatch.setattr(loop, "rng_backends", lambda: rng_backends(cuda, mps, lambda: True))
    data = load_faces(make_celeba(tmp_path / "d", n=60), use_cache=False)
    cfg = TrainConfig(epochs=1, batch_size=16, channels=[8, 16, 32, 64], refine_channels=0, limit=32, gallery_size=4)
    trainer = Trainer(data, cfg, tmp_path / "m.pt", tmp_path / "m.run", torch.device("cpu"), progress=False)
    trainer.write_config()
    trainer.save_checkpoint()
    saved = torch.load(trainer.checkpoint_path, weights_only=True)
    assert {"rng", "cuda_rng", "mps_rng"} <= set(saved) and len(saved["cuda_rng"]) == 2

    expected_cpu, expected_cuda, expected_mps = torch.rand(3), cuda.draw(), mps.draw()
    torch.manual_seed(999)  # everything moves on before the resume
    for g in cuda.gens + mps.gens:
        g.manual_seed(999)
    trainer.load_checkpoint()
    assert torch.equal(torch.rand(3), expected_cpu)
    assert all(torch.equal(a, b) for a, b in zip(cuda.draw(), expected_cuda))
    assert torch.equal(mps.draw()[0], expected_mps[0])
