"""The β-VAE network and its loss terms.

Normalisation (the one definition used everywhere: training logs, reports, model files, the app):

* Images are float tensors in [0, 1], shape N×3×64×64.
* ``recon`` is the decoder's negative log-likelihood in **nats per image** (summed over all
  3×64×64 = 12,288 values), averaged over the images of a batch. Which likelihood is set by the
  objective's ``likelihood`` (see ``faceedit.core.likelihood``): ``gaussian`` (the default; a calibrated
  shared σ, so β=1 is the true ELBO) or ``sse`` (the per-image sum of squared error, the first
  release's objective, equal to a Gaussian NLL with σ² = 0.5 less a constant).
* ``sse`` is always also reported: the **per-image sum** of squared error over the 12,288 values,
  averaged over images. It is the same number whichever likelihood trained the model.
* ``kl`` is KL(q(z|x) ‖ N(0, I)) in **nats per image, summed over the latent dimensions**,
  averaged over the images of a batch.
* The β objective is ``recon + β·kl``; the capacity objective (Burgess et al. 2018) is
  ``recon + γ·|kl − C|``. The negative ELBO in nats per image is ``recon + kl``.
* PSNR is computed per image from its mean squared error, ``10·log10(1 / (sse / 12288))``,
  then averaged over images.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from faceedit.core.likelihood import SSELikelihood, sse_per_image

IMAGE_SIZE = 64
IMAGE_CHANNELS = 3
PIXELS_PER_IMAGE = IMAGE_CHANNELS * IMAGE_SIZE * IMAGE_SIZE


def valid_encoder_kernel(kernel) -> bool:
    """3 or 4, as an int: with stride 2 and padding 1 only these halve the side exactly."""
    return type(kernel) is int and kernel in (3, 4)


@dataclass(frozen=True)
class ArchConfig:
    """Everything needed to rebuild the network; stored in every model file."""

    latent_dim: int = 128
    channels: tuple[int, ...] = (32, 64, 128, 256)
    refine_channels: int = 32  # width of the 3×3 refinement conv at 64×64 (0: none)
    encoder_kernel: int = 4  # the encoder's stride-2 convs: 4×4 (the first release) or 3×3

    def __post_init__(self) -> None:
        if not valid_encoder_kernel(self.encoder_kernel):
            raise ValueError(f"encoder_kernel must be 3 or 4, not {self.encoder_kernel!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ArchConfig":
        known = {k: d[k] for k in ("latent_dim", "channels", "refine_channels", "encoder_kernel") if k in d}
        if "channels" in known:
            known["channels"] = tuple(int(c) for c in known["channels"])
        return cls(**known)


# The two architectures ``faceedit-train train --net`` offers.  "standard" is the first release's (the bundled
# models are it without the refinement conv); "fast" (the default) trains about 2.7× faster on a CPU: 3×3 encoder
# convs, narrower layers, no 64×64 refinement conv.  docs/performance.md compares them, and a third-party design,
# at equal training time.  ArchConfig's own defaults stay the standard net's: files and run folders that do not
# record a field were made with it.
ARCHITECTURES = {
    "standard": ArchConfig(),
    "fast": ArchConfig(channels=(24, 48, 96, 192), refine_channels=0, encoder_kernel=3),
}
DEFAULT_NET = "fast"  # what ``faceedit-train train`` builds without --net: it wins at equal training time


def _down(cin: int, cout: int, kernel: int = 4) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2))


class Encoder(nn.Module):
    """64×64×3 in [0,1] → (μ, log σ²), each N×latent_dim."""

    def __init__(self, arch: ArchConfig):
        super().__init__()
        chans = (IMAGE_CHANNELS, *arch.channels)
        self.features = nn.Sequential(*(_down(a, b, arch.encoder_kernel) for a, b in zip(chans, chans[1:])))
        side = IMAGE_SIZE // 2 ** len(arch.channels)
        self.head = nn.Linear(arch.channels[-1] * side * side, 2 * arch.latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x * 2 - 1).flatten(1)
        mu, logvar = self.head(h).chunk(2, dim=1)
        return mu, logvar


class Decoder(nn.Module):
    """N×latent_dim → N×3×64×64 in [0,1]."""

    def __init__(self, arch: ArchConfig):
        super().__init__()
        chans = tuple(reversed(arch.channels))
        self.side = IMAGE_SIZE // 2 ** len(chans)
        self.first = chans[0]
        self.project = nn.Sequential(nn.Linear(arch.latent_dim, chans[0] * self.side**2), nn.LeakyReLU(0.2))
        ups = [_up(a, b) for a, b in zip(chans, chans[1:])]
        last = chans[-1]
        if arch.refine_channels:
            ups.append(_up(last, arch.refine_channels))
            ups.append(nn.Conv2d(arch.refine_channels, IMAGE_CHANNELS, 3, 1, 1))
        else:
            ups.append(nn.ConvTranspose2d(last, IMAGE_CHANNELS, 4, 2, 1))
        self.body = nn.Sequential(*ups)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, self.first, self.side, self.side)
        return torch.sigmoid(self.body(h))


class BetaVAE(nn.Module):
    def __init__(self, arch: ArchConfig | None = None):
        super().__init__()
        self.arch = arch or ArchConfig()
        self.encoder = Encoder(self.arch)
        self.decoder = Decoder(self.arch)

    @property
    def latent_dim(self) -> int:
        return self.arch.latent_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x)
        z = reparameterise(mu, logvar) if self.training else mu
        return self.decoder(z), mu, logvar


def fold_batchnorm(model: BetaVAE) -> BetaVAE:
    """Fold each eval-mode BatchNorm into the convolution before it, in place: the same function with one pass
    over the activations fewer per layer (about 5–10% faster decoding on a CPU; outputs agree to ~1e-6).
    For inference only: the folded network no longer has the layout a model file stores."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    for stack in (model.encoder.features, model.decoder.body):
        for block in stack:
            if isinstance(block, nn.Sequential) and isinstance(block[1], nn.BatchNorm2d):
                block[0] = fuse_conv_bn_eval(block[0].eval(), block[1].eval(),
                                             transpose=isinstance(block[0], nn.ConvTranspose2d))
                block[1] = nn.Identity()
    return model.eval()


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


recon_per_image = sse_per_image  # the per-image SSE, under its first name


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) in nats for each image and dimension → shape N×D."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def psnr_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    mse = recon_per_image(x_hat, x) / x[0].numel()
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


@dataclass
class Objective:
    """``beta``: recon + β·KL.  ``capacity``: recon + γ·|KL − C|, C rising linearly to c_max."""

    kind: str = "beta"
    beta: float = 4.0
    gamma: float = 1000.0
    c_max: float = 25.0
    c_steps: int = 100_000
    kl_warmup_steps: int = 0  # β·KL ramps up linearly over these steps (β objective only)

    def __post_init__(self) -> None:
        if self.kind not in ("beta", "capacity"):
            raise ValueError(f"unknown objective {self.kind!r}; use 'beta' or 'capacity'")

    def capacity(self, step: int) -> float:
        return self.c_max * min(1.0, step / max(1, self.c_steps))

    def beta_at(self, step: int) -> float:
        if self.kl_warmup_steps <= 0:
            return self.beta
        return self.beta * min(1.0, step / self.kl_warmup_steps)

    def __call__(self, recon: torch.Tensor, kl: torch.Tensor, step: int) -> torch.Tensor:
        """recon and kl are batch means of the per-image terms."""
        if self.kind == "capacity":
            return recon + self.gamma * (kl - self.capacity(step)).abs()
        return recon + self.beta_at(step) * kl

    def to_dict(self) -> dict:
        return asdict(self)


def loss_terms(model: BetaVAE, x: torch.Tensor, likelihood=None, *, update: bool = False) -> dict[str, torch.Tensor]:
    """Forward pass and the batch-mean loss terms (see the module docstring).

    ``likelihood`` defaults to SSE; ``update`` lets a calibrated likelihood learn σ from this batch."""
    likelihood = likelihood or SSELikelihood()
    x_hat, mu, logvar = model(x)
    recon = likelihood.nll(x_hat, x, update=update).mean()
    sse = sse_per_image(x_hat.detach(), x).mean()
    kl = kl_per_dim(mu, logvar).sum(1).mean()
    return {"recon": recon, "sse": sse, "kl": kl, "x_hat": x_hat, "mu": mu, "logvar": logvar}
