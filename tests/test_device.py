import pytest
import torch

from faceedit.core.device import choose_device, describe

yes, no = (lambda: True), (lambda: False)


@pytest.mark.parametrize("mps,cuda,expected", [(yes, yes, "mps"), (no, yes, "cuda"), (no, no, "cpu")])
def test_auto_prefers_mps_then_cuda_then_cpu(mps, cuda, expected, monkeypatch):
    monkeypatch.delenv("FACEEDIT_DEVICE", raising=False)
    assert choose_device(None, mps_available=mps, cuda_available=cuda).type == expected
    assert choose_device("auto", mps_available=mps, cuda_available=cuda).type == expected


def test_user_override_and_environment(monkeypatch):
    assert choose_device("cpu", mps_available=yes, cuda_available=yes).type == "cpu"
    assert choose_device("cuda:1", mps_available=no, cuda_available=yes) == torch.device("cuda:1")
    monkeypatch.setenv("FACEEDIT_DEVICE", "cpu")
    assert choose_device(None, mps_available=yes, cuda_available=yes).type == "cpu"


def test_unavailable_or_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match="not available.*available: cpu"):
        choose_device("cuda", mps_available=no, cuda_available=no)
    with pytest.raises(ValueError, match="unknown device"):
        choose_device("tpu")


def test_describe_cpu():
    assert describe(torch.device("cpu")) == "CPU"


MPS_OOM = ("MPS backend out of memory (MPS allocated: 17.80 GB, other allocations: 1.02 GB, max allowed: "
           "18.13 GB). Tried to allocate 256.00 MB on private pool. Use PYTORCH_MPS_HIGH_WATERMARK_RATIO=0.0 to "
           "disable upper limit for memory allocations (may cause system failure).")


def test_device_errors_become_one_line():
    from faceedit.core.device import device_error

    line = device_error(RuntimeError(MPS_OOM))
    assert line.startswith("out of Apple GPU (MPS) memory") and "--device cpu" in line and "\n" not in line
    assert "out of GPU memory" in device_error(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate"))
    f64 = device_error(TypeError("Cannot convert a MPS Tensor to float64 dtype as the MPS framework doesn't support "
                                 "float64. Please use float32 instead."))
    assert "Apple GPU (MPS) cannot run this" in f64 and "\n" not in f64
    assert device_error(RuntimeError("mat1 and mat2 shapes cannot be multiplied")) is None
    assert device_error(TypeError("unsupported operand")) is None
    assert device_error(ValueError("MPS")) is None


def test_the_cli_prints_a_device_error_as_one_line(monkeypatch, capsys, tmp_path):
    from faceedit.cli import commands, inputs
    from training import cli as train_cli

    def oom(*a, **k):
        raise RuntimeError(MPS_OOM)

    monkeypatch.setattr(inputs, "load_model", oom)
    assert commands.main(["generate", "--model", "beta1", "--n", "1", "--out", str(tmp_path / "f.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of Apple GPU (MPS) memory" in err and "Traceback" not in err
    monkeypatch.setattr(train_cli, "load_faces", oom)
    assert train_cli.main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "m.pt"), "--quiet"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of Apple GPU (MPS) memory" in err


def test_the_trainer_stops_on_a_device_error_with_the_way_to_go_on(tmp_path, monkeypatch):
    from synthetic import make_celeba
    from training.data import load_faces
    from training.loop import Trainer, TrainConfig, TrainingDeviceError

    data = load_faces(make_celeba(tmp_path / "d", n=60), use_cache=False)
    cfg = TrainConfig(epochs=2, batch_size=16, channels=[8, 16, 32, 64], refine_channels=0, limit=32, gallery_size=4)
    trainer = Trainer(data, cfg, tmp_path / "m.pt", tmp_path / "m.run", torch.device("cpu"), progress=False)
    original = Trainer._batch

    def oom_in_epoch_2(self, perm, b):
        if self.epoch == 1:
            raise RuntimeError(MPS_OOM)
        return original(self, perm, b)

    monkeypatch.setattr(Trainer, "_batch", oom_in_epoch_2)
    with pytest.raises(TrainingDeviceError) as info:
        trainer.run()
    message = str(info.value)
    assert "out of Apple GPU (MPS) memory" in message and "checkpoint is kept" in message
    assert f"--resume {tmp_path / 'm.run'} --device cpu" in message and "\n" not in message
    assert torch.load(tmp_path / "m.run" / "checkpoint.pt", weights_only=True)["epoch"] == 1


def test_the_editor_shows_a_device_error_as_one_line():
    from faceedit.gui.engine import _failure
    from faceedit.gui.messages import Kind, Lane, Request

    failure = _failure(Request(Lane.FACE, 1, Kind.DECODE, 0), RuntimeError(MPS_OOM))
    assert failure.message.startswith("Out of Apple GPU (MPS) memory") and "start FaceEdit with --device cpu" in failure.message
    assert "RuntimeError" not in failure.message and "\n" not in failure.message


def test_the_single_face_device_is_the_faster_one_measured(monkeypatch):
    from faceedit.core.device import pick_face_device

    monkeypatch.delenv("FACEEDIT_FACE_DEVICE", raising=False)
    mps, cpu = torch.device("mps"), torch.device("cpu")
    timings = {"cpu": 0.002, "mps": 0.004}
    asked = []

    def timed(device):
        asked.append(device.type)
        return timings[device.type]
    assert pick_face_device(mps, timed) == cpu and sorted(asked) == ["cpu", "mps"]
    timings["cpu"] = 0.009
    assert pick_face_device(mps, timed) == mps
    assert pick_face_device(cpu, lambda d: pytest.fail("a CPU model is never timed")) == cpu
    assert pick_face_device(mps, lambda d: pytest.fail("no timing"), "model") == mps
    monkeypatch.setenv("FACEEDIT_FACE_DEVICE", "cpu")
    assert pick_face_device(mps, lambda d: pytest.fail("no timing")) == cpu
    with pytest.raises(ValueError, match="unknown face device"):
        pick_face_device(mps, timed, "gpu")


def test_seconds_per_face_warms_up_then_takes_the_median():
    from faceedit.core.device import seconds_per_face

    shapes = []
    assert seconds_per_face(lambda z: shapes.append(tuple(z.shape)), 16, repeats=5) >= 0
    assert shapes == [(1, 16)] * 8


def test_the_editor_worker_decodes_single_faces_on_the_device_picked(tmp_path, monkeypatch):
    from faceedit.core.facemodel import FaceModel
    from faceedit.gui import engine
    from test_modelfile import tiny_model_file

    tiny_model_file(tmp_path / "m.pt")
    worker = engine._Worker(engine._Inbox(), "cpu")
    worker._model = FaceModel(tmp_path / "m.pt", "cpu")
    assert worker._face_model() is worker._model  # a CPU model is its own single-face model
    worker._model.device = torch.device("mps")  # stands in for a model on the Apple GPU
    picks = iter([torch.device("cpu"), torch.device("mps")])
    monkeypatch.setattr(engine, "pick_face_device", lambda device, timer: next(picks))
    twin = worker._face_model()
    assert twin is not worker._model and twin.device.type == "cpu" and worker._face_model() is twin  # once
    z = torch.randn(1, worker._model.latent_dim)
    assert torch.equal(twin.decode(z), FaceModel(tmp_path / "m.pt", "cpu").decode(z))
    worker._model = FaceModel(tmp_path / "m.pt", "cpu")
    worker._model.device = torch.device("mps")
    assert worker._face_model() is worker._model  # the GPU measured faster: keep it
