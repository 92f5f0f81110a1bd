"""The β trade-off report, written by ``faceedit-train evaluate MODEL... --report DIR``.

Writes ``DIR/beta-tradeoff.md`` and its images in ``DIR/beta-tradeoff/`` (``--report docs`` gives
the repository's ``docs/beta-tradeoff.md``).  The report quotes the command that regenerates it, the
normalisation (taken from ``faceedit.core.model``'s docstring), a table of the held-out metrics, and per
model a reconstruction grid, traversals of the dimensions with the most KL, slerp interpolations
between real faces and prior samples.  A model trained like the seed (β=4, 5,000 images, 12
epochs) gets a section that sets its numbers against the seed's claims.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid

import faceedit
import faceedit.core.model
from faceedit.core.images import to_pil
from faceedit.core.model import ARCHITECTURES, DEFAULT_NET, ArchConfig
from faceedit.core.latent import sample_prior, slerp, traversal
from faceedit.core.modelfile import atomic_write

from .data import FaceData
from .results import MIG_BOOTSTRAP, SEED_SETUP, TARGETS, Evaluated, format_mig
from .edits import RENDERABLE_AUC
from .metrics import ACTIVE_KL, MIG_BINS

REPORT_NAME = "beta-tradeoff"
SCALE = 2  # 64-px faces are drawn at 128 px, nearest neighbour, so pixels stay crisp
PAD = 4
FACES = 10  # faces in a reconstruction grid
TRAVERSED_DIMS = 8
SIGMAS = (-3, -2, -1, 0, 1, 2, 3)
PAIRS = ((0, 1), (2, 3), (4, 5))
STEPS = 8  # slerp steps per strip, ends included
PRIOR_SAMPLES = 16

# Targets on the test split and the seed's claims live in training/targets.json (data, not code).
TARGET_PSNR = {float(b): v for b, v in TARGETS["psnr"]["by_beta"].items()}
TARGET_RETENTION = {float(b): v for b, v in TARGETS["retention"]["by_beta"].items()}
SEED_RECON, SEED_KLD, SEED_QUALITY = (TARGETS["seed"][k] for k in ("recon", "kld", "quality"))
COMPARISON_FACES = 8  # faces in the every-model reconstruction grid


# -- images ---------------------------------------------------------------------------------------
def _font(size: int = 15) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        return ImageFont.load_default()


def save_grid(path: Path, tiles: torch.Tensor, columns: int, row_labels: list[str] | None = None,
              column_labels: list[str] | None = None, scale: int = SCALE) -> None:
    """N×3×64×64 faces (uint8 or float in [0,1]) → one PNG, row by row, upscaled ×scale, with labels."""
    x = tiles.float() / 255 if tiles.dtype == torch.uint8 else tiles.float()
    x = F.interpolate(x.clamp(0, 1), scale_factor=scale, mode="nearest")
    grid = to_pil(make_grid(x, nrow=columns, padding=PAD, pad_value=1.0))
    font = _font()
    left = 10 + max((int(font.getlength(t)) for t in row_labels), default=-10) if row_labels else 0
    top = 24 if column_labels else 0
    canvas = Image.new("RGB", (grid.width + left, grid.height + top), "white")
    canvas.paste(grid, (left, top))
    draw = ImageDraw.Draw(canvas)
    cell = 64 * scale + PAD
    for i, text in enumerate(row_labels or []):
        draw.text((4, top + PAD + i * cell + cell // 2), text, fill="black", font=font, anchor="lm")
    for j, text in enumerate(column_labels or []):
        draw.text((left + PAD + j * cell + cell // 2, top // 2 + 2), text, fill="black", font=font, anchor="mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: canvas.save(tmp, format="PNG", optimize=True))


def _sigma_label(k: int) -> str:
    return "mean" if k == 0 else f"{k:+d} sd"  # ASCII: Pillow's default font has no σ or minus sign


def model_images(r: Evaluated, images: torch.Tensor, folder: Path, prefix: str) -> dict[str, dict]:
    """Write one model's four figures; returns {kind: {"file": name, "caption": text}}."""
    model, out = r.model, {}
    faces = images[:FACES]
    mu = model.encode(faces)[0]
    save_grid(folder / f"{prefix}-reconstructions.png", torch.cat([faces.float() / 255, model.decode(mu)]), len(faces),
              row_labels=["original", "reconstruction"])
    out["reconstructions"] = (f"The first {len(faces)} faces of the split (top) and their reconstructions "
                              f"decoded from μ (bottom).")

    kl = torch.as_tensor(r.metrics["kl_per_dim"])
    dims = torch.argsort(kl, descending=True)[:TRAVERSED_DIMS].tolist()
    base, mean, std = mu[0], model.mu_mean, model.mu_std
    rows = [model.decode(traversal(base, d, mean[d] + std[d] * torch.tensor(SIGMAS, dtype=torch.float32)))
            for d in dims]
    save_grid(folder / f"{prefix}-traversals.png", torch.cat(rows), len(SIGMAS),
              row_labels=[f"dim {d}: {kl[d]:.2f} nats" for d in dims], column_labels=[_sigma_label(k) for k in SIGMAS])
    out["traversals"] = (f"The {len(dims)} dimensions with the most KL on this split, one per row (most first), "
                         f"starting from the first face's μ with that dimension set to its mean + kσ, k = −3…3 "
                         f"(mean and σ of μ over the training data, from the model file); columns −3 sd … +3 sd.")

    strips = []
    for a, b in PAIRS:
        if b >= len(images):
            break
        ends = images[[a, b]]
        za, zb = model.encode(ends)[0]
        path = torch.stack([slerp(za, zb, t / (STEPS - 1)) for t in range(STEPS)])
        strips.append(torch.cat([ends[:1].float() / 255, model.decode(path), ends[1:].float() / 255]))
    if strips:
        save_grid(folder / f"{prefix}-interpolations.png", torch.cat(strips), STEPS + 2,
                  row_labels=[f"faces {a + 1} to {b + 1}" for a, b in PAIRS[:len(strips)]],
                  column_labels=["photo"] + [f"t={t / (STEPS - 1):.2f}" for t in range(STEPS)] + ["photo"])
        out["interpolations"] = ("Spherical interpolation (slerp) between the μ codes of pairs of faces of the "
                                 f"split, {STEPS} steps; the outer columns are the photos themselves.")

    z = sample_prior(PRIOR_SAMPLES, model.latent_dim, generator=torch.Generator().manual_seed(0), prior=model.prior)
    save_grid(folder / f"{prefix}-prior-samples.png", model.decode(z), PRIOR_SAMPLES // 2)
    which = ("the Gaussian fitted to the training codes after training (the model file's prior)"
             if model.prior.scale_tril is not None else "N(0, I) (this model file has no fitted prior)")
    out["prior-samples"] = f"{PRIOR_SAMPLES} samples from {which}, temperature 1 (seed 0), decoded."
    return {kind: {"file": f"{folder.name}/{prefix}-{kind}.png", "caption": caption} for kind, caption in out.items()}


# -- text -----------------------------------------------------------------------------------------
def normalisation_text() -> str:
    """The normalisation bullets of ``faceedit.core.model``'s docstring, in Markdown."""
    doc = faceedit.core.model.__doc__ or ""
    start = doc.find("Normalisation")
    text = doc[start:] if start >= 0 else doc
    return re.sub(r"``(.+?)``", r"`\1`", text.strip())


def _trained_on(r: Evaluated) -> str:
    t = r.training()
    parts = [f"{t['images']:,} images" if t["images"] else "?", f"{t['epochs']} epochs" if t["epochs"] else ""]
    if t["device"]:
        parts.append(str(t["device"]).split(":")[0].upper())
    return ", ".join(p for p in parts if p)


def _slug(r: Evaluated, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(r.key).stem or r.model.name).strip("-") or "model"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _num(m: dict, key: str, fmt: str) -> str:
    return "–" if m.get(key) is None else format(m[key], fmt)


def table(results: list[Evaluated]) -> list[str]:
    lines = ["| model | β | likelihood (σ) | trained on | SSE ↓ | PSNR dB ↑ | SSIM ↑ | KL nats | active units | "
             "attribute-MIG | retention ↑ | FD recon ↓ | FD samples ↓ |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        m = r.metrics
        sigma = r.model.likelihood.get("sigma")
        lik = r.family + (f" ({sigma:.4f})" if sigma is not None else "")
        lines.append(f"| {r.label} | {r.model.beta:g} | {lik} | {_trained_on(r)} | {m['sse']:.2f} | {m['psnr']:.2f} | "
                     f"{m['ssim']:.4f} | {m['kl']:.2f} | {m['active_units']} / {len(m['kl_per_dim'])} | "
                     f"{format_mig(m)} | {_num(m, 'retention', '.3f')} | {_num(m, 'fd_recon', '.2f')} | "
                     f"{_num(m, 'fd_samples', '.2f')} |")
    return lines


def rate_distortion_plot(path: Path, results: list[Evaluated]) -> bool:
    """KL (rate) against PSNR (distortion), one line per likelihood family; False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        from matplotlib.figure import Figure
    except ImportError:
        return False
    fig = Figure(figsize=(6.4, 4.2), dpi=110)
    ax = fig.add_subplot()
    families: dict[str, list[Evaluated]] = {}
    for r in results:
        if not r.seed_setup:
            families.setdefault(r.family, []).append(r)
    for family, rs in sorted(families.items()):
        rs = sorted(rs, key=lambda r: r.model.beta)
        ax.plot([r.metrics["kl"] for r in rs], [r.metrics["psnr"] for r in rs], marker="o", label=f"{family} likelihood")
        for r in rs:
            ax.annotate(f"β={r.model.beta:g}", (r.metrics["kl"], r.metrics["psnr"]), textcoords="offset points",
                        xytext=(6, -10), fontsize=8)
    ax.set_xscale("log")
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter
    ax.xaxis.set_major_locator(FixedLocator([5, 10, 20, 50, 100, 200, 500, 1000]))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("rate: KL, nats per image (log scale)")
    ax.set_ylabel("distortion: PSNR, dB (higher is better)")
    ax.set_title("Rate–distortion on the held-out split")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return True


def comparison_grid(path: Path, results: list[Evaluated], images: torch.Tensor) -> None:
    """The same test faces reconstructed by every model: one row per model under the originals."""
    faces = images[:COMPARISON_FACES]
    rows = [faces.float() / 255] + [r.model.decode(r.model.encode(faces)[0]) for r in results]
    save_grid(path, torch.cat(rows), len(faces), row_labels=["original"] + [_ascii(r.label) for r in results])


def _ascii(text: str) -> str:
    """Pillow's default font has no β or σ."""
    return text.replace("β", "beta").replace("σ", "sigma").encode("ascii", "replace").decode()


def targets_section(results: list[Evaluated], split: str) -> list[str]:
    bundled = sorted((r for r in results if r.bundled), key=lambda r: r.model.beta)
    if not any(r.model.beta in TARGET_PSNR for r in bundled):
        return []
    yes = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    lines = ["## Targets", "",
             f"The targets of the bundled models ({TARGETS['psnr']['source']}; `training/targets.json`), "
             f"measured here on the {split} split:", "",
             "| target | measured | |", "|---|---|---|"]
    for r in bundled:
        if r.model.beta in TARGET_PSNR:
            goal, psnr = TARGET_PSNR[r.model.beta], r.metrics["psnr"]
            lines.append(f"| PSNR β={r.model.beta:g} ≥ {goal:.1f} dB | {psnr:.2f} dB | {yes(psnr >= goal)} |")
        retention = r.metrics.get("retention")
        if r.model.beta in TARGET_RETENTION and retention is not None:
            goal = TARGET_RETENTION[r.model.beta]
            lines.append(f"| attribute retention β={r.model.beta:g} ≥ {goal:.2f} | {retention:.3f} | "
                         f"{yes(retention >= goal)} |")
    for r in bundled:
        old = next((o for o in results if o.family != r.family and o.model.beta == r.model.beta
                    and not o.seed_setup and o.metrics.get("fd_samples") is not None), None)
        if old is not None and r.metrics.get("fd_samples") is not None:
            a, b = r.metrics["fd_samples"], old.metrics["fd_samples"]
            lines.append(f"| samples' feature distance β={r.model.beta:g} no worse than {old.label} | "
                         f"{a:.2f} vs {b:.2f} | {yes(a <= b)} |")
    if len(bundled) > 1:
        kls = [r.metrics["kl"] for r in bundled]
        falls = all(a > b for a, b in zip(kls, kls[1:]))
        lines.append(f"| KL falls as β rises | {' → '.join(f'{k:.1f}' for k in kls)} nats | {yes(falls)} |")
        migs = [r.metrics.get("mig") for r in bundled]
        if None not in migs:
            rises = migs[-1] > migs[0]
            steady = all(a < b for a, b in zip(migs, migs[1:]))
            sds = [r.metrics.get("mig_sd") or 0.0 for r in (bundled[0], bundled[-1])]
            noise = 2 * math.hypot(*sds)
            notes = [] if steady or not rises else ["not at every step"]
            if rises and noise and migs[-1] - migs[0] < noise:
                notes.append(f"but the rise, {migs[-1] - migs[0]:.4f}, is within bootstrap noise "
                             f"(2 sd of the difference: {noise:.4f})")
            lines.append(f"| attribute-MIG rises from β={bundled[0].model.beta:g} to β={bundled[-1].model.beta:g} | "
                         f"{' → '.join(f'{m:.4f}' for m in migs)} | {yes(rises)}{', ' if notes else ''}"
                         f"{'; '.join(notes)} |")
    return lines + [""]


def _reference(results: list[Evaluated], beta: float) -> Evaluated | None:
    candidates = [r for r in results if r.model.beta == beta and not r.seed_setup]
    return next((r for r in candidates if r.bundled), candidates[0] if candidates else None)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def mean_face_sse(images: torch.Tensor) -> float:
    """Per-image SSE of drawing every face as the split's mean face: the baseline for 'variance explained'."""
    x = images.float() / 255
    return float((x - x.mean(0)).pow(2).flatten(1).sum(1).mean())


QUALITY_READINGS = ("SSIM(β=4) / SSIM(β=1)", "PSNR(β=4) / PSNR(β=1)", "SSE(β=1) / SSE(β=4)",
                    "variance explained, 1 − SSE / SSE of the mean face")


def quality_readings(r: Evaluated, beta1: Evaluated | None, baseline_sse: float) -> list[float | None]:
    """Four readings of "reconstruction quality" for a β=4 model: three relative to β=1, one absolute."""
    m = r.metrics
    ratios = [None, None, None]
    if beta1 is not None:
        b = beta1.metrics
        ratios = [m["ssim"] / b["ssim"], m["psnr"] / b["psnr"], b["sse"] / m["sse"]]
    return ratios + [1 - m["sse"] / baseline_sse]


def _non_default_flags(r: Evaluated) -> str:
    """The training flags a model used that differ from today's defaults (so the quoted command remakes it)."""
    t, default = r.training(), ARCHITECTURES[DEFAULT_NET]
    flags = ""
    if t.get("channels") not in (None, list(default.channels)):
        flags += " --channels " + " ".join(str(c) for c in t["channels"])
    if t.get("refine_channels") not in (None, default.refine_channels):
        flags += f" --refine-channels {t['refine_channels']}"
    kernel = t.get("encoder_kernel", ArchConfig().encoder_kernel)  # older files: the first release's 4×4
    if kernel != default.encoder_kernel:
        flags += f" --encoder-kernel {kernel}"
    return flags + ("" if r.family == "gaussian" else f" --likelihood {r.family}")


def seed_section(results: list[Evaluated], images: torch.Tensor, split: str) -> list[str]:
    seed = next((r for r in results if r.seed_setup), None)
    if seed is None:
        return []
    m = seed.metrics
    t = seed.training()
    beta1, beta4 = _reference(results, 1.0), _reference(results, SEED_SETUP["beta"])
    lines = [
        "## The seed's own setup against its claims", "",
        f"The seed trained β={SEED_SETUP['beta']:g} on {SEED_SETUP['limit']:,} training images for "
        f"{SEED_SETUP['epochs']} epochs and claimed \"recon {SEED_RECON} and KLD {SEED_KLD}\" (normalisation not "
        f"stated) and \"97% reconstruction quality\" at β=4. The row *{seed.label}* above is that setup trained with "
        f"this repository's default recipe on {str(t['device'] or '?').split(':')[0].upper()}:", "",
        "```", f"faceedit-train train --data {t['data']} --beta {seed.model.beta:g} --epochs {t['epochs']} "
               f"--limit {t['limit']}{_non_default_flags(seed)} --out {seed.model.path}", "```", "",
        f"| | seed's claim | measured here ({split} split) |", "|---|---:|---:|",
        f"| recon | {SEED_RECON} | SSE {m['sse']:.2f} per image |",
        f"| KL | {SEED_KLD} | {m['kl']:.2f} nats per image |",
        f"| PSNR / SSIM | – | {m['psnr']:.2f} dB / {m['ssim']:.4f} |", "",
    ]
    off = m["sse"] / SEED_RECON - 1
    unstated = ("The seed does not say how its number is normalised (per image or per batch, sum or mean, "
                "[0,1] or [0,255] pixels, squared error or cross-entropy), so the claim itself cannot be checked")
    if abs(off) <= 0.10:
        lines.append(f"* **recon 120.53**: consistent with this normalisation — the setup gives an SSE of "
                     f"{m['sse']:.2f} per image ({off:+.0%}). {unstated}; the agreement may be a coincidence.")
    else:
        better = ""
        if beta4 is not None:
            tb = beta4.training()
            better = (f"; even {beta4.label}, trained on {tb['images']:,} images for {tb['epochs']} epochs, gives "
                      f"{beta4.metrics['sse']:.2f}")
        lines.append(f"* **recon 120.53**: does not hold under this normalisation — the setup gives an SSE of "
                     f"{m['sse']:.2f} per image ({off:+.0%}){better}. {unstated}.")
    kl_line = (f"* **KLD 289.25**: does not hold under this normalisation, and cannot be checked under the seed's. "
               f"The setup carries {m['kl']:.2f} nats per image; the claim is "
               f"{SEED_KLD / max(m['kl'], 1e-9):.1f}× that")
    if beta1 is not None and beta1.metrics["kl"] < SEED_KLD:
        kl_line += f", and more than even {beta1.label} carries ({beta1.metrics['kl']:.2f} nats)"
    lines.append(kl_line + ". The seed's figure must use another normalisation (for example a sum over a batch, "
                 "or over the pixels of a differently scaled image) that it does not state.")
    baseline = mean_face_sse(images)
    rows = [r for r in (beta4, seed) if r is not None]
    pct = lambda v: "–" if v is None else f"{v:.1%}"  # noqa: E731
    relative, reference = "", ""
    if beta1 is not None:
        relative = f", three of them relative to {beta1.label}"
        reference = f"; {beta1.label}'s reconstructions explain {1 - beta1.metrics['sse'] / baseline:.1%} of that"
    lines += [
        "* **\"97% reconstruction quality\" at β=4**: the seed does not define it, so it cannot be checked as "
        f"stated. Four readings{relative} (drawing every face as the split's mean face gives an SSE of "
        f"{baseline:.2f} per image{reference}):", "",
        "  | | " + " | ".join(QUALITY_READINGS) + " |", "  |---|" + "---:|" * len(QUALITY_READINGS)]
    verdicts = []
    for r in rows:
        values = quality_readings(r, beta1, baseline)
        lines.append(f"  | {r.label} | " + " | ".join(pct(v) for v in values) + " |")
        holds = [name for name, v in zip(QUALITY_READINGS, values) if v is not None and v >= SEED_QUALITY]
        which = ("under every reading" if len(holds) == len(QUALITY_READINGS) else
                 f"only under {_and(holds)}" if holds else "under none of these readings")
        verdicts.append(f"  * {r.label}: ≥ 97% {which}.")
    lines += ["", *verdicts, ""]
    return lines + [""]


EDIT_AMOUNTS = (-2, -1, 0, 1, 2)
EDIT_FACES = 6


def edits_section(folder: Path, results: list[Evaluated], images: torch.Tensor) -> list[str]:
    """Edit precision per model (from evaluate's ``edits``) and a grid of every named edit."""
    judged = [r for r in results if r.metrics.get("edits")]
    if not judged:
        return []
    lines = ["## Edits: does a slider called Young make the face young?", "",
             f"For every named attribute, faces of the split without it get +1 and faces with it get −1, along the "
             f"model's own directions (`training/edits.py`). *flip +1* / *flip −1*: the share the judge then reads "
             f"on the asked side (threshold set on the model's own reconstructions); *target*: the mean change of "
             f"the judge's probability in the asked direction; *spill*: the mean |change| of the other attributes' "
             f"probabilities, and the largest one; *real faces*: for scale, the same mean between the split's real "
             f"faces with and without the attribute; *renderable*: the judge tells the model's reconstructions with "
             f"and without the attribute apart at AUC ≥ {RENDERABLE_AUC}.", ""]
    for r in judged:
        unit = r.model.attribute_unit_flip or 0.8
        scaled = f"scaled so that +1 flips {unit:.0%} of validation faces" if r.model.attributes_scaled else "unscaled"
        lines += [f"### {r.label}", "", f"Directions: {scaled}.{compared_text(r)}", "",
                  "| attribute | direction | flip +1 | flip −1 | target | spill | largest spill | real faces | "
                  "renderable (AUC) |",
                  "|---|---|---:|---:|---:|---:|---|---:|---|"]
        edits = r.metrics["edits"]
        quality = r.model.metadata.get("attribute_quality") or {}
        for name, e in edits.items():
            pct = lambda v: "–" if v is None else f"{v:.0%}"  # noqa: E731
            auc = "–" if e.get("recon_auc") is None else f"{e['recon_auc']:.2f}"
            lines.append(f"| {name.replace('_', ' ')} | {quality.get(name, {}).get('method') or '–'} | "
                         f"{pct(e['flip_add'])} | {pct(e['flip_remove'])} | "
                         f"{e['target']:+.3f} | {e['spill']:.3f} | {e['max_spill']:.3f} → "
                         f"{(e['max_spill_to'] or '–').replace('_', ' ')} | {_num(e, 'real_spill', '.3f')} | "
                         f"{'yes' if e['renderable'] else 'no'} ({auc}) |")
        mean_spill = sum(e["spill"] for e in edits.values()) / len(edits)
        reach = sum((e["flip_add"] or 0) >= 0.8 for e in edits.values())
        real = [e["real_spill"] for e in edits.values() if e.get("real_spill") is not None]
        real_text = f" (real faces: {sum(real) / len(real):.3f})" if real else ""
        lines += ["", f"{reach} of {len(edits)} named attributes flip ≥ 80% at +1; mean spill {mean_spill:.3f}{real_text}; "
                      f"{sum(e['renderable'] for e in edits.values())} renderable.", ""]
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(r.key).stem).strip("-") or "model"
        grid = edit_grid(folder / f"{slug}-edits.png", r, images, list(edits))
        lines += [f"![{r.label}: every named edit]({folder.name}/{grid.name})", "",
                  f"Each row is one attribute; each group of {len(EDIT_AMOUNTS)} columns is one of the first "
                  f"{EDIT_FACES} faces of the split edited by {', '.join(f'{a:+d}' for a in EDIT_AMOUNTS)}.", ""]
    return lines


def compared_text(r: Evaluated) -> str:
    """What calibration measured of each direction method on the validation split (empty for older files)."""
    compared = ((r.model.metadata.get("calibration") or {}).get("directions") or {}).get("compared") or {}
    if not compared:
        return ""
    return (" The candidates on the validation split, for the named attributes (reaching the target flip, "
            "mean spill): " + "; ".join(f"{m} {c['reached']}, {c['mean_spill']:.3f}" for m, c in compared.items())
            + ". *direction* is each attribute's pick: the lowest spill among those that reach it.")


def edit_grid(path: Path, r: Evaluated, images: torch.Tensor, names: list[str]) -> Path:
    model = r.model
    mu = model.encode(images[:EDIT_FACES])[0]
    tiles = []
    for name in names:
        step = model.attributes[name]
        for z in mu:
            tiles.append(model.decode(torch.stack([z + a * step for a in EDIT_AMOUNTS])))
    columns = len(EDIT_AMOUNTS) * len(mu)
    save_grid(path, torch.cat(tiles), columns, row_labels=[n.replace("_", " ") for n in names],
              column_labels=[f"{a:+d}" for _ in mu for a in EDIT_AMOUNTS], scale=1)
    return path


def figures_section(folder: Path, results: list[Evaluated], images: torch.Tensor) -> list[str]:
    comparison_grid(folder / "all-reconstructions.png", results, images)
    lines = [f"**The same {min(COMPARISON_FACES, len(images))} faces, every model.** The first faces of the split "
             f"(top row) and each model's reconstruction from μ, one row per model in the table's order.", "",
             f"![every model's reconstructions]({folder.name}/all-reconstructions.png)", ""]
    if rate_distortion_plot(folder / "rate-distortion.png", results):
        lines += ["**Rate against distortion.** KL (nats per image, log scale) against PSNR, one line per "
                  "likelihood family; β rises to the left along each line.", "",
                  f"![rate-distortion plot]({folder.name}/rate-distortion.png)", ""]
    return lines


def provenance(results: list[Evaluated], data: FaceData) -> list[str]:
    lines = []
    for r in results:
        t = r.training()
        where = f" from `{t['data']}`" if t["data"] else ""
        lines.append(f"* {r.label} — `{r.key}`: β={r.model.beta:g}, trained on {_trained_on(r)}{where}.")
    return lines


def write_report(out_dir: Path, results: list[Evaluated], *, data: FaceData, split: str, images: torch.Tensor,
                 command: str) -> Path:
    """Write ``out_dir/beta-tradeoff.md`` and its images; returns the Markdown file's path."""
    folder = out_dir / REPORT_NAME
    taken: set[str] = set()
    figures = [(r, model_images(r, images, folder, _slug(r, taken))) for r in results]
    attrs = f", {len(data.attribute_names)} attributes" if data.attribute_names else ", no attributes"
    lines = [
        "# β trade-off: reconstruction against disentanglement", "",
        "Generated by `faceedit-train evaluate --report`. To regenerate this file, its images and the metrics "
        "JSON, run from the repository root:", "",
        "```", command, "```", "",
        f"FaceEdit {faceedit.__version__}, {_dt.date.today().isoformat()}; device {results[0].model.device}.", "",
        "## What is measured", "",
        f"Every number is over all {len(images):,} images of the **{split}** split of `{data.root}` "
        f"({data.layout} layout{attrs}), averaged per image.", "",
        normalisation_text(), "",
        "* SSIM: Wang et al. 2004 (11×11 Gaussian window, σ=1.5), averaged over the three channels.",
        f"* Active units: latent dimensions whose KL, averaged over the split, exceeds {ACTIVE_KL} nats.",
        f"* Attribute-MIG: the mutual information gap (Chen et al. 2018) between the μ codes, each dimension "
        f"discretised into {MIG_BINS} equal-width bins, and each binary attribute that varies in the split; averaged "
        f"over the attributes. 0 means no single dimension captures an attribute better than the next one, 1 means "
        f"one dimension captures it completely. The ± is the standard deviation over {MIG_BOOTSTRAP} bootstrap "
        f"resamples of the images: MIG differences smaller than about twice it are noise.",
        "* The attribute judge (`training/judge.py`, `resources/judge/attributes.pt`) is a small CNN trained on the "
        "real training faces to read the 40 CelebA attributes. *Retention* is its mean AUC over the attributes on a "
        "model's reconstructions divided by its mean AUC on the original faces: 1.0 means the reconstructions keep "
        "everything the judge can see. *FD* is the Fréchet distance between the judge's 256-d pooled features of the "
        "real faces of the split and of the reconstructions (*FD recon*) or of 2,000 samples from the model's prior "
        "at temperature 1 (*FD samples*): lower is closer to real faces.", "",
        "The models:", "", *provenance(results, data), "",
        "## Results", "",
        *table(results), "",
        *figures_section(folder, results, images),
        *edits_section(folder, results, images),
        *targets_section(results, split),
        *seed_section(results, images, split),
        "## Images per model", "",
        f"Faces are 64×64, shown ×{SCALE} with nearest-neighbour scaling.", "",
    ]
    for r, figs in figures:
        m = r.metrics
        lines += [f"### {r.label}", "",
                  f"`{r.key}` — PSNR {m['psnr']:.2f} dB, KL {m['kl']:.2f} nats, "
                  f"{m['active_units']} active units.", ""]
        for kind, fig in figs.items():
            title = kind.replace("-", " ").capitalize()
            lines += [f"**{title}.** {fig['caption']}", "", f"![{r.label}: {kind}]({fig['file']})", ""]
    text = "\n".join(lines).rstrip() + "\n"
    path = out_dir / f"{REPORT_NAME}.md"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path
