"""VEEGAN (Srivastava et al., 2017): a reconstructor ``F: x -> z`` against mode collapse.

Three networks: the generator ``G: z -> x``, the reconstructor ``F: x -> z`` and a
discriminator ``D(z, x)`` on *pairs*. D's logit estimates the log density ratio of two joints,

    D(z, x) ~ log [ p_z(z) p_g(x | z) ] - log [ p_data(x) p_F(z | x) ],

the generator's joint (``z ~ p_z``, ``x = G(z)``) against the reconstructor's (``x ~ p_data``,
``z = F(x)``). D minimises the logistic loss that separates them; G and F minimise

    E_z[ softplus(D(z, G(z))) ] + lambda * E_z ||z - F(G(z))||^2        (generator pairs)
    + E_x[ softplus(-D(F(x), x)) ]                                     (reconstructor pairs)

The first term stands for the density-ratio estimate ``E D`` of ``KL[p_z(z) p_g(x|z) || p_data(x)
p_F(z|x)]`` (VEEGAN's objective, eq. 8 of the paper), bounded below by the softplus
(``softplus(t) ~ t`` for large ``t``) so that G cannot run away with D's logit; the second is
the autoencoder loss *in the latent space*; the third lets F match the data side of the joint,
as the encoder in ALI/BiGAN (VEEGAN's D term gives F no gradient on its own). A mode that G
drops is mapped by F to codes that G does not use, and D then tells the two joints apart: that
is the signal that pushes G back to the missing mode. The chapter derives the bound behind the
objective.

:func:`veegan_paper_step` is the objective as the paper and its authors' 2-D code write it
(raw logit, Gaussian reconstruction term, no ALI term, simultaneous updates); chapter 6 runs
both.

VEEGAN runs on the shared loop (:func:`gan_tutorial.loop.run_loop`) with its own step
function, so every :class:`TrainConfig` field means what it means for a GAN; the
reconstruction error is recorded as ``history.recon``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F_
from torch import Tensor, nn

from ..core.models import MLPDiscriminator, MLPGenerator
from .config import TrainConfig, autocast
from .loop import History, TrainState, new_state, run_loop


class Reconstructor(MLPGenerator):
    """``F``: x ``(B, in_dim)`` -> z ``(B, latent_dim)``, an MLP with ReLU hidden layers."""

    def __init__(self, in_dim: int = 2, latent_dim: int = 8, hidden: int = 128, depth: int = 3):
        super().__init__(latent_dim=in_dim, out_dim=latent_dim, hidden=hidden, depth=depth)
        self.in_dim, self.latent_dim, self.out_shape = in_dim, latent_dim, (latent_dim,)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.reshape(len(x), -1))


class JointDiscriminator(nn.Module):
    """``D(z, x)``: the logit ``(B,)`` of "this pair came from the generator's joint"."""

    def __init__(self, latent_dim: int = 8, x_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.net = MLPDiscriminator(latent_dim + x_dim, hidden=hidden, depth=depth)

    def forward(self, z: Tensor, x: Tensor) -> Tensor:
        return self.net(torch.cat([z, x.reshape(len(x), -1)], dim=1))


def veegan_d_loss(gen_scores: Tensor, rec_scores: Tensor) -> Tensor:
    """D minimises ``E softplus(-D(z, G(z))) + E softplus(D(F(x), x))`` (logistic, on logits)."""
    return F_.softplus(-gen_scores).mean() + F_.softplus(rec_scores).mean()


def veegan_gf_loss(gen_scores: Tensor, rec_scores: Tensor, z: Tensor, z_rec: Tensor,
                   recon_weight: float = 1.0) -> Tensor:
    """G and F minimise ``E softplus(D(z, G(z))) + lambda E||z - F(G(z))||^2 + E softplus(-D(F(x), x))``.

    ``gen_scores = D(z, G(z))`` ``(B,)``, ``rec_scores = D(F(x), x)`` ``(B,)``, ``z`` and
    ``z_rec = F(G(z))`` ``(B, latent_dim)``; the squared norm is summed over the latent
    dimension and averaged over the batch.
    """
    recon = (z - z_rec).pow(2).sum(1).mean()
    return F_.softplus(gen_scores).mean() + recon_weight * recon + F_.softplus(-rec_scores).mean()


def veegan_step(state: TrainState, recon_weight: float = 1.0) -> dict[str, Tensor]:
    """One iteration of VEEGAN: ``n_critic`` updates of the joint D, then one of G and F together."""
    cfg, G, F, D = state.config, state.G_run, state.extras_run["F"], state.D_run
    for _ in range(cfg.n_critic):
        # (1) Update D: tell the generator's pairs (z, G(z)) from the reconstructor's (F(x), x)
        x_real, z = state.sampler.sample(), state.noise()
        with torch.no_grad(), autocast(z, state.amp):
            x_fake, z_rec = G(z), F(x_real)
        with autocast(z, state.amp):
            scores = D(z, x_fake).float(), D(z_rec, x_real).float()
        d_loss = veegan_d_loss(*scores)
        state.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        state.opt_d.step()
    # (2) Update G and F: fool D from both sides, and make F invert G on the codes
    z = state.noise()
    with autocast(z, state.amp):
        x_fake = G(z)
        z_rec = F(x_fake).float()
        gen_scores, rec_scores = D(z, x_fake).float(), D(F(x_real), x_real).float()
    gf_loss = veegan_gf_loss(gen_scores, rec_scores, z, z_rec, recon_weight)
    state.opt_g.zero_grad(set_to_none=True)
    gf_loss.backward()
    state.opt_g.step()
    recon = (z - z_rec).detach().pow(2).sum(1).mean()
    return {"d_loss": d_loss.detach(), "g_loss": gf_loss.detach(), "recon": recon}


def veegan_paper_step(state: TrainState) -> dict[str, Tensor]:
    """VEEGAN as the authors' public 2-D code trains it: one *simultaneous* update of all three.

    D separates ``(z, G(z))`` from ``(F(x) + eps, x)`` (F's output is the mean of a unit
    Gaussian, ``eps ~ N(0, I)``) with the logistic loss; G and F minimise the paper's objective
    (eq. 8) with no softplus and no term for F on the data side::

        E_z[ D(z, G(z)) ] + E_z[ 1/2 ||z - F(G(z))||^2 ]      (the Gaussian log-likelihood of z)

    All gradients are taken at the same weights, then the two optimisers step (``n_critic``
    is not used: the code has none).
    """
    G, F, D = state.G_run, state.extras_run["F"], state.D_run
    x_real, z, eps = state.sampler.sample(), state.noise(), state.noise()
    with autocast(z, state.amp):
        x_fake = G(z)
        z_data = F(x_real) + eps.to(x_real.dtype)
        d_loss = veegan_d_loss(D(z, x_fake.detach()).float(), D(z_data.detach(), x_real).float())
        gen_scores, z_rec = D(z, x_fake).float(), F(x_fake).float()
    recon = 0.5 * (z - z_rec).pow(2).sum(1).mean()
    gf_loss = gen_scores.mean() + recon
    state.opt_g.zero_grad(set_to_none=True)
    gf_loss.backward()
    state.opt_d.zero_grad(set_to_none=True)  # drop what G's loss left in D's gradients
    d_loss.backward()
    state.opt_g.step()
    state.opt_d.step()
    return {"d_loss": d_loss.detach(), "g_loss": gf_loss.detach(), "recon": 2 * recon.detach()}


VEEGAN_OBJECTIVES = {"course": veegan_step, "paper": veegan_paper_step}


def fit_veegan(G: nn.Module, F: nn.Module, D: nn.Module, data: Tensor,
               config: TrainConfig | None = None, recon_weight: float = 1.0,
               callbacks: Sequence[Callable[[TrainState], None]] = (), objective: str = "course") -> History:
    """Train VEEGAN's ``G``, ``F`` and ``D(z, x)`` on ``data`` ``(N, d)``; returns a History.

    The same run as :func:`gan_tutorial.train.fit` (every ``config`` field but ``loss``,
    ``penalty_weight`` and ``instance_noise`` applies; ``lr_g`` is G's and F's learning rate),
    with :func:`veegan_step` as the step. ``history.recon`` records ``E||z - F(G(z))||^2``.
    Callbacks get a TrainState whose ``D`` is the joint discriminator and ``extras["F"]`` the
    reconstructor.
    ``objective="paper"`` trains with :func:`veegan_paper_step` (the authors' objective and
    update) instead of the course's :func:`veegan_step`.
    """
    config = config or TrainConfig()
    config.validate()
    if config.instance_noise:
        from ..core.errors import ConfigError

        raise ConfigError("instance_noise is not defined for VEEGAN's joint D: set it to 0.")
    if objective not in VEEGAN_OBJECTIVES:
        from ..core.errors import ConfigError

        raise ConfigError(f"objective must be one of {', '.join(VEEGAN_OBJECTIVES)}, got {objective!r}.")
    step = (functools.partial(veegan_step, recon_weight=recon_weight) if objective == "course"
            else veegan_paper_step)
    state = new_state(G, D, data, config, extras={"F": F})
    return run_loop(state, step, callbacks, name="veegan")
