"""Chapter 3, the Wasserstein-1 distance and its dual (Arjovsky et al., 2017): the 1-D closed
form ``W_1 = int |F_p - F_q|``, why the critic must be Lipschitz, and the Lipschitz constant of
a linear layer (what weight clipping bounds and spectral normalisation estimates).

* sympy derivations: ``integration_by_parts``, ``w1_dual_1d``, ``unbounded_without_lipschitz``,
  ``lipschitz_of_linear_map``; each returns a dict of sympy expressions that the notebook
  prints and the tests assert;
* exact numerical companions: ``w1_linear_programs`` (the primal and the dual of W_1 as linear
  programs) and ``power_iteration`` (spectral normalisation's estimate of ``sigma_1``).

Conventions as in :mod:`.wasserstein`: the critic ``T`` maximises ``E_p[T] - E_q[T]``; in the
sympy functions the densities are called ``p_data`` and ``p_g`` (the book's symbols; ``p`` and
``q`` in the Python code), both with supports in ``[a, b]``, and ``Delta = F_p - F_q``.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp
from torch import Tensor

x = sp.Symbol("x", real=True)
a, b = sp.symbols("a b", real=True)
T = sp.Function("T")
p, q = sp.Function("p_data"), sp.Function("p_g")  # the two densities


def _delta(t):
    """``Delta(t) = F_p(t) - F_q(t) = int_a^t (p - q) dx`` (both supports in ``[a, b]``)."""
    s = sp.Symbol("s", real=True)
    return sp.Integral(p(s) - q(s), (s, a, t))


# ----------------------------------------------------------------------------- W_1 and its dual
@functools.cache
def integration_by_parts() -> dict:
    """``int_a^b T (p - q) dx = [T Delta]_a^b - int_a^b T' Delta dx``, and the bracket is 0.

    * ``delta_prime`` - ``d/dt Delta(t)``: ``p(t) - q(t)`` (sympy differentiates the integral);
    * ``product_rule`` - ``(T Delta)'`` (sympy's product rule), ``T Delta' + T' Delta``;
    * ``bracket`` - ``int_a^b (T Delta)' dx``, by the fundamental theorem:
      ``T(b) Delta(b) - T(a) Delta(a)``;
    * ``boundary`` - ``Delta`` at ``a`` (an integral over an empty interval, 0) and at ``b``
      (``int_a^b p - int_a^b q = 1 - 1``: both densities integrate to 1 on ``[a, b]``);
    * ``bracket_value`` - the bracket with those values: 0.
    """
    D = sp.Function("Delta")
    product = sp.diff(T(x) * D(x), x)
    bracket = sp.integrate(sp.Derivative(T(x) * D(x), x), (x, a, b))
    unit = {sp.Integral(p(x), (x, a, b)): 1, sp.Integral(q(x), (x, a, b)): 1}  # densities
    at_b = (sp.integrate(p(x), (x, a, b)) - sp.integrate(q(x), (x, a, b))).subs(unit)
    boundary = {a: _delta(a).doit(), b: at_b}
    return {"delta_prime": sp.diff(_delta(x), x), "product_rule": product, "bracket": bracket,
            "boundary": boundary, "bracket_value": bracket.subs({D(a): boundary[a], D(b): boundary[b]})}


@functools.cache
def w1_dual_1d() -> dict:
    """The 1-D dual of W_1: ``max_{|T'| <= 1} -int T' Delta dx = int |Delta| dx``.

    * ``best`` - ``max_{u in [-1, 1]} -u Delta``, computed by sympy's ``maximum`` (the maximum
      of a linear function on an interval, at an end): ``Max(-Delta, Delta)``; ``is_abs``
      whether it equals ``|Delta|`` for either sign of ``Delta``;
    * ``argmax_gap`` - ``|Delta|`` minus the value at ``u = -sign(Delta)`` (0: the optimal
      critic has slope ``-sign(Delta)``);
    * ``example`` - ``int |F_p - F_q| dx`` for ``p = U(0, 1)``, ``q = U(s, s + 1)``,
      ``0 < s < 1`` (written with ``s = 1 / (1 + w)``, ``w > 0``, so that sympy knows
      ``s < 1``): ``s``; ``coupling`` - the cost ``int_0^1 |(t + s) - t| dt`` of the plan that
      shifts every point by ``s``, also ``s``: the dual and a primal plan agree.
    """
    u, d = sp.symbols("u Delta", real=True)
    best = sp.maximum(-u * d, u, sp.Interval(-1, 1))
    m = sp.Symbol("m", positive=True)  # |Delta| = m, for either sign of Delta
    is_abs = all(sp.simplify(best.subs(d, v) - m) == 0 for v in (m, -m))
    argmax_gap = sp.simplify(sp.Abs(d) - (-u * d).subs(u, -sp.sign(d)))
    w, s = sp.Symbol("w", positive=True), sp.Symbol("s", positive=True)
    shift, t = 1 / (1 + w), sp.Symbol("t", real=True)
    F_p = sp.Piecewise((0, t < 0), (t, t < 1), (1, True))
    F_q = sp.Piecewise((0, t < shift), (t - shift, t < shift + 1), (1, True))
    example = sp.simplify(sp.integrate(sp.Abs(F_p - F_q), (t, -1, 3)))
    return {"best": best, "is_abs": is_abs, "argmax_gap": argmax_gap,
            "example": sp.simplify(example.subs(w, 1 / s - 1)),
            "coupling": sp.integrate(sp.Abs((t + s) - t), (t, 0, 1))}


@functools.cache
def unbounded_without_lipschitz() -> dict:
    """Without a constraint the dual is unbounded; with a bound ``K`` it is ``K`` times the 1-bound.

    * ``value`` - ``E_p[c x] - E_q[c x] = int c x (p - q) dx`` (sympy takes ``c`` out of the
      integrals), with the means ``mu_p = int x p``, ``mu_q = int x q`` and ``mu_p = mu_q + g``,
      ``g > 0``: ``c g``; ``limit`` - its limit as ``c -> oo`` (``oo``);
    * ``scaled`` - ``(E_p[K S] - E_q[K S]) / (E_p[S] - E_q[S])`` for any ``S``: ``K``;
      ``lipschitz_scaled`` - ``|(K S)'| / |S'|``: ``K``. ``T = K S`` maps the 1-Lipschitz
      critics onto the K-Lipschitz ones, so ``sup_{||T||_L <= K} = K W_1``.
    """
    c, K = sp.symbols("c K", positive=True)
    mu_p, mu_q = sp.symbols("mu_data mu_g", real=True)
    g = sp.Symbol("g", positive=True)

    def E(f, density):
        return sp.integrate(f * density(x), (x, a, b))

    value = E(c * x, p) - E(c * x, q)
    value = sp.simplify(value.subs({sp.Integral(x * p(x), (x, a, b)): mu_p,
                                    sp.Integral(x * q(x), (x, a, b)): mu_q}).subs(mu_p, mu_q + g))
    S = sp.Function("S")
    scaled = sp.simplify((E(K * S(x), p) - E(K * S(x), q)) / (E(S(x), p) - E(S(x), q)))
    lip = sp.simplify(sp.Abs(sp.diff(K * S(x), x)) / sp.Abs(sp.diff(S(x), x)))
    return {"value": value, "limit": sp.limit(value, c, sp.oo), "scaled": scaled,
            "lipschitz_scaled": lip}


def w1_linear_programs(points, p, q) -> dict:
    """W_1 between two discrete distributions on ``points`` (1-D), three ways (floats).

    * ``primal`` - the transport problem ``min sum_ij gamma_ij |x_i - x_j|`` over couplings
      ``gamma >= 0`` with marginals ``p`` and ``q`` (a linear program);
    * ``dual`` - ``max sum_i T_i (p_i - q_i)`` subject to ``T_i - T_j <= |x_i - x_j|``;
    * ``cdf`` - ``sum |F_p - F_q| * gap`` (the 1-D formula). ``T`` is the optimal dual critic.
    """
    from scipy.optimize import linprog

    xs, p, q = (np.asarray(v, dtype=float) for v in (points, p, q))
    n = len(xs)
    cost = np.abs(xs[:, None] - xs[None, :])
    a_eq = np.vstack([np.kron(np.eye(n), np.ones(n)), np.kron(np.ones(n), np.eye(n))])
    primal = linprog(cost.ravel(), A_eq=a_eq, b_eq=np.concatenate([p, q]), bounds=(0, None),
                     method="highs")
    rows, rhs = [], []
    for i in range(n):
        for j in range(n):
            if i != j:
                row = np.zeros(n)
                row[i], row[j] = 1.0, -1.0
                rows.append(row)
                rhs.append(cost[i, j])
    dual = linprog(-(p - q), A_ub=np.array(rows), b_ub=np.array(rhs), bounds=(None, None),
                   method="highs")
    gaps = np.diff(xs)
    cdf = float(np.sum(np.abs(np.cumsum(p - q)[:-1]) * gaps))
    return {"primal": float(primal.fun), "dual": float(-dual.fun), "cdf": cdf, "T": dual.x}


# ----------------------------------------------------------------------------- Lipschitz constant
def lipschitz_of_linear_map(W: sp.Matrix) -> dict:
    """The Lipschitz constant of ``x -> W x``: maximise ``|W x|^2`` subject to ``|x|^2 = 1``.

    sympy solves the Lagrange system (the gradient of ``x^T W^T W x - lam (x^T x - 1)`` in
    ``x`` and in ``lam`` set to zero). Returns ``lagrange_equations``, ``critical_points``
    (the solutions), ``critical_values`` (``|W x|^2`` at them), ``sigma_max`` (the square root
    of the largest: the spectral norm), ``multipliers_are_values`` (whether each ``lam``
    equals the value at its point: the check that the critical values are the eigenvalues of
    ``W^T W``; ``eigenvalues`` are those of sympy's ``eigenvals``, for the same check),
    ``frobenius`` (an upper bound) and ``sigma_max_float``.
    """
    n = W.shape[1]
    xs = sp.Matrix(sp.symbols(f"x0:{n}", real=True))
    lam = sp.Symbol("lam", real=True)
    objective = (xs.T * W.T * W * xs)[0]
    lagrangian = objective - lam * ((xs.T * xs)[0] - 1)
    equations = [sp.diff(lagrangian, v) for v in (*xs, lam)]
    points = sp.solve(equations, [*xs, lam], dict=True)
    values = sorted({sp.simplify(objective.subs(pt)) for pt in points}, key=float)
    same = all(sp.simplify(objective.subs(pt) - pt[lam]) == 0 for pt in points)
    sigma = sp.sqrt(values[-1])
    return {"lagrange_equations": equations, "critical_points": points, "critical_values": values,
            "multipliers_are_values": same,
            "eigenvalues": sorted((W.T * W).eigenvals(), key=float), "sigma_max": sp.simplify(sigma),
            "frobenius": sp.sqrt(sum(v**2 for v in W)), "sigma_max_float": float(sigma)}


def power_iteration(W: Tensor, iters: int = 50, seed: int = 0) -> float:
    """Largest singular value of ``W`` ``(m, n)`` by power iteration on ``W^T W``.

    This is what spectral normalisation (Miyato et al., 2018) runs, one iteration per
    training step, with the vector carried over between steps. ``|W v|`` for a unit ``v`` is
    at most ``sigma_1``, so every iterate estimates ``sigma_1`` from below, and the estimate
    converges to it when the start has a component along the top singular vector.
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    v = torch.randn(W.shape[1], generator=g, dtype=W.dtype)
    for _ in range(iters):
        v = W.T @ (W @ v)
        v = v / v.norm()
    return float((W @ v).norm())
