import os
import pickle

import pytest
import torch

import faceedit
from faceedit.core.model import ArchConfig, BetaVAE, Objective
from faceedit.core.modelfile import ModelFileError, load_network, save_model_file

TINY = ArchConfig(channels=(8, 16, 32, 64), refine_channels=0)


def tiny_model_file(path, **meta):
    torch.manual_seed(0)
    model = BetaVAE(TINY).eval()
    metadata = {"name": "tiny", "kl_per_dim": [0.1] * 128, "gallery": torch.randn(4, 128),
                "attribute_names": ["Smiling"], "attribute_directions": torch.randn(1, 128), **meta}
    save_model_file(path, model, Objective(beta=4.0), metadata)
    return model


def test_round_trip(tmp_path):
    path = tmp_path / "m.pt"
    model = tiny_model_file(path)
    loaded = faceedit.load_model(path, device="cpu")
    assert loaded.beta == 4.0 and loaded.latent_dim == 128 and loaded.name == "tiny"
    z = torch.randn(3, 128)
    with torch.no_grad():
        expected = model.decoder(z.half().float())
    # weights are stored as float16: decoded faces agree to well under one grey level
    assert (loaded.decode(z) - expected).abs().max() < 2e-3
    assert set(loaded.attributes) == {"Smiling"} and loaded.gallery.shape == (4, 128)
    mu, logvar = loaded.encode(torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8))
    assert mu.shape == logvar.shape == (2, 128)
    assert oct(os.stat(path).st_mode & 0o777) != "0o600"  # not left with mkstemp's private mode


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "m.pt"
    tiny_model_file(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="m.pt: not a readable model file"):
        load_network(path)


@pytest.mark.parametrize("content", [b"hello, not a model", b""])
def test_foreign_bytes_are_refused(tmp_path, content):
    path = tmp_path / "foreign.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="foreign.pt"):
        load_network(path)


def test_foreign_torch_file_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"state_dict": BetaVAE(TINY).state_dict()}, path)
    with pytest.raises(ModelFileError, match="not a FaceEdit model file"):
        load_network(path)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


def test_pickle_that_runs_code_is_refused_without_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"format": "faceedit-model", "version": 1, "x": _Exploit()}, path)
    with pytest.raises(ModelFileError, match="refused"):
        load_network(path)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()
    # the same with a raw pickle file, which is not even a zip
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(ModelFileError):
        load_network(raw)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


def _rewrite(path, change):
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)


def test_wrong_shapes_nan_and_future_version_are_refused(tmp_path):
    path = tmp_path / "m.pt"
    cases = [
        (lambda p: p["state_dict"].__setitem__("decoder.project.0.weight", torch.zeros(3, 3)), "has shape"),
        (lambda p: p["state_dict"]["encoder.head.bias"].fill_(float("nan")), "NaN"),
        (lambda p: p.__setitem__("version", 99), "version 99 is not supported"),
        (lambda p: p["state_dict"].pop("encoder.head.bias"), "missing"),
        (lambda p: p["metadata"].__setitem__("gallery", torch.randn(2, 7)), "gallery"),
        (lambda p: p["metadata"].__setitem__("kl_per_dim", [float("inf")] * 128), "kl_per_dim"),
        (lambda p: p["arch"].__setitem__("channels", "abc"), "architecture"),
    ]
    for change, message in cases:
        tiny_model_file(path)
        _rewrite(path, change)
        with pytest.raises(ModelFileError, match=message):
            load_network(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load_network(tmp_path / "nope.pt")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_network(tmp_path)


def test_unknown_name_lists_known_models():
    with pytest.raises(FileNotFoundError, match="known models: .*beta4"):
        faceedit.load_model("no-such-model")


def test_full_disk_leaves_the_old_file_intact(tmp_path, monkeypatch):
    import errno

    path = tmp_path / "m.pt"
    tiny_model_file(path)
    before = path.read_bytes()

    def no_space(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", no_space)
    with pytest.raises(OSError, match="No space"):
        save_model_file(path, BetaVAE(TINY), Objective(), {})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left behind


def _tampered(path, change):
    """Save a valid tiny model file, then rewrite its payload with ``change(payload)`` applied."""
    tiny_model_file(path)
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("change", [
    lambda p: p["arch"].update(channels=[]),
    lambda p: p["arch"].update(latent_dim=-3),
    lambda p: p["arch"].update(refine_channels=-1),
    lambda p: p["arch"].update(latent_dim=10**9),  # would allocate terabytes if the network were built first
    lambda p: p["arch"].update(encoder_kernel=5),  # builds, but would not halve the side: refused, not run
    lambda p: p["objective"].update(beta="four"),
    lambda p: p["objective"].update(beta=torch.tensor([1.0, 2.0])),
    lambda p: p["metadata"].update(attribute_names=5),
    lambda p: p["metadata"].update(attribute_names=[None]),
    lambda p: p["metadata"].update(gallery_names=3),
    lambda p: p["metadata"].update(metrics="junk"),
    lambda p: p["metadata"].update(metrics={"test": {"psnr": "high"}}),
    lambda p: p["state_dict"].update({"decoder.project.0.bias": p["state_dict"]["decoder.project.0.bias"].to(torch.complex64)}),
], ids=["no-channels", "negative-latent", "negative-refine", "huge-latent", "kernel-5", "beta-text", "beta-tensor",
        "names-int", "names-none", "gallery-names-int", "metrics-text", "metrics-text-value", "complex-weights"])
def test_broken_fields_are_a_model_file_error(tmp_path, change):
    path = _tampered(tmp_path / "bad.pt", change)
    with pytest.raises(ModelFileError, match="bad.pt"):
        load_network(path)


def test_metrics_may_lack_mig(tmp_path):
    path = tmp_path / "m.pt"
    tiny_model_file(path, metrics={"test": {"psnr": 20.0, "kl": 30.0, "mig": None}})
    _, _, meta = load_network(path)  # a model evaluated without attributes has no MIG: still valid
    assert meta["metrics"]["test"] == {"psnr": 20.0, "kl": 30.0, "mig": None}


def test_a_file_from_before_the_kernel_field_keeps_its_4x4_encoder(tmp_path):
    path = tmp_path / "old.pt"
    tiny_model_file(path)
    payload = torch.load(path, weights_only=True)
    assert payload["arch"].pop("encoder_kernel") == 4
    torch.save(payload, path)
    model, _, _ = load_network(path)
    assert model.encoder.features[0][0].kernel_size == (4, 4)


def test_the_fast_architecture_round_trips(tmp_path):
    from faceedit.core.model import ARCHITECTURES
    torch.manual_seed(0)
    model = BetaVAE(ARCHITECTURES["fast"]).eval()
    save_model_file(tmp_path / "fast.pt", model, Objective(beta=4.0), {"name": "fast", "kl_per_dim": [0.1] * 128})
    loaded, _, _ = load_network(tmp_path / "fast.pt")
    assert loaded.arch == ARCHITECTURES["fast"] and loaded.encoder.features[0][0].kernel_size == (3, 3)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert loaded(x)[0].shape == (2, 3, 64, 64)
        assert (loaded.decoder(torch.zeros(1, 128)) - model.decoder(torch.zeros(1, 128))).abs().max() < 2e-3
