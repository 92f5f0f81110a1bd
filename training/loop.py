"""The training loop: epochs over a uint8 cache, validation, atomic checkpoints, exact resume.

A run folder holds ``config.json`` (the full config, seed, versions, device), ``metrics.jsonl``
(one line per epoch), ``checkpoint.pt`` (written atomically at every epoch end and on Ctrl-C) and,
when the run ends, the model file at ``out``.
"""
from __future__ import annotations

import json
import math
import pickle
import platform
import signal
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

import faceedit
from faceedit.core.device import _mps_available, device_error
from faceedit.core.likelihood import DEFAULT_LIKELIHOOD, make_likelihood
from faceedit.core.model import ArchConfig, BetaVAE, Objective, loss_terms
from faceedit.core.modelfile import atomic_write, save_model_file
from faceedit.core.prior import fit_gaussian

from .data import FaceData
from .distributed import SINGLE, Dist, lost_contact, per_rank_batch
from .directions import attribute_directions
from .metrics import encode_all, evaluate_split, reconstruction_metrics

CELEBA_LICENCE = ("Trained on CelebA (Liu et al., ICCV 2015), which is for non-commercial research "
                  "purposes only; these weights inherit that condition.")


class TrainingStopped(Exception):
    """Ctrl-C: a resumable checkpoint was saved."""


class TrainingDiverged(Exception):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingDeviceError(Exception):
    """The compute device failed (out of memory, an operation MPS lacks); the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    beta: float = 4.0
    epochs: int = 12
    batch_size: int = 64
    lr: float = 1e-3
    lr_schedule: str = "cosine"  # "cosine" (to 2% of lr) or "constant"
    seed: int = 0
    objective: str = "beta"  # "beta" or "capacity"
    likelihood: str = DEFAULT_LIKELIHOOD  # "gaussian" (calibrated σ) or "sse" (see faceedit.core.likelihood)
    gamma: float = 1000.0
    c_max: float = 25.0
    kl_warmup_epochs: float = 0.0
    flip: bool = True  # random horizontal flips
    limit: int | None = None
    gallery_size: int = 64
    calibrate: bool = True  # choose the prior and scale the directions with the attribute judge (training.calibrate)
    # the network: the standard net's defaults, which an older run folder's config.json assumes for a missing
    # field; the CLI's --net sets all four (faceedit.core.model.ARCHITECTURES)
    latent_dim: int = 128
    channels: list[int] = field(default_factory=lambda: list(ArchConfig().channels))
    refine_channels: int = ArchConfig().refine_channels
    encoder_kernel: int = ArchConfig().encoder_kernel
    compile: bool = False  # torch.compile the network (a run folder's older config.json lacks it: eager)

    def arch(self) -> ArchConfig:
        return ArchConfig(latent_dim=self.latent_dim, channels=tuple(self.channels),
                          refine_channels=self.refine_channels, encoder_kernel=self.encoder_kernel)

    def set_arch(self, arch: ArchConfig) -> None:
        self.latent_dim, self.channels = arch.latent_dim, list(arch.channels)
        self.refine_channels, self.encoder_kernel = arch.refine_channels, arch.encoder_kernel

    def objective_for(self, steps_per_epoch: int) -> Objective:
        return Objective(kind=self.objective, beta=self.beta, gamma=self.gamma, c_max=self.c_max,
                         c_steps=self.epochs * steps_per_epoch,
                         kl_warmup_steps=int(self.kl_warmup_epochs * steps_per_epoch))


def _memory_format(device: torch.device) -> torch.memory_format:
    """channels_last trains the default net about 1.2× faster on this CPU (benchmarks/train_throughput.py);
    MPS keeps the default layout, which is the one its kernels are tested with."""
    return torch.channels_last if device.type in ("cpu", "cuda") else torch.contiguous_format


def compiled(net: torch.nn.Module) -> torch.nn.Module:
    """``torch.compile`` of the network.  Where tracing or compiling the forward pass fails (an unsupported
    device, no C++ compiler) torch runs that part as it is, with a warning, instead of stopping the run."""
    import torch._dynamo
    torch._dynamo.config.suppress_errors = True
    return torch.compile(net)


def make_optimizer(parameters, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam, fused into one kernel on the CPU (torch ≥ 2.4) and CUDA (benchmarks/train_throughput.py
    --candidates times it); elsewhere, or on an older torch, the default implementation."""
    parameters = list(parameters)
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(parameters, lr=lr, fused=True)
        except RuntimeError:  # this torch has no fused Adam for the device
            pass
    return torch.optim.Adam(parameters, lr=lr)


def rng_backends(cuda=torch.cuda, mps=torch.mps, mps_available=_mps_available) -> dict:
    """``{checkpoint key: (get_state, set_state)}`` for every accelerator present.  The reparameterisation noise
    comes from the device's own generator, so an exact resume needs its state (CUDA: every GPU; MPS: its one)."""
    backends = {}
    if cuda.is_available():
        backends["cuda_rng"] = (cuda.get_rng_state_all,
                                lambda states: cuda.set_rng_state_all(list(states)[:cuda.device_count()]))
    if mps_available():
        backends["mps_rng"] = (mps.get_rng_state, mps.set_rng_state)
    return backends


def _versions() -> dict:
    return {"faceedit": faceedit.__version__, "torch": str(torch.__version__), "python": platform.python_version(),
            "platform": platform.platform()}


class _CtrlC:
    """First Ctrl-C asks the loop to stop at the next step boundary; a second one aborts at once."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            self._old = None
        return self

    def _handle(self, *_):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


class Trainer:
    def __init__(self, data: FaceData, cfg: TrainConfig, out: Path, run_dir: Path,
                 device: torch.device, progress: bool = True, dist: Dist = SINGLE):
        self.data, self.cfg, self.out, self.run_dir = data, cfg, Path(out), Path(run_dir)
        self.dist = dist
        self.device, self.progress = device, progress and dist.is_main
        self.rank_batch = per_rank_batch(cfg.batch_size, dist.world_size)
        train_idx = data.indices("train")
        if cfg.limit:
            train_idx = train_idx[torch.randperm(len(train_idx), generator=torch.Generator().manual_seed(cfg.seed))[:cfg.limit]]
            train_idx = train_idx.sort().values
        if len(train_idx) < cfg.batch_size:
            raise ValueError(f"only {len(train_idx)} training images; need at least one batch of {cfg.batch_size}")
        self.train_idx = train_idx
        # batches are gathered from the (memory-mapped) cache; only an accelerator gets a copy of the whole set
        self.train_images = data.images[train_idx].to(device) if device.type != "cpu" else None
        val_idx = data.indices("val")
        self.val_images = data.images[val_idx] if len(val_idx) else data.images[train_idx[:256]]
        self.steps_per_epoch = len(train_idx) // cfg.batch_size
        torch.manual_seed(cfg.seed)
        self.model = BetaVAE(cfg.arch()).to(device, memory_format=_memory_format(device))
        self.net = self.model  # what the loss calls: the model, or its DDP wrapper
        if dist.active:
            from torch.nn.parallel import DistributedDataParallel
            self.net = DistributedDataParallel(self.model, device_ids=[device.index] if device.type == "cuda" else None)
        if cfg.compile:
            self.net = compiled(self.net)
        self.objective = cfg.objective_for(self.steps_per_epoch)
        self.likelihood = make_likelihood(cfg.likelihood)
        self.opt = make_optimizer(self.model.parameters(), cfg.lr, device)
        total = cfg.epochs * self.steps_per_epoch
        if cfg.lr_schedule == "cosine":
            fn = lambda s: 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))  # noqa: E731
        else:
            fn = lambda s: 1.0  # noqa: E731
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, fn)
        self.epoch = self.batch = self.step = 0
        self.epoch_sums: dict | None = None  # the current epoch's loss sums so far (kept in the checkpoint)

    # -- checkpoints -------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def save_checkpoint(self) -> None:
        if not self.dist.is_main:
            return
        state = {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "sched": self.sched.state_dict(),
                 "epoch": self.epoch, "batch": self.batch, "step": self.step,
                 "rng": torch.get_rng_state(), "config": asdict(self.cfg), "likelihood": self.likelihood.to_dict(),
                 "epoch_sums": self.epoch_sums}
        state.update({key: get() for key, (get, _) in rng_backends().items()})
        atomic_write(self.checkpoint_path, lambda tmp: torch.save(state, tmp))

    def load_checkpoint(self) -> None:
        """Restore a checkpoint; a truncated, pickled or foreign file is a ValueError naming it."""
        path = self.checkpoint_path
        try:
            with warnings.catch_warnings():  # torch warns about odd pickles before refusing them
                warnings.simplefilter("ignore")
                # CPU first: Adam moves its moments to the device but its step counts stay on the CPU (pytorch#74424)
                state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as e:  # noqa: BLE001 - torch raises many kinds for bytes that are not a checkpoint
            kind = "refused: it holds objects other than tensors and plain data" if isinstance(e, pickle.UnpicklingError) \
                else "not a readable checkpoint (truncated or another format)"
            raise ValueError(f"{path}: {kind}; start again with --force") from None
        try:
            self.model.load_state_dict(state["model"])
            self.opt.load_state_dict(state["opt"])
            self.sched.load_state_dict(state["sched"])
            self.epoch, self.batch, self.step = (int(state[k]) for k in ("epoch", "batch", "step"))
            torch.set_rng_state(state["rng"].cpu())
            if "likelihood" in state:
                self.likelihood = make_likelihood(state["likelihood"])
            if not (0 <= self.epoch <= self.cfg.epochs and 0 <= self.batch <= self.steps_per_epoch):
                raise ValueError(f"epoch {self.epoch}, batch {self.batch} is outside this run")
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as e:
            raise ValueError(f"{path}: not a checkpoint of this run ({str(e).splitlines()[0][:120]}); "
                             f"start again with --force") from None
        sums = state.get("epoch_sums")
        self.epoch_sums = dict(sums) if isinstance(sums, dict) and self.batch else None
        if self.dist.is_main:
            self._drop_metrics_after(self.epoch)
        for key, (_, put) in rng_backends().items():
            if key in state:
                saved = state[key]  # CUDA: a list per GPU (one tensor in checkpoints before MPS was saved)
                put([saved] if key == "cuda_rng" and isinstance(saved, torch.Tensor) else saved)

    def _drop_metrics_after(self, epoch: int) -> None:
        """A run killed between an epoch's metrics line and its checkpoint must not log that epoch twice."""
        path = self.run_dir / "metrics.jsonl"
        if path.exists():
            lines = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["epoch"] <= epoch]
            atomic_write(path, lambda tmp: Path(tmp).write_text("".join(ln + "\n" for ln in lines)))

    def write_config(self) -> None:
        if not self.dist.is_main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        cfg = {"train": asdict(self.cfg), "out": str(self.out), "device": str(self.device),
               "versions": _versions(), "data": self.data.summary(), "objective": self.objective.to_dict(),
               "world_size": self.dist.world_size}
        atomic_write(self.run_dir / "config.json", lambda tmp: Path(tmp).write_text(json.dumps(cfg, indent=2)))

    # -- the loop --------------------------------------------------------------------------
    def _batch(self, perm: torch.Tensor, b: int) -> torch.Tensor:
        idx = perm[b * self.cfg.batch_size:(b + 1) * self.cfg.batch_size]
        if self.dist.active:  # this rank's share of the global batch
            idx = idx[self.dist.rank * self.rank_batch:(self.dist.rank + 1) * self.rank_batch]
        if self.train_images is None:
            x = self.data.images[self.train_idx[idx]]
        else:
            x = self.train_images[idx.to(self.device)]
        x = (x.float() / 255).contiguous(memory_format=_memory_format(self.device))
        if self.cfg.flip:
            flip = (torch.rand(len(x)) < 0.5).to(self.device)
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x

    def run(self) -> Path:
        """Train to the end (or to Ctrl-C) and write the model file; returns its path."""
        self.write_config()
        total = self.cfg.epochs * self.steps_per_epoch
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=total, initial=self.step, unit="step", dynamic_ncols=True,
                       desc=f"β={self.cfg.beta:g}")
        self.model.train()
        try:
            with _CtrlC() as ctrl_c:
                while self.epoch < self.cfg.epochs:
                    self._run_epoch(ctrl_c, bar)
            return self.finish()
        except (TypeError, RuntimeError, NotImplementedError) as e:
            line = device_error(e)
            if line is None:
                raise
            kept = f"the last good checkpoint is kept at {self.checkpoint_path}" if self.checkpoint_path.exists() \
                else "no checkpoint was written yet"
            raise TrainingDeviceError(f"{line}. Training stopped at epoch {self.epoch + 1}, step {self.step}; {kept}. "
                                      f"Continue with: faceedit-train train --resume {self.run_dir} --device cpu") from None
        finally:
            if bar is not None:
                bar.close()

    def _run_epoch(self, ctrl_c: _CtrlC, bar) -> None:
        cfg = self.cfg
        perm = torch.randperm(len(self.train_idx), generator=torch.Generator().manual_seed(cfg.seed * 100_003 + self.epoch))
        if self.epoch_sums is None:  # a new epoch; a resumed one goes on from the checkpoint's sums
            self.epoch_sums = {"loss": 0.0, "recon": 0.0, "sse": 0.0, "kl": 0.0, "count": 0}
        sums = self.epoch_sums
        if self.dist.active and not self.dist.is_main:
            # every rank draws its own noise and flips; rank 0's stream is the one checkpointed
            torch.manual_seed((cfg.seed * 100_003 + self.epoch) * 1_009 + self.dist.rank)
        count, t0 = 0, time.perf_counter()
        while self.batch < self.steps_per_epoch:
            x = self._batch(perm, self.batch)
            terms = loss_terms(self.net, x, self.likelihood, update=True)
            loss = self.objective(terms["recon"], terms["kl"], self.step)
            if self.dist.active:
                values = self._all_ranks(loss, terms, ctrl_c)
            else:
                values = dict(zip(("loss", "recon", "sse", "kl"), torch.stack([loss, terms["recon"], terms["sse"], terms["kl"]]).tolist()))  # one sync
            if not math.isfinite(values["loss"]):
                raise TrainingDiverged(
                    f"the loss became {values['loss']} at epoch {self.epoch + 1}, step {self.step}; training stopped. "
                    f"The last good checkpoint is kept at {self.checkpoint_path}"
                    f"{'' if self.checkpoint_path.exists() else ' (none was written yet)'}."
                    f"{' Try a lower --lr.' if self.step else ' No update had been made yet, so the data or the objective is at fault, not --lr.'}")
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.sched.step()
            self.step += 1
            self.batch += 1
            count += 1
            for k in ("loss", "recon", "sse", "kl"):
                sums[k] += values[k]
            sums["count"] += 1
            if bar is not None:
                rate = count * cfg.batch_size / (time.perf_counter() - t0)
                bar.set_postfix(epoch=f"{self.epoch + 1}/{cfg.epochs}", loss=f"{values['loss']:.1f}",
                                sse=f"{values['sse']:.1f}", kl=f"{values['kl']:.1f}",
                                img_s=f"{rate:.0f}", refresh=False)
                bar.update(1)
            if ctrl_c.requested or values.get("stop"):
                self.save_checkpoint()
                raise TrainingStopped(
                    f"stopped at epoch {self.epoch + 1}, step {self.step}; checkpoint saved. "
                    f"Continue with: faceedit-train train --resume {self.run_dir}")
        seconds = time.perf_counter() - t0
        if not self.dist.is_main:  # rank 0 validates, logs and checkpoints
            self.epoch, self.batch, self.epoch_sums = self.epoch + 1, 0, None
            return
        val = reconstruction_metrics(self.model, self.val_images)
        self.model.train()
        record = {"epoch": self.epoch + 1, "step": self.step, "lr": self.sched.get_last_lr()[0],
                  **{f"train_{k}": v / max(1, sums["count"]) for k, v in sums.items() if k != "count"},
                  "sigma": getattr(self.likelihood, "sigma", None),
                  "val_recon": val["sse"], "val_kl": val["kl"], "val_psnr": val["psnr"], "val_ssim": val["ssim"],
                  "val_active_units": val["active_units"], "seconds": seconds,
                  "images_per_s": count * cfg.batch_size / max(seconds, 1e-9)}
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if bar is not None:
            bar.write(f"epoch {record['epoch']}: train nll {record['train_recon']:.1f} SSE {record['train_sse']:.1f} "
                      f"KL {record['train_kl']:.1f} σ {self.likelihood.sigma:.4f} | "
                      f"val recon {val['sse']:.1f} KL {val['kl']:.1f} PSNR {val['psnr']:.2f} dB")
        self.epoch += 1
        self.batch = 0
        self.epoch_sums = None
        self.save_checkpoint()

    def _all_ranks(self, loss, terms, ctrl_c: _CtrlC) -> dict:
        """One all-reduce per step: the global batch's mean loss terms, the shared running σ, and whether any
        rank was asked to stop (so that every rank stops at the same step)."""
        sigma = getattr(self.likelihood, "sigma", None)
        row = torch.stack([loss.detach(), terms["recon"].detach(), terms["sse"], terms["kl"].detach(),
                           loss.new_tensor(sigma if sigma is not None else 0.0), loss.new_tensor(float(ctrl_c.requested))])
        row = row.float() / row.new_tensor([self.dist.world_size] * 5 + [1.0])
        try:
            torch.distributed.all_reduce(row)
        except RuntimeError as e:
            raise lost_contact(self.dist, e) from None
        numbers = row.tolist()  # the one sync
        if sigma is not None:
            self.likelihood.sigma = numbers[4]
        return {**dict(zip(("loss", "recon", "sse", "kl"), numbers[:4])), "stop": numbers[5] > 0}

    # -- the model file ---------------------------------------------------------------------
    def finish(self) -> Path:
        if not self.dist.is_main:
            return self.out
        self.model.eval()
        metadata = build_metadata(self.model, self.data, self.train_idx, self.cfg, self.device)
        metadata["training"] = {**asdict(self.cfg), "steps": self.step, "device": str(self.device), "versions": _versions(),
                                "world_size": self.dist.world_size}
        save_model_file(self.out, self.model, self.objective, metadata, likelihood=self.likelihood.to_dict())
        if self.cfg.calibrate:
            from .calibrate import calibrate_file
            from .judge import JudgeError, load_judge
            try:
                judge = load_judge()
            except JudgeError:
                judge = None  # the prior is still fitted, to μ; directions stay the regression's
            calibrate_file(self.out, self.data, judge, self.device, progress=lambda m: None, train_idx=self.train_idx)
        return self.out


def build_metadata(model: BetaVAE, data: FaceData, train_idx: torch.Tensor, cfg: TrainConfig,
                   device: torch.device) -> dict:
    """Everything the app shows about a model, computed once here and stored in the file."""
    meta: dict = {"name": f"beta{cfg.beta:g}", "data": data.summary()}
    if data.layout == "celeba":
        meta["licence"] = CELEBA_LICENCE
    metrics = {}
    for split in ("val", "test"):
        idx = data.indices(split)
        if len(idx):
            attrs = data.attributes[idx] if data.attributes is not None else None
            metrics[split] = evaluate_split(model, data.images[idx], attrs)
    meta["metrics"] = {k: {m: v for m, v in d.items() if m != "kl_per_dim"} for k, d in metrics.items()}
    ref = metrics.get("val") or metrics.get("test")
    if ref:
        meta["kl_per_dim"] = ref["kl_per_dim"]
    mu, _ = encode_all(model, data.images[train_idx])
    meta["mu_mean"], meta["mu_std"] = mu.mean(0), mu.std(0)
    meta["prior"] = fit_gaussian(mu).to_dict()
    if data.attributes is not None and data.attribute_names:
        meta["attribute_names"] = list(data.attribute_names)
        meta["attribute_directions"] = attribute_directions(mu, data.attributes[train_idx])
    gallery_idx = data.indices("test")
    if not len(gallery_idx):
        gallery_idx = data.indices("val")
    gallery_idx = gallery_idx[:cfg.gallery_size]
    if len(gallery_idx):
        meta["gallery"] = encode_all(model, data.images[gallery_idx])[0]
        meta["gallery_names"] = [data.names[i] for i in gallery_idx.tolist()]
    return meta
