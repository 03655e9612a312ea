"""Chapter 6, VEEGAN's variational bound (Srivastava et al., 2017), derived on discrete variables.

VEEGAN wants the reconstructor ``F`` to map the data to the latent law: it would minimise the
cross-entropy ``-E_{z ~ p_z} log p_F(z)`` with ``p_F(z) = sum_x p_F(z | x) p_data(x)``, which
it cannot evaluate. Jensen's inequality (``-log`` is convex) with the generator's conditional
law ``p_g(x | z)`` as the averaging law gives, for each ``z``,

    -log p_F(z) = -log sum_x p_g(x|z) [p_F(z|x) p_data(x) / p_g(x|z)]
               <= -sum_x p_g(x|z) log [p_F(z|x) p_data(x) / p_g(x|z)]  =: B(z),

and averaging over ``p_z(z)``: ``E B = KL[p_z(z) p_g(x|z) || p_data(x) p_F(z|x)] + H(p_z)``.
The functions below compute the gap of the bound and that identity with sympy for binary
``x`` and ``z`` (any finite case works the same way).
"""

from __future__ import annotations

import sympy as sp


def jensen_gap() -> dict:
    """Gap ``B(z) + log p_F(z)`` for binary ``x``, and where it vanishes, step by step.

    Symbols: ``pi = p_data(x=1)``, ``pib = p_data(x=0)``, ``a = p_F(z|x=1)``,
    ``b = p_F(z|x=0)``, ``t = p_g(x=1|z)`` and ``tb = p_g(x=0|z) = 1 - t``.
    Returns the bound ``B``, ``p_F(z)``, the gap, the gap minus
    ``KL(p_g(.|z) || posterior)`` with the posterior ``p_F(z|x) p_data(x) / p_F(z)`` of F's
    model, simplified (0 when the gap *is* that KL), the derivative of the gap in ``t`` and
    the ``t`` that minimises the gap, solved from it.
    """
    pi, pib, a, b, t, tb = sp.symbols("pi pib a b t tb", positive=True)  # pib = 1 - pi, tb = 1 - t
    p_f = a * pi + b * pib
    bound = -(t * sp.log(a * pi / t) + tb * sp.log(b * pib / tb))
    gap = bound + sp.log(p_f)
    kl = t * sp.log(t * p_f / (a * pi)) + tb * sp.log(tb * p_f / (b * pib))
    # expand the logs first, then use that p_g(.|z) sums to one
    difference = sp.simplify(sp.expand_log(gap - kl, force=True).subs(tb, 1 - t))
    d_gap = sp.simplify(sp.expand_log(sp.diff(gap.subs(tb, 1 - t), t), force=True))
    t_star = sp.solve(d_gap, t)
    return {"bound": bound, "p_F(z)": p_f, "gap": gap, "gap - KL": difference,
            "d gap / dt": d_gap, "argmin t": [sp.simplify(s) for s in t_star],
            "posterior(x=1|z)": a * pi / p_f}


def averaged_bound() -> dict:
    """``E_{p_z} B(z) - (KL[p_z p_g || p_data p_F] - E_{p_z} log p_z)`` for binary ``x`` and ``z``, simplified."""
    rho, pi = sp.symbols("rho pi", positive=True)  # p_z(z=1), p_data(x=1)
    q = sp.Matrix(2, 2, sp.symbols("q00 q01 q10 q11", positive=True))  # q[z, x] = p_g(x|z)
    f = sp.Matrix(2, 2, sp.symbols("f00 f01 f10 f11", positive=True))  # f[x, z] = p_F(z|x)
    pz, px = (1 - rho, rho), (1 - pi, pi)
    expected_bound = sum(pz[z] * -sum(q[z, x] * sp.log(f[x, z] * px[x] / q[z, x]) for x in range(2))
                         for z in range(2))
    kl = sum(pz[z] * q[z, x] * sp.log(pz[z] * q[z, x] / (px[x] * f[x, z]))
             for z in range(2) for x in range(2))
    entropy = -sum(pz[z] * sp.log(pz[z]) for z in range(2))
    # p_g(.|z) sums to one: q[z, 0] = 1 - q[z, 1]
    sub = {q[0, 0]: 1 - q[0, 1], q[1, 0]: 1 - q[1, 1]}
    difference = sp.simplify(sp.expand_log((expected_bound - kl - entropy).subs(sub), force=True))
    return {"E B - (KL + H(p_z))": difference}
