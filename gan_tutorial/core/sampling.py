"""Using a trained G: samples in evaluation mode, and samples kept by asking D.

Nothing here trains; metrics, plots, the benchmark and the chapters import it without the
training loop. :func:`evaluating` is the one way the package switches modules to
evaluation mode and back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from .errors import ConfigError, ShapeError


@contextlib.contextmanager
def evaluating(*modules: nn.Module | None) -> Iterator[None]:
    """Put ``modules`` in evaluation mode (batch norm uses running statistics) and restore
    each one's own mode afterwards, also when the block raises. ``None`` entries are skipped."""
    mods = [m for m in modules if m is not None]
    modes = [m.training for m in mods]
    for m in mods:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(mods, modes):
            m.train(mode)


@torch.no_grad()
def sample(G: nn.Module, z: Tensor) -> Tensor:
    """``G(z)`` in evaluation mode (batch norm uses running statistics), on the CPU."""
    with evaluating(G):
        return G(z).float().cpu()


def log_ratio_score(scores: Tensor) -> Tensor:
    """D's scalar logit from its raw output: ``(B,)`` as is, a vector ``(B, k)`` averaged.

    For the ``ns``/``minimax`` losses the optimal D's logit is ``log p_data(x) / p_g(x)``
    (chapter 1); O-GAN's D is ``avg E(x)`` trained with such a base loss, hence the average.
    """
    if scores.ndim == 1:
        return scores
    if scores.ndim == 2:
        return scores.mean(1)
    raise ShapeError(f"D's output must be (B,) or (B, k) for rejection sampling, got {tuple(scores.shape)}.")


@torch.no_grad()
def rejection_sample(G: nn.Module, D: nn.Module, n: int, latent_dim: int, quantile: float = 0.99,
                     calibration: int = 10_000, batch: int = 10_000, max_draws: int | None = None,
                     generator: torch.Generator | None = None) -> tuple[Tensor, dict]:
    """``n`` samples of G kept by discriminator rejection sampling (Azadi et al., 2019).

    With ``s(x) = log p_data(x) / p_g(x)`` (D's logit, :func:`log_ratio_score`), drawing
    ``x ~ p_g`` and keeping it with probability ``min(1, exp(s(x) - log M))`` leaves the
    density ``min(p_g, p_data / M)`` (normalised): exactly ``p_data`` once
    ``M >= max p_data / p_g``, which keeps a fraction ``1 / M`` of the draws (chapter 6
    derives both). ``log M`` is the ``quantile`` of ``s`` over ``calibration`` draws: 1.0
    takes their maximum; lower values keep more draws and correct less.

    Returns the samples ``(n, d)`` on the CPU and ``{"acceptance", "log_M", "draws"}``.
    Raises ``ConfigError`` for bad arguments and when ``max_draws`` (default ``1000 n``)
    draws keep fewer than ``n``: then D rejects nearly everything (lower ``quantile``, raise
    ``max_draws``, or train D and G longer so that they agree). ``draws`` and ``acceptance``
    count the draws after the calibration ones.
    """
    if not 0 < quantile <= 1:
        raise ConfigError(f"quantile must be in (0, 1], got {quantile}: 0.99 caps log M at the 99th percentile.")
    for name, v in (("n", n), ("latent_dim", latent_dim), ("calibration", calibration), ("batch", batch)):
        if v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v}.")
    max_draws = 1000 * n if max_draws is None else max_draws
    device = next(iter(G.parameters()), torch.empty(0)).device

    def draw(m: int) -> tuple[Tensor, Tensor]:
        z = torch.randn(m, latent_dim, generator=generator).to(device)
        x = G(z)
        return x.float().cpu(), log_ratio_score(D(x).float()).cpu()

    with evaluating(G, D):
        log_m = torch.quantile(draw(calibration)[1], quantile).item()
        kept, n_kept, draws = [], 0, 0
        while n_kept < n:
            if draws >= max_draws:
                raise ConfigError(
                    f"rejection sampling kept {n_kept} of {draws} draws, fewer than the {n} asked for: "
                    f"D rejects nearly everything. Lower quantile (now {quantile}) or raise max_draws.")
            x, s = draw(batch)
            draws += batch
            u = torch.rand(batch, generator=generator)
            keep = u < torch.exp((s - log_m).clamp(max=0.0))
            kept.append(x[keep])
            n_kept += int(keep.sum())
    return torch.cat(kept)[:n], {"acceptance": n_kept / draws, "log_M": log_m, "draws": draws}
