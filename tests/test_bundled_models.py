"""The models that ship with the app: each loads, decodes its gallery, and carries all metadata."""
import pytest
import torch

import faceedit
from faceedit.formats.catalog import default_model

REQUIRED_METRICS = {"sse", "psnr", "ssim", "kl", "active_units", "mig"}


def test_three_bundled_models_sorted_by_beta():
    assert faceedit.bundled_models() == ["beta1", "beta4", "beta10"]
    assert default_model() == "beta4"


@pytest.mark.parametrize("name,beta", [("beta1", 1.0), ("beta4", 4.0), ("beta10", 10.0)])
def test_bundled_model_is_complete(name, beta):
    m = faceedit.load_model(name, device="cpu")
    assert m.beta == beta and m.latent_dim == 128
    meta = m.metadata
    assert REQUIRED_METRICS <= set(meta["metrics"]["test"])
    assert len(meta["kl_per_dim"]) == 128
    assert len(meta["attribute_names"]) == 40 and m.attributes["Smiling"].shape == (128,)
    assert "non-commercial" in meta["licence"]
    assert m.gallery.shape[0] >= 32
    faces = m.decode(m.gallery)
    assert torch.isfinite(faces).all() and faces.min() >= 0 and faces.max() <= 1
    assert faces.std() > 0.05  # real, varied faces, not a flat grey


def test_kl_falls_as_beta_rises():
    kls = [faceedit.load_model(n).metadata["metrics"]["test"]["kl"] for n in faceedit.bundled_models()]
    assert kls[0] > kls[1] > kls[2]
