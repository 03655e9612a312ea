"""Chapter 4, Sphere GAN (Park and Kwon, CVPR 2019): stereographic projection, geodesic
distances on the sphere, the bounded moment objective, and an erratum in copied code.

Notation: ``p`` in R^n is the output of D's last linear layer, ``S = |p|^2``, ``r = |p|``,
``N = (0, ..., 0, 1)`` the north pole of the unit sphere S^n in R^{n+1} (last coordinate),
``Pi^-1`` the inverse stereographic projection, ``d(a, b) = arccos(<a, b>)`` the geodesic
(great-circle) distance. Each sympy function *derives* its results (``solve``, ``diff``,
``simplify``) and returns them in a dict that the notebook prints and the tests assert.

The package's numerically safe versions live in :mod:`gan_tutorial.losses`
(``inverse_stereographic``, ``stereographic``, ``pole_distance``, ``geodesic_distance``).
"""

from __future__ import annotations

import math

import sympy as sp
import torch
from torch import Tensor

from ..losses import inverse_stereographic, pole_distance


# ----------------------------------------------------------------------------- 2-D picture
def circle_from_similar_triangles() -> dict:
    """Where does the line from ``N = (0, 1)`` through ``(p, 0)`` meet the unit circle again?

    The triangles ``N, O, (p, 0)`` and ``N, (0, y), (x, y)`` are similar (they share the
    angle at ``N`` and both have a right angle on the vertical axis), so
    ``x / p = (1 - y) / 1``. Together with ``x^2 + y^2 = 1`` sympy solves for ``(x, y)``.
    Returns the two equations, all ``solutions`` and ``point``, the one that is not ``N``.
    """
    p, x, y = sp.symbols("p x y", real=True)
    similar = sp.Eq(x / p, (1 - y) / 1)
    circle = sp.Eq(x**2 + y**2, 1)
    solutions = sp.solve([similar, circle], [x, y], dict=True)
    point = next(s for s in solutions if sp.simplify(s[y] - 1) != 0)
    return {"p": p, "x": x, "y": y, "similar_triangles": similar, "circle": circle,
            "solutions": solutions, "point": (sp.factor(point[x]), sp.factor(point[y]))}


# ----------------------------------------------------------------------------- n-D projection
def inverse_projection(p: sp.Matrix) -> sp.Matrix:
    """``Pi^-1(p) = (2p / (S + 1), (S - 1) / (S + 1))`` with ``S = |p|^2``, as a sympy column."""
    S = sum(c**2 for c in p)
    return sp.Matrix([*(2 * c / (S + 1) for c in p), (S - 1) / (S + 1)])


def projection(v: sp.Matrix) -> sp.Matrix:
    """``Pi(x', y) = x' / (1 - y)``: the stereographic projection from ``N``, as a sympy column."""
    return sp.Matrix([c / (1 - v[-1]) for c in v[:-1]])


def inverse_projection_properties(n: int = 3) -> dict:
    """Properties of ``Pi^-1`` on ``R^n``, for symbolic ``p = (p_1, ..., p_n)``.

    * ``norm_sq`` - ``|Pi^-1(p)|^2`` simplified (1: the point is on the unit sphere);
    * ``round_trip`` - ``Pi(Pi^-1(p)) - p`` simplified (zero vector: ``Pi`` inverts it);
    * ``gram`` - ``J^T J`` for the Jacobian ``J`` ``(n+1, n)`` of ``Pi^-1``, factored;
    * ``conformal_factor`` - ``sqrt(gram[0, 0])``: the columns of ``J`` are orthogonal
      with that common length, so ``Pi^-1`` is conformal (it preserves angles);
    * ``general_n_coefficient`` - for any ``n``, ``J = lambda (I - 2 p p^T / (1 + S))``
      stacked on ``2 lambda p^T / (1 + S)``, so ``J^T J = lambda^2 (I + c p p^T)`` with
      ``c`` computed here from that expansion (0: ``J^T J = lambda^2 I`` in every dimension).
    """
    p = sp.Matrix(sp.symbols(f"p1:{n + 1}", real=True))
    v = inverse_projection(p)
    J = v.jacobian(p)
    gram = (J.T * J).applyfunc(sp.factor)
    S = sp.Symbol("S", nonnegative=True)
    # (I - a pp^T)^2 + b^2 pp^T = I + (-2a + a^2 S + b^2) pp^T, with a = 2/(1+S), b = 2/(1+S)
    a = b = 2 / (1 + S)
    coefficient = sp.simplify(-2 * a + a**2 * S + b**2)
    return {"p": p, "point": v, "norm_sq": sp.simplify((v.T * v)[0]),
            "round_trip": sp.simplify(projection(v) - p), "jacobian": J, "gram": gram,
            "conformal_factor": sp.factor(sp.sqrt(gram[0, 0])),
            "general_n_coefficient": coefficient}


# ----------------------------------------------------------------------------- distances
def geodesic_between_projections(n: int = 3) -> dict:
    """``cos d(Pi^-1(p), Pi^-1(q)) = <Pi^-1(p), Pi^-1(q)>`` in closed form, for ``p, q`` in R^n.

    Returns ``cos_d`` (the inner product, simplified), ``paper_form_residual`` - ``cos_d``
    minus Park and Kwon's ``(|p|^2|q|^2 - |p|^2 - |q|^2 + 4<p,q> + 1) / ((|p|^2+1)(|q|^2+1))``
    (0), and ``chord_form_residual`` - ``cos_d`` minus
    ``1 - 2|p - q|^2 / ((1 + |p|^2)(1 + |q|^2))`` (0). The second form gives
    ``sin(d / 2) = |p - q| / sqrt((1 + |p|^2)(1 + |q|^2))``, which stays accurate for close points.
    """
    p = sp.Matrix(sp.symbols(f"p1:{n + 1}", real=True))
    q = sp.Matrix(sp.symbols(f"q1:{n + 1}", real=True))
    Sp, Sq, pq = (p.T * p)[0], (q.T * q)[0], (p.T * q)[0]
    cos_d = sp.factor((inverse_projection(p).T * inverse_projection(q))[0])
    paper = (Sp * Sq - Sp - Sq + 4 * pq + 1) / ((Sp + 1) * (Sq + 1))
    chord = 1 - 2 * ((p - q).T * (p - q))[0] / ((1 + Sp) * (1 + Sq))
    return {"cos_d": cos_d, "paper_form_residual": sp.simplify(cos_d - paper),
            "chord_form_residual": sp.simplify(cos_d - chord)}


def pole_distance_derivation() -> dict:
    """The distance from ``Pi^-1(p)`` to ``N`` as a function of ``r = |p|``, and its gradient.

    * ``cos_d`` - ``<Pi^-1(p), N>``, the last coordinate, written in ``r``;
    * ``cos_of_claim`` - ``cos(2 atan(1/r))`` expanded: equal to ``cos_d``; both angles lie in
      ``[0, pi]``, where ``cos`` is one-to-one, hence ``d = 2 atan(1/r)``;
    * ``derivative_residual`` - ``d/dr arccos(cos_d) - d/dr 2 atan(1/r)`` (0) and
      ``value_at_1`` - both sides at ``r = 1`` (``pi/2``): a second derivation of the same;
    * ``limits`` - ``d`` at ``r -> 0+`` (pi, the south pole) and ``r -> oo`` (0, ``N``);
    * ``dd_dr`` - ``d'(r) = -2 / (1 + r^2)``; since ``d`` depends on ``p`` through ``r``,
      ``grad_p d = d'(r) p / r`` and ``grad_norm = |d'(r)|``, decreasing (``grad_norm_slope``
      ``<= 0``) from its supremum ``grad_sup = 2`` at ``r -> 0``;
    * ``inversion_sum`` - ``d(r) + d(1/r)`` (pi): the inversion ``p -> p / |p|^2`` reflects
      the sphere through the equator and turns a distance ``d`` into ``pi - d``.
    """
    r = sp.Symbol("r", positive=True)
    p = sp.Matrix([r, 0, 0])  # d depends on p only through r = |p|: put p on an axis
    cos_d = sp.simplify(inverse_projection(p)[-1])
    claim = 2 * sp.atan(1 / r)
    d_acos = sp.acos(cos_d)
    derivative_residual = sp.simplify(sp.diff(d_acos, r) - sp.diff(claim, r))
    dd_dr = sp.simplify(sp.diff(claim, r))
    grad_norm = sp.Abs(dd_dr)
    inversion = claim + claim.subs(r, 1 / r)
    return {"r": r, "cos_d": cos_d, "cos_of_claim": sp.simplify(sp.expand_trig(sp.cos(claim))),
            "distance": claim, "derivative_residual": derivative_residual,
            "value_at_1": (sp.simplify(d_acos.subs(r, 1)), claim.subs(r, 1)),
            "limits": (sp.limit(claim, r, 0, "+"), sp.limit(claim, r, sp.oo)),
            "dd_dr": dd_dr, "grad_norm": sp.simplify(grad_norm),
            "grad_norm_slope": sp.simplify(sp.diff(sp.simplify(grad_norm), r)),
            "grad_sup": sp.limit(grad_norm, r, 0, "+"),
            # d(r) + d(1/r) has zero derivative and equals pi at r = 1
            "inversion_sum": (sp.simplify(sp.diff(inversion, r)), sp.simplify(inversion.subs(r, 1)))}


def moment_bounds(moments: int) -> dict:
    """Bounds of ``g(d) = sum_{r=1}^R d^r`` for ``d = 2 atan(1/|p|)`` in ``[0, pi]``.

    ``value_sup = g(pi)`` bounds the objective's integrand; ``grad_sup`` bounds
    ``|grad_p g(d(p))| = g'(d) |d'|``: both factors decrease with ``|p|``, so the supremum is
    their product at ``|p| -> 0``, ``2 g'(pi)``.
    """
    t, r = sp.symbols("t r", positive=True)
    g = sum(t**k for k in range(1, moments + 1))
    d = 2 * sp.atan(1 / r)
    grad_norm = sp.diff(g, t).subs(t, d) * 2 / (1 + r**2)
    return {"g": g, "value_sup": sp.expand(g.subs(t, sp.pi)),
            "grad_sup": sp.expand(sp.limit(grad_norm, r, 0, "+")),
            "grad_norm": grad_norm}


# ----------------------------------------------------------------------------- erratum
def copied_snippet_point(p) -> sp.Matrix:
    """What the widely copied TensorFlow snippet computes, in exact arithmetic.

    Its first block is right, ``u = 2p / (|p|^2 + 1)``, but its last coordinate is
    ``(|u|^2 - 1) / (|u|^2 + 1)``, from the norm of the *already projected* ``u`` instead
    of ``|p|``. ``p`` is a sequence of numbers or sympy expressions.
    """
    p = sp.Matrix([sp.nsimplify(c) for c in p])
    S = (p.T * p)[0]
    u = 2 * p / (S + 1)
    Su = (u.T * u)[0]
    return sp.Matrix([*u, (Su - 1) / (Su + 1)])


def copied_snippet_analysis() -> dict:
    """How far the snippet's points are from the sphere, and what it does to distances.

    With ``s = |p|^2`` (enough: everything depends on ``p`` through ``s``):

    * ``last`` - the snippet's last coordinate, factored (``-(s - 1)^2 / (s^2 + 6 s + 1)``);
    * ``norm_sq`` - the squared norm of its point; ``on_sphere_at`` - the ``s`` where it is 1;
    * ``example`` - the point and its squared norm for ``p = (2, 0, 0)``, and the right point;
    * ``cos_pole`` - ``<point, N>`` (the last coordinate) and its range ``[-1, 0]``: every
      point is in the southern hemisphere, so the "distance" ``arccos`` of it is in
      ``[pi/2, pi]``; ``symmetry`` - ``last(1/s) - last(s)`` (0): ``|p|`` and ``1/|p|`` get the
      same "distance", so D cannot move a sample towards ``N`` by growing ``|p|``;
    * ``right_last`` - the correct last coordinate ``(s - 1)/(s + 1)``, for comparison.
    """
    s = sp.Symbol("s", nonnegative=True)
    su = 4 * s / (s + 1) ** 2  # |u|^2 for |p|^2 = s
    last = sp.factor((su - 1) / (su + 1))
    norm_sq = sp.factor(su + last**2)
    on_sphere = sp.solve(sp.numer(sp.together(norm_sq - 1)), s)
    p_ex = (2, 0, 0)
    point = copied_snippet_point(p_ex)
    right = inverse_projection(sp.Matrix(p_ex))
    stationary = sp.solve(sp.diff(last, s), s)
    return {"s": s, "last": last, "norm_sq": norm_sq, "on_sphere_at": sorted(on_sphere),
            "example": {"p": p_ex, "point": point, "norm_sq": (point.T * point)[0],
                        "right_point": right, "right_norm_sq": (right.T * right)[0]},
            "cos_pole_range": (sp.limit(last, s, 0), last.subs(s, 1),
                               sp.limit(last, s, sp.oo)),
            "stationary_points": stationary,
            "symmetry": sp.simplify(last.subs(s, 1 / s) - last),
            "right_last": (s - 1) / (s + 1)}


def copied_snippet_projection(p: Tensor) -> Tensor:
    """The copied snippet's arithmetic in torch, ``(B, n)`` -> ``(B, n + 1)`` (NOT on the sphere).

    Kept only to show the erratum's effect; use :func:`gan_tutorial.losses.inverse_stereographic`.
    """
    u = 2 * p / (p.square().sum(-1, keepdim=True) + 1)
    su = u.square().sum(-1, keepdim=True)
    return torch.cat([u, (su - 1) / (su + 1)], dim=-1)


# ----------------------------------------------------------------------------- the objective
def total_variation(P: Tensor, Q: Tensor) -> float:
    """``TV(P, Q) = sup_A P(A) - Q(A) = (1/2) sum_k |P_k - Q_k|`` for discrete distributions."""
    return 0.5 * float((P - Q).abs().sum())


def sphere_ipm_free_d(P: Tensor, Q: Tensor, moments: int = 3, n: int = 4, steps: int = 3000,
                      lr: float = 0.1, seed: int = 0) -> dict:
    """Maximise the Sphere GAN objective over an *unconstrained* D on a finite set of atoms.

    ``P``, ``Q`` ``(K,)`` are distributions over ``K`` atoms; D is a free table of outputs
    ``p_k`` in R^n (one per atom, as if D could be any function). The objective
    ``sum_r E_P d^r - sum_r E_Q d^r = sum_k (P_k - Q_k) g(d(Pi^-1(p_k)))`` with
    ``g(t) = sum_{r<=R} t^r`` is maximised by Adam. Its supremum is ``g(pi) TV(P, Q)``:
    atoms with ``P_k > Q_k`` go to the south pole (``d = pi``), the others to ``N``, which
    they only approach like ``d ~ 2 / |p_k|`` (the gradient there fades like ``2 / |p_k|^2``).
    Returns the final objective, that supremum, and the final distances ``(K,)``.
    """
    g = torch.Generator().manual_seed(seed)
    table = torch.nn.Parameter(torch.randn(len(P), n, generator=g, dtype=torch.float64))
    opt = torch.optim.Adam([table], lr=lr)
    w = (P - Q).to(torch.float64)

    def objective() -> Tensor:
        d = pole_distance(inverse_stereographic(table))
        return (w * sum(d.pow(r) for r in range(1, moments + 1))).sum()

    for _ in range(steps):
        opt.zero_grad()
        (-objective()).backward()
        opt.step()
    with torch.no_grad():
        d = pole_distance(inverse_stereographic(table))
        value = float(objective())
    g_pi = sum(math.pi**r for r in range(1, moments + 1))
    return {"objective": value, "supremum": g_pi * total_variation(P, Q), "distances": d}


def copied_snippet_loss(moments: int = 3):
    """The Sphere GAN loss as the copied snippet computes it, for the erratum's experiment.

    Same objective and signs as :func:`gan_tutorial.losses.sphere_loss`, but the points come
    from :func:`copied_snippet_projection` and the distance is a raw ``arccos`` of the last
    coordinate (no clamp), as in the snippet. Registered under ``"sphere_copied"`` by the
    caller if wanted; never use it for real training.
    """
    from ..losses import GANLoss

    def moments_of(scores: Tensor) -> Tensor:
        d = torch.arccos(copied_snippet_projection(scores)[..., -1])
        return sum(d.pow(r).mean() for r in range(1, moments + 1))

    def d_fn(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return moments_of(fake_scores) - moments_of(real_scores)

    def g_fn(fake_scores: Tensor) -> Tensor:
        return -moments_of(fake_scores)

    return GANLoss("sphere_copied", d_fn, g_fn, output="vector")
