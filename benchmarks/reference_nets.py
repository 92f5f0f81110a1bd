"""Two β-VAEs that are not FaceEdit's, for the speed and quality comparisons in docs/performance.md.

Both keep FaceEdit's interface (``encoder(x) → (μ, log σ²)``, ``decoder(z) → image in [0, 1]``,
``forward(x) → (x̂, μ, log σ²)``), so the trainer's loss and metrics apply to them unchanged.

* ``ClassicBetaVAE``: the classic small design (Higgins et al. 2017, Burgess et al. 2018): four 4×4
  stride-2 convs 32-32-64-64, a 256-unit layer, a 128-d latent, the mirrored decoder; ReLU, no normalisation.
* ``PeerBetaVAE``: the design of the peer project in issue #13 (AntixK/PyTorch-VAE's BetaVAE, written here
  from its description): five 3×3 stride-2 convs 32-64-128-256-512 with BatchNorm and LeakyReLU down to
  2×2, linear heads, the mirrored decoder of 3×3 transposed convs, and a last 32-channel transposed conv
  to 64×64 followed by a 3×3 conv.  3.9 M parameters at a 128-d latent.
"""
from __future__ import annotations

import torch
from torch import nn

from faceedit.core.model import reparameterise


class _Codec(nn.Module):
    def forward(self, x: torch.Tensor):
        mu, logvar = self.encoder(x)
        z = reparameterise(mu, logvar) if self.training else mu
        return self.decoder(z), mu, logvar


class _Encoder(nn.Module):
    def __init__(self, convs: nn.Module, head: nn.Module):
        super().__init__()
        self.convs, self.head = convs, head

    def forward(self, x: torch.Tensor):
        return self.head(self.convs(x * 2 - 1).flatten(1)).chunk(2, dim=1)


class _Decoder(nn.Module):
    def __init__(self, project: nn.Module, body: nn.Module, shape: tuple[int, int, int]):
        super().__init__()
        self.project, self.body, self.shape = project, body, shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.body(self.project(z).view(-1, *self.shape)))


class ClassicBetaVAE(_Codec):
    def __init__(self, latent_dim: int = 128):
        super().__init__()
        chans = [3, 32, 32, 64, 64]
        convs = nn.Sequential(*[m for a, b in zip(chans, chans[1:]) for m in (nn.Conv2d(a, b, 4, 2, 1), nn.ReLU())])
        head = nn.Sequential(nn.Linear(64 * 4 * 4, 256), nn.ReLU(), nn.Linear(256, 2 * latent_dim))
        self.encoder = _Encoder(convs, head)
        project = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 64 * 4 * 4), nn.ReLU())
        back = chans[::-1]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(back, back[1:])):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1)] + ([nn.ReLU()] if i < len(back) - 2 else [])
        self.decoder = _Decoder(project, nn.Sequential(*layers), (64, 4, 4))


class PeerBetaVAE(_Codec):
    def __init__(self, latent_dim: int = 128):
        super().__init__()
        widths = [32, 64, 128, 256, 512]
        down: list[nn.Module] = []
        for a, b in zip([3] + widths, widths):
            down += [nn.Conv2d(a, b, 3, 2, 1), nn.BatchNorm2d(b), nn.LeakyReLU()]
        self.encoder = _Encoder(nn.Sequential(*down), nn.Linear(512 * 4, 2 * latent_dim))
        up: list[nn.Module] = []
        back = widths[::-1] + [widths[0]]
        for a, b in zip(back, back[1:]):
            up += [nn.ConvTranspose2d(a, b, 3, 2, 1, output_padding=1), nn.BatchNorm2d(b), nn.LeakyReLU()]
        up.append(nn.Conv2d(widths[0], 3, 3, 1, 1))
        self.decoder = _Decoder(nn.Linear(latent_dim, 512 * 4), nn.Sequential(*up), (512, 2, 2))


REFERENCE_NETS = {"classic": ClassicBetaVAE, "peer": PeerBetaVAE}
