"""``faceedit-train evaluate``: held-out metrics per model — printed, as JSON, stored, and as a report.

The numbers come from ``training.metrics.evaluate_split`` over every image of the split, with the
normalisation of ``faceedit.core.model``.  ``--store`` merges them into each model file's
``metadata["metrics"][split]`` (the per-dimension KL goes to ``metadata["kl_per_dim"]`` when the
split is ``test``).  ``--report DIR`` writes ``DIR/beta-tradeoff.md`` with its images in
``DIR/beta-tradeoff/`` (see ``training.report``).
"""
from __future__ import annotations

import datetime as _dt
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from faceedit.formats import catalog
from faceedit.core.device import choose_device
from faceedit.core.facemodel import FaceModel, load_model
from faceedit.core.modelfile import atomic_write, load_network, update_metadata

from .data import DataError, FaceData, load_faces
from .metrics import evaluate_split

SEED_SETUP = {"beta": 4.0, "limit": 5000, "epochs": 12}  # the seed's own training run
SEED_SETUP_LABEL = "seed setup (5k images, 12 epochs)"
MIG_BOOTSTRAP = 30  # resamples for the MIG's bootstrap standard deviation


@dataclass
class Evaluated:
    """One model's results on the split."""

    key: str  # the model argument as given (bundled name or path)
    label: str  # how the report and the table name it
    model: FaceModel
    metrics: dict  # evaluate_split's dict, including kl_per_dim

    @property
    def bundled(self) -> bool:
        return self.model.path.resolve().parent == catalog.bundled_dir().resolve()

    @property
    def seed_setup(self) -> bool:
        return is_seed_setup(self.model)

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
            "limit": limit}


def is_seed_setup(model: FaceModel) -> bool:
    training = model.metadata.get("training") or {}
    return (model.beta == SEED_SETUP["beta"] and training.get("limit") == SEED_SETUP["limit"]
            and training.get("epochs") == SEED_SETUP["epochs"])


def model_label(model: FaceModel) -> str:
    return SEED_SETUP_LABEL if is_seed_setup(model) else f"β={model.beta:g} ({model.name})"


def regenerate_command(args) -> str:
    """The command line that reproduces this evaluation's report and JSON (not ``--store``)."""
    parts = ["faceedit-train", "evaluate", *args.models, "--data", str(args.data), "--split", args.split]
    if args.seed:
        parts += ["--seed", str(args.seed)]
    if getattr(args, "label", None):
        parts += ["--label", *args.label]
    if args.report:
        parts += ["--report", str(args.report)]
    if args.json:
        parts += ["--json", str(args.json)]
    return shlex.join(parts)


def _split_data(data: FaceData, split: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    idx = data.indices(split)
    if len(idx) < 2:
        raise DataError(f"{data.root}: the {split} split has {len(idx)} images; need at least 2 to evaluate")
    attributes = data.attributes[idx] if data.attributes is not None else None
    return data.images[idx], attributes


def format_table(results: list[Evaluated], split: str, images: int) -> str:
    head = ["model", "β", "SSE", "PSNR dB", "SSIM", "KL nats", "active", "MIG ± bootstrap sd"]
    rows = []
    for r in results:
        m = r.metrics
        rows.append([r.label, f"{r.model.beta:g}", f"{m['sse']:.2f}", f"{m['psnr']:.2f}", f"{m['ssim']:.4f}",
                     f"{m['kl']:.2f}", f"{m['active_units']}/{len(m['kl_per_dim'])}", format_mig(m)])
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [f"{split} split, {images} images (per image: SSE summed over the 3×64×64 values in [0,1]; "
           f"KL in nats summed over dimensions)", line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def format_mig(metrics: dict) -> str:
    value, sd = metrics.get("mig"), metrics.get("mig_sd")
    if value is None:
        return "–"
    return f"{value:.4f}" if sd is None else f"{value:.4f} ± {sd:.4f}"


def results_json(results: list[Evaluated], data: FaceData, split: str, images: int, command: str) -> dict:
    return {
        "command": command, "data": data.root, "split": split, "images": images,
        "evaluated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "models": {r.key: {"label": r.label, "path": str(r.model.path), "name": r.model.name, "beta": r.model.beta,
                           "training": r.training(), "metrics": r.metrics} for r in results},
    }


def store_metrics(r: Evaluated, split: str, data_root: str) -> None:
    """Merge this split's metrics into the model file, then check the file still loads."""
    path = r.model.path
    current = load_network(path)[2]
    metrics = dict(current.get("metrics") or {})
    metrics[split] = {k: v for k, v in r.metrics.items() if k not in ("kl_per_dim", "mig_sd")}
    evaluated_on = dict(current.get("evaluated_on") or {})
    evaluated_on[split] = {"data": data_root, "images": r.metrics["images"],
                           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    updates = {"metrics": metrics, "evaluated_on": evaluated_on}
    if split == "test":
        updates["kl_per_dim"] = [float(v) for v in r.metrics["kl_per_dim"]]
    update_metadata(path, updates)
    load_network(path)  # raises ModelFileError if the written file does not load


def evaluate_models(args) -> int:
    device = choose_device(args.device)
    # Load (and so validate) every model before the slow part, so a bad file fails at once.
    keys = list(dict.fromkeys(args.models))
    models = [(key, load_model(key, device)) for key in keys]
    labels = getattr(args, "label", None) or []
    if labels and len(labels) != len(keys):
        raise ValueError(f"--label: {len(labels)} labels for {len(keys)} models")
    data = load_faces(args.data, seed=args.seed, cache_dir=args.cache_dir, progress=sys.stderr.isatty())
    images, attributes = _split_data(data, args.split)
    results = []
    for i, (key, model) in enumerate(models):
        print(f"evaluating {key} on {len(images)} {args.split} images ({device})…", file=sys.stderr)
        metrics = evaluate_split(model.network, images, attributes, mig_bootstrap=MIG_BOOTSTRAP)
        results.append(Evaluated(key, labels[i] if labels else model_label(model), model, metrics))
    print(format_table(results, args.split, len(images)))
    command = regenerate_command(args)
    if args.json:
        payload = json.dumps(results_json(results, data, args.split, len(images), command), indent=2,
                             ensure_ascii=False)
        atomic_write(args.json, lambda tmp: Path(tmp).write_text(payload + "\n", encoding="utf-8"))
        print(f"wrote {args.json}")
    if args.store:
        for r in results:
            store_metrics(r, args.split, data.root)
            print(f"stored the {args.split} metrics in {r.model.path}")
    if args.report:
        from .report import write_report
        path = write_report(Path(args.report), results, data=data, split=args.split, images=images,
                            command=command)
        print(f"wrote {path}")
    return 0
