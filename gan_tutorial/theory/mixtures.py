"""Distributions with known densities for chapter 1's checks: Gaussian mixtures, their pairs,
and the Jensen-Shannon divergence between two of them by quadrature on a grid.

Re-exported by :mod:`gan_tutorial.theory.minimax`, where the chapter uses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Mixture:
    """A mixture of isotropic Gaussians with known density: ``sum_k w_k N(mean_k, std_k^2 I)``.

    ``means`` is a tuple of ``d``-tuples, ``stds`` and ``weights`` one number per component
    (weights are normalised). Used as the fixed ``p`` and ``q`` of the D-only experiments.
    """

    means: tuple[tuple[float, ...], ...]
    stds: tuple[float, ...]
    weights: tuple[float, ...] | None = None

    @property
    def dim(self) -> int:
        return len(self.means[0])

    def _params(self) -> tuple[Tensor, Tensor, Tensor]:
        mu = torch.tensor(self.means, dtype=torch.float64)  # (k, d)
        std = torch.tensor(self.stds, dtype=torch.float64)  # (k,)
        w = torch.tensor(self.weights or [1.0] * len(self.means), dtype=torch.float64)
        return mu, std, w / w.sum()

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples ``(n, d)``, float32."""
        mu, std, w = self._params()
        k = torch.multinomial(w, n, replacement=True, generator=generator)
        eps = torch.randn(n, self.dim, dtype=torch.float64, generator=generator)
        return (mu[k] + std[k, None] * eps).float()

    def log_prob(self, x: Tensor) -> Tensor:
        """Log density at ``x`` ``(n, d)`` (or ``(n,)`` in 1-D), float64 ``(n,)``."""
        mu, std, w = self._params()
        x = torch.as_tensor(x).reshape(len(x), -1).to(torch.float64)
        sq = ((x[:, None, :] - mu[None]) ** 2).sum(-1)  # (n, k)
        log_norm = -0.5 * self.dim * torch.log(2 * math.pi * std**2)  # (k,)
        return torch.logsumexp(torch.log(w) + log_norm - sq / (2 * std**2), dim=1)


PAIRS: dict[str, tuple[Mixture, Mixture]] = {
    # p is the package's "mix1d" (data.toy); q is one wide Gaussian between its two modes.
    "1d": (Mixture(((-2.0,), (2.0,)), (0.5, 0.5)),
           Mixture(((0.0,),), (1.25,))),
    # p: three round modes on a circle of radius 2; q: a wide Gaussian at the centre plus a
    # narrower one at (-1.5, 0), between two of p's modes.
    "2d": (Mixture(((2.0, 0.0), (-1.0, 1.7320508075688772), (-1.0, -1.7320508075688772)),
                   (0.5, 0.5, 0.5)),
           Mixture(((0.0, 0.0), (-1.5, 0.0)), (1.0, 0.6), (0.6, 0.4))),
}
"""The fixed pairs ``(p, q)`` of the D-only experiments, with closed-form densities."""


def grid(lim: float, n: int, dim: int) -> tuple[Tensor, float]:
    """A regular grid on ``[-lim, lim]^dim``: points ``(n**dim, dim)`` and the cell volume."""
    axis = torch.linspace(-lim, lim, n, dtype=torch.float64)
    h = float(axis[1] - axis[0])
    if dim == 1:
        return axis[:, None], h
    X, Y = torch.meshgrid(axis, axis, indexing="xy")
    return torch.stack([X.reshape(-1), Y.reshape(-1)], 1), h * h


def jsd_quadrature(p: Mixture, q: Mixture, lim: float = 8.0, n: int | None = None) -> float:
    """``JSD(p || q)`` by a Riemann sum on a fine grid over ``[-lim, lim]^d`` (d = 1 or 2).

    The integrands are smooth Gaussians, so the sum converges very fast in the spacing.
    """
    n = n or (20001 if p.dim == 1 else 801)
    x, vol = grid(lim, n, p.dim)
    lp, lq = p.log_prob(x), q.log_prob(x)
    lm = torch.logaddexp(lp, lq) - math.log(2)
    kl_pm = (lp.exp() * (lp - lm)).sum() * vol
    kl_qm = (lq.exp() * (lq - lm)).sum() * vol
    return float((kl_pm + kl_qm) / 2)
