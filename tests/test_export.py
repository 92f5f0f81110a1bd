"""faceedit.formats.export, the one writer of the editor and the CLI: all or nothing, no Qt, no torch."""
import json

import numpy as np
import pytest
from PIL import Image

from faceedit.formats import export, latentfile


def faces(n):
    return [Image.new("RGB", (8, 8), (i * 20, 0, 0)) for i in range(n)]


def test_a_latent_file_reads_back_to_the_same_bits(tmp_path):
    z = np.random.default_rng(0).standard_normal(128).astype(np.float32)
    export.write_latent(tmp_path / "a" / "z.json", {"model": "beta4"}, z)
    model, back = latentfile.read(tmp_path / "a" / "z.json")
    assert model == "beta4" and back.tobytes() == z.tobytes()


def test_images_by_suffix_and_unknown_suffixes_refused(tmp_path):
    export.write_image(faces(1)[0], tmp_path / "f.jpg")
    with Image.open(tmp_path / "f.jpg") as im:
        assert im.format == "JPEG"
    with pytest.raises(export.ExportError, match="unknown image type"):
        export.write_image(faces(1)[0], tmp_path / "f.nope")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.jpg"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "anim.gif"
    target.write_bytes(b"old")
    with pytest.raises(ZeroDivisionError):
        with export.staged(target, folder=False) as tmp:
            tmp.write_bytes(b"half")
            1 / 0
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["anim.gif"]


def test_frames_into_an_existing_folder_with_their_manifest(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    latents = np.eye(3, 4, dtype=np.float32)
    count = export.write_frames_into(tmp_path, faces(3), [{"t": t} for t in (0, 0.5, 1)], latents)
    assert count == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame_0001.png", "frame_0002.png", "frame_0003.png",
                                                         "manifest.jsonl", "notes.txt"]
    lines = (tmp_path / "manifest.jsonl").read_text().splitlines()
    _, z = latentfile.parse(json.loads(lines[1]), "line 2")
    assert np.array_equal(z, latents[1])


def test_destination_checks():
    from pathlib import Path

    export.check_destination(Path("/nonexistent/x"), folder=True, overwrite=False)
    with pytest.raises(export.ExportError, match="already exists"):
        export.check_destination(Path(__file__).parent, folder=True, overwrite=False)
    with pytest.raises(export.ExportError, match="not a FaceEdit output folder"):
        export.check_destination(Path(__file__).parent, folder=True, overwrite=True)
