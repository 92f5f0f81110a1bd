"""faceedit-train end to end on generated faces: data layouts, training, resume, faults."""
import json
import os
import signal

import pytest
import torch
from PIL import Image

import faceedit
from synthetic import ATTRS, make_celeba, make_folder
from training import cli
from faceedit.core.images import crop_to_tensor
from training.data import face_crop_box, load_faces
from training.loop import Trainer, TrainConfig, TrainingDiverged, TrainingStopped

SMALL = ["--channels", "8", "16", "32", "64", "--refine-channels", "0", "--batch-size", "16", "--quiet", "--no-cache"]


@pytest.fixture(scope="module")
def celeba(tmp_path_factory):
    return make_celeba(tmp_path_factory.mktemp("celeba"), n=240, corrupt=2)


def small_config(**kw):
    base = dict(epochs=2, batch_size=16, channels=[8, 16, 32, 64], refine_channels=0, limit=64, gallery_size=8)
    return TrainConfig(**{**base, **kw})


def test_celeba_layout_loads_with_split_attributes_and_skips_corrupt(celeba):
    data = load_faces(celeba, use_cache=False)
    s = data.summary()
    assert s["layout"] == "celeba" and s["images"] == 240 and s["skipped_corrupt"] == 2
    assert s["splits"] == {"train": 192, "val": 24, "test": 24}
    assert data.attribute_names == ATTRS and data.attributes.shape == (240, 4)
    assert data.images.dtype == torch.uint8 and data.images.shape == (240, 3, 64, 64)


def test_plain_folder_loads_recursively_with_a_seeded_split(tmp_path):
    root = make_folder(tmp_path / "faces", n=60)
    (root / "person0" / "broken.png").write_bytes(b"\x89PNG garbage")
    a, b = load_faces(root, seed=3, use_cache=False), load_faces(root, seed=3, use_cache=False)
    assert a.layout == "folder" and len(a.names) == 60 and len(a.skipped) == 1
    assert torch.equal(a.split, b.split)
    assert a.summary()["splits"] == {"train": 54, "val": 3, "test": 3}
    assert a.attributes is None


def test_cache_gives_the_same_images(tmp_path, celeba):
    first = load_faces(celeba, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 1
    second = load_faces(celeba, cache_dir=tmp_path)
    assert torch.equal(first.images, second.images)


def test_a_truncated_cache_file_is_rebuilt(tmp_path):
    root = make_folder(tmp_path / "faces", n=6)
    cache_dir = tmp_path / "cache"
    first = load_faces(root, cache_dir=cache_dir).images.clone()  # a copy: the images map the file
    (cache,) = cache_dir.glob("*.npy")
    cache.write_bytes(cache.read_bytes()[:100])  # an interrupted copy, a full disk
    second = load_faces(root, cache_dir=cache_dir)
    assert torch.equal(first, second.images)
    third = load_faces(root, cache_dir=cache_dir)  # and the rebuilt cache is good again
    assert torch.equal(first, third.images)


def test_an_image_replaced_within_the_same_second_is_not_served_from_the_cache(tmp_path):
    root = tmp_path / "faces"
    root.mkdir()
    for i in range(3):
        Image.new("RGB", (64, 64), (10 * i, 0, 0)).save(root / f"f{i}.bmp")  # BMPs of one size: same byte count
    cache_dir = tmp_path / "cache"
    before = load_faces(root, cache_dir=cache_dir)
    path = root / "f0.bmp"
    stamp = os.stat(path).st_mtime_ns
    Image.new("RGB", (64, 64), (0, 0, 255)).save(path)
    os.utime(path, ns=(stamp, stamp - stamp % 1_000_000_000 + (stamp + 1000) % 1_000_000_000))  # same second
    after = load_faces(root, cache_dir=cache_dir)
    index = after.names.index("f0.bmp")
    assert not torch.equal(after.images[index], before.images[index])
    assert after.images[index, 2].min() == 255


def test_official_celeba_images_get_the_face_crop_and_squares_are_only_resized():
    assert face_crop_box(178, 218) == (15, 35, 148)
    assert face_crop_box(128, 128) == (0, 0, 128)


def test_official_size_layout(tmp_path):
    root = make_celeba(tmp_path / "official", n=20, size=(178, 218))
    (root / "img").rename(root / "img_align_celeba")
    data = load_faces(root, use_cache=False)
    assert len(data.names) == 20
    with Image.open(root / "img_align_celeba" / data.names[0].split("/")[-1]) as im:
        expected = crop_to_tensor(im.convert("RGB"), (15, 35, 148))
    assert torch.equal(data.images[0], expected)


@pytest.mark.slow
def test_train_evaluate_end_to_end_through_the_cli(tmp_path, celeba, capsys):
    out = tmp_path / "model.pt"
    assert cli.main(["train", "--data", str(celeba), "--beta", "4", "--epochs", "2", "--out", str(out), *SMALL]) == 0
    m = faceedit.load_model(out)
    assert m.beta == 4.0
    assert set(m.metadata["metrics"]) == {"val", "test"}
    assert m.metadata["data"]["skipped_corrupt"] == 2
    assert set(m.attributes) == set(ATTRS)
    assert m.gallery.shape == (24, 128)
    run = tmp_path / "model.run"
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["seed"] == 0 and "torch" in config["versions"] and config["device"] == "cpu"
    # a second run is refused: first for the existing model file, then (file gone) for the run folder
    capsys.readouterr()
    assert cli.main(["train", "--data", str(celeba), "--out", str(out), "--epochs", "1", *SMALL]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    out.unlink()
    assert cli.main(["train", "--data", str(celeba), "--out", str(out), "--epochs", "1", *SMALL]) == 2
    assert "already holds a run" in capsys.readouterr().err


@pytest.mark.slow
def test_several_betas_write_one_file_each(tmp_path, celeba):
    out = tmp_path / "sweep"
    assert cli.main(["train", "--data", str(celeba), "--beta", "1", "10", "--epochs", "1", "--limit", "32",
                     "--out", str(out), *SMALL]) == 0
    assert sorted(p.name for p in out.glob("*.pt")) == ["beta1.pt", "beta10.pt"]
    assert faceedit.load_model(out / "beta10.pt").beta == 10.0


def _final_state(trainer):
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


@pytest.mark.slow
def test_ctrl_c_then_resume_matches_the_uninterrupted_run(tmp_path, celeba, monkeypatch):
    data = load_faces(celeba, use_cache=False)
    cfg = small_config()
    straight = Trainer(data, cfg, tmp_path / "a.pt", tmp_path / "a.run", torch.device("cpu"), progress=False)
    straight.run()

    interrupted = Trainer(data, cfg, tmp_path / "b.pt", tmp_path / "b.run", torch.device("cpu"), progress=False)
    original_batch = Trainer._batch
    calls = {"n": 0}

    def batch_then_ctrl_c(self, perm, b):
        calls["n"] += 1
        if calls["n"] == 6:  # mid-way through the second epoch (4 steps per epoch)
            os.kill(os.getpid(), signal.SIGINT)
        return original_batch(self, perm, b)

    monkeypatch.setattr(Trainer, "_batch", batch_then_ctrl_c)
    with pytest.raises(TrainingStopped, match="--resume"):
        interrupted.run()
    monkeypatch.setattr(Trainer, "_batch", original_batch)
    assert (tmp_path / "b.run" / "checkpoint.pt").exists() and not (tmp_path / "b.pt").exists()

    resumed = Trainer(data, cfg, tmp_path / "b.pt", tmp_path / "b.run", torch.device("cpu"), progress=False)
    resumed.load_checkpoint()
    assert (resumed.epoch, resumed.batch, resumed.step) == (1, 2, 6)
    resumed.run()
    a, b = _final_state(straight), _final_state(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_resume_through_the_cli(tmp_path, celeba, monkeypatch):
    out = tmp_path / "m.pt"
    original_batch = Trainer._batch

    def stop_at_step_3(self, perm, b):
        if self.step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return original_batch(self, perm, b)

    monkeypatch.setattr(Trainer, "_batch", stop_at_step_3)
    args = ["train", "--data", str(celeba), "--epochs", "1", "--limit", "64", "--out", str(out), *SMALL]
    assert cli.main(args) == 130
    monkeypatch.setattr(Trainer, "_batch", original_batch)
    compiled = []  # --compile may be switched on for the resumed part (recorded here, not compiled: slow)
    monkeypatch.setattr("training.loop.compiled", lambda net: compiled.append(net) or net)
    assert cli.main(["train", "--resume", str(tmp_path / "m.run"), "--quiet", "--no-cache", "--compile"]) == 0
    assert faceedit.load_model(out).metadata["training"]["steps"] == 4
    assert len(compiled) == 1 and json.loads((tmp_path / "m.run" / "config.json").read_text())["train"]["compile"]


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, celeba, monkeypatch):
    data = load_faces(celeba, use_cache=False)
    trainer = Trainer(data, small_config(epochs=3), tmp_path / "m.pt", tmp_path / "m.run", torch.device("cpu"), progress=False)
    original_batch = Trainer._batch

    def poison_in_epoch_2(self, perm, b):
        x = original_batch(self, perm, b)
        return x * float("nan") if self.epoch == 1 else x

    monkeypatch.setattr(Trainer, "_batch", poison_in_epoch_2)
    with pytest.raises(TrainingDiverged, match="last good checkpoint is kept"):
        trainer.run()
    saved = torch.load(tmp_path / "m.run" / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 1 and saved["batch"] == 0
    assert all(torch.isfinite(v).all() for v in saved["model"].values() if v.is_floating_point())
    assert not (tmp_path / "m.pt").exists()


def test_capacity_objective_trains(tmp_path, celeba):
    out = tmp_path / "cap.pt"
    assert cli.main(["train", "--data", str(celeba), "--objective", "capacity", "--c-max", "10", "--epochs", "1",
                     "--limit", "32", "--out", str(out), *SMALL]) == 0
    assert faceedit.load_model(out).objective.kind == "capacity"


def test_bad_data_folder_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "m.pt"), "--quiet"]) == 2
    assert "no such data folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "m.pt"), "--quiet"]) == 2
    assert "no images found" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_drops_metrics_of_an_epoch_whose_checkpoint_was_never_written(tmp_path, celeba):
    data = load_faces(celeba, use_cache=False)
    run = tmp_path / "m.run"
    Trainer(data, small_config(epochs=1), tmp_path / "m.pt", run, torch.device("cpu"), progress=False).run()
    metrics = run / "metrics.jsonl"
    metrics.write_text(metrics.read_text() + json.dumps({"epoch": 2, "step": 8}) + "\n")  # killed before checkpoint
    resumed = Trainer(data, small_config(epochs=2), tmp_path / "m.pt", run, torch.device("cpu"), progress=False)
    resumed.load_checkpoint()
    resumed.run()
    assert [json.loads(x)["epoch"] for x in metrics.read_text().splitlines()] == [1, 2]
    assert "val_psnr" in json.loads(metrics.read_text().splitlines()[1])


def test_net_presets_and_their_overrides_reach_the_config():
    from faceedit.core.model import ARCHITECTURES
    args = cli.build_parser().parse_args(["train", "--data", "d", "--out", "m.pt", "--net", "fast"])
    assert cli._train_config(args, 4.0).arch() == ARCHITECTURES["fast"]
    args = cli.build_parser().parse_args(["train", "--data", "d", "--out", "m.pt", "--net", "fast",
                                          "--encoder-kernel", "4", "--refine-channels", "8"])
    arch = cli._train_config(args, 4.0).arch()
    assert (arch.encoder_kernel, arch.refine_channels, arch.channels) == (4, 8, ARCHITECTURES["fast"].channels)
    def default(*flags):
        return cli._train_config(cli.build_parser().parse_args(["train", "--data", "d", "--out", "m.pt", *flags]), 4.0)
    assert default().arch() == ARCHITECTURES["fast"] and default("--net", "standard").arch() == ARCHITECTURES["standard"]
    # a run folder from before --net: its config.json has no encoder_kernel, and its net had 4×4 convs
    old = {k: v for k, v in vars(default("--net", "standard")).items() if k != "encoder_kernel"}
    assert TrainConfig(**old).arch() == ARCHITECTURES["standard"]


def test_an_encoder_kernel_other_than_3_or_4_is_refused(tmp_path, celeba, capsys):
    out = tmp_path / "m.pt"
    assert cli.main(["train", "--data", str(celeba), "--out", str(out), "--encoder-kernel", "5", *SMALL]) == 2
    assert "--encoder-kernel must be 3 or 4" in capsys.readouterr().err and not out.exists()


def test_adam_falls_back_to_the_plain_kernel_where_torch_has_no_fused_one(monkeypatch):
    from training.loop import make_optimizer
    params = [torch.nn.Parameter(torch.ones(3))]
    assert make_optimizer(params, 1e-3, torch.device("cpu")).defaults["fused"] is True
    real = torch.optim.Adam

    def old_torch_adam(parameters, lr, fused=None):
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of supported devices")
        return real(parameters, lr=lr)
    monkeypatch.setattr(torch.optim, "Adam", old_torch_adam)
    assert not make_optimizer(params, 1e-3, torch.device("cpu")).defaults["fused"]
