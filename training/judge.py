"""The attribute judge: a small CNN that reads CelebA's 40 attributes from a 64×64 face.

It is FaceEdit's own measuring instrument, trained once on the real training faces and shipped in
``resources/judge/attributes.pt`` so that ``faceedit-train evaluate`` needs no set-up. The app
never loads it. It answers three questions about a model:

* **attribute retention**: its mean AUC on a model's reconstructions ÷ its mean AUC on the
  original faces (does the face stay the person?);
* **feature distance**: the Fréchet distance between its pooled features (256-d) on real faces
  and on a model's reconstructions or samples (do samples look like faces?);
* **edit precision** (see ``training.edits``): does an edit called Young make the face look young?

The file is a ``torch.save`` of plain data, read with ``weights_only=True``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from faceedit.core.modelfile import atomic_write
from faceedit.formats import catalog

FORMAT = "faceedit-judge"
VERSION = 1
CHANNELS = (32, 64, 128, 256)


class JudgeError(Exception):
    pass


def judge_path() -> Path:
    return catalog.resources_dir() / "judge" / "attributes.pt"


class JudgeNet(nn.Module):
    """Four stride-2 conv blocks, global average pooling (the features), one linear layer (the logits)."""

    def __init__(self, attributes: int = 40, channels: tuple[int, ...] = CHANNELS):
        super().__init__()
        layers, cin = [], 3
        for c in channels:
            layers += [nn.Conv2d(cin, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            cin = c
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(cin, attributes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x * 2 - 1).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _as_float(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 255 if images.dtype == torch.uint8 else images.float()


@dataclass
class Judge:
    net: JudgeNet
    attribute_names: list[str]
    test_auc: dict[str, float]

    @torch.inference_mode()
    def _run(self, images: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
        self.net.eval()
        logits, feats = [], []
        for i in range(0, len(images), batch_size):
            x = _as_float(images[i:i + batch_size])
            f = self.net.features(x)
            feats.append(f)
            logits.append(self.net.head(f))
        if not logits:
            return torch.zeros(0, len(self.attribute_names)), torch.zeros(0, CHANNELS[-1])
        return torch.cat(logits), torch.cat(feats)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """N×3×64×64 floats in [0,1] → N×40 logits, differentiable (for directions found by gradient)."""
        self.net.eval()
        return self.net(images)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """N×3×64×64 (uint8, or float in [0,1]) → N×40 probabilities that each attribute is present."""
        return torch.sigmoid(self._run(images)[0])

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """N×3×64×64 → N×256 pooled features (for the Fréchet distance)."""
        return self._run(images)[1]

    def index(self, name: str) -> int:
        return self.attribute_names.index(name)


def save_judge(path: Path, judge: Judge, training: dict) -> None:
    payload = {"format": FORMAT, "version": VERSION, "channels": list(CHANNELS),
               "attribute_names": list(judge.attribute_names), "test_auc": dict(judge.test_auc),
               "training": training,
               "state_dict": {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
                              for k, v in judge.net.state_dict().items()}}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_judge(path: str | Path | None = None) -> Judge:
    path = Path(path) if path else judge_path()
    if not path.is_file():
        raise JudgeError(f"{path}: no attribute judge there (train one with 'faceedit-train judge')")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("format") != FORMAT or payload.get("version") != VERSION:
            raise ValueError("not a FaceEdit attribute judge")
        names = [str(n) for n in payload["attribute_names"]]
        net = JudgeNet(len(names), tuple(payload["channels"]))
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    except Exception as e:  # noqa: BLE001 - any unreadable judge file is one clear error
        raise JudgeError(f"{path}: not a readable attribute judge ({str(e).splitlines()[0][:200] if str(e) else type(e).__name__})") from None
    return Judge(net.eval(), names, {str(k): float(v) for k, v in payload.get("test_auc", {}).items()})


# -- measurement -----------------------------------------------------------------------------

def auc(scores: torch.Tensor, labels: torch.Tensor) -> float | None:
    """Area under the ROC curve (the Mann–Whitney statistic, ties counted half); None if one class is absent."""
    scores, labels = scores.detach().cpu().double(), labels.cpu() > 0  # to the CPU first: MPS has no float64
    pos, neg = int(labels.sum()), int((~labels).sum())
    if pos == 0 or neg == 0:
        return None
    order = scores.argsort()
    ranks = torch.empty(len(scores), dtype=torch.float64)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=torch.float64)
    sorted_scores = scores[order]  # average the ranks of ties
    _, inverse, counts = torch.unique_consecutive(sorted_scores, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    mean_rank = ends - (counts.double() - 1) / 2
    ranks[order] = mean_rank[inverse]
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def auc_per_attribute(probs: torch.Tensor, attributes: torch.Tensor, names: list[str]) -> dict[str, float]:
    out = {}
    for k, name in enumerate(names):
        value = auc(probs[:, k], attributes[:, k])
        if value is not None:
            out[name] = value
    return out


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N×F each), in float64 on the CPU."""
    a, b = a.detach().cpu().double(), b.detach().cpu().double()  # to the CPU first: MPS has no float64
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T
    middle = root_a @ cov_b @ root_a
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_sqrt)


# -- training --------------------------------------------------------------------------------

def train_judge(images: torch.Tensor, attributes: torch.Tensor, names: list[str], *, epochs: int = 8,
                batch_size: int = 128, lr: float = 2e-3, seed: int = 0, progress: bool = True) -> Judge:
    """Train on uint8 N×3×64×64 faces and their ±1 attributes (random flips; Adam, cosine decay)."""
    torch.manual_seed(seed)
    net = JudgeNet(len(names)).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-5)
    steps = epochs * (len(images) // batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    targets = (attributes > 0).float()
    g = torch.Generator().manual_seed(seed)
    net.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(images), generator=g)
        t0, total, n = time.perf_counter(), 0.0, 0
        for b in range(len(images) // batch_size):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            x = _as_float(images[idx])
            flip = torch.rand(len(x), generator=g) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x).contiguous(memory_format=torch.channels_last)
            loss = F.binary_cross_entropy_with_logits(net(x), targets[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
            n += 1
        if progress:
            print(f"judge epoch {epoch + 1}/{epochs}: BCE {total / max(1, n):.4f} "
                  f"({n * batch_size / (time.perf_counter() - t0):.0f} img/s)", flush=True)
    return Judge(net.eval(), list(names), {})
