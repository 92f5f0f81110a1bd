"""The memory-mapped image cache: reused, rebuilt when stale or foreign, never half-written."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from training import data as data_mod
from training.data import DataError, load_faces

from synthetic import make_celeba, make_folder


@pytest.fixture
def celeba(tmp_path):
    return make_celeba(tmp_path / "celeba", n=40, size=(178, 218), corrupt=1)


def _no_decoding(monkeypatch):
    monkeypatch.setattr(data_mod, "decode_face", lambda path: pytest.fail(f"decoded {path} again"))


def test_cache_is_a_memory_mapped_npy_read_without_decoding(tmp_path, celeba, monkeypatch):
    fresh = load_faces(celeba, use_cache=False)
    first = load_faces(celeba, cache_dir=tmp_path / "c")
    (npy,) = (tmp_path / "c").glob("faces-*.npy")
    assert isinstance(np.load(npy, mmap_mode="r"), np.memmap)
    assert len(first.skipped) == 1 and first.names == fresh.names
    _no_decoding(monkeypatch)
    again = load_faces(celeba, cache_dir=tmp_path / "c")
    assert torch.equal(again.images, fresh.images) and torch.equal(again.split, fresh.split)
    assert again.skipped == fresh.skipped and torch.equal(again.attributes, fresh.attributes)


def test_another_cache_version_is_rebuilt(tmp_path, celeba, monkeypatch):
    load_faces(celeba, cache_dir=tmp_path)
    (sidecar,) = tmp_path.glob("faces-*.json")
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "version": meta["version"] - 1}))
    calls = []
    real = data_mod.decode_face
    monkeypatch.setattr(data_mod, "decode_face", lambda p: calls.append(p) or real(p))
    data = load_faces(celeba, cache_dir=tmp_path)
    assert len(calls) == 41 and json.loads(sidecar.read_text())["version"] == meta["version"]
    assert torch.equal(data.images, load_faces(celeba, use_cache=False).images)


def test_another_data_sets_cache_under_this_name_is_not_read(tmp_path, celeba):
    other = make_folder(tmp_path / "other", n=41)
    load_faces(celeba, cache_dir=tmp_path / "a")
    load_faces(other, cache_dir=tmp_path / "b")
    (mine,), (theirs,) = (tmp_path / "a").glob("faces-*.npy"), (tmp_path / "b").glob("faces-*.npy")
    (mine_json,), (theirs_json,) = (tmp_path / "a").glob("faces-*.json"), (tmp_path / "b").glob("faces-*.json")
    mine.write_bytes(theirs.read_bytes())  # a foreign array and its identity copied over this data set's
    mine_json.write_text(theirs_json.read_text())
    data = load_faces(celeba, cache_dir=tmp_path / "a")
    assert torch.equal(data.images, load_faces(celeba, use_cache=False).images)


def test_a_truncated_array_is_rebuilt(tmp_path, celeba):
    load_faces(celeba, cache_dir=tmp_path)
    (npy,) = tmp_path.glob("faces-*.npy")
    npy.write_bytes(npy.read_bytes()[:-100])
    data = load_faces(celeba, cache_dir=tmp_path)
    assert torch.equal(data.images, load_faces(celeba, use_cache=False).images)


def test_a_full_disk_is_one_clear_error_and_leaves_no_cache(tmp_path, celeba, monkeypatch):
    real_fdopen = data_mod.os.fdopen

    class Full:
        def __init__(self, f):
            self.f, self.written = f, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, b):
            self.written += len(b)
            if self.written > 20_000:
                raise OSError(28, "No space left on device")
            return self.f.write(b)

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(data_mod.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with pytest.raises(DataError, match="No space left on device.*--no-cache"):
        load_faces(celeba, cache_dir=tmp_path / "c")
    assert list((tmp_path / "c").iterdir()) == []
    monkeypatch.undo()
    assert torch.equal(load_faces(celeba, cache_dir=tmp_path / "c").images, load_faces(celeba, use_cache=False).images)


def test_a_rank_that_may_not_build_refuses_a_missing_cache(tmp_path, celeba):
    with pytest.raises(DataError, match="missing or stale"):
        load_faces(celeba, cache_dir=tmp_path, build=False)
