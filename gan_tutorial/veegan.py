"""VEEGAN (Srivastava et al., 2017): a reconstructor ``F: x -> z`` against mode collapse.

Three networks: the generator ``G: z -> x``, the reconstructor ``F: x -> z`` and a
discriminator ``D(z, x)`` on *pairs*. D's logit estimates the log density ratio of two joints,

    D(z, x) ~ log [ p_0(z) q(x | z) ] - log [ p(x) p_F(z | x) ],

the generator's joint (``z ~ p_0``, ``x = G(z)``) against the reconstructor's (``x ~ p``,
``z = F(x)``). D minimises the logistic loss that separates them; G and F minimise

    E_z[ softplus(D(z, G(z))) ] + lambda * E_z ||z - F(G(z))||^2        (generator pairs)
    + E_x[ softplus(-D(F(x), x)) ]                                     (reconstructor pairs)

The first term stands for the density-ratio estimate ``E D`` of ``KL[p_0(z) q(x|z) || p(x)
p_F(z|x)]`` (VEEGAN's objective, eq. 8 of the paper), bounded below by the softplus
(``softplus(t) ~ t`` for large ``t``) so that G cannot run away with D's logit; the second is
the autoencoder loss *in the latent space*; the third lets F match the data side of the joint,
as the encoder in ALI/BiGAN (VEEGAN's D term gives F no gradient on its own). A mode that G
drops is mapped by F to codes that G does not use, and D then tells the two joints apart: that
is the signal that pushes G back to the missing mode. The chapter derives the bound behind the
objective.

The loop reuses ``train.py``'s config, sampler, history, callbacks and ``sample``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F_
from torch import Tensor, nn

from .data import BatchSampler
from .models import MLPDiscriminator, MLPGenerator
from .train import (
    History,
    TrainConfig,
    TrainingDiverged,
    TrainState,
    lr_factor,
    resolve_device,
    sample,
    set_learning_rates,
)


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


def fit_veegan(G: nn.Module, F: nn.Module, D: nn.Module, data: Tensor,
               config: TrainConfig | None = None, recon_weight: float = 1.0,
               callbacks: Sequence[Callable[[TrainState], None]] = ()) -> History:
    """Train VEEGAN's ``G``, ``F`` and ``D(z, x)`` on ``data`` ``(N, d)``; returns a History.

    Uses ``config``'s steps, batch size, learning rates (``lr_g`` for G and F together) and their decay,
    betas, n_critic, device, seed, log_every, sample_every and n_samples; its ``loss`` is
    ignored. ``history.penalty`` records the reconstruction error ``E||z - F(G(z))||^2``.
    Callbacks get a TrainState whose ``D`` is the joint discriminator.
    """
    config = config or TrainConfig()
    config.validate()
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    for m in (G, F, D):
        m.to(device).train()
    sampler = BatchSampler(data, config.batch_size, device, seed=config.seed)
    z_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    z_fixed = torch.randn(config.n_samples, G.latent_dim,
                          generator=torch.Generator().manual_seed(config.seed + 2)).to(device)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas)
    opt_gf = torch.optim.Adam([*G.parameters(), *F.parameters()], lr=config.lr_g,
                              betas=config.betas)
    history, bs, latent = History(), config.batch_size, G.latent_dim
    sums, count, t0 = torch.zeros(3, device=device), 0, time.perf_counter()
    for step in range(1, config.steps + 1):
        set_learning_rates(((opt_d, config.lr_d), (opt_gf, config.lr_g)),
                           lr_factor(config.lr_decay, step, config.steps))
        # Update D: tell the generator's pairs (z, G(z)) from the reconstructor's (F(x), x)
        for _ in range(config.n_critic):
            x_real = sampler.sample()
            z = torch.randn(bs, latent, device=device, generator=z_gen)
            with torch.no_grad():
                x_fake, z_rec = G(z), F(x_real)
            d_loss = veegan_d_loss(D(z, x_fake), D(z_rec, x_real))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        # Update G and F: fool D from both sides, and make F invert G on the codes
        z = torch.randn(bs, latent, device=device, generator=z_gen)
        x_fake = G(z)
        z_rec = F(x_fake)
        gen_scores, rec_scores = D(z, x_fake), D(F(x_real), x_real)
        gf_loss = veegan_gf_loss(gen_scores, rec_scores, z, z_rec, recon_weight)
        opt_gf.zero_grad(set_to_none=True)
        gf_loss.backward()
        opt_gf.step()
        recon = (z - z_rec).detach().pow(2).sum(1).mean()
        sums += torch.stack([d_loss.detach(), gf_loss.detach(), recon])
        count += 1
        if step % config.log_every == 0 or step == config.steps:
            d_mean, g_mean, r_mean = (sums / count).tolist()
            if not all(math.isfinite(v) for v in (d_mean, g_mean, r_mean)):
                raise TrainingDiverged(f"VEEGAN diverged by step {step}: lower lr_d/lr_g.")
            history.step.append(step)
            history.d_loss.append(d_mean)
            history.g_loss.append(g_mean)
            history.penalty.append(r_mean)
            sums.zero_()
            count = 0
            state = TrainState(step, G, D, history, config, sampler)
            for callback in callbacks:
                callback(state)
        if (config.sample_every and step % config.sample_every == 0) or step == config.steps:
            history.snapshots.append((step, sample(G, z_fixed)))
    history.wall_time = time.perf_counter() - t0
    return history
