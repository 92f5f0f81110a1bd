"""Direction candidates for the named edits, side by side: flip and spill on validation and test.

For one model, calibrates each named attribute's +1 on validation faces (``training.edits``: 100 faces
without the attribute, bisection to the target flip), for the logistic normals and for the normals
decorrelated by the judge's measured spill at each ``--ridge``, at each ``--target`` flip. It then
applies +1 to 100 faces without the attribute in the validation and the test split, and prints how many
named attributes reach an 80% flip and the mean spill.

    python benchmarks/edit_directions.py [--model resources/models/beta4.pt] [--data ../shared/data/celeba-subset]
                                         [--ridge 0.03 0.3] [--target 0.8 0.9]

About 15 minutes on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faceedit.core.facemodel import FaceModel
from training import edits as E
from training.data import load_faces
from training.judge import load_judge
from training.metrics import encode_all


def judge_split(model, judge, images, attrs, names, chosen) -> str:
    """+1 along each chosen (unit, scale) for up to 100 faces without the attribute: flip and spill."""
    mu = model.encode(images)[0]
    ej = E.EditJudge.fit(judge, model, mu, attrs, names)
    flips, spills = [], []
    for name in E.NAMED:
        k, j = names.index(name), ej.names.index(name)
        unit, scale = chosen[name]
        outcome = E.edit_outcome(model, ej, mu[attrs[:, k] <= 0][:100], j, scale * unit, +1)
        flips.append(outcome["flip"])
        spills.append(outcome["spill"])
    reached = sum(f >= 0.8 for f in flips)
    return f"{reached}/10 reach 80%, mean flip {sum(flips) / 10:.3f}, mean spill {sum(spills) / 10:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="resources/models/beta4.pt")
    ap.add_argument("--data", default="../shared/data/celeba-subset")
    ap.add_argument("--ridge", type=float, nargs="+", default=[0.03, 0.3])
    ap.add_argument("--target", type=float, nargs="+", default=[0.8, 0.9])
    args = ap.parse_args()
    if not all(0 < t <= 1 for t in args.target):
        ap.error("--target: flip shares between 0 and 1, such as 0.9")
    if not all(r > 0 and r < float("inf") for r in args.ridge):
        ap.error("--ridge: positive numbers, such as 0.3")
    torch.manual_seed(0)
    data = load_faces(args.data)
    names = list(data.attribute_names)
    model, judge = FaceModel(args.model, "cpu"), load_judge()
    train, val, test = data.indices("train"), data.indices("val"), data.indices("test")
    train_mu, _ = encode_all(model.network, data.images[train])
    val_mu = model.encode(data.images[val])[0]
    ej = E.EditJudge.fit(judge, model, val_mu, data.attributes[val], names)
    normals = E.logistic_normals(train_mu, data.attributes[train])
    spreads = (train_mu @ normals.T).std(0)
    sample = val_mu[torch.randperm(len(val_mu))[:E.JACOBIAN_FACES]]
    jacobian = E.judge_jacobian(model, ej, sample, normals, spreads)
    columns = [ej.names.index(n) if n in ej.names else None for n in names]
    methods = {"logistic": normals}
    for ridge in args.ridge:
        methods[f"decorrelated (ridge {ridge:g})"] = E.decorrelated_normals(normals, spreads, jacobian, columns, ridge)
    print(f"{args.model}: +1 calibrated on validation, then applied to faces without the attribute")
    for target in args.target:
        E.TARGET_FLIP = target
        for label, directions in methods.items():
            chosen = {}
            for name in E.NAMED:
                k, j = names.index(name), ej.names.index(name)
                unit = directions[k]
                without = val_mu[data.attributes[val][:, k] <= 0][:E.CALIBRATION_FACES]
                scale, _ = E.calibrate_scale(model, ej, without, j, unit, float((train_mu @ unit).std()))
                chosen[name] = (unit, scale)
            for split, idx in (("validation", val), ("test", test)):
                result = judge_split(model, judge, data.images[idx], data.attributes[idx], names, chosen)
                print(f"  target {target:.0%}, {label}, {split}: {result}", flush=True)


if __name__ == "__main__":
    main()
