"""``faceedit-train calibrate``: the choices made after training, by measurement, stored in the model file.

1. **The prior for random faces** (``metadata["prior"]``): N(0, I), a full-covariance Gaussian fitted to
   the training codes μ, or one fitted to the aggregate posterior (μ's covariance plus the mean posterior
   variance). The one whose 2,000 samples are nearest to the real validation faces in the judge's feature
   space (Fréchet distance) is kept; N(0, I) is stored as no prior.
2. **Attribute directions and their unit** (``training.edits``): the direction method chosen on the
   validation faces, every attribute's scale set so that +1 flips the judge for 90% of faces without it,
   and what was measured (``attribute_quality``) so the app can say which attributes a model cannot render.

The trainer runs this at the end of training when the judge is available; run it by hand on older files.
"""
from __future__ import annotations

import torch

from faceedit.core.facemodel import FaceModel
from faceedit.core.modelfile import load_network, update_metadata
from faceedit.core.prior import Prior, fit_gaussian

from .data import FaceData
from .edits import TARGET_FLIP, calibrate
from .fidelity import samples
from .judge import Judge, frechet_distance
from .metrics import encode_all


def choose_prior(model: FaceModel, judge: Judge, mu: torch.Tensor, logvar: torch.Tensor,
                 real: torch.Tensor) -> tuple[Prior, dict[str, float]]:
    """The candidate prior whose samples' judge features are nearest to the real faces'."""
    reference = judge.features(real)
    candidates = {"standard": Prior.standard(mu.shape[1]), "mu": fit_gaussian(mu), "posterior": fit_gaussian(mu, logvar)}
    distances = {name: frechet_distance(reference, judge.features(samples(model, prior)))
                 for name, prior in candidates.items()}
    return candidates[min(distances, key=distances.get)], distances


def dimension_attributes(mu: torch.Tensor, attributes: torch.Tensor, names: list[str]) -> list:
    """For each latent dimension, the attribute its μ correlates with most: ``[name, r]`` (r in [−1, 1])."""
    a = (attributes > 0).float()
    z = (mu - mu.mean(0)) / mu.std(0).clamp_min(1e-8)
    a = (a - a.mean(0)) / a.std(0).clamp_min(1e-8)
    corr = (z.T @ a / (len(mu) - 1)).nan_to_num(0)  # D×K Pearson correlations
    best = corr.abs().argmax(1)
    return [[names[int(k)], round(float(corr[d, k]), 4)] for d, k in enumerate(best)]


def calibrate_model(model: FaceModel, data: FaceData, train_idx: torch.Tensor, judge: Judge | None,
                    progress=print) -> dict:
    """Everything calibration adds to the metadata (prior, scaled directions, what was measured)."""
    mu, logvar = encode_all(model.network, data.images[train_idx])
    val = data.indices("val")
    if not len(val):
        val = data.indices("test")
    updates: dict = {}
    if data.attributes is not None and data.attribute_names:
        updates["dimension_attributes"] = dimension_attributes(mu, data.attributes[train_idx], data.attribute_names)
    if judge is None or not len(val):
        updates["prior"] = fit_gaussian(mu).to_dict()
        updates["calibration"] = {"prior": {"chosen": "mu", "measured": False}}
        return updates
    prior, distances = choose_prior(model, judge, mu, logvar, data.images[val])
    progress("  prior: Fréchet distance of samples to real faces "
             + ", ".join(f"{k} {v:.2f}" for k, v in distances.items()) + f" → {prior.fitted_on}")
    updates["prior"] = prior.to_dict()
    updates["calibration"] = {"prior": {"chosen": prior.fitted_on, "fd_validation": distances}}
    if data.attributes is not None and data.attribute_names:
        result = calibrate(model, judge, mu, data.attributes[train_idx], data.images[val], data.attributes[val],
                           list(data.attribute_names), progress=progress)
        updates.update({"attribute_names": list(data.attribute_names), "attribute_directions": result.directions,
                        "attribute_scales": result.scales, "attribute_quality": result.quality})
        updates["calibration"]["directions"] = {"chosen": result.method, "compared": result.comparison,
                                                "target_flip": TARGET_FLIP}
    return updates


def calibrate_file(path, data: FaceData, judge: Judge | None, device, progress=print,
                   train_idx: torch.Tensor | None = None) -> dict:
    model = FaceModel(path, device)
    updates = calibrate_model(model, data, data.indices("train") if train_idx is None else train_idx, judge, progress)
    update_metadata(path, updates)
    load_network(path)  # the written file must load, or the error names it
    return updates

