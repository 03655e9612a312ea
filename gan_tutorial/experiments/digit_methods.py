"""The digit league's rows as data: :class:`DigitMethod`, :data:`METHODS`, and the networks each row trains.

A row is a registered loss plus its settings, written once here; the league
(:mod:`~gan_tutorial.experiments.digit_league`) trains them and
:mod:`~gan_tutorial.experiments.digit_tables` writes their tables. Samples are stored as
``uint8`` images (pixel ``round((x + 1) * 127.5)``, :func:`to_uint8`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import torch

from ..core import losses
from ..core.models import DCGANDiscriminator, DCGANGenerator

LATENT_DIM = 64


@dataclass(frozen=True)
class DigitMethod:
    """A row of the digit league: a registered ``loss`` and the settings it trains with."""

    name: str
    loss: str
    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1
    optimizer: str = "adam"
    lr_decay: str = "linear"
    width: int = 32
    ema: float = 0.0
    translate: float = 0.0
    note: str = ""

    def setting(self) -> str:
        """The record's ``setting``: every field as JSON (fields at a default added later are left out,
        so the runs recorded before they existed still resume)."""
        d = dataclasses.asdict(self)
        for name in _LATER_FIELDS:
            if d[name] == _LATER_FIELDS[name]:
                del d[name]
        return json.dumps(d, sort_keys=True)


_LATER_FIELDS = {"ema": 0.0, "translate": 0.0}  # fields added after runs were recorded, with the default those runs had


METHODS = [
    DigitMethod("ns", "ns", lr=1e-3, note="chapter 2's DCGAN"),
    DigitMethod("wgan", "wgan", lr=2e-4, optimizer="rmsprop", n_critic=5, steps=800,
                note="clipping, RMSProp and n_critic 5 as in Arjovsky et al. (2017); 800 G steps = 4,000 D steps"),
    DigitMethod("wgan_gp", "wgan_gp", lr=1e-3, betas=(0.5, 0.9),
                note="Gulrajani et al.'s penalty (lambda 10); n_critic 1 and WGAN-div's betas, so the two differ "
                     "only in the penalty"),
    DigitMethod("wgan_div", "wgan_div", lr=1e-3, betas=(0.5, 0.9), note="Wu et al. (2018): k = 2, p = 6"),
    DigitMethod("sphere_r1", "sphere_r1", lr=1e-3, betas=(0.5, 0.9), note="Sphere GAN, R = 1, D on S^16"),
    DigitMethod("sphere_r3", "sphere", lr=1e-3, betas=(0.5, 0.9), note="Sphere GAN, R = 3, D on S^16"),
    DigitMethod("gan_qp", "gan_qp", lr=1e-3, note="GAN-QP, the base of O-GAN"),
    DigitMethod("ogan", "ogan", lr=1e-3, note="O-GAN on GAN-QP (chapter 5)"),
    DigitMethod("ogan_mse", "ogan_mse", lr=1e-3, note="chapter 5's squared-error ablation"),
]
"""The league's rows, in their order. Every row: DCGAN of width 32, batch 64, learning rate
falling linearly to 0, 2,000 G steps (``wgan``: see its note); ``lr`` is the one of the two
candidates of :func:`tuning_candidates` that :func:`run_tuning` scored lower on training digits
(``benchmarks/results/digits/tuning.csv``; a test checks the choice)."""

RECIPE = {"steps": 30_000, "lr": 2e-4, "betas": (0.5, 0.999), "lr_decay": "constant", "width": 64, "ema": 0.999}
"""The converged league's recipe, chosen on training digits (``benchmarks/results/digits_converged/PLAN.md``):
DCGAN of width 64, Adam at 2e-4 with betas (0.5, 0.999), a moving average of G (decay 0.999)
for sampling, one D step per G step, 30,000 G steps."""

CONVERGED = [
    DigitMethod("wgan_div", "wgan_div", **RECIPE, note="Wu et al. (2018): k = 2, p = 6"),
    DigitMethod("sphere_r1", "sphere_r1", **RECIPE,
                note="Sphere GAN, R = 1 (the R whose tuning run scored lower on training digits), D on S^16"),
    DigitMethod("ogan", "ogan", **RECIPE, note="O-GAN on GAN-QP (chapter 5)"),
    DigitMethod("wgan_gp", "wgan_gp", **RECIPE, note="Gulrajani et al.'s penalty (lambda 10)"),
    DigitMethod("gan_qp", "gan_qp", **RECIPE, note="GAN-QP, the base of O-GAN"),
    DigitMethod("ns", "ns", **RECIPE, note="chapter 2's DCGAN"),
    DigitMethod("ogan_mse", "ogan_mse", **RECIPE, note="chapter 5's squared-error ablation"),
]
"""The converged league's rows: the seed methods first, then the baselines their papers compare with."""

LEAGUES = {"short": METHODS, "converged": CONVERGED}
"""Each league's rows by name: ``short`` (width 32, 2,000 steps) and ``converged`` (:data:`RECIPE`)."""

VECTOR_DIM = losses.VECTOR_DIM  # out_dim of a vector D whose loss does not read z (Sphere GAN)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1] ``(N, 1, 28, 28)`` -> ``uint8`` ``(N, 28, 28)``, pixel ``round((x + 1) * 127.5)``."""
    return torch.round((x.float().clamp(-1, 1) + 1) * 127.5).to(torch.uint8)[:, 0].numpy()


def from_uint8(u: np.ndarray) -> torch.Tensor:
    """The inverse of :func:`to_uint8` up to rounding: ``(N, 28, 28)`` uint8 -> ``(N, 1, 28, 28)`` in [-1, 1]."""
    return torch.from_numpy(u.astype(np.float32))[:, None] / 127.5 - 1


def build_models(method: DigitMethod) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The DCGAN G and D of width ``method.width`` for 28x28 digits, D as the loss needs it."""
    if method.loss == "sphere_r1" and "sphere_r1" not in losses.LOSSES:
        losses.register(losses.sphere_loss(1))
    loss = losses.get_loss(method.loss)
    G = DCGANGenerator(LATENT_DIM, 1, 28, width=method.width)
    D = DCGANDiscriminator(1, 28, width=method.width, batch_norm=loss.d_batch_norm,
                           out_dim=loss.d_out_dim(LATENT_DIM))
    return G, D
