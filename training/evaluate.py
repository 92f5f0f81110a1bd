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
from pathlib import Path

import torch

from faceedit.core.device import choose_device
from faceedit.core.facemodel import load_model
from faceedit.core.modelfile import atomic_write, load_network, update_metadata

from .data import DataError, FaceData, load_faces
from .edits import edit_precision
from .judge import JudgeError, load_judge
from .metrics import evaluate_split
from .results import MIG_BOOTSTRAP, Evaluated, format_table, model_label


def regenerate_command(args) -> str:
    """The command line that reproduces this evaluation's report and JSON (not ``--store``)."""
    parts = ["faceedit-train", "evaluate", *args.models, "--data", str(args.data), "--split", args.split]
    if args.seed:
        parts += ["--seed", str(args.seed)]
    if getattr(args, "label", None):
        parts += ["--label", *args.label]
    if getattr(args, "judge", None):
        parts += ["--judge", str(args.judge)]
    if getattr(args, "no_judge", False):
        parts.append("--no-judge")
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
    metrics[split] = {k: v for k, v in r.metrics.items() if isinstance(v, (int, float)) and k != "mig_sd"}
    evaluated_on = dict(current.get("evaluated_on") or {})
    evaluated_on[split] = {"data": data_root, "images": r.metrics["images"],
                           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    updates = {"metrics": metrics, "evaluated_on": evaluated_on}
    if split == "test":
        updates["kl_per_dim"] = [float(v) for v in r.metrics["kl_per_dim"]]
    update_metadata(path, updates)
    load_network(path)  # raises ModelFileError if the written file does not load


def _judge_reference(args, images: torch.Tensor, attributes: torch.Tensor | None, data_names: list[str]):
    """The attribute judge's view of the real faces, or None with --no-judge."""
    if getattr(args, "no_judge", False):
        return None
    from .fidelity import Reference
    try:
        judge = load_judge(getattr(args, "judge", None))
    except JudgeError as e:
        raise JudgeError(f"{e}; or pass --no-judge to evaluate without it") from None
    return Reference(judge, images, attributes, data_names)


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
    reference = _judge_reference(args, images, attributes, data.attribute_names)
    results = []
    for i, (key, model) in enumerate(models):
        print(f"evaluating {key} on {len(images)} {args.split} images ({device})…", file=sys.stderr)
        metrics = evaluate_split(model.network, images, attributes, mig_bootstrap=MIG_BOOTSTRAP)
        if reference is not None:
            metrics.update(reference.measure(model))
            if attributes is not None and model.attributes:
                metrics["edits"] = edit_precision(model, reference.judge, images, attributes, data.attribute_names)
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
