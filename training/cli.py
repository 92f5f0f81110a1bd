"""``faceedit-train``: train (one model per β), evaluate, and write reports."""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import fields
from pathlib import Path

from faceedit.core.device import choose_device, device_error
from faceedit.core.likelihood import DEFAULT_LIKELIHOOD, LIKELIHOODS
from faceedit.core.model import ARCHITECTURES, DEFAULT_NET, valid_encoder_kernel
from faceedit.core.modelfile import ModelFileError, load_network

from . import distributed
from .data import DataError, load_faces
from .edits import TARGET_FLIP
from .judge import JudgeError
from .loop import Trainer, TrainConfig, TrainingDeviceError, TrainingDiverged, TrainingStopped


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train one model per β and write model files",
                       description="Train β-VAE model files. Loss per image, in nats: the decoder's negative "
                                   "log-likelihood over the 3×64×64 values in [0,1] (see --likelihood) + β·KL "
                                   "(summed over dimensions), averaged over the batch.")
    p.add_argument("--data", help="CelebA folder (img/ or img_align_celeba/ + list files) or any folder of face images")
    p.add_argument("--beta", type=float, nargs="+", default=[4.0], help="one or more β values (one model each)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--out", help="model file (one β) or folder (several β)")
    p.add_argument("--limit", type=int, help="use at most N training images")
    p.add_argument("--device", help="auto (default), mps, cuda or cpu")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this run folder")
    p.add_argument("--run-dir", help="run folder (default: beside the model file, '<name>.run')")
    p.add_argument("--force", action="store_true", help="start over in a run folder that already holds a run")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-schedule", choices=["cosine", "constant"], default="cosine")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--objective", choices=["beta", "capacity"], default="beta",
                   help="beta: recon + β·KL; capacity: recon + γ·|KL − C| (Burgess et al. 2018)")
    p.add_argument("--likelihood", choices=sorted(LIKELIHOODS), default=DEFAULT_LIKELIHOOD,
                   help="the reconstruction term: gaussian (calibrated shared σ, nats; default) or sse "
                        "(sum of squared error, the first release's objective)")
    p.add_argument("--gamma", type=float, default=1000.0, help="γ of the capacity objective")
    p.add_argument("--c-max", type=float, default=25.0, help="final capacity C in nats (capacity objective)")
    p.add_argument("--kl-warmup", type=float, default=0.0, metavar="EPOCHS", help="ramp β up over this many epochs")
    p.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    p.add_argument("--net", choices=sorted(ARCHITECTURES), default=DEFAULT_NET,
                   help="architecture: 'fast' (the default: about 2.7× the standard net's images/s on a CPU and a better "
                        "test PSNR at equal training time; docs/performance.md) or 'standard' (the first release's; "
                        "the bundled models are it with --refine-channels 0); the three flags below change one part of it")
    p.add_argument("--channels", type=int, nargs="+", help="encoder channels per stride-2 layer")
    p.add_argument("--refine-channels", type=int, help="width of the final 64×64 refinement conv (0: none)")
    p.add_argument("--encoder-kernel", type=int, help="3 or 4: the encoder convs' kernel size")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the network (needs a C++ compiler on the CPU; docs/performance.md measures it); "
                        "also with --resume")
    p.add_argument("--cache-dir", help="where the decoded uint8 image cache goes")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--no-calibrate", action="store_true",
                   help="skip choosing the prior and scaling the attribute directions with the judge at the end")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="held-out metrics, and optionally a Markdown report with images")
    p.add_argument("models", nargs="+", metavar="MODEL", help="model files or bundled model names")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--json", help="write the metrics here as JSON")
    p.add_argument("--report", metavar="DIR", help="write DIR/beta-tradeoff.md and its images in DIR/beta-tradeoff/")
    p.add_argument("--label", nargs="+", help="names for the models in the table and report, in order")
    p.add_argument("--store", action="store_true", help="also store the metrics in each model file's metadata")
    p.add_argument("--judge", metavar="FILE", help="attribute judge file (default: the bundled one)")
    p.add_argument("--no-judge", action="store_true", help="skip the judge's columns (retention, feature distances)")
    p.add_argument("--device", help="auto (default), mps, cuda or cpu")
    p.add_argument("--cache-dir")
    p.add_argument("--seed", type=int, default=0, help="seed for the split of a plain folder")


def _add_calibrate(sub) -> None:
    p = sub.add_parser("calibrate", help="choose the prior and scale the attribute directions of model files, by measurement",
                       description="Fit the prior for random faces and choose, scale and judge the attribute directions "
                                   f"(+1 flips the attribute judge for {TARGET_FLIP:.0%} of validation faces without the "
                                   "attribute); "
                                   "stores the result in each model file.")
    p.add_argument("models", nargs="+", metavar="MODEL", help="model files")
    p.add_argument("--data", required=True, help="the data the models were trained on")
    p.add_argument("--judge", metavar="FILE", help="attribute judge file (default: the bundled one)")
    p.add_argument("--device", help="auto (default), mps, cuda or cpu")
    p.add_argument("--cache-dir")
    p.add_argument("--seed", type=int, default=0, help="seed for the split of a plain folder")


def cmd_calibrate(args) -> int:
    from .calibrate import calibrate_file
    from .judge import load_judge
    device = choose_device(args.device)
    judge = load_judge(args.judge)
    for path in args.models:
        load_network(path)  # a bad file fails before the data is read
    data = load_faces(args.data, seed=args.seed, cache_dir=args.cache_dir, progress=sys.stderr.isatty())
    for path in args.models:
        print(f"calibrating {path}…", file=sys.stderr)
        updates = calibrate_file(path, data, judge, device, progress=lambda m: print(m, file=sys.stderr))
        chosen = updates["calibration"]
        print(f"{path}: prior {chosen['prior']['chosen']}"
              + (f", directions {chosen['directions']['chosen']}" if "directions" in chosen else ""))
    return 0


def _add_judge(sub) -> None:
    p = sub.add_parser("judge", help="train the attribute judge that evaluate uses to measure models",
                       description="Train the attribute judge (a small CNN reading the 40 CelebA attributes) on the "
                                   "training split's real faces, and report its AUC per attribute on the test split.")
    p.add_argument("--data", required=True, help="CelebA folder with list_attr_celeba.txt")
    p.add_argument("--out", help="judge file (default: the bundled resources/judge/attributes.pt)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir")


def cmd_judge(args) -> int:
    from .judge import auc_per_attribute, judge_path, save_judge, train_judge
    if args.epochs < 1:
        raise ValueError("--epochs must be at least 1")
    data = load_faces(args.data, seed=args.seed, cache_dir=args.cache_dir, progress=sys.stderr.isatty())
    if data.attributes is None:
        raise DataError(f"{args.data}: no list_attr_celeba.txt, so there is nothing to teach the judge")
    train, test = data.indices("train"), data.indices("test")
    judge = train_judge(data.images[train], data.attributes[train], data.attribute_names, epochs=args.epochs,
                        seed=args.seed)
    judge.test_auc = auc_per_attribute(judge.probabilities(data.images[test]), data.attributes[test],
                                       data.attribute_names)
    for name, value in sorted(judge.test_auc.items(), key=lambda kv: kv[1]):
        print(f"{name:22s} AUC {value:.3f}")
    mean = sum(judge.test_auc.values()) / len(judge.test_auc)
    print(f"mean AUC on {len(test)} test faces: {mean:.3f}")
    out = Path(args.out) if args.out else judge_path()
    save_judge(out, judge, {"data": data.root, "epochs": args.epochs, "seed": args.seed, "train_images": len(train),
                            "test_images": len(test), "mean_test_auc": mean})
    print(f"wrote {out}")
    return 0


def _train_config(args, beta: float) -> TrainConfig:
    cfg = TrainConfig(beta=beta, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      lr_schedule=args.lr_schedule, seed=args.seed, objective=args.objective,
                      likelihood=args.likelihood, gamma=args.gamma,
                      c_max=args.c_max, kl_warmup_epochs=args.kl_warmup, flip=not args.no_flip, limit=args.limit,
                      calibrate=not args.no_calibrate, compile=args.compile)
    cfg.set_arch(ARCHITECTURES[args.net])
    if args.channels:
        cfg.channels = list(args.channels)
    if args.refine_channels is not None:
        cfg.refine_channels = args.refine_channels
    if args.encoder_kernel is not None:
        cfg.encoder_kernel = args.encoder_kernel
    return cfg


MAX_SEED = 2**32 - 1
MAX_CHANNELS = 4096
MAX_LAYERS = 6  # 64 px halves to 1 px


def check_config(cfg: TrainConfig) -> None:
    """Refuse settings that would crash later or quietly train something else (ValueError, one line)."""
    def number(value, name, low, high=math.inf, whole=False, low_open=False):
        kind = int if whole else (int, float)
        ok = isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value) \
            and (value > low if low_open else value >= low) and value <= high
        if not ok:
            bound = f"> {low:g}" if low_open else f"≥ {low:g}"
            limit = f" and ≤ {high:g}" if high != math.inf else ""
            raise ValueError(f"{name} must be a {'whole ' if whole else ''}number {bound}{limit}, got {value!r}")

    number(cfg.beta, "--beta", 0)
    number(cfg.epochs, "--epochs", 1, whole=True)
    number(cfg.batch_size, "--batch-size", 1, whole=True)
    number(cfg.lr, "--lr", 0, 10, low_open=True)
    number(cfg.seed, "--seed", 0, MAX_SEED, whole=True)
    number(cfg.gamma, "--gamma", 0)
    number(cfg.c_max, "--c-max", 0)
    number(cfg.kl_warmup_epochs, "--kl-warmup", 0)
    if cfg.limit is not None:
        number(cfg.limit, "--limit", 1, whole=True)
    if not isinstance(cfg.channels, list) or not 1 <= len(cfg.channels) <= MAX_LAYERS:
        raise ValueError(f"--channels takes 1 to {MAX_LAYERS} widths, got {cfg.channels!r}")
    for c in cfg.channels:
        number(c, "each of --channels", 1, MAX_CHANNELS, whole=True)
    number(cfg.refine_channels, "--refine-channels", 0, MAX_CHANNELS, whole=True)
    if not valid_encoder_kernel(cfg.encoder_kernel):
        raise ValueError(f"--encoder-kernel must be 3 or 4, got {cfg.encoder_kernel!r}")
    if not isinstance(cfg.compile, bool):
        raise ValueError(f"compile must be true or false, got {cfg.compile!r}")
    if cfg.objective not in ("beta", "capacity") or cfg.likelihood not in LIKELIHOODS \
            or cfg.lr_schedule not in ("cosine", "constant"):
        raise ValueError(f"unknown objective, likelihood or schedule ({cfg.objective!r}, {cfg.likelihood!r}, {cfg.lr_schedule!r})")


def _check_outputs(out: Path, betas: list[float], force: bool) -> list[Path]:
    """The model file for each β, checked before any data is read or any epoch is trained."""
    if len(set(betas)) != len(betas):
        raise ValueError(f"--beta lists a value twice ({' '.join(f'{b:g}' for b in betas)})")
    if len(betas) > 1:
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out} is a file; several β values need a folder")
        paths = [out / f"beta{beta:g}.pt" for beta in betas]
    else:
        if out.is_dir():
            raise ValueError(f"--out {out} is a folder; for one β give a model file name such as {out / f'beta{betas[0]:g}.pt'}")
        paths = [out]
    for path in paths:
        if path.is_dir():
            raise ValueError(f"{path} is a folder; it cannot be replaced by a model file")
        if path.exists() and not force:
            raise ValueError(f"{path} already exists; pass --force to replace it")
    return paths


def _remove_orphans(run_dir: Path) -> None:
    """Temporary files of a write that was killed (SIGKILL, power cut) in this run folder."""
    for pattern in (".checkpoint.pt.*.tmp", ".metrics.jsonl.*.tmp", ".config.json.*.tmp"):
        for tmp in run_dir.glob(pattern):
            tmp.unlink(missing_ok=True)


def _read_run(run_dir: Path) -> tuple[TrainConfig, str, Path]:
    """The config, data folder and model file of a run folder, or one line on what is wrong with it."""
    path = run_dir / "config.json"
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: no such run folder")
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{run_dir} is not a faceedit-train run folder (it has no config.json)") from None
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise ValueError(f"{path}: not a faceedit-train run config (not valid JSON)") from None
    names = {f.name for f in fields(TrainConfig)}
    try:
        train, root, out = saved["train"], saved["data"]["root"], saved["out"]
        if not (isinstance(root, str) and isinstance(out, str) and out):
            raise TypeError("data root or out is not a path")
        cfg = TrainConfig(**{k: v for k, v in train.items() if k in names})
        check_config(cfg)
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise ValueError(f"{path}: not a faceedit-train run config ({str(e).splitlines()[0][:120]})") from None
    return cfg, root, Path(out)


def _claim_run_dir(run_dir: Path, force: bool, remove: bool = True) -> list[Path]:
    """A new run never mixes its metrics or checkpoint with an earlier run's."""
    old = [run_dir / n for n in ("checkpoint.pt", "metrics.jsonl") if (run_dir / n).exists()]
    if old and not force:
        raise ValueError(f"{run_dir} already holds a run; continue it with --resume {run_dir}, "
                         f"or pass --force to start over")
    if remove:
        for f in old:
            f.unlink()
    return old


def _load_shared(dist: distributed.Dist, root, **kw):
    """The data, its cache built once per node (local rank 0) while the other ranks wait."""
    if not dist.active or not kw.get("use_cache", True):
        return load_faces(root, **kw)
    data = load_faces(root, **kw) if dist.local_rank == 0 else None
    dist.barrier()
    if data is None:
        data = load_faces(root, **{**kw, "progress": False}, build=False)
    return data


def cmd_train(args) -> int:
    device = choose_device(args.device)
    dist, device = distributed.init(device)
    try:
        return _train(args, device, dist)
    except RuntimeError as e:
        if dist.active and device_error(e) is None:
            raise distributed.lost_contact(dist, e) from None
        raise
    finally:
        dist.close()


def _train(args, device, dist: distributed.Dist) -> int:
    def say(line: str, **kw) -> None:
        if dist.is_main:
            print(line, **kw)

    if args.resume:
        run_dir = Path(args.resume)
        cfg, root, out = _read_run(run_dir)
        cfg.compile = cfg.compile or args.compile  # how it runs, not what it trains: may be switched on to resume
        if not (run_dir / "checkpoint.pt").is_file():
            raise ValueError(f"{run_dir} has no checkpoint.pt to resume from; start again with --force")
        distributed.per_rank_batch(cfg.batch_size, dist.world_size)
        if dist.is_main:
            _remove_orphans(run_dir)
        data = _load_shared(dist, root, seed=cfg.seed, cache_dir=args.cache_dir,
                            use_cache=not args.no_cache, progress=not args.quiet)
        trainer = Trainer(data, cfg, out, run_dir, device, progress=not args.quiet, dist=dist)
        trainer.load_checkpoint()
        say(f"resuming {run_dir} at epoch {trainer.epoch + 1}, step {trainer.step}"
            + (f" on {dist.world_size} processes" if dist.active else ""), file=sys.stderr)
        path = trainer.run()
        say(f"wrote {path}")
        return 0
    if not args.data or not args.out:
        print("faceedit-train train: --data and --out are required (or --resume RUN)", file=sys.stderr)
        return 2
    for beta in args.beta:
        check_config(_train_config(args, beta))
    distributed.per_rank_batch(args.batch_size, dist.world_size)
    out = Path(args.out)
    several = len(args.beta) > 1
    paths = _check_outputs(out, args.beta, args.force)
    run_dirs = [Path(args.run_dir) / f"beta{beta:g}" if args.run_dir and several else
                Path(args.run_dir) if args.run_dir else path.with_name(path.stem + ".run")
                for beta, path in zip(args.beta, paths)]
    for run_dir in run_dirs:  # every run folder is checked before the first β trains
        _claim_run_dir(run_dir, args.force, remove=not dist.active)
    if dist.active:  # every rank has checked before rank 0 removes anything
        dist.barrier()
        if dist.is_main:
            for run_dir in run_dirs:
                _claim_run_dir(run_dir, True)
    data = _load_shared(dist, args.data, seed=args.seed, cache_dir=args.cache_dir, use_cache=not args.no_cache,
                        progress=not args.quiet)
    s = data.summary()
    say(f"data: {s['images']} images ({s['layout']} layout; train {s['splits']['train']}, "
          f"val {s['splits']['val']}, test {s['splits']['test']}); skipped {s['skipped_corrupt']} unreadable",
          file=sys.stderr)
    for beta, path, run_dir in zip(args.beta, paths, run_dirs):
        if dist.is_main:
            _remove_orphans(run_dir)
        trainer = Trainer(data, _train_config(args, beta), path, run_dir, device, progress=not args.quiet, dist=dist)
        where = f"{dist.world_size} processes ({device.type})" if dist.active else str(device)
        say(f"training β={beta:g} on {where} → {path} (run folder {run_dir})", file=sys.stderr)
        trainer.run()  # other ranks return at once; with several β they wait for rank 0 at the next one's start
        say(f"wrote {path}")
    return 0


def cmd_evaluate(args) -> int:
    from .evaluate import evaluate_models
    return evaluate_models(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faceedit-train", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_evaluate(sub)
    _add_judge(sub)
    _add_calibrate(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"train": cmd_train, "evaluate": cmd_evaluate, "judge": cmd_judge, "calibrate": cmd_calibrate}
    try:
        return commands[args.command](args)
    except TrainingStopped as e:
        print(f"faceedit-train: {e}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("faceedit-train: interrupted", file=sys.stderr)
        return 130
    except TrainingDiverged as e:
        print(f"faceedit-train: {e}", file=sys.stderr)
        return 3
    except distributed.DistributedError as e:
        print(f"faceedit-train: {e}", file=sys.stderr)
        return 5
    except TrainingDeviceError as e:
        print(f"faceedit-train: {e}", file=sys.stderr)
        return 4
    except (DataError, ModelFileError, JudgeError, ValueError, FileNotFoundError) as e:
        print(f"faceedit-train: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"faceedit-train: {e.strerror or e}: {e.filename or ''}", file=sys.stderr)
        return 1
    except (TypeError, RuntimeError, NotImplementedError) as e:  # the device failed outside the training loop
        line = device_error(e)
        if line is None:
            raise
        print(f"faceedit-train: {line}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
