"""Chapter 6, discriminator rejection sampling (Azadi et al., 2019), derived with sympy.

Draw ``x ~ p_G`` and keep it with probability ``a(x) = min(1, r(x) / M)``, where
``r = p_data / p_G`` is what the optimal non-saturating D's logit estimates
(``exp(logit) = r``, chapter 1). The kept draws have the density ``p_G a / Z`` with
``Z = E_{p_G} a`` the acceptance rate. The functions below compute that density from this
definition, in a continuous case (both densities Gaussian, ``r`` bounded) and a discrete one
where the cap ``M`` is below ``max r`` (what a quantile cap does), and return what remains
of the difference to ``p_data``.
"""

from __future__ import annotations

import sympy as sp


def gaussian_case() -> dict:
    """``p_data = N(0, 1)``, ``p_G = N(0, s^2)`` with ``s = sqrt(1 + k) > 1`` (G too wide).

    ``r(x) = s exp(-x^2 (1 - 1/s^2) / 2)`` peaks at ``x = 0``; with ``M = max r`` every draw
    has ``r / M <= 1``, so ``a = r / M``. Returns ``max r`` (solved from ``r' = 0``), the
    acceptance rate ``Z = E_{p_G}[r / M]`` and the kept density minus ``p_data``, simplified.
    """
    x = sp.symbols("x", real=True)
    k = sp.symbols("k", positive=True)
    s = sp.sqrt(1 + k)  # s > 1
    p_data = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    p_g = sp.exp(-x**2 / (2 * s**2)) / (s * sp.sqrt(2 * sp.pi))
    r = sp.simplify(p_data / p_g)
    critical = sp.solve(sp.diff(r, x), x)
    M = sp.simplify(r.subs(x, critical[0]))
    accept = r / M
    Z = sp.simplify(sp.integrate(p_g * accept, (x, -sp.oo, sp.oo)))
    kept = p_g * accept / Z
    return {"critical points": critical, "M": M, "acceptance": Z,
            "kept - p_data": sp.simplify(kept - p_data)}


def capped_discrete_case() -> dict:
    """Three points; G over-weights the first, under-weights the second, misses nothing.

    ``p_data = (1/2, 1/2, 0)``, ``p_G = (7/10, 1/5, 1/10)`` (the third point is a "bridge"
    sample between modes, ``r = 0`` there). For a cap ``M`` with ``1 <= M`` the kept law
    ``min(p_G, p_data / M) / Z`` is returned as a function of ``M``, together with its total
    variation distance to ``p_data``, and the same for ``M = max r`` (exact) and ``M = 1``.
    """
    M = sp.symbols("M", positive=True)
    p_data = [sp.Rational(1, 2), sp.Rational(1, 2), sp.Integer(0)]
    p_g = [sp.Rational(7, 10), sp.Rational(1, 5), sp.Rational(1, 10)]
    r = [pd / pg for pd, pg in zip(p_data, p_g)]

    mass = [pg * sp.Min(1, ri / M) for pg, ri in zip(p_g, r)]  # P(draw the point and keep it)

    def kept_law(m):
        at_m = [v.subs(M, m) for v in mass]
        z = sum(at_m)
        return [sp.simplify(v / z) for v in at_m], sp.simplify(z)

    def tv(p, q):
        return sp.nsimplify(sum(sp.Abs(a - b) for a, b in zip(p, q)) / 2)

    exact, z_exact = kept_law(max(r))
    capped, z_capped = kept_law(sp.Integer(1))
    return {"ratios": r, "max ratio": max(r), "kept mass(M)": mass,
            "kept at M = max r": exact, "acceptance at M = max r": z_exact,
            "kept at M = 1": capped, "acceptance at M = 1": z_capped,
            "TV(p_G, p_data)": tv(p_g, p_data), "TV(kept at M = 1, p_data)": tv(capped, p_data),
            "TV(kept at M = max r, p_data)": tv(exact, p_data)}
