"""The headless subcommands (faceedit.cli.commands): generate, edit, interpolate, models, and their errors."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from faceedit.cli import commands
from faceedit.cli.commands import apply_edits, main, render, sample_latent
from faceedit.formats import export
from faceedit.core.facemodel import load_model
from faceedit.core.images import crop_to_tensor, photo_to_tensor, to_pil
from faceedit.core.latent import interpolate_path
from faceedit.core.model import ArchConfig, BetaVAE, Objective
from faceedit.core.modelfile import save_model_file

ATTRIBUTES = ["Smiling", "Eyeglasses", "Blond_Hair"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A small untrained model with attribute directions, a gallery and metrics."""
    torch.manual_seed(0)
    net = BetaVAE(ArchConfig(latent_dim=128, channels=(8, 16, 16, 16), refine_channels=8))
    net.eval()
    meta = {"name": "tiny",
            "attribute_names": ATTRIBUTES,
            "attribute_directions": torch.randn(len(ATTRIBUTES), 128),
            "gallery": torch.randn(5, 128),
            "metrics": {"val": {"kl": 9.0, "psnr": 11.0}, "test": {"kl": 12.5, "psnr": 14.25}}}
    path = tmp_path_factory.mktemp("models") / "tiny.pt"
    save_model_file(path, net, Objective(beta=2.0), meta)
    return path


@pytest.fixture(scope="module")
def model(tiny):
    return load_model(tiny, "cpu")


@pytest.fixture
def work(tmp_path, monkeypatch):
    """Run in an empty folder, with an empty user-model folder."""
    monkeypatch.chdir(tmp_path)
    user_dir = tmp_path / "user-models"
    user_dir.mkdir()
    monkeypatch.setenv("FACEEDIT_MODEL_DIR", str(user_dir))
    return tmp_path


def make_photo(path: Path, size=(90, 70), exif_orientation: int | None = None, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    im = Image.fromarray(pixels)
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        im.save(path, exif=exif)
    else:
        im.save(path)
    return path


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def manifest(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary files or folders that a failed command would have left."""
    return sorted(p.name for p in folder.rglob(".*") if ".partial" in p.name or ".old" in p.name)


def run(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------------------------
# generate

def test_generate_writes_images_and_a_manifest(tiny, work, capsys):
    code, out, _ = run(["generate", "--model", tiny, "--n", 5, "--seed", 7, "--batch-size", 2,
                        "--out", "faces", "--device", "cpu"], capsys)
    assert code == 0
    assert "wrote 5 images" in out
    files = sorted(p.name for p in (work / "faces").iterdir())
    assert files == ["000000.png", "000001.png", "000002.png", "000003.png", "000004.png", "manifest.jsonl"]
    records = manifest(work / "faces")
    assert [r["file"] for r in records] == files[:5]
    assert [r["seed"] for r in records] == [7, 8, 9, 10, 11]
    assert all(r["model"] == str(tiny.resolve()) and r["edits"] == {} and len(r["latent"]) == 128 for r in records)
    assert Image.open(work / "faces" / "000000.png").size == (64, 64)
    assert leftovers(work) == []


def test_manifest_reproduces_each_image_bit_for_bit(tiny, model, work, capsys):
    code, _, _ = run(["generate", "--model", tiny, "--n", 7, "--seed", 100, "--batch-size", 5, "--size", 128,
                      "--temperature", 0.8, "--set", "Smiling=+1.5", "--set", "eyeglasses=-1",
                      "--out", "faces", "--device", "cpu"], capsys)
    assert code == 0
    for record in manifest(work / "faces"):
        saved = pixels(work / "faces" / record["file"])
        assert saved.shape == (128, 128, 3)
        from_latent = torch.tensor(record["latent"], dtype=torch.float32)
        from_seed = apply_edits(model, sample_latent(record["seed"], 128, record["temperature"]), record["edits"])
        assert torch.equal(from_seed, from_latent)  # the stored values are the exact float32 latent
        alone = to_pil(render(model, from_latent.unsqueeze(0))[0], record["size"])  # decoded on its own
        assert np.array_equal(np.asarray(alone), saved)


def test_batch_size_and_position_do_not_change_pixels(tiny, work, capsys):
    assert run(["generate", "--model", tiny, "--n", 6, "--seed", 3, "--batch-size", 6, "--out", "a"], capsys)[0] == 0
    assert run(["generate", "--model", tiny, "--n", 1, "--seed", 7, "--out", "b"], capsys)[0] == 0
    assert (work / "a" / "000004.png").read_bytes() == (work / "b" / "000000.png").read_bytes()


def test_png_compression_changes_the_file_size_not_the_pixels(tiny, work, capsys):
    for level in ("0", "9"):
        assert run(["generate", "--model", tiny, "--n", 2, "--seed", 5, "--compression", level,
                    "--out", f"level{level}"], capsys)[0] == 0
    small, large = work / "level9" / "000001.png", work / "level0" / "000001.png"
    assert small.stat().st_size < large.stat().st_size
    assert np.array_equal(pixels(small), pixels(large))
    assert run(["generate", "--model", tiny, "--n", 1, "--compression", "10", "--out", "bad"], capsys)[0] == 2


def test_edits_shift_along_the_stored_directions(tiny, model, work, capsys):
    base = ["generate", "--model", tiny, "--n", 3, "--seed", 11]
    assert run(base + ["--out", "plain"], capsys)[0] == 0
    assert run(base + ["--out", "edited", "--set", "smiling=2", "--set", "Blond Hair=-0.5"], capsys)[0] == 0
    directions = model.attributes
    expected = 2 * directions["Smiling"] - 0.5 * directions["Blond_Hair"]
    for plain, edited in zip(manifest(work / "plain"), manifest(work / "edited")):
        assert edited["edits"] == {"Smiling": 2.0, "Blond_Hair": -0.5}
        shift = torch.tensor(edited["latent"]) - torch.tensor(plain["latent"])
        torch.testing.assert_close(shift, expected, atol=1e-5, rtol=0)


# --------------------------------------------------------------------------------------------
# edit

def test_edit_photo_encodes_like_the_editor_and_applies_edits(tiny, model, work, capsys):
    photo = make_photo(work / "me.jpg", size=(80, 60))
    assert run(["edit", photo, "--model", tiny, "--out", "me.json"], capsys)[0] == 0
    assert run(["edit", photo, "--model", tiny, "--set", "Eyeglasses=+1", "--out", "glasses.json"], capsys)[0] == 0
    assert run(["edit", photo, "--model", tiny, "--set", "Eyeglasses=+1", "--out", "glasses.png", "--size", 256, "--face-only"], capsys)[0] == 0

    encoded = model.encode(photo_to_tensor(photo).unsqueeze(0))[0][0]
    plain = json.loads((work / "me.json").read_text())
    edited = json.loads((work / "glasses.json").read_text())
    assert plain["model"] == str(tiny.resolve())
    assert torch.equal(torch.tensor(plain["latent"], dtype=torch.float32), encoded)
    shift = torch.tensor(edited["latent"]) - torch.tensor(plain["latent"])
    torch.testing.assert_close(shift, model.attributes["Eyeglasses"], atol=1e-5, rtol=0)
    z = torch.tensor(edited["latent"], dtype=torch.float32)
    assert np.array_equal(pixels(work / "glasses.png"), np.asarray(to_pil(render(model, z[None])[0], 256)))


def test_edit_applies_exif_orientation(tiny, work, capsys):
    upright = make_photo(work / "upright.png", size=(60, 90))
    with Image.open(upright) as im:
        stored = im.transpose(Image.Transpose.ROTATE_90)  # what a camera held sideways stores
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    stored.save(work / "tagged.png", exif=exif)
    stored.save(work / "untagged.png")
    latents = {}
    for name in ("upright", "tagged", "untagged"):
        assert run(["edit", f"{name}.png", "--model", tiny, "--out", f"{name}.json"], capsys)[0] == 0
        latents[name] = torch.tensor(json.loads((work / f"{name}.json").read_text())["latent"])
    assert torch.equal(latents["tagged"], latents["upright"])
    assert not torch.equal(latents["untagged"], latents["upright"])


def test_edit_crop_box(tiny, model, work, capsys):
    photo = make_photo(work / "wide.png", size=(120, 80))
    assert run(["edit", photo, "--model", tiny, "--crop", "50,10,64", "--out", "crop.json"], capsys)[0] == 0
    with Image.open(photo) as im:
        expected = model.encode(crop_to_tensor(im.convert("RGB"), (50, 10, 64)).unsqueeze(0))[0][0]
    assert torch.equal(torch.tensor(json.loads((work / "crop.json").read_text())["latent"]), expected)
    code, _, err = run(["edit", photo, "--model", tiny, "--crop", "100,10,64", "--out", "bad.json"], capsys)
    assert code == 1 and "does not fit" in err and not (work / "bad.json").exists()


def test_edit_a_latent_json_uses_its_model(tiny, model, work, capsys):
    z = torch.randn(128)
    (work / "face.json").write_text(json.dumps({"model": str(tiny), "latent": z.tolist()}))
    code, _, err = run(["edit", "face.json", "--set", "Smiling=1", "--out", "out.png"], capsys)
    assert code == 0, err
    expected = render(model, apply_edits(model, z, {"Smiling": 1.0})[None])[0]
    assert np.array_equal(pixels(work / "out.png"), np.asarray(to_pil(expected)))


def test_edit_reopens_a_manifest_entry(tiny, work, capsys):
    assert run(["generate", "--model", tiny, "--n", 4, "--seed", 0, "--size", 256,
                "--set", "Smiling=1", "--out", "faces"], capsys)[0] == 0
    assert run(["edit", "faces/manifest.jsonl:2", "--size", 256, "--out", "again.png"], capsys)[0] == 0
    assert np.array_equal(pixels(work / "again.png"), pixels(work / "faces" / "000002.png"))


# --------------------------------------------------------------------------------------------
# interpolate

def test_interpolate_writes_a_gif(work, capsys):
    photo = make_photo(work / "a.png")  # a real model, so that no two frames are alike (GIF merges equal ones)
    code, _, err = run(["interpolate", photo, "gallery:1", "3", "--model", "beta4", "--frames", 6, "--fps", 10,
                        "--out", "morph.gif"], capsys)
    assert code == 0, err
    with Image.open(work / "morph.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 6 and gif.size == (64, 64)
        assert gif.info["duration"] == 100


def test_interpolate_to_a_folder_follows_the_slerp_path(tiny, model, work, capsys):
    (work / "key.json").write_text(json.dumps({"model": "tiny", "latent": torch.randn(128).tolist()}))
    inputs = ["gallery:0", "key.json", "seed:5"]
    assert run(["interpolate", *inputs, "--model", tiny, "--frames", 5, "--out", "frames"], capsys)[0] == 0
    assert run(["interpolate", *inputs, "--model", tiny, "--frames", 5, "--method", "lerp", "--out", "lerped"], capsys)[0] == 0
    keys = [model.gallery[0], torch.tensor(json.loads((work / "key.json").read_text())["latent"]), sample_latent(5)]
    records = manifest(work / "frames")
    assert [r["file"] for r in records] == [f"frame_{k:04d}.png" for k in range(5)]
    for r in records:
        z = torch.tensor(r["latent"], dtype=torch.float32)
        assert torch.equal(z, interpolate_path(keys, r["t"], "slerp"))
        assert np.array_equal(pixels(work / "frames" / r["file"]), render(model, z[None])[0].permute(1, 2, 0).numpy())
    assert torch.equal(torch.tensor(records[0]["latent"]), keys[0])
    assert torch.equal(torch.tensor(records[-1]["latent"]), keys[-1])
    middle = torch.tensor(manifest(work / "lerped")[1]["latent"])
    assert torch.equal(middle, interpolate_path(keys, 0.25, "lerp"))
    assert not torch.equal(middle, torch.tensor(records[1]["latent"]))


# --------------------------------------------------------------------------------------------
# models

def test_models_lists_bundled_and_user_models(tiny, work, capsys):
    (work / "user-models" / "mine.pt").write_bytes(tiny.read_bytes())
    (work / "user-models" / "broken.pt").write_text("not a model")
    code, out, err = run(["models"], capsys)
    assert code == 0
    assert "broken.pt" in err and "warning" in err
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert {"beta1", "beta4", "beta10", "mine"} <= set(lines)
    assert lines["mine"].split() == ["mine", "β=2", "KL=12.5", "PSNR=14.25", str(work / "user-models" / "mine.pt")]
    assert lines["broken"].split()[1:4] == ["β=?", "KL=?", "PSNR=?"]
    assert lines["beta4"].split()[1] == "β=4"
    assert lines["beta4"].endswith("beta4.pt")


# --------------------------------------------------------------------------------------------
# errors: a message, a non-zero exit, no traceback, nothing left behind

def test_unknown_attribute_lists_the_valid_names(tiny, work, capsys):
    code, _, err = run(["generate", "--model", tiny, "--n", 2, "--set", "Smilling=1", "--out", "faces"], capsys)
    assert code == 1
    assert "unknown attribute 'Smilling'" in err and "did you mean Smiling" in err
    assert all(name in err for name in ATTRIBUTES)
    assert not (work / "faces").exists() and leftovers(work) == []


@pytest.mark.parametrize("content, message", [(b"not a picture", "not an image"), (None, "no such file")])
def test_unreadable_photo(tiny, work, capsys, content, message):
    if content is not None:
        (work / "photo.jpg").write_bytes(content)
    code, _, err = run(["edit", "photo.jpg", "--model", tiny, "--out", "out.png"], capsys)
    assert code == 1 and message in err and "Traceback" not in err
    assert not (work / "out.png").exists() and leftovers(work) == []


@pytest.mark.parametrize("kind, message", [
    ("text", "not a readable model file"),
    ("truncated", "not a readable model file"),
    ("foreign", "not a FaceEdit model file"),
])
def test_bad_or_foreign_model_file(tiny, work, capsys, kind, message):
    bad = work / "bad.pt"
    if kind == "text":
        bad.write_text("hello, I am not a model")
    elif kind == "truncated":
        bad.write_bytes(tiny.read_bytes()[:5000])
    else:
        torch.save({"state_dict": {}}, bad)
    code, _, err = run(["generate", "--model", bad, "--n", 2, "--out", "faces"], capsys)
    assert code == 1 and message in err and str(bad) in err
    assert not (work / "faces").exists() and leftovers(work) == []


def test_unknown_model_name(work, capsys):
    code, _, err = run(["generate", "--model", "beta5", "--n", 1, "--out", "faces"], capsys)
    assert code == 1 and "no model named 'beta5'" in err and "beta4" in err


def test_full_disk_leaves_nothing(tiny, work, capsys, monkeypatch):
    saves = []
    real_save = Image.Image.save

    def save_until_full(self, fp, *args, **kwargs):
        saves.append(fp)
        if len(saves) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save_until_full)
    code, _, err = run(["generate", "--model", tiny, "--n", 5, "--out", "deep/er/faces"], capsys)
    assert code == 1 and "no space left on device" in err and "nothing was written" in err
    assert sorted(p.name for p in work.iterdir()) == ["user-models"]  # not even the parent folders

    saves.clear()
    saves.extend([None, None])
    code, _, err = run(["edit", "seed:1", "--model", tiny, "--out", "one.png"], capsys)
    assert code == 1 and "no space left on device" in err
    assert sorted(p.name for p in work.iterdir()) == ["user-models"]


def test_unwritable_output_folder(tiny, work, capsys, monkeypatch):
    (work / "a-file").write_text("x")
    code, _, err = run(["generate", "--model", tiny, "--n", 2, "--out", "a-file/faces"], capsys)
    assert code == 1 and "could not write" in err and "Traceback" not in err

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(export.tempfile, "mkdtemp", refuse)  # where the staging lives
    code, _, err = run(["generate", "--model", tiny, "--n", 2, "--out", "faces"], capsys)
    assert code == 1 and "permission denied" in err
    assert not (work / "faces").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder(tiny, work, capsys):
    locked = work / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = run(["interpolate", "0", "1", "--model", tiny, "--frames", 3, "--out", locked / "x.gif"], capsys)
        assert code == 1 and "permission denied" in err
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_existing_output_is_kept_unless_overwrite(tiny, work, capsys):
    assert run(["generate", "--model", tiny, "--n", 3, "--out", "faces"], capsys)[0] == 0
    code, _, err = run(["generate", "--model", tiny, "--n", 2, "--out", "faces"], capsys)
    assert code == 1 and "--overwrite" in err
    assert len(manifest(work / "faces")) == 3
    assert run(["generate", "--model", tiny, "--n", 2, "--out", "faces", "--overwrite"], capsys)[0] == 0
    assert sorted(p.name for p in (work / "faces").iterdir()) == ["000000.png", "000001.png", "manifest.jsonl"]
    assert leftovers(work) == []

    (work / "notes").mkdir()
    (work / "notes" / "thesis.txt").write_text("years of work")
    code, _, err = run(["generate", "--model", tiny, "--n", 2, "--out", "notes", "--overwrite"], capsys)
    assert code == 1 and "not a FaceEdit output folder" in err
    assert (work / "notes" / "thesis.txt").read_text() == "years of work"


def test_interrupt_leaves_nothing(tiny, work, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "render", interrupt)
    code, _, err = run(["generate", "--model", tiny, "--n", 2, "--out", "faces"], capsys)
    assert code == 130 and "interrupted" in err
    assert not (work / "faces").exists() and leftovers(work) == []


@pytest.mark.parametrize("argv, message", [
    (["edit", "face.json", "--out", "x.png"], "not a FaceEdit latent file"),
    (["edit", "short.json", "--out", "x.png"], "needs 128 values"),
    (["edit", "gallery:9", "--out", "x.png"], "gallery index 9 is out of range"),
    (["edit", "seed:1", "--out", "x.bmpx"], "unknown image type"),
    (["interpolate", "0", "--frames", "3", "--out", "x.gif"], "at least two inputs"),
    (["interpolate", "0", "1", "--out", "x.png"], "use a .gif or .webp"),
])
def test_bad_inputs(tiny, work, capsys, argv, message):
    (work / "face.json").write_text('{"latent_codes": []}')
    (work / "short.json").write_text('{"model": "tiny", "latent": [1, 2, 3]}')
    code, _, err = run(argv + ["--model", tiny], capsys)
    assert code == 1 and message in err, err
    assert not (work / "x.png").exists() and not (work / "x.gif").exists()


def test_usage_errors_exit_2(capsys):
    assert run(["generate", "--n", "2", "--out", "x", "--set", "Smiling"], capsys)[0] == 2
    assert run(["frobnicate"], capsys)[0] == 2


# --------------------------------------------------------------------------------------------
# the real entry point, and no Qt

def test_entry_point_runs_headless_without_qt(tiny, tmp_path):
    script = ("import sys; from faceedit.cli import main; "
              f"code = main(['generate', '--model', {str(tiny)!r}, '--n', '2', '--out', {str(tmp_path / 'faces')!r}]); "
              "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'faceedit.gui'))); "
              "print('QT', qt); sys.exit(code)")
    env = {**os.environ, "QT_QPA_PLATFORM": "", "DISPLAY": ""}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "QT []" in result.stdout
    assert len(manifest(tmp_path / "faces")) == 2


def test_faceedit_executable_reports_errors_without_traceback(tiny, tmp_path):
    exe = Path(sys.executable).parent / ("faceedit.exe" if os.name == "nt" else "faceedit")
    if not exe.exists():
        pytest.skip("the faceedit entry point is not installed")
    bad = subprocess.run([exe, "edit", tmp_path / "missing.jpg", "--model", tiny, "--out", tmp_path / "y.png"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "missing.jpg: no such file" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "y.png").exists()


@pytest.mark.parametrize("module", ["faceedit", "faceedit.cli"])
def test_python_dash_m_runs_the_faceedit_command(module):
    done = subprocess.run([sys.executable, "-m", module, "models"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "beta4" in done.stdout and "β=4" in done.stdout
