"""The hostile-input sweep as a table: every row is one input a user can pass to ``faceedit``
(generate / edit / interpolate / models), ``faceedit-train`` (train / evaluate) or the editor's
latent-file reader.

Every row must give its exit code and a one-line message (no traceback, no numpy or torch warning
before it, no terminal escape codes), and lose nothing: a row's ``check`` looks at the files
afterwards.  Add a row for every new hostile input found.
"""
from __future__ import annotations

import json
import os
import signal
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch

from faceedit.cli import commands
from faceedit.core.facemodel import load_model
from faceedit.core.model import ArchConfig, BetaVAE, Objective
from faceedit.core.modelfile import ModelFileError, load_network, save_model_file
from faceedit.formats import latentfile
from synthetic import make_celeba
from training import cli as train_cli
from training.data import load_faces
from training.loop import Trainer, TrainConfig, TrainingStopped

ATTRIBUTES = ["Smiling", "Eyeglasses"]
SMALL = ["--channels", "8", "16", "32", "64", "--refine-channels", "0", "--batch-size", "16", "--quiet", "--no-cache"]
ESC = "\x1b"


def _net(seed: int = 0) -> BetaVAE:
    torch.manual_seed(seed)
    net = BetaVAE(ArchConfig(latent_dim=128, channels=(8, 16, 16, 16), refine_channels=8))
    return net.eval()


def _save(path: Path, net: BetaVAE, name: str = "tiny", half: bool = True) -> Path:
    meta = {"name": name, "attribute_names": ATTRIBUTES, "attribute_directions": torch.randn(len(ATTRIBUTES), 128),
            "gallery": torch.randn(4, 128), "gallery_names": [f"{name}-face.jpg"] * 4}
    save_model_file(path, net, Objective(beta=2.0), meta, half=half)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    tiny = _save(folder / "tiny.pt", _net())
    negative = _net()
    negative.decoder.body[0][1].running_var[0] = -5.0  # the sweep's file: a negative BatchNorm variance
    overflow = _net()
    with torch.no_grad():  # finite weights whose decode overflows to ±inf, then NaN
        bn = overflow.decoder.body[0][1]
        bn.weight.fill_(1e38)
        bn.running_var.fill_(0.0)
    overflow_path = _save(folder / "overflow.pt", overflow, half=False)
    with torch.no_grad():
        assert not torch.isfinite(overflow.decoder(torch.randn(4, 128))).all()  # the row below tests what it says
    evil = folder / "evil.pt"
    torch.save({"format": "faceedit-model", "version": 1, "x": _Exploit()}, evil)
    return {"tiny": tiny, "negative": _save(folder / "negative.pt", negative), "overflow": overflow_path,
            "ansi": _save(folder / "ansi.pt", _net(), name=f"{ESC}[31mred{ESC}]0;title\x07\u202ename"),
            "evil": evil}


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


@pytest.fixture(scope="module")
def celeba(tmp_path_factory) -> Path:
    return make_celeba(tmp_path_factory.mktemp("celeba"), n=80)


@dataclass
class W:
    """What a row can refer to: the work folder (the current directory), models and data."""
    dir: Path
    models: dict[str, Path]
    celeba: Path

    def __getattr__(self, name):
        return self.models[name]


def _user_files(w: W, folder: str) -> W:
    """An earlier generate output with the user's own files added to it."""
    assert commands.main(["generate", "--model", str(w.tiny), "--n", "2", "--seed", "1", "--out", folder]) == 0
    (w.dir / folder / "my-notes.txt").write_text("mine")
    (w.dir / folder / "holiday").mkdir()
    (w.dir / folder / "holiday" / "photo.jpg").write_bytes(b"precious")
    return w


def _kept(folder: str) -> Callable[[W], None]:
    def check(w: W) -> None:
        assert (w.dir / folder / "my-notes.txt").read_text() == "mine"
        assert (w.dir / folder / "holiday" / "photo.jpg").read_bytes() == b"precious"
    return check


def _nothing_written(*names: str) -> Callable[[W], None]:
    def check(w: W) -> None:
        for name in names:
            assert not (w.dir / name).exists(), name
        assert not [p.name for p in w.dir.iterdir() if p.name.startswith(".") and ("partial" in p.name or ".tmp" in p.name)]
    return check


def _latent_file(name: str, text: str) -> Callable[[W], None]:
    return lambda w: (w.dir / name).write_text(text)


def _run_folder(config: object, checkpoint: bytes | Callable[[Path], None] | None = None):
    """A run folder ``r.run`` with the given config.json (an object, or raw text) and checkpoint."""
    def setup(w: W) -> None:
        run = w.dir / "r.run"
        run.mkdir()
        cfg = config(w) if callable(config) else config
        (run / "config.json").write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
        if callable(checkpoint):
            checkpoint(run / "checkpoint.pt")
        elif checkpoint is not None:
            (run / "checkpoint.pt").write_bytes(checkpoint)
    return setup


def _good_config(w: W) -> dict:
    train = {"epochs": 2, "batch_size": 16, "channels": [8, 16, 32, 64], "refine_channels": 0, "limit": 32}
    return {"train": train, "data": {"root": str(w.celeba)}, "out": str(w.dir / "r.pt")}


def _data_copy(attr: str | None = None, partition: str | None = None):
    def setup(w: W) -> None:
        data = make_celeba(w.dir / "data", n=40)
        if attr is not None:
            (data / "list_attr_celeba.txt").write_text(attr)
        if partition is not None:
            (data / "list_eval_partition.txt").write_text(partition)
    return setup


def _unchanged(name: str, content: bytes | None = None) -> Callable[[W], None]:
    def check(w: W) -> None:
        path = w.dir / name
        assert path.exists(), name
        if content is not None:
            assert path.read_bytes() == content
        else:
            load_network(path)  # still the model it was
    return check


@dataclass
class Row:
    id: str
    tool: str  # "faceedit", "train" or "latentfile" (the editor's reader)
    argv: Callable[[W], list]
    code: int
    message: str
    setup: Callable[[W], object] | None = None
    check: Callable[[W], None] | None = None
    before_data: bool = False  # a train row that must fail before reading any image


def F(*args):  # noqa: N802 - a faceedit argv with the tiny model unless a --model is given
    return lambda w: [str(a(w) if callable(a) else a) for a in args]


M = {k: (lambda k: lambda w: w.models[k])(k) for k in ("tiny", "negative", "overflow", "ansi", "evil")}
DATA = lambda w: w.celeba  # noqa: E731
NESTED = "[" * 100_000 + "]" * 100_000
BIG_INT = "9" * 5000
ROWS = [
    # -- data lost
    Row("generate --overwrite keeps the user's files", "faceedit",
        F("generate", "--model", M["tiny"], "--n", 3, "--out", "faces", "--overwrite"), 1,
        "holds files FaceEdit did not write", setup=lambda w: _user_files(w, "faces"), check=_kept("faces")),
    Row("generate --overwrite with a garbage manifest", "faceedit",
        F("generate", "--model", M["tiny"], "--n", 1, "--out", "faces", "--overwrite"), 1,
        "manifest.jsonl, which cannot be read",
        setup=lambda w: (w.dir / "faces").mkdir() or (w.dir / "faces" / "manifest.jsonl").write_text(NESTED),
        check=lambda w: (w.dir / "faces" / "manifest.jsonl").read_text() == NESTED or pytest.fail("manifest lost")),
    Row("interpolate --overwrite keeps the user's files", "faceedit",
        F("interpolate", "seed:1", "seed:2", "--model", M["tiny"], "--frames", 3, "--out", "faces", "--overwrite"), 1,
        "holds files FaceEdit did not write", setup=lambda w: _user_files(w, "faces"), check=_kept("faces")),
    Row("train --out an existing text file", "train",
        lambda w: ["train", "--data", w.celeba, "--out", "notes.txt", *SMALL], 2, "notes.txt already exists; pass --force",
        setup=lambda w: (w.dir / "notes.txt").write_bytes(b"my notes"), check=_unchanged("notes.txt", b"my notes"),
        before_data=True),
    Row("train --out an existing model file", "train",
        lambda w: ["train", "--data", w.celeba, "--out", "model.pt", *SMALL], 2, "model.pt already exists; pass --force",
        setup=lambda w: (w.dir / "model.pt").write_bytes(w.tiny.read_bytes()), check=_unchanged("model.pt"),
        before_data=True),
    Row("train --out an existing folder for one β", "train",
        lambda w: ["train", "--data", w.celeba, "--out", "models", *SMALL], 2, "is a folder; for one β",
        setup=lambda w: (w.dir / "models").mkdir(), before_data=True),
    Row("train several β into an existing file", "train",
        lambda w: ["train", "--data", w.celeba, "--beta", "1", "4", "--out", "notes.txt", *SMALL], 2,
        "several β values need a folder", setup=lambda w: (w.dir / "notes.txt").write_bytes(b"my notes"),
        check=_unchanged("notes.txt", b"my notes"), before_data=True),
    Row("train several β over an existing model in the folder", "train",
        lambda w: ["train", "--data", w.celeba, "--beta", "1", "4", "--out", "models", *SMALL], 2,
        "beta4.pt already exists", setup=lambda w: (w.dir / "models").mkdir() or
        (w.dir / "models" / "beta4.pt").write_bytes(b"mine"), check=_unchanged("models/beta4.pt", b"mine"),
        before_data=True),
    Row("train --beta 4 4", "train", lambda w: ["train", "--data", w.celeba, "--beta", "4", "4", "--out", "m", *SMALL],
        2, "lists a value twice", before_data=True),
    # -- validation gap: broken model files
    Row("edit with a negative BatchNorm variance", "faceedit", F("edit", "seed:1", "--model", M["negative"], "--out", "x.png"),
        1, "negative variance", check=_nothing_written("x.png")),
    Row("generate with a negative BatchNorm variance", "faceedit",
        F("generate", "--model", M["negative"], "--n", 2, "--out", "faces"), 1, "negative.pt: weight", check=_nothing_written("faces")),
    Row("interpolate with a model whose decode overflows", "faceedit",
        F("interpolate", "seed:1", "seed:2", "--model", M["overflow"], "--out", "x.gif"), 1,
        "decodes its gallery to NaN", check=_nothing_written("x.gif")),
    Row("models lists a broken model with a warning", "faceedit", F("models"), 0, "negative variance",
        setup=lambda w: (w.dir / "user-models" / "broken.pt").write_bytes(w.negative.read_bytes())),
    Row("a model file that is a code-running pickle", "faceedit", F("edit", "seed:1", "--model", M["evil"], "--out", "x.png"),
        1, "refused", check=lambda w: _nothing_written("x.png", "PWNED_BY_PICKLE")(w)),
    Row("evaluate a model with a negative variance", "train",
        lambda w: ["evaluate", w.negative, "--data", w.celeba, "--cache-dir", w.dir / "cache"], 2, "negative variance"),
    # -- tracebacks: latent files and references
    Row("latent JSON nested 100,000 deep", "faceedit", F("edit", "deep.json", "--model", M["tiny"], "--out", "x.png"), 1,
        "nested too deeply", setup=_latent_file("deep.json", NESTED), check=_nothing_written("x.png")),
    Row("5,000-digit integer in a latent", "faceedit", F("edit", "big.json", "--model", M["tiny"], "--out", "x.png"), 1,
        "a number is too large", setup=_latent_file("big.json", '{"latent": [' + BIG_INT + "]}"), check=_nothing_written("x.png")),
    Row("4,000-digit integer in a latent", "faceedit", F("edit", "big.json", "--model", M["tiny"], "--out", "x.png"), 1,
        "NaN or infinite", setup=_latent_file("big.json", '{"latent": [' + "9" * 4000 + "] }"), check=_nothing_written("x.png")),
    Row("a latent value beyond float32", "faceedit", F("edit", "big.json", "--model", M["tiny"], "--out", "x.png"), 1,
        "NaN or infinite", setup=_latent_file("big.json", '{"latent": [' + ",".join(["1e39"] * 128) + "]}"),
        check=_nothing_written("x.png")),
    Row("manifest line nested 100,000 deep", "faceedit", F("edit", "m.jsonl:0", "--model", M["tiny"], "--out", "x.png"), 1,
        "line 1 is not usable JSON", setup=_latent_file("m.jsonl", NESTED), check=_nothing_written("x.png")),
    Row("seed:99999999999999999999999", "faceedit", F("edit", "seed:99999999999999999999999", "--model", M["tiny"], "--out", "x.png"),
        1, "expected a whole number from 0 to", check=_nothing_written("x.png")),
    Row("gallery:99999999999999999999999", "faceedit",
        F("edit", "gallery:99999999999999999999999", "--model", M["tiny"], "--out", "x.png"), 1, "expected a whole number"),
    Row("a 5,000-digit gallery index", "faceedit", F("edit", BIG_INT, "--model", M["tiny"], "--out", "x.png"), 1,
        "expected a whole number"),
    Row("interpolate --fps 1e-9", "faceedit", F("interpolate", "seed:1", "seed:2", "--model", M["tiny"], "--fps", "1e-9", "--out", "x.gif"),
        1, "--fps must be between 0.01 and 100", check=_nothing_written("x.gif")),
    Row("interpolate --fps 1e9", "faceedit", F("interpolate", "seed:1", "seed:2", "--model", M["tiny"], "--fps", "1e9", "--out", "x.gif"),
        1, "--fps must be between"),
    Row("interpolate --fps nan", "faceedit", F("interpolate", "seed:1", "seed:2", "--model", M["tiny"], "--fps", "nan", "--out", "x.gif"),
        1, "--fps must be between"),
    # -- misleading messages
    Row("manifest.jsonl:-1", "faceedit", F("edit", "manifest.jsonl:-1", "--model", M["tiny"], "--out", "x.png"), 1,
        "the K of MANIFEST.jsonl:K"),
    Row("manifest.jsonl:abc", "faceedit", F("edit", "manifest.jsonl:abc", "--model", M["tiny"], "--out", "x.png"), 1,
        "the K of MANIFEST.jsonl:K"),
    Row("seed:-1", "faceedit", F("edit", "seed:-1", "--model", M["tiny"], "--out", "x.png"), 1, "the S of seed:S"),
    Row("seed:abc", "faceedit", F("edit", "seed:abc", "--model", M["tiny"], "--out", "x.png"), 1, "the S of seed:S"),
    Row("gallery:abc", "faceedit", F("edit", "gallery:abc", "--model", M["tiny"], "--out", "x.png"), 1, "expected gallery:K"),
    # -- non-finite outputs
    Row("edit --set Smiling=1e308 to a latent", "faceedit",
        F("edit", "seed:1", "--model", M["tiny"], "--set", "Smiling=1e308", "--set", "Eyeglasses=-1e308", "--out", "x.json"),
        1, "NaN or infinite", check=_nothing_written("x.json")),
    Row("edit --set Smiling=1e308 to an image", "faceedit",
        F("edit", "seed:1", "--model", M["tiny"], "--set", "Smiling=1e308", "--out", "x.png"), 1, "NaN or infinite",
        check=_nothing_written("x.png")),
    Row("generate --temperature 1e308", "faceedit", F("generate", "--model", M["tiny"], "--n", 2, "--temperature", "1e308", "--out", "faces"),
        1, "NaN or infinite", check=_nothing_written("faces")),
    Row("edit seed:1 --temperature 1e308", "faceedit",
        F("edit", "seed:1", "--model", M["tiny"], "--temperature", "1e308", "--out", "x.json"), 1, "NaN or infinite",
        check=_nothing_written("x.json")),
    Row("generate --seed 2**63", "faceedit", F("generate", "--model", M["tiny"], "--n", 1, "--seed", 2**63, "--out", "faces"),
        1, "--seed must be between"),
    Row("generate --n -5", "faceedit", F("generate", "--model", M["tiny"], "--n", -5, "--out", "faces"), 1, "--n must be"),
    # -- memory
    Row("interpolate --frames 1000000000 into a GIF", "faceedit",
        F("interpolate", "seed:1", "seed:2", "--model", M["tiny"], "--frames", 10**9, "--out", "x.gif"), 1, "at most 2,000"),
    Row("interpolate --frames 1000000000 into a folder", "faceedit",
        F("interpolate", "seed:1", "seed:2", "--model", M["tiny"], "--frames", 10**9, "--out", "frames"), 1, "at most 100,000"),
    Row("a photo over the pixel limit (a decompression bomb)", "faceedit",
        F("edit", "bomb.png", "--model", M["tiny"], "--out", "x.png"), 1, "larger than the 80 megapixels",
        setup=lambda w: __import__("PIL.Image").Image.new("1", (10000, 9500)).save(w.dir / "bomb.png"),
        check=_nothing_written("x.png")),
    Row("generate --batch-size 10**12", "faceedit",
        F("generate", "--model", M["tiny"], "--n", 10**12, "--batch-size", 10**12, "--out", "faces"), 1,
        "--batch-size must be between 1 and 4096", check=_nothing_written("faces")),
    Row("a NUL character in --out", "faceedit", F("edit", "seed:1", "--model", M["tiny"], "--out", "x\x00y.png"), 2,
        "holds a NUL character"),
    Row("a 300-character input name", "faceedit", F("edit", "a" * 300 + ".jpg", "--model", M["tiny"], "--out", "x.png"), 1,
        "File name too long"),
    # -- escape codes
    Row("a model named with escape codes", "faceedit",
        F("edit", "seed:1", "--model", M["ansi"], "--set", "nope=1", "--out", "x.png"), 1, "model redname has"),
    Row("a latent file naming an escape-code model", "faceedit", F("edit", "esc.json", "--out", "x.png"), 1, "no model named",
        setup=_latent_file("esc.json", json.dumps({"model": f"{ESC}[2J{ESC}[31mx", "latent": [0] * 128}))),
    Row("a missing photo with escape codes in its name", "faceedit",
        F("edit", f"{ESC}[31mphoto.jpg", "--model", M["tiny"], "--out", "x.png"), 1, "photo.jpg"),
    # -- faceedit-train: settings
    *[Row(f"train {flag} {value}", "train", (lambda flag, value: lambda w: ["train", "--data", w.celeba, "--out", "m.pt",
                                                                           *SMALL, flag, *value.split()])(flag, value),
          2, flag.split()[0], check=_nothing_written("m.pt", "m.run"), before_data=True)
      for flag, value in [("--epochs", "0"), ("--epochs", "-3"), ("--batch-size", "0"), ("--channels", "0"),
                          ("--channels", "8 8 8 8 8 8 8"), ("--channels", "100000"), ("--beta", "-1"), ("--beta", "nan"),
                          ("--beta", "inf"), ("--limit", "-5"), ("--limit", "0"), ("--lr", "0"), ("--lr", "nan"),
                          ("--seed", "-1"), ("--kl-warmup", "-1"), ("--gamma", "nan"), ("--c-max", "inf"),
                          ("--refine-channels", "-1")]],
    # -- faceedit-train: data files
    Row("an empty list_attr_celeba.txt", "train", lambda w: ["train", "--data", "data", "--out", "m.pt", *SMALL], 2,
        "list_attr_celeba.txt: no attribute names", setup=_data_copy(attr="")),
    Row("a garbage list_attr_celeba.txt", "train", lambda w: ["train", "--data", "data", "--out", "m.pt", *SMALL], 2,
        "list_attr_celeba.txt: no line has", setup=_data_copy(attr="\x00\x01garbage\nA B\nxx\n")),
    Row("a word where list_attr has a number", "train", lambda w: ["train", "--data", "data", "--out", "m.pt", *SMALL], 2,
        "list_attr_celeba.txt: line 3: attribute values must be 1 or -1, got 'yes'",
        setup=_data_copy(attr="1\nSmiling Male\n000001.jpg yes -1\n")),
    Row("binary list_attr_celeba.txt", "train", lambda w: ["train", "--data", "data", "--out", "m.pt", *SMALL], 2,
        "list_attr_celeba.txt: not a text file",
        setup=lambda w: (_data_copy()(w), (w.dir / "data" / "list_attr_celeba.txt").write_bytes(b"\xff\xfe\x00garbage"))),
    Row("a word in list_eval_partition.txt", "train", lambda w: ["train", "--data", "data", "--out", "m.pt", *SMALL], 2,
        "list_eval_partition.txt: line 1: the split must be 0, 1 or 2", setup=_data_copy(partition="000001.jpg train\n")),
    Row("evaluate on a garbage list_attr_celeba.txt", "train",
        lambda w: ["evaluate", w.tiny, "--data", "data", "--cache-dir", w.dir / "cache"], 2, "list_attr_celeba.txt",
        setup=_data_copy(attr="1\nSmiling Male\n000001.jpg yes -1\n")),
    # -- faceedit-train: --resume
    Row("--resume a missing folder", "train", lambda w: ["train", "--resume", "nowhere.run"], 2, "no such run folder"),
    Row("--resume a folder without config.json", "train", lambda w: ["train", "--resume", "r.run"], 2,
        "not a faceedit-train run folder", setup=lambda w: (w.dir / "r.run").mkdir()),
    Row("--resume with a foreign config.json", "train", lambda w: ["train", "--resume", "r.run"], 2,
        "not a faceedit-train run config", setup=_run_folder({"name": "something else", "train": 3})),
    Row("--resume with a config.json that is not JSON", "train", lambda w: ["train", "--resume", "r.run"], 2,
        "not valid JSON", setup=_run_folder("{{{ nope")),
    Row("--resume with a config.json nested 100,000 deep", "train", lambda w: ["train", "--resume", "r.run"], 2,
        "not valid JSON", setup=_run_folder(NESTED)),
    Row("--resume with a config of bad settings", "train", lambda w: ["train", "--resume", "r.run"], 2,
        "--epochs must be", setup=_run_folder(lambda w: {**_good_config(w), "train": {"epochs": "many"}})),
    Row("--resume without checkpoint.pt", "train", lambda w: ["train", "--resume", "r.run"], 2,
        "no checkpoint.pt to resume from", setup=_run_folder(_good_config)),
    Row("--resume a truncated checkpoint.pt", "train", lambda w: ["train", "--resume", "r.run", "--quiet", "--no-cache"], 2,
        "not a readable checkpoint", setup=_run_folder(_good_config, lambda p: (torch.save({"model": _net().state_dict()}, p),
                                                   p.write_bytes(p.read_bytes()[:3000])))),
    Row("--resume a pickled checkpoint.pt", "train", lambda w: ["train", "--resume", "r.run", "--quiet", "--no-cache"], 2,
        "refused", setup=_run_folder(_good_config, lambda p: torch.save({"model": _Exploit()}, p)),
        check=_nothing_written("PWNED_BY_PICKLE")),
    Row("--resume a foreign checkpoint.pt", "train", lambda w: ["train", "--resume", "r.run", "--quiet", "--no-cache"], 2,
        "not a checkpoint of this run", setup=_run_folder(_good_config, lambda p: torch.save({"weights": torch.ones(3)}, p))),
    Row("--resume a checkpoint of another architecture", "train",
        lambda w: ["train", "--resume", "r.run", "--quiet", "--no-cache"], 2, "not a checkpoint of this run",
        setup=_run_folder(_good_config, lambda p: torch.save({"model": _net().state_dict(), "opt": {}, "sched": {}}, p))),
    # -- the editor's latent reader
    Row("editor: latent JSON nested 100,000 deep", "latentfile", lambda w: ["deep.json"], 1, "nested too deeply",
        setup=_latent_file("deep.json", NESTED)),
    Row("editor: 5,000-digit integer", "latentfile", lambda w: ["big.json"], 1, "a number is too large",
        setup=_latent_file("big.json", '{"model": "beta4", "latent": [' + BIG_INT + "]}")),
    Row("editor: a value beyond float32", "latentfile", lambda w: ["big.json"], 1, "NaN or infinite",
        setup=_latent_file("big.json", '{"model": "beta4", "latent": [1e39, 3]}')),
]


def _invoke(row: Row, w: W, capsys) -> tuple[int, str, str]:
    argv = [str(a) for a in row.argv(w)]
    if row.tool == "latentfile":
        try:
            latentfile.read(argv[0])
            return 0, "", ""
        except latentfile.LatentFileError as e:
            return 1, "", str(e) + "\n"
    main = commands.main if row.tool == "faceedit" else train_cli.main
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_hostile_input(row: Row, models, celeba, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "user-models").mkdir()
    monkeypatch.setenv("FACEEDIT_MODEL_DIR", str(tmp_path / "user-models"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    w = W(tmp_path, models, celeba)
    if row.setup:
        row.setup(w)
        capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = _invoke(row, w, capsys)
    assert code == row.code, err
    assert not caught, [str(c.message) for c in caught]  # no numpy or torch warning before the message
    lines = err.splitlines()
    if row.tool == "train" and not row.before_data and lines and lines[0].startswith("data:"):
        lines = lines[1:]  # the data summary a run prints before it trains
    assert len(lines) == 1 and row.message in lines[0], err
    assert ESC not in err + out and "\x07" not in err + out and "Traceback" not in err
    if row.before_data:
        assert "data:" not in err
    if row.check:
        row.check(w)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


def test_the_table_counts_its_inputs():
    """The sweep's size, for the issue's note (see the module's rows)."""
    assert len(ROWS) >= 70 and len({r.id for r in ROWS}) == len(ROWS)


# --------------------------------------------------------------------------------------------
# Inputs that need more than one command


def test_overwrite_replaces_an_earlier_output_that_holds_only_faceedit_files(models, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert commands.main(["generate", "--model", str(models["tiny"]), "--n", "3", "--seed", "1", "--out", "faces"]) == 0
    assert commands.main(["generate", "--model", str(models["tiny"]), "--n", "2", "--seed", "9", "--out", "faces",
                          "--overwrite"]) == 0
    assert sorted(p.name for p in (tmp_path / "faces").iterdir()) == ["000000.png", "000001.png", "manifest.jsonl"]
    assert json.loads((tmp_path / "faces" / "manifest.jsonl").read_text().splitlines()[0])["seed"] == 9


def test_interpolate_streams_frames_in_blocks(models, tmp_path, monkeypatch, capsys):
    """A folder of frames is decoded DECODE_BLOCK frames at a time (memory does not grow with --frames)."""
    monkeypatch.chdir(tmp_path)
    model = load_model(models["tiny"], "cpu")
    sizes = []
    real = type(model).decode

    def counting(self, z):
        sizes.append(len(z))
        return real(self, z)

    monkeypatch.setattr(type(model), "decode", counting)
    frames = 3 * commands.DECODE_BLOCK + 5
    assert commands.main(["interpolate", "seed:1", "seed:2", "--model", str(models["tiny"]), "--frames", str(frames),
                          "--out", "frames"]) == 0
    assert len(list((tmp_path / "frames").glob("frame_*.png"))) == frames
    assert len(sizes) >= 4 and max(sizes) == commands.DECODE_BLOCK  # blocks, never all frames at once
    # and the same pixels as one frame on its own
    lines = (tmp_path / "frames" / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == list(range(frames))


def test_model_names_are_sanitised_once_at_load(models):
    model = load_model(models["ansi"], "cpu")
    assert model.name == "redname"
    assert all(ESC not in n for n in model.metadata["gallery_names"])
    with pytest.raises(ModelFileError, match="negative variance"):
        load_model(models["negative"], "cpu")


def test_slider_position_of_a_non_finite_value_does_not_raise(qtbot):
    from PySide6.QtWidgets import QLabel

    from faceedit.gui.widgets.slider_row import SliderRow

    row = SliderRow(QLabel("z0"), "slider_z0", "Latent dimension 0")
    qtbot.addWidget(row)
    assert row.position_of(float("nan")) == 0 and row.position_of(float("inf")) == 0
    row.set_value(float("nan"))  # shown, not raised


def test_resume_mid_epoch_logs_the_same_epoch_averages_and_cleans_orphans(celeba, tmp_path, monkeypatch, capsys):
    """Ctrl-C mid-epoch, then resume: metrics.jsonl equals the uninterrupted run's; orphan temp files go."""
    data = load_faces(celeba, use_cache=False)
    cfg = TrainConfig(epochs=2, batch_size=16, channels=[8, 16, 32, 64], refine_channels=0, limit=64, gallery_size=8)
    Trainer(data, cfg, tmp_path / "a.pt", tmp_path / "a.run", torch.device("cpu"), progress=False).run()

    interrupted = Trainer(data, cfg, tmp_path / "b.pt", tmp_path / "b.run", torch.device("cpu"), progress=False)
    original = Trainer._batch
    calls = {"n": 0}

    def ctrl_c_mid_epoch_2(self, perm, b):
        calls["n"] += 1
        if calls["n"] == 6:  # step 2 of epoch 2 (4 steps per epoch)
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, perm, b)

    monkeypatch.setattr(Trainer, "_batch", ctrl_c_mid_epoch_2)
    with pytest.raises(TrainingStopped):
        interrupted.run()
    monkeypatch.setattr(Trainer, "_batch", original)
    run = tmp_path / "b.run"
    orphans = [run / ".checkpoint.pt.abc123.tmp", run / ".metrics.jsonl.x.tmp"]
    for orphan in orphans:  # what a SIGKILL during a write leaves
        orphan.write_bytes(b"half a file")
    assert train_cli.main(["train", "--resume", str(run), "--quiet", "--no-cache"]) == 0
    assert not any(o.exists() for o in orphans)

    def averages(folder):
        keys = ("epoch", "step", "train_loss", "train_recon", "train_sse", "train_kl", "val_recon", "val_kl")
        return [{k: json.loads(line)[k] for k in keys} for line in (folder / "metrics.jsonl").read_text().splitlines()]

    assert averages(run) == averages(tmp_path / "a.run")


def test_pickled_model_file_is_refused_without_a_torch_warning(models):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ModelFileError, match="refused"):
            load_network(models["evil"])
    assert not caught


# --------------------------------------------------------------------------------------------
# Linux start-up: the xcb libraries


def test_missing_xcb_libraries_give_the_one_line_that_installs_them():
    from faceedit.gui.qt_platform import hint_for, xcb_problem

    x11 = {"DISPLAY": ":0"}
    problem = xcb_problem(x11, "linux", loads=lambda soname: "cursor" in soname)
    assert problem == ("the window needs X11 libraries this system lacks; "
                       "install them with: sudo apt install libxcb-icccm4 libxcb-keysyms1")
    assert xcb_problem(x11, "linux", loads=lambda soname: True) is None
    assert xcb_problem({**x11, "QT_QPA_PLATFORM": "offscreen"}, "linux", loads=lambda s: False) is None
    assert xcb_problem({"QT_QPA_PLATFORM": "wayland"}, "linux", loads=lambda s: False) is None
    assert xcb_problem(x11, "darwin", loads=lambda s: False) is None
    assert xcb_problem({"QT_QPA_PLATFORM": "xcb"}, "linux", loads=lambda s: False).endswith(
        "sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1")
    fatal = "This application failed to start because no Qt platform plugin could be initialized."
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in hint_for(fatal)
    assert hint_for("QFont::setPointSize: Point size <= 0") is None


def test_the_editor_prints_the_fix_instead_of_starting_qt(monkeypatch, capsys):
    from faceedit.gui import app, qt_platform

    monkeypatch.setattr(app.QApplication, "instance", staticmethod(lambda: None))
    monkeypatch.setattr(qt_platform, "xcb_problem", lambda: "the window needs X11 libraries this system lacks; "
                                                             "install them with: sudo apt install libxcb-icccm4")
    assert app.main([]) == 1
    err = capsys.readouterr().err
    assert err == ("faceedit: the window needs X11 libraries this system lacks; "
                   "install them with: sudo apt install libxcb-icccm4\n")


# --------------------------------------------------------------------------------------------
# Editor memory: a slider drag must not leave one Python object per move behind


def test_merged_slider_moves_leave_no_command_objects_behind(qtbot):
    import weakref

    import numpy as np
    from PySide6.QtGui import QUndoStack

    from faceedit.gui import history

    alive = weakref.WeakSet()
    real_init = history.EditCommand.__init__

    def tracked(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        alive.add(self)

    class Window:
        shown = None

        def restore(self, snapshot, image=None, live=None):
            self.shown = snapshot

    stack, window = QUndoStack(), Window()
    start = history.Start(np.zeros(4, np.float32), None, "start")
    snapshots = [history.Snapshot("m", np.full(4, i, np.float32), start) for i in range(501)]
    history.EditCommand.__init__ = tracked
    try:
        for i in range(1, 501):  # one drag of one slider: 500 moves, one undo step
            history.push_edit(stack, window, "Move z0", snapshots[i - 1], snapshots[i], merge_key=("latent", 0, 1))
        history.push_edit(stack, window, "Move z1", snapshots[500], snapshots[0], merge_key=("latent", 1, 2))
    finally:
        history.EditCommand.__init__ = real_init
    gc_collect = __import__("gc").collect
    gc_collect()
    assert stack.count() == 2 and len(alive) == 2  # (QUndoStack's own merge kept all 500 alive)
    assert window.shown is snapshots[0]
    stack.undo()
    assert window.shown is snapshots[500]
    stack.undo()
    assert window.shown is snapshots[0] and stack.command(0).after is snapshots[500]


def test_the_editor_never_shows_a_non_finite_face(models):
    from types import SimpleNamespace

    from faceedit.gui.engine import _Worker

    model = load_model(models["tiny"], "cpu")
    worker = SimpleNamespace(_model=model, _inbox=SimpleNamespace(decodes=0))
    assert len(_Worker._faces(worker, torch.zeros(2, 128))) == 2
    with pytest.raises(ValueError, match="NaN or infinite pixels"):
        model.decode = lambda z: torch.full((len(z), 3, 64, 64), float("nan"))  # what broken weights give
        _Worker._faces(worker, torch.zeros(1, 128))
