"""Attribute edits chosen, scaled and judged by measurement.

**Directions.** Three candidates per attribute, each a unit vector u in latent space:

* ``ridge``: the joint ridge regression of μ on all 40 attributes (``training.directions``);
* ``logistic``: the normal of a per-attribute logistic regression on μ (as in InterFaceGAN);
* ``conditional``: that normal with its ``CONDITION_ON`` most label-correlated attributes' normals
  projected out (InterFaceGAN's conditional manipulation);
* ``decorrelated``: the normals mixed by the **measured** spill rather than the label correlation: the
  judge's response to a step along every normal (a K×K Jacobian, on validation faces) is inverted,
  ridge-regularised, so that to first order each direction moves its own attribute as its normal does
  and no other.
* ``optimised`` (named attributes only, and only with at least ``CALIBRATION_FACES`` validation faces):
  the best of those, turned by gradient descent through the decoder and the judge until a step of its
  calibrated length spills least for the share of faces it flips, on codes from the training split
  (``optimised_direction``).

**The choice.** Each named attribute keeps the candidate with the lowest spill among those whose +1
reaches the target flip (else the highest flip); the other attributes take the method that served
the named ones best.

**The unit.** An edit of amount a moves z by ``a · scale · u``. The scale is found by bisection on
validation faces that lack the attribute, so that **+1 flips the judge for ``TARGET_FLIP`` of them**
(−1 does the reverse for faces that have it). A face is read as having attribute k when the judge's
probability passes a threshold set on the model's own reconstructions (the balanced-accuracy optimum
on validation), so that blur does not count as a failed edit.

**Edit precision** (per model and attribute, on a split): for faces without the attribute apply +1,
for faces with it −1, and report

* ``flip``: the share of edited faces the judge now reads on the asked side;
* ``target``: the mean change of the judge's probability in the asked direction;
* ``spill``: the mean |change| of the other attributes' probabilities, and the largest single one;
* ``real_spill``: for scale, the same mean for real faces: how far the judge's other probabilities lie
  apart between the split's faces with and without the attribute (Mustache comes with Male);
* ``renderable``: the judge's AUC for the attribute on the model's reconstructions is ≥ ``RENDERABLE_AUC``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from faceedit.core.facemodel import FaceModel

from .directions import attribute_directions
from .fidelity import to_uint8
from .judge import Judge, auc

NAMED = ("Smiling", "Male", "Young", "Eyeglasses", "Blond_Hair", "Black_Hair", "Bangs", "Mustache",
         "Heavy_Makeup", "Wavy_Hair")
METHODS = ("ridge", "logistic", "conditional", "decorrelated")
TARGET_FLIP = 0.9  # on validation faces, so that the test split lands above 80%
RENDERABLE_AUC = 0.75
CONDITION_ON = 3
MAX_SCALE = 8.0  # in units of the codes' standard deviation along the direction
BISECTIONS = 6
CALIBRATION_FACES = 100
JACOBIAN_FACES = 200
SPILL_RIDGE = 0.3  # how strongly a decorrelated direction stays near its normal (relative to the Jacobian's scale)
OPTIMISED = "optimised"
OPTIMISE_STEPS = 80
OPTIMISE_FACES = 64  # codes per side in each step, drawn afresh from the training split
OPTIMISE_LR = 0.03  # the first step's length on the unit sphere (radians, about); it falls linearly to 0
FLIP_POWER = 4  # the loss is spill ÷ soft flip share ** FLIP_POWER: how hard a direction holds on to its flip


# -- directions ------------------------------------------------------------------------------

def logistic_normals(mu: torch.Tensor, attributes: torch.Tensor, steps: int = 300) -> torch.Tensor:
    """One logistic regression per attribute on standardised μ (jointly, as one linear layer) → K×D unit normals in μ space."""
    mean, std = mu.mean(0), mu.std(0).clamp_min(1e-6)
    x = (mu - mean) / std
    y = (attributes > 0).float()
    layer = torch.nn.Linear(mu.shape[1], attributes.shape[1])
    opt = torch.optim.LBFGS(layer.parameters(), lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(layer(x), y) + 1e-4 * layer.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    w = layer.weight.detach() / std  # back to μ's own coordinates
    return F.normalize(w, dim=1)


def conditional_normals(normals: torch.Tensor, attributes: torch.Tensor, k_others: int = CONDITION_ON) -> torch.Tensor:
    """Each normal with its most label-correlated attributes' normals projected out, renormalised."""
    a = (attributes > 0).float()
    corr = torch.corrcoef(a.T).nan_to_num(0).abs()
    corr.fill_diagonal_(0)
    out = []
    for k in range(len(normals)):
        others = normals[corr[k].argsort(descending=True)[:k_others]]
        q, _ = torch.linalg.qr(others.T)  # orthonormal basis of the conditioned-on normals
        v = normals[k] - q @ (q.T @ normals[k])
        out.append(F.normalize(v, dim=0) if v.norm() > 1e-6 else normals[k])
    return torch.stack(out)


def judge_jacobian(model: FaceModel, ej: "EditJudge", z: torch.Tensor, normals: torch.Tensor,
                   spreads: torch.Tensor) -> torch.Tensor:
    """K×J: the mean change of the judge's probability of each judged attribute (``ej.names``) when the
    codes ``z`` move one spread along each normal (a central difference)."""
    rows = []
    for normal, spread in zip(normals, spreads):
        up, down = ej.read(decode(model, z + spread * normal)), ej.read(decode(model, z - spread * normal))
        rows.append(((up - down) / 2).mean(0))
    return torch.stack(rows)


def decorrelated_normals(normals: torch.Tensor, spreads: torch.Tensor, jacobian: torch.Tensor,
                         columns: list[int | None], ridge: float = SPILL_RIDGE) -> torch.Tensor:
    """Each attribute's direction as a mix of all the normals (steps of one spread each) whose predicted
    effect (``jacobian``, K×J) is its own attribute's as along its normal and nothing on the others:
    ridge-regularised least squares towards its own normal.  ``columns[k]``: attribute k's column in the
    Jacobian (None: not judged, its normal is kept).  K×D unit vectors."""
    gram = jacobian @ jacobian.T
    penalty = ridge * gram.trace() / len(gram) * torch.eye(len(gram))
    out = []
    for k, column in enumerate(columns):
        if column is None:
            out.append(normals[k])
            continue
        target = torch.zeros(jacobian.shape[1])
        target[column] = jacobian[k, column]
        own = torch.zeros(len(gram))
        own[k] = 1.0
        mix = torch.linalg.solve(gram + penalty, jacobian @ target + penalty @ own)
        out.append(F.normalize((mix * spreads) @ normals, dim=0))
    return torch.stack(out)


def render(model: FaceModel, z: torch.Tensor) -> torch.Tensor:
    """Decoded faces as floats in [0, 1], differentiable in z (``decode`` below is for judging: uint8, no gradient)."""
    return model.network.decoder(z.to(model.device)).cpu().float().clamp(0, 1)


def optimised_direction(model: FaceModel, ej: "EditJudge", j: int, unit: torch.Tensor, radius: float,
                        without: torch.Tensor, having: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """``unit`` turned, by gradient descent through the decoder and the judge, towards the direction whose
    step of ``radius`` spills least for the share of faces it flips.  Each step draws fresh codes without
    attribute j (moved +radius) and with it (moved −radius) and minimises the mean |change| of the other
    attributes' probabilities divided by the soft flip share (the mean sigmoid of each face's logit margin
    past the threshold) to the power ``FLIP_POWER``.  Returns a unit vector."""
    g = torch.Generator().manual_seed(seed)
    threshold = torch.logit(ej.thresholds[j].clamp(1e-4, 1 - 1e-4))
    others = torch.arange(len(ej.names)) != j
    u = F.normalize(unit.detach().clone(), dim=0)
    velocity = torch.zeros_like(u)
    sides = [(codes, sign) for codes, sign in ((without, 1), (having, -1)) if len(codes)]
    for i in range(OPTIMISE_STEPS if sides else 0):
        w = u.clone().requires_grad_(True)
        spills, margins = [], []
        for codes, sign in sides:
            z = codes[torch.randint(len(codes), (OPTIMISE_FACES,), generator=g)]
            with torch.no_grad():
                before = torch.sigmoid(ej.logits(render(model, z)))
            after = ej.logits(render(model, z + sign * radius * w))
            spills.append((torch.sigmoid(after) - before)[:, others].abs())
            margins.append(sign * (after[:, j] - threshold))
        soft_flip = torch.sigmoid(2 * torch.cat(margins)).mean()
        loss = torch.cat(spills).mean() / soft_flip.clamp_min(0.05) ** FLIP_POWER
        (grad,) = torch.autograd.grad(loss, w)
        grad -= (grad @ u) * u  # along the sphere
        velocity = 0.8 * velocity + 0.2 * grad
        if velocity.norm() > 0:  # a step of fixed length, shrinking to nothing: small gradients stay small
            u = F.normalize(u - OPTIMISE_LR * (1 - i / OPTIMISE_STEPS) * velocity / velocity.norm(), dim=0)
    return u


def candidate_directions(mu: torch.Tensor, attributes: torch.Tensor) -> dict[str, torch.Tensor]:
    normals = logistic_normals(mu, attributes)
    return {"ridge": F.normalize(attribute_directions(mu, attributes), dim=1), "logistic": normals,
            "conditional": conditional_normals(normals, attributes)}


# -- judging edits ---------------------------------------------------------------------------

def _best_threshold(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """The probability threshold with the best balanced accuracy."""
    pos, neg = labels > 0, labels <= 0
    if not pos.any() or not neg.any():
        return 0.5
    candidates = torch.unique(probs)
    if len(candidates) > 256:
        candidates = torch.quantile(probs, torch.linspace(0, 1, 257))
    best, best_t = -1.0, 0.5
    for t in candidates.tolist():
        said = probs >= t
        score = (said[pos].float().mean() + (~said[neg]).float().mean()).item() / 2
        if score > best:
            best, best_t = score, t
    return float(best_t)


@dataclass
class EditJudge:
    """The judge, with thresholds and renderability set on one model's reconstructions."""

    judge: Judge
    names: list[str]  # the data's attribute names the judge knows, in the data's order
    columns: list[int]  # the judge's column of each
    thresholds: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    recon_auc: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(cls, judge: Judge, model: FaceModel, mu: torch.Tensor, attributes: torch.Tensor,
            data_names: list[str]) -> "EditJudge":
        names = [n for n in data_names if n in judge.attribute_names]
        self = cls(judge, names, [judge.index(n) for n in names])
        probs = self.read(decode(model, mu))
        labels = attributes[:, [data_names.index(n) for n in names]]
        self.thresholds = torch.tensor([_best_threshold(probs[:, j], labels[:, j]) for j in range(len(names))])
        for j, n in enumerate(names):
            value = auc(probs[:, j], labels[:, j])
            if value is not None:
                self.recon_auc[n] = value
        return self

    def read(self, faces: torch.Tensor) -> torch.Tensor:
        """N×3×64×64 → N×len(names) probabilities."""
        return self.judge.probabilities(faces)[:, self.columns]

    def logits(self, faces: torch.Tensor) -> torch.Tensor:
        """N×3×64×64 floats in [0, 1] → N×len(names) logits, differentiable."""
        return self.judge.logits(faces)[:, self.columns]

    def renderable(self, name: str) -> bool:
        return self.recon_auc.get(name, 0.0) >= RENDERABLE_AUC


def decode(model: FaceModel, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    return torch.cat([to_uint8(model.decode(z[i:i + batch_size])) for i in range(0, len(z), batch_size)])


def edit_outcome(model: FaceModel, ej: EditJudge, z: torch.Tensor, j: int, step: torch.Tensor, sign: int,
                 before: torch.Tensor | None = None) -> dict:
    """Move codes z along ``step`` (already scaled) by ``sign``; judge attribute j → flip, target, spill."""
    before = ej.read(decode(model, z)) if before is None else before
    after = ej.read(decode(model, z + sign * step))
    on_side = after[:, j] >= ej.thresholds[j] if sign > 0 else after[:, j] < ej.thresholds[j]
    change = after - before
    others = torch.ones(len(ej.names), dtype=torch.bool)
    others[j] = False
    spill_each = change[:, others].abs().mean(0)
    worst = int(spill_each.argmax()) if others.any() else 0
    other_names = [n for i, n in enumerate(ej.names) if i != j]
    return {"flip": float(on_side.float().mean()), "target": float((sign * change[:, j]).mean()),
            "spill": float(spill_each.mean()) if others.any() else 0.0,
            "max_spill": float(spill_each.max()) if others.any() else 0.0,
            "max_spill_to": other_names[worst] if other_names else None}


def calibrate_scale(model: FaceModel, ej: EditJudge, z_without: torch.Tensor, j: int, unit: torch.Tensor,
                    spread: float) -> tuple[float, dict]:
    """The smallest scale (bisection, in latent units) at which +1 flips ≥ TARGET_FLIP of faces without the attribute."""
    before = ej.read(decode(model, z_without))
    lo, hi = 0.0, MAX_SCALE * spread
    top = edit_outcome(model, ej, z_without, j, hi * unit, +1, before)
    if top["flip"] < TARGET_FLIP:
        return hi, top  # the furthest we go; the outcome says how far short it falls
    best = top
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        out = edit_outcome(model, ej, z_without, j, mid * unit, +1, before)
        if out["flip"] >= TARGET_FLIP:
            hi, best = mid, out
        else:
            lo = mid
    return hi, best


@dataclass
class Calibration:
    method: str  # the method of the attributes that are not named (each named one has its own: ``quality``)
    directions: torch.Tensor  # K×D unit vectors, the data's attribute order
    scales: torch.Tensor  # K latent-space lengths of "+1"
    quality: dict  # name → {flip, target, spill, max_spill, max_spill_to, renderable, recon_auc, method}
    comparison: dict  # method → {reached, mean_spill, mean_flip} over the named attributes


def calibrate(model: FaceModel, judge: Judge, train_mu: torch.Tensor, train_attrs: torch.Tensor,
              val_images: torch.Tensor, val_attrs: torch.Tensor, names: list[str], progress=print) -> Calibration:
    """Scale every candidate direction of the named attributes on validation faces; each named attribute
    keeps its own best (the lowest spill among those that reach the target flip), and the others take
    the method under which most named attributes reach it (then the lowest spill)."""
    val_mu = model.encode(val_images)[0]
    ej = EditJudge.fit(judge, model, val_mu, val_attrs, names)
    candidates = candidate_directions(train_mu, train_attrs)
    normals = candidates["logistic"]
    spreads = (train_mu @ normals.T).std(0)
    jacobian = judge_jacobian(model, ej, val_mu[:JACOBIAN_FACES], normals, spreads)
    columns = [ej.names.index(n) if n in ej.names else None for n in names]
    candidates["decorrelated"] = decorrelated_normals(normals, spreads, jacobian, columns)
    judged = [n for n in names if n in ej.names]
    named = [n for n in NAMED if n in judged] or judged[:10]

    def scale_all(method: str, which: list[str]) -> dict[str, tuple[float, dict]]:
        out = {}
        for name in which:
            k, j = names.index(name), ej.names.index(name)
            unit = candidates[method][k]
            without = val_mu[val_attrs[:, k] <= 0][:CALIBRATION_FACES]
            spread = float((train_mu @ unit).std())
            if len(without) < 5:
                out[name] = (spread, {"flip": None, "target": None, "spill": None, "max_spill": None,
                                      "max_spill_to": None})
                continue
            out[name] = calibrate_scale(model, ej, without, j, unit, spread)
        return out

    comparison, scaled = {}, {}

    def compare(method: str) -> None:
        scaled[method] = scale_all(method, named)
        outcomes = [o for _, o in scaled[method].values() if o["flip"] is not None]
        comparison[method] = {
            "reached": sum(o["flip"] >= TARGET_FLIP for o in outcomes),
            "mean_flip": sum(o["flip"] for o in outcomes) / max(1, len(outcomes)),
            "mean_spill": sum(o["spill"] for o in outcomes) / max(1, len(outcomes))}
        progress(f"  {method}: {comparison[method]['reached']}/{len(outcomes)} named attributes reach a "
                 f"{TARGET_FLIP:.0%} flip; mean spill {comparison[method]['mean_spill']:.3f}")

    for method in METHODS:
        compare(method)
    method = max(METHODS, key=lambda m: (comparison[m]["reached"], -comparison[m]["mean_spill"]))
    rest = scale_all(method, [n for n in judged if n not in named])

    def best(name: str, methods) -> str:
        """A named attribute's own method: of those that reach the target flip, the lowest spill; if
        none does, the highest flip."""
        outcomes = {m: scaled[m][name][1] for m in methods if scaled[m][name][1]["flip"] is not None}
        reaching = [m for m, o in outcomes.items() if o["flip"] >= TARGET_FLIP]
        if reaching:
            return min(reaching, key=lambda m: outcomes[m]["spill"])
        return max(outcomes, key=lambda m: outcomes[m]["flip"]) if outcomes else method

    # each named attribute's best so far, turned by gradient towards less spill, scaled, and compared again;
    # not worth its minutes where too few validation faces could tell it from the rest
    if len(val_mu) >= CALIBRATION_FACES:
        candidates[OPTIMISED] = candidates[method].clone()
        for name in named:
            k, m = names.index(name), best(name, METHODS)
            has = train_attrs[:, k] > 0
            candidates[OPTIMISED][k] = optimised_direction(model, ej, ej.names.index(name), candidates[m][k],
                                                           scaled[m][name][0], train_mu[~has], train_mu[has], seed=k)
        compare(OPTIMISED)
    picks = {**{n: method for n in rest}, **{n: best(n, scaled) for n in named}}
    chosen = {**rest, **{n: scaled[picks[n]][n] for n in named}}
    mine = [chosen[n][1] for n in named if chosen[n][1]["flip"] is not None]
    progress(f"  per attribute: {', '.join(f'{n} {picks[n]}' for n in named)}; "
             f"{sum(o['flip'] >= TARGET_FLIP for o in mine)}/{len(mine)} reach a {TARGET_FLIP:.0%} flip; "
             f"mean spill {sum(o['spill'] for o in mine) / max(1, len(mine)):.3f}")
    directions = candidates[method].clone()
    scales = torch.ones(len(names))
    quality = {}
    for k, name in enumerate(names):
        if name in chosen:
            directions[k] = candidates[picks[name]][k]
            scale, outcome = chosen[name]
            scales[k] = scale
            quality[name] = {**outcome, "renderable": ej.renderable(name), "recon_auc": ej.recon_auc.get(name),
                             "method": picks[name]}
        else:
            scales[k] = float((train_mu @ candidates[method][k]).std())
    return Calibration(method, directions, scales, quality, comparison)


# -- edit precision (evaluate) ----------------------------------------------------------------

def edit_precision(model: FaceModel, judge: Judge, images: torch.Tensor, attributes: torch.Tensor,
                   names: list[str], which: tuple[str, ...] = NAMED, per_side: int = 100,
                   directions: dict[str, torch.Tensor] | None = None) -> dict[str, dict]:
    """+1 for faces without, −1 for faces with each attribute, along ``directions`` (name → the step of +1;
    default: the model's own scaled directions)."""
    mu = model.encode(images)[0]
    ej = EditJudge.fit(judge, model, mu, attributes, names)
    directions = model.attributes if directions is None else directions
    real = ej.read(images)  # the judge on the split's own faces, for the spill the data itself shows
    out = {}
    for name in which:
        if name not in directions or name not in ej.names:
            continue
        k, j = names.index(name), ej.names.index(name)
        step = directions[name]
        sides = {}
        for sign, mask in ((+1, attributes[:, k] <= 0), (-1, attributes[:, k] > 0)):
            z = mu[mask][:per_side]
            if len(z):
                sides[sign] = (len(z), edit_outcome(model, ej, z, j, step, sign))
        if not sides:
            continue
        n = sum(c for c, _ in sides.values())
        merged = {key: sum(c * o[key] for c, o in sides.values()) / n for key in ("flip", "target", "spill")}
        worst = max((o for _, o in sides.values()), key=lambda o: o["max_spill"])
        others = torch.arange(len(ej.names)) != j
        has = attributes[:, k] > 0
        real_spill = ((real[has].mean(0) - real[~has].mean(0)).abs()[others].mean().item()
                      if has.any() and (~has).any() else None)
        out[name] = {**merged, "real_spill": real_spill, "flip_add": sides[+1][1]["flip"] if +1 in sides else None,
                     "flip_remove": sides[-1][1]["flip"] if -1 in sides else None,
                     "max_spill": worst["max_spill"], "max_spill_to": worst["max_spill_to"],
                     "renderable": ej.renderable(name), "recon_auc": ej.recon_auc.get(name), "faces": n}
    return out
