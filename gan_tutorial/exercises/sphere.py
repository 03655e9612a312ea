"""Chapter 4's exercises: the inverse stereographic projection, the distance to the pole, D's loss.

Solutions in ``losses.py``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..core import losses
from .checker import exercise


def _log_uniform_norms(g: torch.Generator, lo: float, hi: float) -> Tensor:
    """Points ``(B, n)`` in float64 with norms spread log-uniformly in ``[lo, hi]``, and a 0 row."""
    b, n = int(torch.randint(2, 40, (1,), generator=g)), int(torch.randint(1, 9, (1,), generator=g))
    v = torch.randn(b, n, generator=g, dtype=torch.float64)
    r = torch.exp(math.log(lo) + torch.rand(b, 1, generator=g, dtype=torch.float64) * math.log(hi / lo))
    u = v / v.norm(dim=1, keepdim=True) * r
    u[0] = 0.0  # the south pole
    return u


def _projection_inputs(g: torch.Generator) -> tuple[Tensor]:
    p = _log_uniform_norms(g, 1e-3, 1e3)
    p[1] = 0.0
    p[1, 0] = 2.0  # chapter 4's example p = (2, 0, ...): the copied snippet's point is off the sphere
    return (p,)


exercise("inverse_stereographic", losses.inverse_stereographic, _projection_inputs,
         "The inverse stereographic projection of p (B, n) onto the unit sphere S^n, north pole "
         "(0, ..., 0, 1) last: returns (B, n + 1); the last coordinate uses |p|^2, not the norm "
         "of the already projected first block.", atol=1e-10, rtol=1e-8)


def _pole_distance_from_p(p: Tensor) -> Tensor:
    return losses.pole_distance(losses.inverse_stereographic(p))


exercise("pole_distance_from_p", _pole_distance_from_p,
         lambda g: (_log_uniform_norms(g, 1e-4, 1e12),),
         "The geodesic distance from Pi^-1(p) to the north pole, for p (B, n); returns (B,). "
         "Checked to a relative error of 1e-9 for |p| up to 1e12, where arccos of the last "
         "coordinate has lost most of its digits.", atol=0.0, rtol=1e-9)


def _sphere_scores(g: torch.Generator) -> tuple[Tensor, Tensor, int]:
    real, fake = _log_uniform_norms(g, 1e-2, 1e2), _log_uniform_norms(g, 1e-2, 1e2)
    n = min(real.shape[1], fake.shape[1])
    # R >= 2, where the sum over the moments 1..R differs from its last term alone
    return real[:, :n], fake[:, :n], int(torch.randint(2, 5, (1,), generator=g))


exercise("sphere_d_loss", losses.sphere_d_loss, _sphere_scores,
         "Sphere GAN's D loss from D's linear outputs real_scores (B, n), fake_scores (B', n) and "
         "the number of moments R: minus sum_{r=1..R} [mean d_real^r - mean d_fake^r], with d "
         "the geodesic distance of Pi^-1(p) to the north pole.", atol=1e-10, rtol=1e-8)
