"""Chapter 6, VEEGAN's variational bound (Srivastava et al., 2017), derived on discrete variables.

VEEGAN wants the reconstructor ``F`` to map the data to the latent law: it would minimise the
cross-entropy ``-E_{z ~ p_0} log p_F(z)`` with ``p_F(z) = sum_x p_F(z | x) p(x)``, which it
cannot evaluate. Jensen's inequality (``-log`` is convex) with the generator's
``q(x | z)`` as the averaging law gives, for each ``z``,

    -log p_F(z) = -log sum_x q(x|z) [p_F(z|x) p(x) / q(x|z)]
               <= -sum_x q(x|z) log [p_F(z|x) p(x) / q(x|z)]  =: B(z),

and averaging over ``p_0(z)``: ``E B = KL[p_0(z) q(x|z) || p(x) p_F(z|x)] + H(p_0)``. The
functions below compute the gap of the bound and that identity with sympy for binary
``x`` and ``z`` (any finite case works the same way).
"""

from __future__ import annotations

import sympy as sp


def jensen_gap() -> dict:
    """Gap ``B(z) + log p_F(z)`` for binary ``x``, and where it vanishes.

    Symbols: ``pi = p(x=1)``, ``pib = p(x=0)``, ``a = p_F(z|x=1)``, ``b = p_F(z|x=0)``,
    ``t = q(x=1|z)`` and ``tb = q(x=0|z) = 1 - t``.
    Returns the gap minus ``KL(q(.|z) || r(.|z))`` with ``r(x|z) = p_F(z|x) p(x) / p_F(z)``
    (the exact posterior of F's model), simplified (0 when the gap *is* that KL), and the
    ``t`` that minimises the gap, solved from its derivative.
    """
    pi, pib, a, b, t, tb = sp.symbols("pi pib a b t tb", positive=True)  # pib = 1 - pi, tb = 1 - t
    p_z = a * pi + b * pib
    bound = -(t * sp.log(a * pi / t) + tb * sp.log(b * pib / tb))
    gap = bound + sp.log(p_z)
    kl = t * sp.log(t * p_z / (a * pi)) + tb * sp.log(tb * p_z / (b * pib))
    # expand the logs first, then use that q(.|z) sums to one
    difference = sp.simplify(sp.expand_log(gap - kl, force=True).subs(tb, 1 - t))
    t_star = sp.solve(sp.diff(gap.subs(tb, 1 - t), t), t)
    r1 = a * pi / p_z
    return {"gap": gap, "gap - KL": difference, "argmin t": [sp.simplify(s) for s in t_star],
            "posterior r(x=1|z)": r1}


def averaged_bound() -> dict:
    """``E_{p_0} B(z) - (KL[p_0 q || p p_F] - E_{p_0} log p_0)`` for binary ``x`` and ``z``, simplified."""
    rho, pi = sp.symbols("rho pi", positive=True)  # p_0(z=1), p(x=1)
    q = sp.Matrix(2, 2, sp.symbols("q00 q01 q10 q11", positive=True))  # q[z, x] = q(x|z)
    f = sp.Matrix(2, 2, sp.symbols("f00 f01 f10 f11", positive=True))  # f[x, z] = p_F(z|x)
    p0, px = (1 - rho, rho), (1 - pi, pi)
    expected_bound = sum(p0[z] * -sum(q[z, x] * sp.log(f[x, z] * px[x] / q[z, x]) for x in range(2))
                         for z in range(2))
    kl = sum(p0[z] * q[z, x] * sp.log(p0[z] * q[z, x] / (px[x] * f[x, z]))
             for z in range(2) for x in range(2))
    entropy = -sum(p0[z] * sp.log(p0[z]) for z in range(2))
    # q(.|z) sums to one: q[z, 0] = 1 - q[z, 1]
    sub = {q[0, 0]: 1 - q[0, 1], q[1, 0]: 1 - q[1, 1]}
    difference = sp.simplify(sp.expand_log((expected_bound - kl - entropy).subs(sub), force=True))
    return {"E B - (KL + H(p_0))": difference}
