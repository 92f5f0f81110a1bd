"""`faceedit-train evaluate`: metrics over the whole split, JSON, --store, the Markdown report, bad files."""
import json
import math
import re
from dataclasses import asdict
from types import SimpleNamespace

import pytest
import torch
from PIL import Image
from torch import nn

from faceedit.core.model import ArchConfig, BetaVAE, PIXELS_PER_IMAGE
from faceedit.core.modelfile import load_network, save_model_file
from synthetic import make_celeba
from training import cli
from training.data import load_faces
from training.judge import save_judge, train_judge
from training.loop import TrainConfig, build_metadata
from training.metrics import evaluate_split, mig, reconstruction_metrics, ssim_per_image

TINY = dict(latent_dim=8, channels=[8, 16], refine_channels=0, gallery_size=4)


@pytest.fixture(scope="module")
def celeba(tmp_path_factory):
    return make_celeba(tmp_path_factory.mktemp("celeba"), n=100)  # test split: 10 faces


def write_model(path, data, beta, seed=0, **training):
    """An untrained tiny model with the metadata training gives it."""
    torch.manual_seed(seed)
    cfg = TrainConfig(beta=beta, **TINY)
    model = BetaVAE(cfg.arch()).eval()
    meta = build_metadata(model, data, data.indices("train"), cfg, torch.device("cpu"))
    meta["training"] = {**asdict(cfg), **training, "device": "cpu"}
    save_model_file(path, model, cfg.objective_for(10), meta)
    return path


@pytest.fixture(scope="module")
def models(celeba, tmp_path_factory):
    data = load_faces(celeba, use_cache=False)
    folder = tmp_path_factory.mktemp("models")
    return (write_model(folder / "beta1.pt", data, 1.0, seed=1),
            write_model(folder / "seed_beta4.pt", data, 4.0, seed=2, limit=5000, epochs=12))


@pytest.fixture(scope="module")
def judge(celeba, tmp_path_factory):
    """A judge of the synthetic faces' 4 attributes, trained for one epoch (it only needs to run, not to be good)."""
    data = load_faces(celeba, use_cache=False)
    train = data.indices("train")
    j = train_judge(data.images[train], data.attributes[train], data.attribute_names, epochs=1, batch_size=16,
                    progress=False)
    path = tmp_path_factory.mktemp("judge") / "judge.pt"
    save_judge(path, j, {"epochs": 1})
    return path


def evaluate(*argv):
    return cli.main(["evaluate", *map(str, argv)])


def test_metrics_cover_the_whole_split_whatever_the_batch_size():
    torch.manual_seed(0)
    model = BetaVAE(ArchConfig(latent_dim=8, channels=(8, 16), refine_channels=0)).eval()
    levels = torch.arange(37).view(37, 1, 1, 1) * 6  # brightness differs, so batch means differ
    images = (levels + torch.randint(0, 30, (37, 3, 64, 64))).to(torch.uint8)
    attributes = torch.randint(0, 2, (37, 3)) * 2 - 1
    small = evaluate_split(model, images, attributes, batch_size=7)
    large = evaluate_split(model, images, attributes, batch_size=256)
    assert small["images"] == large["images"] == 37
    for key in ("sse", "psnr", "ssim", "kl", "mig"):
        assert small[key] == pytest.approx(large[key], rel=1e-5), key
    assert small["kl_per_dim"] == pytest.approx(large["kl_per_dim"], rel=1e-5)
    assert small["active_units"] == large["active_units"]
    # and they are the means over all 37 images, not over the first batch
    with torch.no_grad():
        x = images.float() / 255
        sse = (model.decoder(model.encoder(x)[0]) - x).pow(2).flatten(1).sum(1)
    assert small["sse"] == pytest.approx(sse.mean().item(), rel=1e-5)
    assert small["sse"] != pytest.approx(sse[:7].mean().item(), rel=0.05)


class ConstantModel(nn.Module):
    """μ = 0, log σ² = 0 (KL 0) and a decoder that always draws mid-grey."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.encoder = lambda x: (torch.zeros(len(x), 4), torch.zeros(len(x), 4))
        self.decoder = lambda z: torch.full((len(z), 3, 64, 64), 0.5)


def test_psnr_and_sse_against_hand_computed_values():
    images = torch.stack([torch.zeros(3, 64, 64), torch.full((3, 64, 64), 102.0)]).to(torch.uint8)  # 0.0 and 0.4
    m = reconstruction_metrics(ConstantModel(), images)
    # errors 0.5 and 0.1 → MSE 0.25 and 0.01 → PSNR 6.0206 and 20 dB, averaged per image
    assert m["psnr"] == pytest.approx((10 * math.log10(4) + 20.0) / 2, abs=1e-4)
    assert m["sse"] == pytest.approx((0.25 + 0.01) * PIXELS_PER_IMAGE / 2, rel=1e-5)
    assert m["kl"] == 0 and m["active_units"] == 0


def test_ssim_of_identical_images_is_one_and_of_different_images_less():
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    assert ssim_per_image(x, x) == pytest.approx(torch.ones(3), abs=1e-5)
    assert (ssim_per_image(x, x.roll(1, 0)) < 0.5).all()


def test_mig_is_one_for_a_latent_that_copies_the_attributes_and_zero_for_noise():
    g = torch.Generator().manual_seed(0)
    attributes = torch.randint(0, 2, (2000, 3), generator=g) * 2 - 1
    noise = torch.randn(2000, 6, generator=g)
    assert mig(torch.cat([attributes.float(), noise], 1), attributes) == pytest.approx(1.0, abs=0.02)
    assert mig(noise, attributes) < 0.02


@pytest.mark.slow
def test_evaluate_prints_writes_json_stores_and_reports(models, celeba, judge, tmp_path, capsys):
    beta1, seed = models
    before = load_network(beta1)[2]
    out_json, report = tmp_path / "out" / "metrics.json", tmp_path / "docs"
    rc = evaluate(beta1, seed, "--data", celeba, "--split", "test", "--json", out_json, "--report", report,
                  "--store", "--cache-dir", tmp_path / "cache", "--judge", judge)
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "PSNR" in stdout and "β=1 sse (beta1)" in stdout and "seed setup (5k images, 12 epochs), sse" in stdout
    assert "retention" in stdout and "FD samples" in stdout

    saved = json.loads(out_json.read_text(encoding="utf-8"))
    assert saved["split"] == "test" and saved["images"] == 10
    assert list(saved["models"]) == [str(beta1), str(seed)]
    for entry in saved["models"].values():
        metrics = entry["metrics"]
        assert {"sse", "psnr", "ssim", "kl", "kl_per_dim", "active_units", "mig", "mig_sd"} <= set(metrics)
        assert len(metrics["kl_per_dim"]) == 8 and math.isfinite(metrics["psnr"]) and metrics["mig"] is not None
        # the judge's columns: AUCs over the 4 attributes it shares with the data, distances ≥ 0
        assert 0 <= metrics["judge_auc"] <= 1 and 0 < metrics["judge_auc_real"] <= 1
        assert metrics["retention"] == pytest.approx(metrics["judge_auc"] / metrics["judge_auc_real"])
        assert set(metrics["judge_auc_per_attribute"]) <= {"Smiling", "Eyeglasses", "Male", "Blond_Hair"}
        assert metrics["fd_recon"] >= 0 and metrics["fd_samples"] >= 0
        # edit precision for the data's named attributes the judge knows
        assert set(metrics["edits"]) == {"Smiling", "Eyeglasses", "Male", "Blond_Hair"}
        for e in metrics["edits"].values():
            assert 0 <= e["flip"] <= 1 and 0 <= e["spill"] <= 1 and isinstance(e["renderable"], bool)

    # --store: the test metrics (without the per-dim KL) in "metrics", per-dim KL beside; the file still loads
    network, _, meta = load_network(beta1)
    stored = saved["models"][str(beta1)]["metrics"]
    assert meta["metrics"]["test"] == {k: v for k, v in stored.items()  # the numbers, not the tables
                                       if isinstance(v, (int, float)) and k != "mig_sd"}
    assert "retention" in meta["metrics"]["test"] and "edits" not in meta["metrics"]["test"]
    assert meta["metrics"]["val"] == before["metrics"]["val"]
    assert meta["kl_per_dim"] == pytest.approx(stored["kl_per_dim"])
    z = torch.randn(2, 8)
    assert torch.equal(network.decoder(z), load_network(beta1)[0].decoder(z))

    # --report: the Markdown quotes the command and every image it references exists and opens
    text = (report / "beta-tradeoff.md").read_text(encoding="utf-8")
    assert f"faceedit-train evaluate {beta1} {seed} --data {celeba}" in text and f"--judge {judge}" in text
    assert "per-image sum" in text.lower() and "β trade-off" in text
    assert "| seed setup (5k images, 12 epochs), sse | 4 |" in text and "97%" in text and "120.53" in text
    assert "retention ↑" in text and "Fréchet distance" in text
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(images) == 12  # 4 per model, the every-model grid, the rate-distortion plot, an edit grid per model
    assert "## Edits: does a slider called Young make the face young?" in text and "| Smiling | – |" in text
    assert "| attribute | direction | flip +1 |" in text  # each row says its direction's method (– uncalibrated)
    assert "beta-tradeoff/rate-distortion.png" in images and "beta-tradeoff/all-reconstructions.png" in images
    for name in images:
        with Image.open(report / name) as im:
            assert im.width > 128 and im.height >= 128


def test_store_on_the_val_split_leaves_the_per_dim_kl_alone(models, celeba, tmp_path):
    beta1, _ = models
    before = load_network(beta1)[2]
    assert evaluate(beta1, "--data", celeba, "--split", "val", "--store", "--cache-dir", tmp_path, "--no-judge") == 0
    after = load_network(beta1)[2]
    assert after["kl_per_dim"] == before["kl_per_dim"]
    assert after["metrics"]["val"]["images"] == 10 and "kl_per_dim" not in after["metrics"]["val"]


def test_a_bad_model_file_fails_clearly_and_stores_nothing(models, celeba, tmp_path, capsys):
    beta1, _ = models
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"this is not a model")
    untouched = beta1.read_bytes()
    rc = evaluate(beta1, bad, "--data", celeba, "--store", "--json", tmp_path / "m.json", "--cache-dir", tmp_path,
                  "--no-judge")
    assert rc != 0
    err = capsys.readouterr().err
    assert str(bad) in err and "not a readable model file" in err
    assert beta1.read_bytes() == untouched and not (tmp_path / "m.json").exists()

    assert evaluate("no_such_model", "--data", celeba, "--cache-dir", tmp_path) != 0
    assert "no model named 'no_such_model'" in capsys.readouterr().err


def test_a_missing_or_foreign_judge_is_one_clear_line(models, celeba, tmp_path, capsys):
    beta1, _ = models
    assert evaluate(beta1, "--data", celeba, "--cache-dir", tmp_path, "--judge", tmp_path / "none.pt") == 2
    err = capsys.readouterr().err
    assert "no attribute judge there" in err and "--no-judge" in err and err.count("\n") == 1
    foreign = tmp_path / "foreign.pt"
    torch.save({"hello": torch.zeros(2)}, foreign)
    assert evaluate(beta1, "--data", celeba, "--cache-dir", tmp_path, "--judge", foreign) == 2
    assert "not a readable attribute judge" in capsys.readouterr().err


def test_the_report_says_what_calibration_compared():
    from training.report import compared_text

    meta = {"calibration": {"directions": {"compared": {
        "logistic": {"reached": 10, "mean_spill": 0.0991, "mean_flip": 0.93},
        "optimised": {"reached": 9, "mean_spill": 0.0652, "mean_flip": 0.92}}}}}
    text = compared_text(SimpleNamespace(model=SimpleNamespace(metadata=meta)))
    assert "logistic 10, 0.099" in text and "optimised 9, 0.065" in text
    assert compared_text(SimpleNamespace(model=SimpleNamespace(metadata={}))) == ""  # older files: nothing said
