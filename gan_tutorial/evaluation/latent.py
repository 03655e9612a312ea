"""Walks in the latent space of a generator: interpolation between two codes, and directions.

``z ~ N(0, I)`` in ``d`` dimensions concentrates near the sphere of radius ``sqrt(d)``; the
straight line between two codes passes closer to the origin, where G saw few codes during
training. Spherical interpolation (Shoemake, 1985; used for GANs by White, 2016) keeps the
norm. A *direction* is a unit vector ``u`` such that moving ``z + alpha u`` changes one
attribute of ``G(z)``; :func:`attribute_direction` finds the one that a least-squares fit
of a measured attribute on ``z`` points along.
"""

from __future__ import annotations

import torch
from torch import Tensor


def lerp(z0: Tensor, z1: Tensor, n: int) -> Tensor:
    """``n`` codes on the segment from ``z0`` to ``z1`` ``(d,)``, ends included: ``(n, d)``."""
    t = torch.linspace(0, 1, n, dtype=z0.dtype, device=z0.device)[:, None]
    return (1 - t) * z0 + t * z1


def slerp(z0: Tensor, z1: Tensor, n: int) -> Tensor:
    """``n`` codes on the great-circle arc from ``z0`` to ``z1`` ``(d,)``: ``(n, d)``.

    ``sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1`` with ``w`` the angle between the
    codes; the norm is interpolated linearly too, so codes of equal norm keep it exactly.
    Falls back to :func:`lerp` when the codes are (anti)parallel, where the arc is undefined.
    """
    r0, r1 = z0.norm(), z1.norm()
    u0, u1 = z0 / r0, z1 / r1
    omega = torch.arccos((u0 @ u1).clamp(-1.0, 1.0))
    if float(torch.sin(omega)) < 1e-6:
        return lerp(z0, z1, n)
    t = torch.linspace(0, 1, n, dtype=z0.dtype, device=z0.device)[:, None]
    arc = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / torch.sin(omega)
    return arc * ((1 - t) * r0 + t * r1)


def attribute_direction(z: Tensor, attribute: Tensor) -> Tensor:
    """Unit vector ``u`` ``(d,)`` along which ``attribute`` ``(n,)`` grows, fitted on codes ``z`` ``(n, d)``.

    Least squares ``attribute ~ a + z w`` (with an intercept); ``u = w / ||w||``.
    """
    x = torch.cat([torch.ones(len(z), 1, dtype=torch.float64), z.double()], dim=1)
    coef = torch.linalg.lstsq(x, attribute.double()[:, None]).solution[1:, 0]
    return (coef / coef.norm()).to(z.dtype)


def walk(z: Tensor, direction: Tensor, alphas) -> Tensor:
    """Codes ``z + alpha u`` for each code ``z`` ``(m, d)`` and each ``alpha``: ``(m * len(alphas), d)``.

    Row-major: the ``len(alphas)`` codes of the first ``z`` come first, so an image grid with
    ``nrow=len(alphas)`` shows one code per row.
    """
    a = torch.as_tensor(alphas, dtype=z.dtype, device=z.device)
    return (z[:, None, :] + a[None, :, None] * direction[None, None, :]).reshape(-1, z.shape[1])
