"""The toy league's rows as data: the shared :class:`Setting`, each :class:`Method`, and what is done to D.

Chapter 6's league (:mod:`~gan_tutorial.experiments.benchmark`) trains every method of
:data:`METHODS` under one :class:`Setting`; :mod:`~gan_tutorial.experiments.paper_settings`
gives each method its paper's own setting. Both read their rows from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..core import losses, regularizers
from ..core.errors import ConfigError
from ..training.config import TrainConfig


@dataclass(frozen=True)
class Setting:
    """One budget for every method (no tuning per method or per seed).

    The benchmark's protocol, kept as one flat record (its hash names the results); it
    becomes a :class:`TrainConfig` in :meth:`train_config` and the MLPs' sizes in
    :func:`build_models`. ``lr`` is both learning rates.
    """

    steps: int = 2000
    batch_size: int = 256
    lr: float = 1e-3
    lr_decay: str = "linear"  # both learning rates fall linearly to 0: sharper final samples
    betas: tuple[float, float] = (0.5, 0.999)
    latent_dim: int = 8
    hidden: int = 128
    depth: int = 3
    n_train: int = 100_000
    n_scored: int = 2_500
    vector_dim: int = 16  # out_dim of a vector D whose loss does not use z (Sphere GAN)
    # fields a paper's own setting changes (gan_tutorial.paper_settings); None: as above
    lr_g: float | None = None
    n_critic: int = 1
    optimizer: str = "adam"
    penalty_weight: float | None = None
    d_hidden: int | None = None
    d_depth: int | None = None
    g_batch_norm: bool = False
    d_maxout: int = 0  # pieces of maxout hidden units in D (0: LeakyReLU)

    def train_config(self, loss: str, seed: int, device: str = "cpu", **fields) -> TrainConfig:
        """The :class:`TrainConfig` of one run under this setting."""
        return TrainConfig(loss=loss, steps=self.steps, batch_size=self.batch_size, lr_d=self.lr,
                           lr_g=self.lr if self.lr_g is None else self.lr_g, lr_decay=self.lr_decay,
                           betas=self.betas, optimizer=self.optimizer, n_critic=self.n_critic,
                           penalty_weight=self.penalty_weight, device=device,
                           seed=seed, progress=False, n_samples=self.n_scored,
                           log_every=max(1, self.steps // 20), **fields)


# added after the first results were committed: left out of setting_id at their defaults
_LATER_FIELDS = ("lr_g", "n_critic", "optimizer", "penalty_weight", "d_hidden", "d_depth", "g_batch_norm", "d_maxout")


def spectral_norm_d(D: nn.Module, setting: Setting) -> nn.Module:
    """Spectral normalisation of every layer of D (Miyato et al., 2018)."""
    return regularizers.spectral_norm(D)


def spectral_regularization_d(D: nn.Module, setting: Setting) -> nn.Module:
    """Dynamic spectral regularization of every layer of D (Liu et al., 2019)."""
    return regularizers.spectral_regularization(D, "dynamic")


def static_spectral_regularization_d(D: nn.Module, setting: Setting) -> nn.Module:
    """Static spectral regularization lifting the ``hidden / 2`` largest singular values."""
    return regularizers.spectral_regularization(D, "static", top=setting.hidden // 2)


@dataclass(frozen=True)
class Method:
    """A row of the table: a registered ``loss`` and what is done around it.

    ``d_transform(D, setting)`` changes D before training (e.g. :func:`spectral_norm_d`);
    ``pack`` > 1 makes D judge packs of that many samples (PacGAN); ``veegan`` trains G with
    VEEGAN's reconstructor and joint D instead of ``loss``; ``drs`` keeps G's samples by
    discriminator rejection sampling, after the same training as the method without it.
    """

    name: str
    loss: str = "ns"
    d_transform: Callable[[nn.Module, Setting], nn.Module] | None = None
    pack: int = 1
    veegan: bool | str = False  # True or "course": the course's objective; "paper": the authors'
    drs: bool = False
    instance_noise: float = 0.0  # std of the noise on D's inputs, annealed to 0 at half the run
    note: str = ""
    setting: Setting | None = None  # the method's own setting (its paper's); None: the shared one

    @property
    def base(self) -> str | None:
        """The method whose training this one repeats: its name without ``+drs`` (or ``None``)."""
        return self.name.removesuffix("+drs") if self.drs else None


DRS_QUANTILE = 0.995  # log M = this quantile of D's logit over 10,000 draws (one value for all)
INSTANCE_NOISE = 0.5  # std of the instance noise at step 0, falling to 0 at half the run (one value for all)

LOSS_METHODS = ("minimax", "ns", "wgan", "wgan_gp", "wgan_div", "hinge", "ns_r1", "sphere", "gan_qp",
                "ogan", "ogan_ns", "ogan_hinge", "ogan_mse")
EXTRA_METHODS = {m.name: m for m in (
    Method("veegan", veegan=True, note="reconstructor F, D on (z, x) pairs"),
    Method("ns+sn", d_transform=spectral_norm_d, note="spectral normalisation of D"),
    Method("ns+sr", d_transform=spectral_regularization_d, note="spectral regularization, dynamic"),
    Method("pacgan4", pack=4, note="ns, D sees packs of 4 samples"),
    Method("ns+drs", loss="ns", drs=True, note="ns, samples kept by D's rejection"),
    Method("ogan_ns+drs", loss="ogan_ns", drs=True, note="ogan_ns, samples kept by D's rejection"),
    Method("ogan_ns+noise", loss="ogan_ns", instance_noise=INSTANCE_NOISE,
           note="ogan_ns, instance noise on D's inputs"),
    Method("ogan_ns+noise+drs", loss="ogan_ns", instance_noise=INSTANCE_NOISE, drs=True,
           note="ogan_ns+noise, samples kept by D's rejection"),
)}
METHODS = [Method(k, loss=k) for k in LOSS_METHODS] + list(EXTRA_METHODS.values())
"""Every row of the league table, in its order."""


def methods(names: list[str] | None = None) -> list[Method]:
    """The methods named (default: all of :data:`METHODS`); a registered loss not listed
    there becomes a plain method of that loss."""
    if not names:
        return list(METHODS)
    by_name = {m.name: m for m in METHODS}
    out = []
    for name in names:
        if name in by_name:
            out.append(by_name[name])
        elif name in losses.LOSSES:
            out.append(Method(name, loss=name))
        else:
            raise ConfigError(f"unknown method {name!r}: use one of {', '.join(by_name)}, or a "
                              f"registered loss ({', '.join(losses.LOSSES)}).")
    return out
