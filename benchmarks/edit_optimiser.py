"""Run the optimiser of the named edit directions again, from a calibrated model's own directions, with other
settings: does more of it, or another loss, lower the spill?

For each named attribute it turns the model's direction (``training.edits.optimised_direction``) with
``--steps`` and ``--power`` (the loss's FLIP_POWER), calibrates +1 on validation as ``calibrate`` does and
prints the validation spill before → after; then applies the new +1/−1 to 100 test faces on each side and
prints the mean spill and the +1 flip rates under the bundled judge and, if given, a second one
(``faceedit-train judge --data … --seed 1 --out J``).

    python benchmarks/edit_optimiser.py [--model resources/models/beta4.pt] [--data ../shared/data/celeba-subset]
                                        [--steps 80] [--power 4] [--judge2 J]

About 10 minutes on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faceedit.core.facemodel import FaceModel
from training import edits as E
from faceedit.core.modelfile import ModelFileError
from training.data import DataError, load_faces
from training.judge import JudgeError, load_judge
from training.metrics import encode_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="resources/models/beta4.pt")
    ap.add_argument("--data", default="../shared/data/celeba-subset")
    ap.add_argument("--steps", type=int, default=E.OPTIMISE_STEPS)
    ap.add_argument("--power", type=float, default=E.FLIP_POWER)
    ap.add_argument("--judge2", help="a second judge file, to check the first is not merely fooled")
    args = ap.parse_args()
    if args.steps < 1 or not 0 <= args.power < 100:
        ap.error("--steps: at least 1; --power: a number from 0 to 100")
    E.OPTIMISE_STEPS, E.FLIP_POWER = args.steps, args.power
    try:  # every file named checked before the minutes of work
        model, judge = FaceModel(args.model, "cpu"), load_judge()
        judges = {"bundled judge": judge, **({args.judge2: load_judge(args.judge2)} if args.judge2 else {})}
        data = load_faces(args.data)
    except (ModelFileError, JudgeError, DataError) as e:
        ap.exit(2, f"edit_optimiser.py: {e}\n")
    names = list(data.attribute_names)
    train, val, test = data.indices("train"), data.indices("val"), data.indices("test")
    train_mu, train_a = encode_all(model.network, data.images[train])[0], data.attributes[train]
    val_mu, val_a = model.encode(data.images[val])[0], data.attributes[val]
    ej = E.EditJudge.fit(judge, model, val_mu, val_a, names)
    steps = model.attributes
    for name in E.NAMED:
        k, j = names.index(name), ej.names.index(name)
        radius = float(steps[name].norm())
        unit, has = steps[name] / radius, train_a[:, k] > 0
        turned = E.optimised_direction(model, ej, j, unit, radius, train_mu[~has], train_mu[has], seed=k)
        without = val_mu[val_a[:, k] <= 0][:E.CALIBRATION_FACES]
        (_, before), (scale, after) = (E.calibrate_scale(model, ej, without, j, u, float((train_mu @ u).std()))
                                       for u in (unit, turned))
        print(f"{name}: validation spill {before['spill']:.4f} → {after['spill']:.4f} (flip {after['flip']:.2f})",
              flush=True)
        steps[name] = scale * turned
    images, test_a = data.images[test], data.attributes[test]
    for label, each in judges.items():
        out = E.edit_precision(model, each, images, test_a, names, directions=steps)
        print(f"{label}: test mean spill {sum(o['spill'] for o in out.values()) / len(out):.4f}; "
              "+1 flips " + " ".join(f"{n} {o['flip_add']:.2f}" for n, o in out.items()))


if __name__ == "__main__":
    main()
