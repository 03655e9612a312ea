"""Chapter 6, discriminator rejection sampling (Azadi et al., 2019), derived with sympy.

Draw ``x ~ p_g`` and keep it with probability ``a(x) = min(1, e^{s(x)} / M)``, where
``e^s = p_data / p_g`` is the density ratio that the optimal non-saturating D's logit ``s``
estimates (chapter 1). The kept draws have the density ``p_g a / Z`` with ``Z = E_{p_g} a``
the fraction of draws kept. The sympy functions below compute that density from this
definition, in a continuous case (both densities Gaussian, the ratio bounded) and a discrete
one where the cap ``M`` is below the largest ratio (what a quantile cap does), and return
what remains of the difference to ``p_data``. :func:`sweep_caps` is the numeric experiment of
the chapter's last exercise: the package's sampler with an exact D on a 1-D mixture.
"""

from __future__ import annotations

import math

import sympy as sp
import torch
from torch import Tensor, nn


def gaussian_case() -> dict:
    """``p_data = N(0, 1)``, ``p_g = N(0, w^2)`` with ``w > 1`` (G too wide), step by step.

    Returns the steps: the ratio ``e^s = p_data / p_g`` (simplified), its derivative in
    ``x``, the critical points (solved from the derivative), the second derivative there
    (negative for ``w > 1``: a maximum), ``M`` = the ratio at its maximum, the fraction kept
    ``Z = E_{p_g}[e^s / M]`` (integrated) and the kept density minus ``p_data`` (simplified).
    """
    x = sp.symbols("x", real=True)
    w = sp.symbols("w", positive=True)
    p_data = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    p_g = sp.exp(-x**2 / (2 * w**2)) / (w * sp.sqrt(2 * sp.pi))
    ratio = sp.simplify(p_data / p_g)
    d_ratio = sp.simplify(sp.diff(ratio, x))
    critical = sp.solve(d_ratio, x)
    curvature = sp.factor(sp.simplify(sp.diff(ratio, x, 2).subs(x, critical[0])))
    M = sp.simplify(ratio.subs(x, critical[0]))
    kept_mass = sp.simplify(p_g * ratio / M)  # p_g a with a = ratio / M <= 1 once M is the maximum
    Z = sp.simplify(sp.integrate(kept_mass, (x, -sp.oo, sp.oo)))
    kept = sp.simplify(kept_mass / Z)
    return {"p_data": p_data, "p_g": p_g, "ratio": ratio, "d ratio / dx": d_ratio,
            "critical points": critical, "second derivative there": curvature, "M": M,
            "acceptance": Z, "kept density": kept, "kept - p_data": sp.simplify(kept - p_data)}


def capped_discrete_case() -> dict:
    """Three points; G over-weights the first, under-weights the second, misses nothing.

    ``p_data = (1/2, 1/2, 0)``, ``p_g = (7/10, 1/5, 1/10)`` (the third point is a "bridge"
    sample between modes, ratio 0 there). For a cap ``M >= 1`` the kept law
    ``min(p_g, p_data / M) / Z`` is returned as a function of ``M``, together with its total
    variation distance to ``p_data``, for ``M`` = the largest ratio (exact) and ``M = 1``.
    """
    M = sp.symbols("M", positive=True)
    p_data = [sp.Rational(1, 2), sp.Rational(1, 2), sp.Integer(0)]
    p_g = [sp.Rational(7, 10), sp.Rational(1, 5), sp.Rational(1, 10)]
    ratio = [pd / pg for pd, pg in zip(p_data, p_g)]

    mass = [pg * sp.Min(1, ri / M) for pg, ri in zip(p_g, ratio)]  # P(draw the point and keep it)

    def kept_law(m):
        at_m = [v.subs(M, m) for v in mass]
        z = sum(at_m)
        return [sp.simplify(v / z) for v in at_m], sp.simplify(z)

    def tv(p, q):
        return sp.nsimplify(sum(sp.Abs(a - b) for a, b in zip(p, q)) / 2)

    exact, z_exact = kept_law(max(ratio))
    capped, z_capped = kept_law(sp.Integer(1))
    return {"ratios": ratio, "max ratio": max(ratio), "kept mass(M)": mass,
            "kept at M = max ratio": exact, "acceptance at M = max ratio": z_exact,
            "kept at M = 1": capped, "acceptance at M = 1": z_capped,
            "TV(p_g, p_data)": tv(p_g, p_data), "TV(kept at M = 1, p_data)": tv(capped, p_data),
            "TV(kept at M = max ratio, p_data)": tv(exact, p_data)}


# ----------------------------------------------------------------------------- the exercise
def _normal_log_pdf(x: Tensor, mean: float, sd: float) -> Tensor:
    return -0.5 * ((x - mean) / sd) ** 2 - math.log(sd * math.sqrt(2 * math.pi))


def _mixture_log_pdf(x: Tensor, weights, means, sd: float) -> Tensor:
    parts = torch.stack([math.log(w) + _normal_log_pdf(x, m, sd) for w, m in zip(weights, means)])
    return torch.logsumexp(parts, 0)


class _UnbalancedMixtureG(nn.Module):
    """``x = -2`` with probability ``left``, else ``+2``, plus ``sd`` times noise; ``z`` (B, 2)."""

    def __init__(self, left: float = 0.8, sd: float = 0.7):
        super().__init__()
        self.left, self.sd = left, sd

    def forward(self, z: Tensor) -> Tensor:
        side = torch.where(torch.special.ndtr(z[:, 0]) < self.left, -2.0, 2.0)
        return (side + self.sd * z[:, 1])[:, None]  # (B, 1)


class _ExactLogRatio(nn.Module):
    """The optimal D's logit ``log p_data(x) - log p_g(x)`` for the two mixtures, x (B, 1)."""

    def __init__(self, g: _UnbalancedMixtureG, sd_data: float = 0.5):
        super().__init__()
        self.g, self.sd_data = g, sd_data

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, 0].double()
        log_p = _mixture_log_pdf(x, (0.5, 0.5), (-2.0, 2.0), self.sd_data)
        log_q = _mixture_log_pdf(x, (self.g.left, 1 - self.g.left), (-2.0, 2.0), self.g.sd)
        return (log_p - log_q).float()  # (B,)


def sweep_caps(quantiles=(0.5, 0.75, 0.9, 0.99, 1.0), n: int = 20_000, seed: int = 0) -> list[dict]:
    """Rejection with an exact D on a 1-D mixture, for several caps ``log M`` (quantiles of ``s``).

    ``p_data = (N(-2, 0.5^2) + N(2, 0.5^2)) / 2``; G draws ``0.8 N(-2, 0.7^2) + 0.2 N(2, 0.7^2)``
    (the right mode under-filled, both too wide). For each quantile,
    :func:`gan_tutorial.sampling.rejection_sample` keeps ``n`` samples; each row holds the cap
    ``M``, the measured fraction of draws kept, the predicted one ``Z = ∫ min(p_g, p_data / M)``,
    the exact total variation of the kept law to ``p_data`` (both integrated on a grid), and
    the measured share of kept samples on the right (``x > 0``; ``p_data`` has 1/2).
    """
    from ..core.sampling import rejection_sample

    G = _UnbalancedMixtureG()
    D = _ExactLogRatio(G)
    grid = torch.linspace(-8, 8, 160_001, dtype=torch.float64)
    dx = float(grid[1] - grid[0])
    p = _mixture_log_pdf(grid, (0.5, 0.5), (-2.0, 2.0), 0.5).exp()
    q = _mixture_log_pdf(grid, (G.left, 1 - G.left), (-2.0, 2.0), G.sd).exp()
    rows = []
    for quantile in quantiles:
        gen = torch.Generator().manual_seed(seed)
        x, info = rejection_sample(G, D, n, latent_dim=2, quantile=quantile, generator=gen)
        m = math.exp(info["log_M"])
        kept = torch.minimum(q, p / m)
        z = float(kept.sum() * dx)
        tv = float(0.5 * (kept / z - p).abs().sum() * dx)
        rows.append({"quantile": quantile, "M": m, "kept fraction": info["acceptance"],
                     "predicted fraction": z, "TV(kept, p_data)": tv,
                     "right share": float((x[:, 0] > 0).float().mean())})
    return rows
