"""Chapter 4, Sphere GAN (Park and Kwon, CVPR 2019): stereographic projection, geodesic
distances on the sphere, the bounded moment objective, and an erratum in copied code.

Notation (the book's): ``s`` in R^n is the output of D's last linear layer (the vector
counterpart of the logit), ``S = |s|^2``, ``r = |s|``; ``u = Pi^-1(s)`` is its point on the
unit sphere S^n in R^{n+1}, written ``u = (u', u_{n+1})``; the north pole ``e_{n+1} =
(0, ..., 0, 1)`` (bold n in the book) is the last axis; ``d(a, b) = arccos(<a, b>)`` is the
geodesic (great-circle) distance. Each sympy function *derives* its results from these
definitions (``solve``, ``diff``, ``limit``, ``simplify``) and returns them in a dict that the
notebook prints and the tests assert; where a function only checks a known result, its
docstring says so.

The package's numerically safe versions live in :mod:`gan_tutorial.losses`
(``inverse_stereographic``, ``stereographic``, ``pole_distance``, ``geodesic_distance``).
"""

from __future__ import annotations

import math

import sympy as sp
import torch
from torch import Tensor

from ..core.losses import inverse_stereographic, pole_distance


# ----------------------------------------------------------------------------- 2-D picture
def circle_from_similar_triangles() -> dict:
    """Where does the line from the pole ``(0, 1)`` through ``(s, 0)`` meet the unit circle again?

    The triangles ``pole, O, (s, 0)`` and ``pole, (0, y), (x, y)`` are similar (they share
    the angle at the pole and both have a right angle on the vertical axis), so
    ``x / s = (1 - y) / 1``. Together with ``x^2 + y^2 = 1`` sympy solves for ``(x, y)``.
    Returns the two equations, all ``solutions`` and ``point``, the one that is not the pole.
    """
    s, x, y = sp.symbols("s x y", real=True)
    similar = sp.Eq(x / s, (1 - y) / 1)
    circle = sp.Eq(x**2 + y**2, 1)
    solutions = sp.solve([similar, circle], [x, y], dict=True)
    point = next(sol for sol in solutions if sp.simplify(sol[y] - 1) != 0)
    return {"s": s, "x": x, "y": y, "similar_triangles": similar, "circle": circle,
            "solutions": solutions, "point": (sp.factor(point[x]), sp.factor(point[y]))}


# ----------------------------------------------------------------------------- n-D projection
def inverse_projection(s: sp.Matrix) -> sp.Matrix:
    """``Pi^-1(s) = (2s / (S + 1), (S - 1) / (S + 1))`` with ``S = |s|^2``, as a sympy column."""
    S = sum(c**2 for c in s)
    return sp.Matrix([*(2 * c / (S + 1) for c in s), (S - 1) / (S + 1)])


def projection(u: sp.Matrix) -> sp.Matrix:
    """``Pi(u', u_{n+1}) = u' / (1 - u_{n+1})``: the projection from the north pole, a sympy column."""
    return sp.Matrix([c / (1 - u[-1]) for c in u[:-1]])


def inverse_projection_properties(n: int = 3) -> dict:
    """Properties of ``Pi^-1`` on ``R^n``, for symbolic ``s = (s_1, ..., s_n)`` written out.

    * ``norm_sq`` - ``|Pi^-1(s)|^2`` simplified (1: the point is on the unit sphere);
    * ``round_trip`` - ``Pi(Pi^-1(s)) - s`` simplified (zero vector: ``Pi`` inverts it);
    * ``gram`` - ``J^T J`` for the Jacobian ``J`` ``(n+1, n)`` of ``Pi^-1``, factored;
    * ``conformal_factor`` - ``sqrt(gram[0, 0])``; ``gram_over_factor`` - ``gram`` divided by
      its square (the identity when the columns of ``J`` are orthogonal with that common
      length, that is when ``Pi^-1`` is conformal).

    This handles one ``n`` at a time; :func:`conformal_any_n` derives the Gram matrix for
    every ``n`` at once.
    """
    s = sp.Matrix(sp.symbols(f"s1:{n + 1}", real=True))
    u = inverse_projection(s)
    J = u.jacobian(s)
    gram = (J.T * J).applyfunc(sp.factor)
    factor = sp.factor(sp.sqrt(gram[0, 0]))
    return {"s": s, "point": u, "norm_sq": sp.simplify((u.T * u)[0]),
            "round_trip": sp.simplify(projection(u) - s), "jacobian": J, "gram": gram,
            "conformal_factor": factor,
            "gram_over_factor": (gram / factor**2).applyfunc(sp.simplify)}


def conformal_any_n() -> dict:
    """``J^T J = lambda^2 I`` for the Jacobian of ``Pi^-1`` on ``R^n``, for every ``n``.

    ``Pi^-1(s)`` depends on ``s`` through ``s`` itself and ``|s|``, so it commutes with every
    rotation of R^n (applied to the first n coordinates of the image). Take an orthonormal
    frame whose first vector is ``s / r`` (``r = |s| > 0``); in it, ``s`` has coordinates
    ``(r, 0, ..., 0)``. Every pair of frame vectors is, up to a rotation about the axis
    ``s / r``, one of the pairs of the first three: the radial direction ``a`` and two
    perpendicular directions ``b``, ``c``. So the Jacobian of
    ``(a, b, c) -> Pi^-1((r + a, b, c, 0, ..., 0))`` at 0 gives every entry of ``J^T J``:

    * ``frame_point`` - that image, with the ``n - 3`` zero coordinates left out (they are
      0 for all ``a, b, c`` and add nothing to ``J^T J``);
    * ``frame_jacobian`` ``(4, 3)`` at ``a = b = c = 0`` and ``frame_gram`` = its ``J^T J``;
    * ``conformal_factor`` - ``lambda = sqrt(frame_gram[1, 1])`` and ``frame_gram_over_factor``
      (the 3 x 3 identity: orthogonal columns of equal length ``lambda``, for every n >= 1;
      n = 1 and 2 keep the first one and two columns).
    """
    r = sp.Symbol("r", positive=True)
    a, b, c = sp.symbols("a b c", real=True)
    u = inverse_projection(sp.Matrix([r + a, b, c]))
    J = u.jacobian([a, b, c]).subs({a: 0, b: 0, c: 0}).applyfunc(sp.factor)
    gram = (J.T * J).applyfunc(sp.factor)
    factor = sp.factor(sp.sqrt(gram[1, 1]))
    return {"r": r, "frame_point": u, "frame_jacobian": J, "frame_gram": gram,
            "conformal_factor": factor,
            "frame_gram_over_factor": (gram / factor**2).applyfunc(sp.simplify)}


# ----------------------------------------------------------------------------- distances
# Vectors of span(s, t) + the last axis, for s, t in R^n of any n: (alpha, beta, gamma) is
# alpha s + beta t + gamma e_{n+1}. Inner products need only the Gram entries below.
S_s, S_t = sp.symbols("S_s S_t", nonnegative=True)  # |s|^2, |t|^2
P_st = sp.Symbol("P_st", real=True)                  # <s, t>


def _inner(v: tuple, w: tuple) -> sp.Expr:
    """``<v, w>`` for ``v = (alpha, beta, gamma)`` meaning ``alpha s + beta t + gamma e_{n+1}``.

    Bilinearity and ``s, t ⟂ e_{n+1}`` only: ``<s, s> = S_s``, ``<t, t> = S_t``, ``<s, t> = P_st``.
    """
    (a1, b1, g1), (a2, b2, g2) = v, w
    return a1 * a2 * S_s + (a1 * b2 + b1 * a2) * P_st + b1 * b2 * S_t + g1 * g2


def geodesic_between_projections() -> dict:
    """``cos d(Pi^-1(s), Pi^-1(t))`` and the chord between the two points, for any ``n``.

    ``u = Pi^-1(s) = (2/(S_s + 1)) s + ((S_s - 1)/(S_s + 1)) e_{n+1}`` and the same for
    ``v = Pi^-1(t)``; inner products follow from bilinearity (:func:`_inner`):

    * ``u_norm_sq`` - ``<u, u>`` (1, in every dimension);
    * ``cos_d`` - ``<u, v>``, factored: Park and Kwon's expression
      ``(S_s S_t - S_s - S_t + 4<s,t> + 1) / ((S_s+1)(S_t+1))`` comes out of the computation;
    * ``chord_sq`` - ``|u - v|^2`` and ``diff_sq`` - ``|s - t|^2``; ``chord_ratio`` solves
      ``chord_sq = k diff_sq`` for ``k`` (``4 / ((1 + S_s)(1 + S_t))``, free of ``<s, t>``),
      so ``sin(d/2) = |u - v| / 2 = |s - t| / sqrt((1 + S_s)(1 + S_t))``;
    * ``cos_from_chord`` - ``1 - chord_sq / 2`` (unit vectors: ``cos d = 1 - |u - v|^2 / 2``)
      minus ``cos_d`` (0).
    """
    u = (2 / (S_s + 1), 0, (S_s - 1) / (S_s + 1))
    v = (0, 2 / (S_t + 1), (S_t - 1) / (S_t + 1))
    u_minus_v = tuple(x - y for x, y in zip(u, v))
    cos_d = sp.factor(_inner(u, v))
    chord_sq = sp.factor(_inner(u_minus_v, u_minus_v))
    diff_sq = _inner((1, -1, 0), (1, -1, 0))
    k = sp.Symbol("k")
    ratio = [sp.factor(sol) for sol in sp.solve(sp.Eq(chord_sq, k * diff_sq), k)]
    return {"u_norm_sq": sp.simplify(_inner(u, u)), "cos_d": cos_d,
            "cos_d_expanded_numerator": sp.expand(sp.numer(cos_d)),
            "chord_sq": chord_sq, "diff_sq": diff_sq, "chord_ratio": ratio,
            "cos_from_chord": sp.simplify(1 - chord_sq / 2 - cos_d)}


def pole_distance_derivation() -> dict:
    """The distance from ``u = Pi^-1(s)`` to the north pole as a function of ``r = |s|``.

    By rotation invariance put ``s = (r, 0, 0)`` on an axis. Then:

    * ``cos_d`` - ``<u, e_{n+1}> = u_{n+1}``; ``sin_d`` - ``|u'|`` (``d`` is in ``[0, pi]``,
      where ``sin >= 0``), with ``pythagoras`` = ``sin_d^2 + cos_d^2`` (1);
    * ``tan_half`` - the solution ``tau >= 0`` of ``cos d = (1 - tau^2) / (1 + tau^2)``,
      ``tau = tan(d / 2)`` (``weierstrass_residual`` checks that identity: 0); it is
      ``[1 / r]``, and ``d / 2`` is in ``[0, pi / 2)``, hence ``distance`` = ``2 atan(1 / r)``;
    * ``derivative_residual`` - ``d/dr arccos(cos_d) - d/dr 2 atan(1/r)`` (0) and
      ``value_at_1`` (both ``pi / 2``): a second route to the same function;
    * ``limits`` - ``d`` at ``r -> 0+`` (pi, the south pole) and ``r -> oo`` (0, the pole);
    * ``dd_dr`` - ``d'(r)``; ``grad_p d = d'(r) s / r``, so ``grad_norm = |d'(r)|``;
      ``grad_norm_slope`` its derivative, ``slope_critical_points`` its zeros for ``r > 0``
      (none) and ``slope_negative`` its sign (sympy's assumptions: True), so the norm
      decreases and its supremum ``grad_sup`` is the limit at ``r -> 0+`` (2);
    * ``inversion_sum`` - ``d(r) + d(1/r)``: derivative (0) and value at ``r = 1`` (pi).
    """
    r = sp.Symbol("r", positive=True)
    u = inverse_projection(sp.Matrix([r, 0, 0]))
    cos_d = sp.simplify(u[-1])
    sin_d = sp.simplify(sp.sqrt(sum(c**2 for c in u[:-1])))
    tau = sp.Symbol("tau", nonnegative=True)
    x = sp.Symbol("x", real=True)
    weierstrass = sp.simplify(sp.cos(x) - (1 - sp.tan(x / 2) ** 2) / (1 + sp.tan(x / 2) ** 2))
    tan_half = sp.solve(sp.Eq((1 - tau**2) / (1 + tau**2), cos_d), tau)
    distance = 2 * sp.atan(tan_half[0])
    dd_dr = sp.simplify(sp.diff(distance, r))
    grad_norm = sp.simplify(sp.Abs(dd_dr))
    slope = sp.simplify(sp.diff(grad_norm, r))
    inversion = distance + distance.subs(r, 1 / r)
    return {"r": r, "cos_d": cos_d, "sin_d": sin_d,
            "pythagoras": sp.simplify(sin_d**2 + cos_d**2),
            "weierstrass_residual": weierstrass, "tan_half": tan_half, "distance": distance,
            "derivative_residual": sp.simplify(sp.diff(sp.acos(cos_d), r) - dd_dr),
            "value_at_1": (sp.simplify(sp.acos(cos_d).subs(r, 1)), distance.subs(r, 1)),
            "limits": (sp.limit(distance, r, 0, "+"), sp.limit(distance, r, sp.oo)),
            "dd_dr": dd_dr, "grad_norm": grad_norm, "grad_norm_slope": slope,
            "slope_critical_points": sp.solve(slope, r), "slope_negative": slope.is_negative,
            "grad_sup": sp.limit(grad_norm, r, 0, "+"),
            "inversion_sum": (sp.simplify(sp.diff(inversion, r)), sp.simplify(inversion.subs(r, 1)))}


def moment_bounds(moments: int) -> dict:
    """Bounds of ``g(d) = sum_{k=1}^R d^k`` and of its gradient, for ``d = 2 atan(1/|s|)``.

    ``value_sup = g(pi)`` bounds the objective's integrand (``g`` increases on ``[0, pi]``).
    ``grad_norm`` = ``|grad_s g(d(s))| = g'(d) lambda(r)`` with ``lambda = |d'(r)| = 2/(1+r^2)``.
    Its derivative in ``r`` is, by the product rule, ``slope_terms`` =
    ``(g''(d) d'(r) lambda, g'(d) lambda'(r))`` (``slope_residual``: their sum minus
    ``diff(grad_norm, r)``, 0). With ``t = d > 0``, for every ``r > 0`` the first term is
    ``<= 0`` and the second ``< 0`` (``slope_signs``, from sympy's assumptions: ``g'' >= 0``
    and ``g' > 0`` for ``t > 0``, ``d' < 0``, ``lambda' < 0``), so the norm decreases and
    ``grad_sup`` is its limit at ``r -> 0+``, ``2 g'(pi)``.
    """
    t, r = sp.symbols("t r", positive=True)
    g = sum(t**k for k in range(1, moments + 1))
    d = 2 * sp.atan(1 / r)
    lam = 2 / (1 + r**2)
    g1, g2 = sp.diff(g, t), sp.diff(g, t, 2)
    grad_norm = g1.subs(t, d) * lam
    terms = tuple(sp.factor(sp.simplify(term)) for term in  # t stands for d(r) > 0
                  (g2 * sp.diff(d, r) * lam, g1 * sp.diff(lam, r)))
    residual = sp.simplify(sum(term.subs(t, d) for term in terms) - sp.diff(grad_norm, r))
    return {"g": g, "value_sup": sp.expand(g.subs(t, sp.pi)), "grad_norm": grad_norm,
            "slope_terms": terms, "slope_residual": residual,
            "slope_signs": (terms[0].is_nonpositive, terms[1].is_negative),
            "grad_sup": sp.expand(sp.limit(grad_norm, r, 0, "+"))}


# ----------------------------------------------------------------------------- erratum
def copied_snippet_point(s) -> sp.Matrix:
    """What the widely copied TensorFlow snippet computes, in exact arithmetic.

    Its first block is right, ``u' = 2s / (|s|^2 + 1)``, but its last coordinate is
    ``(|u'|^2 - 1) / (|u'|^2 + 1)``, from the norm of the *already projected* ``u'``
    instead of ``|s|``. ``s`` is a sequence of numbers or sympy expressions.
    """
    s = sp.Matrix([sp.nsimplify(c) for c in s])
    S = (s.T * s)[0]
    u1 = 2 * s / (S + 1)
    S1 = (u1.T * u1)[0]
    return sp.Matrix([*u1, (S1 - 1) / (S1 + 1)])


def copied_snippet_analysis() -> dict:
    """How far the snippet's points are from the sphere, and what it does to distances.

    With ``S = |s|^2`` (enough: everything depends on ``s`` through ``S``):

    * ``last`` - the snippet's last coordinate, factored (``-(S - 1)^2 / (S^2 + 6 S + 1)``);
    * ``norm_sq`` - the squared norm of its point; ``on_sphere_at`` - the ``S`` where it is 1;
    * ``example`` - the point and its squared norm for ``s = (2, 0, 0)``, and the right point;
    * ``cos_pole_range`` - the last coordinate (``<point, pole>``) at ``S -> 0``, ``S = 1``
      and ``S -> oo``, and ``stationary_points`` where its derivative vanishes: it runs over
      ``[-1, 0]``, so the "distance" ``arccos`` of it is in ``[pi/2, pi]``;
    * ``symmetry`` - ``last(1/S) - last(S)`` (0): ``|s|`` and ``1/|s|`` get the same
      "distance", so D cannot move a sample towards the pole by growing ``|s|``;
    * ``right_last`` - the correct last coordinate ``(S - 1)/(S + 1)``, for comparison.
    """
    S = sp.Symbol("S", nonnegative=True)
    S1 = 4 * S / (S + 1) ** 2  # |u'|^2 for |s|^2 = S
    last = sp.factor((S1 - 1) / (S1 + 1))
    norm_sq = sp.factor(S1 + last**2)
    on_sphere = sp.solve(sp.numer(sp.together(norm_sq - 1)), S)
    s_ex = (2, 0, 0)
    point = copied_snippet_point(s_ex)
    right = inverse_projection(sp.Matrix(s_ex))
    return {"S": S, "last": last, "norm_sq": norm_sq, "on_sphere_at": sorted(on_sphere),
            "example": {"s": s_ex, "point": point, "norm_sq": (point.T * point)[0],
                        "right_point": right, "right_norm_sq": (right.T * right)[0]},
            "cos_pole_range": (sp.limit(last, S, 0), last.subs(S, 1), sp.limit(last, S, sp.oo)),
            "stationary_points": sp.solve(sp.diff(last, S), S),
            "symmetry": sp.simplify(last.subs(S, 1 / S) - last),
            "right_last": (S - 1) / (S + 1)}


def copied_snippet_projection(s: Tensor) -> Tensor:
    """The copied snippet's arithmetic in torch, ``(B, n)`` -> ``(B, n + 1)`` (NOT on the sphere).

    Kept only to show the erratum's effect; use :func:`gan_tutorial.losses.inverse_stereographic`.
    """
    u1 = 2 * s / (s.square().sum(-1, keepdim=True) + 1)
    S1 = u1.square().sum(-1, keepdim=True)
    return torch.cat([u1, (S1 - 1) / (S1 + 1)], dim=-1)


# ----------------------------------------------------------------------------- the objective
def total_variation(P: Tensor, Q: Tensor) -> float:
    """``TV(P, Q) = sup_A P(A) - Q(A) = (1/2) sum_k |P_k - Q_k|`` for discrete distributions."""
    return 0.5 * float((P - Q).abs().sum())


def sphere_ipm_free_d(P: Tensor, Q: Tensor, moments: int = 3, n: int = 4, steps: int = 3000,
                      lr: float = 0.1, seed: int = 0) -> dict:
    """Maximise the Sphere GAN objective over an *unconstrained* D on a finite set of atoms.

    ``P``, ``Q`` ``(K,)`` are distributions over ``K`` atoms; D is a free table of outputs
    ``s_k`` in R^n (one per atom, as if D could be any function). The objective
    ``sum_k E_P d^k - sum_k E_Q d^k = sum_j (P_j - Q_j) g(d(Pi^-1(s_j)))`` with
    ``g(t) = sum_{k<=R} t^k`` is maximised by Adam. Its supremum is ``g(pi) TV(P, Q)``:
    atoms with ``P_j > Q_j`` go to the south pole (``d = pi``), the others to the north
    pole, which they only approach like ``d ~ 2 / |s_j|`` (the gradient fades like
    ``2 / |s_j|^2``). Returns the final objective, that supremum, and the distances ``(K,)``.
    """
    g = torch.Generator().manual_seed(seed)
    table = torch.nn.Parameter(torch.randn(len(P), n, generator=g, dtype=torch.float64))
    opt = torch.optim.Adam([table], lr=lr)
    w = (P - Q).to(torch.float64)

    def objective() -> Tensor:
        d = pole_distance(inverse_stereographic(table))
        return (w * sum(d.pow(k) for k in range(1, moments + 1))).sum()

    for _ in range(steps):
        opt.zero_grad()
        (-objective()).backward()
        opt.step()
    with torch.no_grad():
        d = pole_distance(inverse_stereographic(table))
        value = float(objective())
    g_pi = sum(math.pi**k for k in range(1, moments + 1))
    return {"objective": value, "supremum": g_pi * total_variation(P, Q), "distances": d}


def copied_snippet_loss(moments: int = 3):
    """The Sphere GAN loss as the copied snippet computes it, for the erratum's experiment.

    Same objective and signs as :func:`gan_tutorial.losses.sphere_loss`, but the points come
    from :func:`copied_snippet_projection` and the distance is a raw ``arccos`` of the last
    coordinate (no clamp), as in the snippet. Registered under ``"sphere_copied"`` by the
    caller if wanted; never use it for real training.
    """
    from ..core.losses import GANLoss

    def moments_of(scores: Tensor) -> Tensor:
        d = torch.arccos(copied_snippet_projection(scores)[..., -1])
        return sum(d.pow(k).mean() for k in range(1, moments + 1))

    def d_fn(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return moments_of(fake_scores) - moments_of(real_scores)

    def g_fn(fake_scores: Tensor) -> Tensor:
        return -moments_of(fake_scores)

    return GANLoss("sphere_copied", d_fn, g_fn, output="vector")
