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


@pytest.mark.parametrize("name", ["beta1", "beta4", "beta10"])
def test_bundled_models_are_calibrated(name):
    """The calibrated likelihood's σ, the fitted prior and measured, scaled directions (issue #6, #7)."""
    m = faceedit.load_model(name, device="cpu")
    assert m.likelihood["name"] == "gaussian" and 0.01 < m.likelihood["sigma"] < 0.3
    assert m.prior.scale_tril is not None  # random faces come from the fitted prior, not N(0, I)
    z = m.prior.sample(256, 1.0, torch.Generator().manual_seed(0))
    gallery = m.gallery
    # samples sit where real faces' codes sit: their mean norm is within 25% of the gallery's
    assert abs(z.norm(dim=1).mean() / gallery.norm(dim=1).mean() - 1) < 0.25
    assert m.attributes_scaled
    quality = m.metadata["attribute_quality"]
    assert all(quality[n]["flip"] >= 0.75 for n in ("Smiling", "Male", "Eyeglasses"))


def test_the_judge_reads_a_real_face():
    """The bundled attribute judge on a real photograph it never saw (scikit-image's public-domain portrait)."""
    data = pytest.importorskip("skimage.data")
    from faceedit.core.faces import detect_faces, extract
    from training.judge import load_judge

    judge = load_judge()
    assert len(judge.attribute_names) == 40
    assert sum(judge.test_auc.values()) / 40 > 0.85  # measured on the held-out test split when it was trained
    photo = data.astronaut()
    face = detect_faces(photo)[0]
    crop = torch.from_numpy(extract(photo, face)).permute(2, 0, 1)[None]
    p = dict(zip(judge.attribute_names, judge.probabilities(torch.cat([crop, crop.flip(3)])).mean(0).tolist()))
    # she smiles, with brown hair, no glasses, hat or beard (the judge is unsure of her sex: short hair, uniform)
    assert p["Smiling"] > 0.8 and p["No_Beard"] > 0.8 and p["Brown_Hair"] > 0.5
    assert p["Eyeglasses"] < 0.2 and p["Wearing_Hat"] < 0.2 and p["Blond_Hair"] < 0.2 and p["Mustache"] < 0.2
