"""The GAN algorithm: ``d_step``, ``g_step``, the one-screen ``gan_step``, and ``fit``.

``fit(G, D, data, config)`` alternates ``n_critic`` discriminator steps with one generator
step, ``config.steps`` times; the run around the steps (schedules, logging, checkpoints,
Ctrl-C, distributed training) is :func:`gan_tutorial.loop.run_loop`, shared with VEEGAN.
The names the chapters use from the layers below (``TrainConfig``, ``sample``,
``rejection_sample``, checkpoints) are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from ..core import regularizers
from ..core.checkpoint import (  # noqa: F401  (re-exported)
    check_writable,
    checkpoint_files,
    load_checkpoint,
    load_resume,
    save_checkpoint,
)
from ..core.distributed import distributed_context, init_distributed  # noqa: F401
from ..core.errors import ConfigError, DataError, ShapeError
from ..core.losses import GANLoss
from ..core.sampling import evaluating, log_ratio_score, rejection_sample, sample  # noqa: F401
from .config import TrainConfig, autocast, lr_factor, noise_std, resolve_device  # noqa: F401
from .loop import (  # noqa: F401
    History,
    TrainingDiverged,
    TrainState,
    ema_update,
    new_state,
    run_loop,
    set_learning_rates,
)


def _noisy(x: Tensor, std: float) -> Tensor:
    return x if std == 0 else x + std * torch.randn_like(x)


# ----------------------------------------------------------------------------- the steps
@contextmanager
def frozen(D: nn.Module):
    """D's weights need no gradient inside the block: G's update needs D's gradient with respect
    to its input only (the same update, less work). A D under DistributedDataParallel is left
    as it is, since DDP expects a gradient for every weight."""
    if any(isinstance(m, DistributedDataParallel) for m in D.modules()):
        yield D
        return
    weights = [p for p in D.parameters() if p.requires_grad]
    for p in weights:
        p.requires_grad_(False)
    try:
        yield D
    finally:
        for p in weights:
            p.requires_grad_(True)


def d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, loss: GANLoss,
           x_real: Tensor, z: Tensor, penalty_weight: float, amp: bool = False,
           noise: float = 0.0) -> tuple[Tensor, Tensor]:
    """One update of D: minimise ``loss.d_loss`` (e.g. maximise log D(x) + log(1 - D(G(z)))).

    The fake batch is made without a graph through G: D's update needs no gradient with
    respect to G's weights. With ``amp`` the forward passes (the penalty's included) run in
    bf16 autocast; losses and the penalty's gradient norms are computed in float32.
    ``noise`` > 0 adds Gaussian noise of that std to both batches first (instance noise).
    Returns (D loss, unweighted penalty), detached.
    """
    with torch.no_grad(), autocast(z, amp):
        x_fake = G(z)
    x_fake = _noisy(x_fake.detach().to(x_real.dtype), noise)
    x_real = _noisy(x_real, noise)
    with autocast(z, amp):
        real_scores, fake_scores = D(x_real), D(x_fake)
        penalty = torch.zeros((), device=x_real.device)
        if loss.penalty is not None and penalty_weight > 0:
            penalty = loss.penalty(D, x_real, x_fake)
    d_loss = loss.d_loss(real_scores.float(), fake_scores.float(), z=z, x_real=x_real, x_fake=x_fake)
    opt_d.zero_grad(set_to_none=True)
    (d_loss + penalty_weight * penalty).backward()
    opt_d.step()
    if loss.clip is not None:  # the original WGAN's constraint on the critic
        regularizers.clip_weights(D, loss.clip)
    return d_loss.detach(), penalty.detach()


def g_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, loss: GANLoss,
           z: Tensor, x_real: Tensor, amp: bool = False, noise: float = 0.0) -> Tensor:
    """One update of G: minimise ``loss.g_loss`` (e.g. the non-saturating ``-log D(G(z))``).

    Only G's optimiser steps; D is :func:`frozen` during the forward and backward passes.
    ``noise`` > 0 adds instance noise to what D sees (the gradient flows through the sum to G).
    """
    with frozen(D):
        with autocast(z, amp):
            x_fake = _noisy(G(z), noise)  # what D sees, as in d_step
            fake_scores = D(x_fake)
        g_loss = loss.g_loss(fake_scores.float(), z=z, x_real=x_real, x_fake=x_fake)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
    opt_g.step()
    return g_loss.detach()


def gan_step(state: TrainState) -> dict[str, Tensor]:
    """One iteration of the GAN game: ``n_critic`` updates of D, then one update of G.

    Returns the losses to record: D's loss and penalty averaged over the critic steps.
    """
    cfg, loss = state.config, state.config.gan_loss
    weight = loss.penalty_weight if cfg.penalty_weight is None else cfg.penalty_weight
    noise = noise_std(cfg, state.step)  # instance noise, annealed to 0
    d_losses, penalties = [], []
    for _ in range(cfg.n_critic):
        # (1) Update D: minimise loss.d_loss, for "ns" maximise E log D(x) + E log(1 - D(G(z)))
        #     (a fresh real batch and a fresh z for every critic step)
        x_real, z = state.sampler.sample(), state.noise()
        d_loss, penalty = d_step(state.G_run, state.D_run, state.opt_d, loss, x_real, z,
                                 weight, state.amp, noise)
        d_losses.append(d_loss)
        penalties.append(penalty)
    # (2) Update G: minimise loss.g_loss, for "ns" maximise E log D(G(z)) (non-saturating)
    g_loss = g_step(state.G_run, state.D_run, state.opt_g, loss, state.noise(), x_real,
                    state.amp, noise)
    return {"d_loss": torch.stack(d_losses).mean(), "g_loss": g_loss,
            "penalty": torch.stack(penalties).mean()}


# ----------------------------------------------------------------------------- fit
def fit(G: nn.Module, D: nn.Module, data, config: TrainConfig | None = None,
        callbacks: Sequence[Callable[[TrainState], None]] = ()) -> History:
    """Train G and D on ``data`` ``(N, ...)`` (or ``(x, labels)``) and return the :class:`History`.

    Each of the ``config.steps`` iterations is one :func:`gan_step`. Callbacks get the
    :class:`TrainState` every ``log_every`` steps and at the end.
    """
    config = config or TrainConfig()
    config.validate()
    loss = config.gan_loss
    x = check_data(data)
    state = new_state(G, D, x, config, compilable=loss.penalty is None)  # no compile through double backward
    check_models(G, D, loss, x, state.device)
    return run_loop(state, gan_step, callbacks, name=loss.name)


# ----------------------------------------------------------------------------- pre-flight checks
def check_data(data) -> Tensor:
    """The training tensor of ``data`` (a tensor, or ``(x, labels)``), or an error naming the fix."""
    if isinstance(data, (tuple, list)) and data and isinstance(data[0], Tensor):
        data = data[0]  # (x, labels)
    if not isinstance(data, Tensor):
        raise DataError(f"data must be a tensor (N, ...) or a tuple (x, labels), got {type(data).__name__}.")
    if data.ndim < 2 or len(data) == 0:
        raise DataError(f"data must be shaped (N, ...) with N > 0, got {tuple(data.shape)}.")
    if not data.is_floating_point():
        raise DataError(f"data must be floating point (images scaled to [-1, 1]), got {data.dtype}: "
                        "use x.float() / 127.5 - 1 for 0..255 pixels.")
    if not torch.isfinite(data).all():
        raise DataError("data holds NaN or inf values: clean or drop those samples first.")
    if data.ndim == 4:
        if data.shape[1] not in (1, 3, 4) and data.shape[-1] in (1, 3, 4):
            raise ShapeError(f"images must be laid out (N, C, H, W), got {tuple(data.shape)}, which "
                             "looks like (N, H, W, C): use x.permute(0, 3, 1, 2).")
        lo, hi = float(data.min()), float(data.max())
        if lo < -1.001 or hi > 1.001:
            raise DataError(f"images must be scaled to [-1, 1] (G ends in tanh), got values in "
                            f"[{lo:.3g}, {hi:.3g}]: use x / 127.5 - 1 for 0..255 pixels, or 2 * x - 1 for [0, 1].")
    return data


def check_models(G: nn.Module, D: nn.Module, loss: GANLoss, x: Tensor, device: torch.device) -> None:
    """Refuse, with the fix, a G or D that does not fit the data or what ``loss`` needs of D."""
    latent = getattr(G, "latent_dim", None)
    if not isinstance(latent, int):
        raise ConfigError("G must have an integer attribute latent_dim (the size of z).")
    with torch.no_grad(), evaluating(G, D):
        try:
            out = G(torch.zeros(2, latent, device=device))
        except RuntimeError as exc:
            raise ShapeError(f"G failed on z of shape (2, {latent}): {str(exc).splitlines()[0]}. "
                             "Check G.latent_dim against G's first layer.") from None
        if tuple(out.shape[1:]) != tuple(x.shape[1:]):
            raise ShapeError(f"G makes samples of shape {tuple(out.shape[1:])} but the data has "
                             f"{tuple(x.shape[1:])}: build G for the data's shape.")
        try:
            scores = D(x[:2].to(device))
        except RuntimeError as exc:
            raise ShapeError(f"D failed on a data batch of shape {tuple(x[:2].shape)}: "
                             f"{str(exc).splitlines()[0]}. Build D for the data's shape.") from None
    check_scores(loss, tuple(scores.shape), latent)
    if loss.penalty is not None and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules()):
        raise ConfigError(f"loss {loss.name!r} penalises D's gradient per sample, which batch norm in D "
                          "breaks (it mixes the samples of a batch): build D with batch_norm=False.")


def check_scores(loss: GANLoss, shape: tuple[int, ...], latent_dim: int) -> None:
    """Refuse D outputs of ``shape`` (for a batch of 2) that ``loss`` cannot use."""
    if loss.output == "scalar" and shape != (2,):
        raise ShapeError(f"loss {loss.name!r} needs D to return one score per sample (B,), got "
                         f"{shape}: build D with out_dim=None.")
    if loss.output == "vector" and len(shape) != 2:
        raise ShapeError(f"loss {loss.name!r} needs D to return a vector per sample (B, k), got "
                         f"{shape}: build D with out_dim=k.")
    if loss.output == "vector" and loss.uses_z and shape[1] != latent_dim:
        raise ShapeError(f"loss {loss.name!r} compares D's output with z, so D must return latent_dim = "
                         f"{latent_dim} numbers per sample, got {shape[1]}: build D with out_dim={latent_dim}.")
