"""One model's evaluation results and how they are printed: shared by ``evaluate`` and ``report``.

The report's reference numbers (targets, the seed's setup and claims) are data, in ``targets.json``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from faceedit.core.facemodel import FaceModel
from faceedit.formats import catalog

TARGETS = json.loads((Path(__file__).with_name("targets.json")).read_text(encoding="utf-8"))
SEED_SETUP = {k: TARGETS["seed"][k] for k in ("beta", "limit", "epochs")}  # the seed's own training run
SEED_SETUP_LABEL = "seed setup (5k images, 12 epochs)"
MIG_BOOTSTRAP = 30  # resamples for the MIG's bootstrap standard deviation


@dataclass
class Evaluated:
    """One model's results on the split."""

    key: str  # the model argument as given (bundled name or path)
    label: str  # how the report and the table name it
    model: FaceModel
    metrics: dict  # evaluate_split's dict, including kl_per_dim, plus the judge's numbers when it ran

    @property
    def bundled(self) -> bool:
        return self.model.path.resolve().parent == catalog.bundled_dir().resolve()

    @property
    def seed_setup(self) -> bool:
        return is_seed_setup(self.model)

    @property
    def family(self) -> str:
        """The likelihood it was trained with: 'gaussian' or 'sse'."""
        return self.model.likelihood["name"]

    def training(self) -> dict:
        return training_summary(self.model)


def training_summary(model: FaceModel) -> dict:
    """How a model was trained, from its metadata: images used, epochs, device, data root."""
    meta = model.metadata
    training = meta.get("training") or {}
    data = meta.get("data") or {}
    available = (data.get("splits") or {}).get("train")
    limit = training.get("limit")
    images = min(limit, available) if limit and available else limit or available
    return {"images": images, "epochs": training.get("epochs"), "device": training.get("device"),
            "data": data.get("root"), "kl_warmup_epochs": training.get("kl_warmup_epochs"),
            "limit": limit, "refine_channels": training.get("refine_channels")}


def is_seed_setup(model: FaceModel) -> bool:
    training = model.metadata.get("training") or {}
    return (model.beta == SEED_SETUP["beta"] and training.get("limit") == SEED_SETUP["limit"]
            and training.get("epochs") == SEED_SETUP["epochs"])


def model_label(model: FaceModel) -> str:
    family = model.likelihood["name"]
    if is_seed_setup(model):
        return f"{SEED_SETUP_LABEL}, {family}"
    return f"β={model.beta:g} {family} ({model.name})"


def format_mig(metrics: dict) -> str:
    value, sd = metrics.get("mig"), metrics.get("mig_sd")
    if value is None:
        return "–"
    return f"{value:.4f}" if sd is None else f"{value:.4f} ± {sd:.4f}"


def _optional(metrics: dict, key: str, fmt: str) -> str:
    value = metrics.get(key)
    return "–" if value is None else format(value, fmt)


def format_table(results: list[Evaluated], split: str, images: int) -> str:
    head = ["model", "β", "likelihood", "σ", "SSE", "PSNR dB", "SSIM", "KL nats", "active", "MIG ± bootstrap sd",
            "retention", "FD recon", "FD samples"]
    rows = []
    for r in results:
        m = r.metrics
        sigma = r.model.likelihood.get("sigma")
        rows.append([r.label, f"{r.model.beta:g}", r.family, "–" if sigma is None else f"{sigma:.4f}",
                     f"{m['sse']:.2f}", f"{m['psnr']:.2f}", f"{m['ssim']:.4f}", f"{m['kl']:.2f}",
                     f"{m['active_units']}/{len(m['kl_per_dim'])}", format_mig(m), _optional(m, "retention", ".3f"),
                     _optional(m, "fd_recon", ".2f"), _optional(m, "fd_samples", ".2f")])
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [f"{split} split, {images} images (per image: SSE summed over the 3×64×64 values in [0,1]; "
           f"KL in nats summed over dimensions; retention = the judge's AUC on reconstructions ÷ on originals; "
           f"FD = Fréchet distance of the judge's features to the real faces)", line(head),
           line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)
