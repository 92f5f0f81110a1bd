"""What the attribute judge says about a model: does the face stay the person, do samples look like faces?

* ``retention``: the judge's mean AUC (over the attributes present in the split) on the model's
  reconstructions, divided by its mean AUC on the original faces.
* ``fd_recon`` / ``fd_samples``: the Fréchet distance between the judge's pooled features of the
  real faces and of the reconstructions, or of ``SAMPLES`` faces drawn from the model's prior at
  temperature 1 (seed 0). Lower is closer to real faces.
"""
from __future__ import annotations

import torch

from faceedit.core.facemodel import FaceModel
from faceedit.core.prior import Prior

from .judge import Judge, auc_per_attribute, frechet_distance

SAMPLES = 2000


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def reconstructions(model: FaceModel, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """uint8 faces → the model's uint8 reconstructions from μ (what the editor shows)."""
    out = [to_uint8(model.decode(model.encode(images[i:i + batch_size])[0])) for i in range(0, len(images), batch_size)]
    return torch.cat(out)


def samples(model: FaceModel, prior: Prior | None = None, n: int = SAMPLES, seed: int = 0,
            batch_size: int = 500) -> torch.Tensor:
    prior = prior or model.prior
    z = prior.sample(n, 1.0, torch.Generator().manual_seed(seed))
    return torch.cat([to_uint8(model.decode(z[i:i + batch_size])) for i in range(0, n, batch_size)])


class Reference:
    """The judge's view of the real faces of a split, computed once and shared by every model."""

    def __init__(self, judge: Judge, images: torch.Tensor, attributes: torch.Tensor | None,
                 attribute_names: list[str] = ()):
        self.judge, self.images = judge, images
        self.features = judge.features(images)
        # the data's attributes that the judge knows, in the judge's order
        shared = [n for n in judge.attribute_names if n in attribute_names] if attributes is not None else []
        self.names = shared
        self.attributes = attributes[:, [list(attribute_names).index(n) for n in shared]] if shared else None
        self.columns = [judge.index(n) for n in shared]
        self.auc = self._auc(images)
        self.mean_auc = sum(self.auc.values()) / len(self.auc) if self.auc else None

    def _auc(self, images: torch.Tensor) -> dict[str, float]:
        if not self.names:
            return {}
        probs = self.judge.probabilities(images)[:, self.columns]
        return auc_per_attribute(probs, self.attributes, self.names)

    def measure(self, model: FaceModel) -> dict:
        recon = reconstructions(model, self.images)
        out: dict = {"fd_recon": frechet_distance(self.features, self.judge.features(recon)),
               "fd_samples": frechet_distance(self.features, self.judge.features(samples(model)))}
        if self.auc:
            auc = self._auc(recon)
            mean = sum(auc.get(k, 0.5) for k in self.auc) / len(self.auc)
            out.update({"judge_auc": mean, "judge_auc_real": self.mean_auc, "retention": mean / self.mean_auc,
                        "judge_auc_per_attribute": auc})
        return out
