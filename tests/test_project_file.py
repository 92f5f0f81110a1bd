"""The project file (faceedit.formats.project): round trip, every refusal in one line with nothing
changed, all-or-nothing writes, and the CLI's PROJECT.faceedit[:keyframe:K] inputs."""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from faceedit.cli.commands import main
from faceedit.core.model import ArchConfig, BetaVAE, Objective
from faceedit.core.modelfile import save_model_file
from faceedit.formats import project as projectfile
from faceedit.formats.project import PhotoSource, Project, ProjectError, Timeline

RNG = np.random.default_rng(7)


def make_project(dim: int = 128, *, photo: bool = True, embed: bool = True) -> Project:
    crop = RNG.integers(0, 256, (3, 64, 64), dtype=np.uint8)
    start_png = projectfile._png(RNG.integers(0, 256, (3, 32, 32), dtype=np.uint8))
    latent = RNG.standard_normal(dim).astype(np.float32) * np.float32(1 / 3)  # values with long decimals
    return Project(
        model="beta4", latent=latent, start_latent=RNG.standard_normal(dim).astype(np.float32),
        start_label="me.jpg", amounts={"Smiling": 1.5, "Male": -0.25},
        start_image=start_png, start_crop=crop if photo else None,
        photo=PhotoSource("me.jpg", "/home/me/me.jpg", b"\xff\xd8JPEG bytes" if embed else None, (3, 4, 50),
                          -7.25)
        if photo else None,
        keyframes=[{"beta4": RNG.standard_normal(dim).astype(np.float32),
                    "beta1": RNG.standard_normal(dim).astype(np.float32)},
                   {"beta4": RNG.standard_normal(dim).astype(np.float32)}],
        timeline=Timeline("lerp", 10, 12, False, 7), history_label="Attribute Smiling", history_step=5,
        history_steps=6, file="/home/me/portrait.faceedit")


def assert_same(a: Project, b: Project) -> None:
    for name in ("model", "start_label", "amounts", "start_image", "timeline", "history_label", "history_step",
                 "history_steps", "file", "photo"):
        assert getattr(a, name) == getattr(b, name), name
    for x, y in ((a.latent, b.latent), (a.start_latent, b.start_latent)):
        assert x.dtype == y.dtype == np.float32 and x.tobytes() == y.tobytes()  # the same bits
    assert (a.start_crop is None) == (b.start_crop is None)
    if a.start_crop is not None:
        assert np.array_equal(a.start_crop, b.start_crop)
    assert [sorted(k) for k in a.keyframes] == [sorted(k) for k in b.keyframes]
    for ka, kb in zip(a.keyframes, b.keyframes):
        assert all(ka[m].tobytes() == kb[m].tobytes() for m in ka)


@pytest.mark.parametrize("photo,embed", [(True, True), (True, False), (False, False)])
def test_round_trip_is_exact(tmp_path, photo, embed):
    project = make_project(photo=photo, embed=embed)
    path = tmp_path / "p.faceedit"
    projectfile.write(path, project, "FaceEdit test")
    back = projectfile.read(path)
    assert_same(project, back)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        record = json.loads(archive.read("project.json"))
    assert names[0] == "project.json" and record["format"] == "faceedit-project" and record["version"] == 1
    assert ("photo/me.jpg" in names) == embed
    assert record["photo"] is None if not photo else record["photo"]["path"] == "/home/me/me.jpg"
    assert [p.name for p in tmp_path.iterdir()] == ["p.faceedit"]  # no temporary left


def test_write_is_all_or_nothing(tmp_path, monkeypatch):
    path = tmp_path / "p.faceedit"
    projectfile.write(path, make_project())
    before = path.read_bytes()
    # a NaN never becomes a file
    bad = make_project()
    bad.latent[3] = np.nan
    with pytest.raises(ProjectError, match="nothing was written"):
        projectfile.write(path, bad)
    assert path.read_bytes() == before
    # a failure half way (a full disk) leaves the old file and no temporary
    original = zipfile.ZipFile.writestr
    calls = []

    def failing(self, info, data, *args, **kwargs):
        calls.append(info)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return original(self, info, data, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)
    with pytest.raises(ProjectError, match="disk is full"):
        projectfile.write(path, make_project())
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["p.faceedit"]


def test_write_under_a_file_says_why(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ProjectError, match="a part of the path is a file, not a folder; nothing was written"):
        projectfile.write(tmp_path / "notes.txt" / "p.faceedit", make_project())
    assert (tmp_path / "notes.txt").read_text() == "mine"


# ------------------------------------------------------------------------------------- refusals
def zip_bytes(entries: dict[str, bytes], *, compress=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def valid_entries() -> dict[str, bytes]:
    project = make_project()
    return {"project.json": json.dumps(projectfile.to_json(project)).encode(), "start/face.png": project.start_image,
            "start/crop.png": projectfile._png(project.start_crop), "photo/me.jpg": project.photo.data}


def with_record(change) -> bytes:
    entries = valid_entries()
    record = json.loads(entries["project.json"])
    change(record)
    entries["project.json"] = json.dumps(record).encode()
    return zip_bytes(entries)


def truncated() -> bytes:
    data = zip_bytes(valid_entries())
    return data[: len(data) // 2]


def flipped_byte() -> bytes:
    data = bytearray(zip_bytes(valid_entries()))
    data[60] ^= 0xFF  # inside project.json's compressed data
    return bytes(data)


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", json.dumps(projectfile.to_json(make_project())).encode())
        with archive.open("photo/me.jpg", "w", force_zip64=True) as member:  # 300 MB of zeros, ~300 KB packed
            block = bytes(1 << 20)
            for _ in range(300):
                member.write(block)
    return buffer.getvalue()


def lying_sizes() -> bytes:
    """An entry whose header claims 10 bytes but holds 10 MB (a bomb that hides its size)."""
    entries = valid_entries()
    entries["photo/me.jpg"] = bytes(10 << 20)
    data = bytearray(zip_bytes(entries))
    central = data.rfind(b"photo/me.jpg") - 46  # the central directory's record of it
    assert data[central:central + 4] == b"PK\x01\x02"
    data[central + 24:central + 28] = (10).to_bytes(4, "little")  # its uncompressed size
    return bytes(data)


def deep_json() -> bytes:
    entries = valid_entries()
    entries["project.json"] = b'{"format": "faceedit-project", "version": 1, "face": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    return zip_bytes(entries)


def huge_integer() -> bytes:
    entries = valid_entries()
    entries["project.json"] = b'{"format": "faceedit-project", "version": ' + b"9" * 5000 + b"}"
    return zip_bytes(entries)


def nan_literal() -> bytes:
    entries = valid_entries()
    text = entries["project.json"].decode()
    record = json.loads(text)
    first = record["face"]["latent"][0]
    entries["project.json"] = text.replace(json.dumps(first), "NaN", 1).encode()
    return zip_bytes(entries)


def encrypted_flag() -> bytes:
    data = bytearray(zip_bytes(valid_entries()))
    central = data.rfind(b"project.json") - 46
    assert data[central:central + 4] == b"PK\x01\x02"
    data[central + 8] |= 0x1  # "encrypted"
    return bytes(data)


def extra(entries: dict[str, bytes]) -> bytes:
    return zip_bytes({**valid_entries(), **entries})


def set_key(*keys, value):
    def change(record):
        target = record
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


def drop_key(*keys):
    def change(record):
        target = record
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return change


REFUSALS = [
    ("text file", lambda: b"hello, this is not a project\n", "not a FaceEdit project (not a zip archive)"),
    ("empty file", lambda: b"", "not a FaceEdit project (not a zip archive)"),
    ("truncated", truncated, "damaged or truncated"),
    ("flipped byte", flipped_byte, "damaged"),
    ("foreign zip", lambda: zip_bytes({"readme.txt": b"hi", "data.csv": b"1,2"}), "has no project.json"),
    ("foreign json", lambda: zip_bytes({"project.json": b'{"name": "something else"}'}), "not 'faceedit-project'"),
    ("json list", lambda: zip_bytes({"project.json": b"[1, 2, 3]"}), "not 'faceedit-project'"),
    ("future version", lambda: with_record(set_key("version", value=2)), "newer FaceEdit (project version 2"),
    ("version missing", lambda: with_record(drop_key("version")), "no valid version"),
    ("zip bomb", zip_bomb, "would unpack to more than"),
    ("lying sizes", lying_sizes, "damaged"),
    ("too many entries", lambda: extra({f"x/{i}": b"" for i in range(20)}), "entries"),
    ("path traversal", lambda: extra({"../../evil.sh": b"rm -rf ~"}), "unsafe path '../../evil.sh'"),
    ("absolute path", lambda: extra({"/etc/evil": b"x"}), "unsafe path"),
    ("windows path", lambda: extra({"..\\evil": b"x"}), "unsafe path"),
    ("photo file outside", lambda: with_record(set_key("photo", "file", value="../me.jpg")), "photo.file names no file"),
    ("encrypted", encrypted_flag, "encrypted"),
    ("not JSON", lambda: zip_bytes({"project.json": b"{not json"}), "not valid JSON"),
    ("not UTF-8", lambda: zip_bytes({"project.json": b"\xff\xfe{}"}), "not UTF-8"),
    ("nested 100,000 deep", deep_json, "nested too deeply"),
    ("5,000-digit integer", huge_integer, "damaged"),
    ("NaN literal", nan_literal, "NaN is not a number"),
    ("latent strings", lambda: with_record(set_key("face", "latent", value=["a", "b"])), "face.latent is not a list of numbers"),
    ("latent too long", lambda: with_record(set_key("face", "latent", value=[0.0] * 5000)), "face.latent is not a list of 1 to"),
    ("start of another size", lambda: with_record(set_key("start", "latent", value=[0.0] * 3)), "start.latent has 3 values"),
    ("huge float", lambda: with_record(set_key("face", "latent", value=[1e300] * 128)), "face.latent"),
    ("no model", lambda: with_record(set_key("face", "model", value="")), "face.model is not a model name"),
    ("escape in model", lambda: with_record(set_key("face", "model", value="beta4\x1b[31m")), "face.model is not a model name"),
    ("amount not a number", lambda: with_record(set_key("face", "amounts", value={"Smiling": "lots"})), "face.amounts"),
    ("keyframe without the model", lambda: with_record(set_key("keyframes", value=[{"beta1": [0.0] * 128}])),
     "keyframe 1 has no latent in the project's model"),
    ("keyframe of another size", lambda: with_record(set_key("keyframes", value=[{"beta4": [0.0] * 64}])),
     "keyframe 1's latent in beta4 has 64 values, not 128"),
    ("keyframes not a list", lambda: with_record(set_key("keyframes", value={"a": 1})), "keyframes is not a list"),
    ("unknown method", lambda: with_record(set_key("timeline", "method", value="cubic")), "timeline.method"),
    ("frames per step 0", lambda: with_record(set_key("timeline", "frames_per_step", value=0)), "timeline.frames_per_step"),
    ("fps a string", lambda: with_record(set_key("timeline", "fps", value="24")), "timeline.fps"),
    ("crop not a PNG", lambda: extra({"start/crop.png": b"GIF89a not a png"}), "the photo crop is not a readable PNG"),
    ("crop missing", lambda: zip_bytes({k: v for k, v in valid_entries().items() if k != "start/crop.png"}),
     "start.crop names no file"),
    ("box of four", lambda: with_record(set_key("photo", "box", value=[1, 2, 3, 4])), "photo.box"),
    ("angle a string", lambda: with_record(set_key("photo", "angle", value="12")), "photo.angle"),
    ("angle past 180", lambda: with_record(set_key("photo", "angle", value=1e9)), "photo.angle"),
]


@pytest.mark.parametrize("name,content,message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_every_bad_file_is_one_clear_line_and_nothing_changes(tmp_path, name, content, message):
    path = tmp_path / "bad.faceedit"
    data = content()
    path.write_bytes(data)
    with pytest.raises(ProjectError) as caught:
        projectfile.read(path)
    text = str(caught.value)
    assert message in text
    assert text.startswith(str(path)) and "\n" not in text and len(text) < 300
    assert path.read_bytes() == data and [p.name for p in tmp_path.iterdir()] == ["bad.faceedit"]


def test_the_valid_entries_read_back(tmp_path):
    """The refusals above start from this archive; it is itself a good project."""
    path = tmp_path / "good.faceedit"
    path.write_bytes(zip_bytes(valid_entries()))
    assert projectfile.read(path).model == "beta4"


def test_missing_folder_and_oversized_files(tmp_path, monkeypatch):
    with pytest.raises(ProjectError, match="no such file"):
        projectfile.read(tmp_path / "nope.faceedit")
    with pytest.raises(ProjectError, match="not a file"):
        projectfile.read(tmp_path)
    path = tmp_path / "big.faceedit"
    projectfile.write(path, make_project())
    monkeypatch.setattr(projectfile, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(ProjectError, match="refused: larger than"):
        projectfile.read(path)


def test_labels_lose_control_characters(tmp_path):
    project = make_project()
    project.start_label = "me\x1b[31m.jpg"
    project.history_label = "Attribute\x07 Smiling"
    path = tmp_path / "p.faceedit"
    projectfile.write(path, project)
    back = projectfile.read(path)
    assert back.start_label == "me?[31m.jpg" and back.history_label == "Attribute? Smiling"


def test_recovery_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEEDIT_STATE_DIR", str(tmp_path / "state"))
    assert projectfile.recovery_dir() == tmp_path / "state" / "recovery"
    monkeypatch.delenv("FACEEDIT_STATE_DIR")
    assert projectfile.recovery_dir().name == "recovery" and "FaceEdit" in str(projectfile.recovery_dir())


def test_input_specs(tmp_path):
    project = make_project()
    path = tmp_path / "p.faceedit"
    projectfile.write(path, project)
    model, latent, where = projectfile.input_latent(str(path))
    assert model == "beta4" and latent.tobytes() == project.latent.tobytes() and where == str(path)
    model, latent, _ = projectfile.input_latent(f"{path}:keyframe:1", ("beta1",))
    assert model == "beta1" and latent.tobytes() == project.keyframes[0]["beta1"].tobytes()
    model, latent, _ = projectfile.input_latent(f"{path}:keyframe:2", ("beta1",))  # not in beta1: beta4's
    assert model == "beta4" and latent.tobytes() == project.keyframes[1]["beta4"].tobytes()
    for spec, message in ((f"{path}:keyframe:0", "numbered as on the timeline"),
                          (f"{path}:keyframe:-1", "from 1"), (f"{path}:keyframe:abc", "from 1"),
                          (f"{path}:keyframe:3", re.escape("no keyframe 3 (its keyframes: 1–2)")),
                          (f"{path}:keyframe:99999999999999999999", "from 1")):
        with pytest.raises(ProjectError, match=message):
            projectfile.input_latent(spec)


# ------------------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    net = BetaVAE(ArchConfig(latent_dim=128, channels=(8, 16, 16, 16), refine_channels=0))
    net.eval()
    path = tmp_path_factory.mktemp("models") / "tiny.pt"
    save_model_file(path, net, Objective(beta=2.0), {"name": "tiny", "gallery": torch.randn(3, 128)})
    return path


def read_latent_file(path: Path) -> np.ndarray:
    return np.asarray(json.loads(path.read_text())["latent"], dtype=np.float32)


def test_cli_edit_and_interpolate_read_projects(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACEEDIT_MODEL_DIR", str(tmp_path / "user-models"))
    project = make_project()
    project.model = str(tiny)
    project.keyframes = [{str(tiny): k["beta4"]} for k in project.keyframes]
    path = tmp_path / "p.faceedit"
    projectfile.write(path, project)

    assert main(["edit", str(path), "--out", str(tmp_path / "face.json")]) == 0
    assert read_latent_file(tmp_path / "face.json").tobytes() == project.latent.tobytes()
    assert main(["edit", f"{path}:keyframe:2", "--out", str(tmp_path / "key.json")]) == 0
    assert read_latent_file(tmp_path / "key.json").tobytes() == project.keyframes[1][str(tiny)].tobytes()

    out = tmp_path / "frames"
    assert main(["interpolate", f"{path}:keyframe:1", f"{path}:keyframe:2", "--frames", "3", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    first, last = (np.asarray(lines[i]["latent"], np.float32) for i in (0, -1))
    assert first.tobytes() == project.keyframes[0][str(tiny)].tobytes()
    assert np.allclose(last, project.keyframes[1][str(tiny)], atol=1e-6)
    capsys.readouterr()


@pytest.mark.parametrize("suffix,message", [(":keyframe:7", "no keyframe 7"), (":keyframe:0", "from 1"),
                                            ("", "not a FaceEdit project")])
def test_cli_bad_project_inputs_are_one_line(tiny, tmp_path, capsys, suffix, message):
    path = tmp_path / "p.faceedit"
    if suffix:
        project = make_project()
        project.model = str(tiny)
        project.keyframes = [{str(tiny): k["beta4"]} for k in project.keyframes]
        projectfile.write(path, project)
    else:
        path.write_text("garbage")
    capsys.readouterr()
    assert main(["edit", f"{path}{suffix}", "--out", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()
