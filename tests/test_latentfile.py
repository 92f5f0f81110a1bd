import json

import numpy as np
import pytest

from faceedit.formats import latentfile


def test_round_trip_is_bit_exact_and_keeps_extra_fields(tmp_path):
    z = np.random.default_rng(0).standard_normal(128).astype(np.float32)
    info = np.finfo(np.float32)  # the extremes too: largest, smallest normal and subnormal, a negative zero
    z[:6] = [info.max, -info.max, info.tiny, info.smallest_subnormal, -0.0, 1 / 3]
    path = tmp_path / "face.json"
    path.write_text(latentfile.dumps({"model": "beta4", "seed": 7}, z))
    assert json.loads(path.read_text())["seed"] == 7
    model, back = latentfile.read(path)
    assert model == "beta4" and back.dtype == np.float32 and np.array_equal(back.view(np.uint32), z.view(np.uint32))


@pytest.mark.parametrize("text,message", [
    ('{"model": "beta4"}', "not a FaceEdit latent file"),
    ('{"model": "beta4", "latent": "abc"}', "not a list of numbers"),
    ('{"model": "beta4", "latent": [1, true]}', "not a list of numbers"),
    ('{"model": "beta4", "latent": [1, NaN]}', "NaN or infinite"),
    ("[1, 2, 3]", "not a FaceEdit latent file"),
    ("{not json", "not valid JSON"),
])
def test_bad_latent_files_name_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(latentfile.LatentFileError, match=f"bad.json: .*{message}"):
        latentfile.read(path)
