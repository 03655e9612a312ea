"""Chapter 3, from WGAN to WGAN-div: the Wasserstein distance, Lipschitz constraints and the
Wasserstein divergence (Arjovsky et al., 2017; Gulrajani et al., 2017; Wu et al., 2018).

Three kinds of functions live here:

* sympy derivations that *compute* the chapter's results: ``integration_by_parts``,
  ``w1_dual_1d``, ``unbounded_without_lipschitz``, ``lipschitz_of_linear_map``,
  ``wdiv_euler_lagrange``, ``wdiv_value``, ``wdiv_large_p``, ``gp_pointwise``,
  ``odd_power_at_equal`` and ``sign_convention``; each returns a dict of sympy expressions
  that the notebook prints and the tests assert;
* exact numerical companions: ``w1_linear_programs`` (the primal and the dual of W_1 as
  linear programs), ``power_iteration``, ``clipped_lipschitz_bound``;
* the 1-D experiment: ``optimise_critic_1d`` maximises a discretised critic objective
  directly over the values of T on a grid, and ``closed_forms_1d`` evaluates the formulas
  derived with sympy, so the two can be compared.

Conventions: the critic ``T`` maximises ``E_p[T] - E_q[T] - penalty``, ``p`` is the data
(real) distribution, ``q`` the generator's; in 1-D, ``Delta = F_p - F_q`` is the difference
of the cumulative distribution functions, and ``r`` is uniform on an interval ``[a, b]`` of
length ``L`` that holds both supports, so ``r = 1 / L`` there.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import sympy as sp
import torch
from torch import Tensor, nn

x = sp.Symbol("x", real=True)
T = sp.Function("T")
Delta = sp.Function("Delta")


# ----------------------------------------------------------------------------- W_1 and its dual
@functools.cache
def integration_by_parts() -> dict:
    """``int_a^b T (p - q) dx = [T Delta]_a^b - int_a^b T' Delta dx``, from the product rule.

    ``p - q = Delta'`` since ``Delta = F_p - F_q``. Returns ``product_rule_residual``
    (``(T Delta)' - T Delta' - T' Delta``, simplified: 0), and ``boundary`` - ``Delta`` at
    the two ends for supports inside ``[a, b]`` (both CDFs are 0 at ``a`` and 1 at ``b``),
    so the boundary term vanishes.
    """
    a, b = sp.symbols("a b", real=True)
    F_p, F_q = sp.Function("F_p"), sp.Function("F_q")
    residual = sp.diff(T(x) * Delta(x), x) - T(x) * sp.diff(Delta(x), x) \
        - sp.diff(T(x), x) * Delta(x)
    at = {a: 0, b: 1}  # F(a) = 0 and F(b) = 1 for both distributions
    boundary = {end: (F_p(end) - F_q(end)).subs({F_p(end): v, F_q(end): v})
                for end, v in at.items()}
    return {"product_rule_residual": sp.simplify(residual), "boundary": boundary}


@functools.cache
def w1_dual_1d() -> dict:
    """The 1-D dual of W_1: ``max_{|T'| <= 1} -int T' Delta dx = int |Delta| dx``.

    Pointwise, ``-u Delta`` over ``u`` in ``[-1, 1]`` is largest at an end point (it is
    linear in ``u``): ``best`` is that maximum, ``|Delta|`` (``is_abs``), reached at
    ``u = -sign(Delta)``. Example: ``p`` uniform on ``[0, 1]``, ``q`` uniform on
    ``[s, s + 1]`` with ``0 < s < 1``, where shifting all the mass by ``s`` is a transport
    plan of cost ``s``: ``example`` is ``int |F_p - F_q| dx`` computed by sympy (written with
    ``s = 1 / (1 + w)``, ``w > 0``, so that sympy knows ``s < 1``, then mapped back to ``s``).
    """
    u, d = sp.symbols("u Delta", real=True)
    best = sp.Max(*[(-u * d).subs(u, end) for end in (-1, 1)])
    m = sp.Symbol("m", positive=True)  # |Delta| = m, for either sign of Delta
    is_abs = all(sp.simplify(best.subs(d, v) - m) == 0 for v in (m, -m))
    w, s = sp.Symbol("w", positive=True), sp.Symbol("s", positive=True)
    shift, t = 1 / (1 + w), sp.Symbol("t", real=True)
    F_p = sp.Piecewise((0, t < 0), (t, t < 1), (1, True))
    F_q = sp.Piecewise((0, t < shift), (t - shift, t < shift + 1), (1, True))
    example = sp.simplify(sp.integrate(sp.Abs(F_p - F_q), (t, -1, 3)))
    return {"best": best, "is_abs": is_abs,
            "example": sp.simplify(example.subs(w, 1 / s - 1))}


@functools.cache
def unbounded_without_lipschitz() -> dict:
    """Without a constraint the dual is unbounded: ``T = c x`` gives ``c (mu_p - mu_q)``.

    ``value`` is ``E_p[c x] - E_q[c x]`` for means ``mu_p > mu_q`` and ``limit`` its limit as
    ``c -> oo`` (``oo``). ``scaled`` checks that a K-Lipschitz T gives ``K`` times a 1-Lipschitz
    one: ``sup_{||T||_L <= K} = K W_1``, so any fixed K only rescales the critic.
    """
    c, K = sp.symbols("c K", positive=True)
    mu_q = sp.Symbol("mu_q", real=True)
    gap = sp.Symbol("g", positive=True)  # mu_p - mu_q > 0
    value = sp.expand(c * (mu_q + gap) - c * mu_q)
    S = sp.Function("S")
    lip = sp.Abs(sp.diff(K * S(x), x)) / sp.Abs(sp.diff(S(x), x))
    return {"value": value, "limit": sp.limit(value, c, sp.oo), "scaled": sp.simplify(lip)}


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


# ----------------------------------------------------------------------------- Lipschitz constraint
def lipschitz_of_linear_map(W: sp.Matrix) -> dict:
    """The Lipschitz constant of ``x -> W x``: maximise ``|W x|^2`` subject to ``|x|^2 = 1``.

    Lagrange: the gradient of ``x^T W^T W x - lam (x^T x - 1)`` vanishes iff
    ``W^T W x = lam x``, so the critical values are the eigenvalues of ``W^T W``. Returns
    ``stationarity`` (the Lagrange condition, as a matrix expression), ``eigenvalues``,
    ``sigma_max`` = sqrt of the largest (the spectral norm), ``frobenius`` (an upper bound)
    and ``sigma_max_float``.
    """
    n = W.shape[1]
    xs = sp.Matrix(sp.symbols(f"x0:{n}", real=True))
    lam = sp.Symbol("lam", real=True)
    lagrangian = (xs.T * W.T * W * xs)[0] - lam * ((xs.T * xs)[0] - 1)
    grad = sp.Matrix([sp.diff(lagrangian, v) for v in xs])
    stationarity = sp.simplify(grad / 2 - (W.T * W * xs - lam * xs))  # zero matrix
    eig = list((W.T * W).eigenvals())
    top = max(eig, key=lambda e: float(e))
    sigma = sp.sqrt(sp.nsimplify(top))
    return {"stationarity": stationarity, "eigenvalues": eig, "sigma_max": sp.simplify(sigma),
            "frobenius": sp.sqrt(sum(v**2 for v in W)), "sigma_max_float": float(sigma)}


def power_iteration(W: Tensor, iters: int = 50, seed: int = 0) -> float:
    """Largest singular value of ``W`` ``(m, n)`` by power iteration on ``W^T W``.

    This is what spectral normalisation (Miyato et al., 2018) runs, one iteration per
    training step, with the vector carried over between steps.
    """
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(W.shape[1], generator=g, dtype=W.dtype)
    for _ in range(iters):
        v = W.T @ (W @ v)
        v = v / v.norm()
    return float((W @ v).norm())


def clipped_lipschitz_bound(D: nn.Module, bound: float) -> float:
    """Upper bound on the Lipschitz constant of an MLP critic whose weights lie in ``[-c, c]``.

    Each linear layer ``(m, n)`` has ``sigma_max <= ||W||_F <= c sqrt(m n)``, LeakyReLU is
    1-Lipschitz, and Lipschitz constants multiply under composition.
    """
    out = 1.0
    for module in D.modules():
        if isinstance(module, nn.Linear):
            out *= bound * math.sqrt(module.weight.numel())
    return out


# ----------------------------------------------------------------------------- W-divergence in 1-D
@functools.cache
def wdiv_euler_lagrange() -> dict:
    """Euler-Lagrange equation of ``int T (p - q) - k r |T'|^P dx`` and its solution (1-D).

    ``P`` here is the exponent (``p`` in the paper; renamed to keep ``p`` for the density).
    With ``p - q = Delta'`` the Lagrangian is ``T Delta' - k r (T')^P`` on the branch
    ``T' > 0`` (the other branch is its mirror image ``T -> -T``, ``Delta -> -Delta``).
    Returns

    * ``lagrangian`` and ``euler_lagrange`` - sympy's ``euler_equations``;
    * ``first_integral`` - ``Delta - dL/dT'``; ``first_integral_check`` is
      ``d/dx(first_integral) + EL`` simplified: 0, so the EL equation says the first integral
      is a constant ``C``;
    * ``natural_bc`` - ``dL/dT'`` at a free end, which must vanish; with ``Delta(a) = 0`` it
      gives ``C = 0``;
    * ``slope`` - ``T'`` solved by sympy from ``first_integral = 0`` with ``Delta = -s`` (s > 0):
      ``(s / (k P r))^(1 / (P - 1))``, so ``T' = -sign(Delta) (|Delta| / (k P r))^(1/(P-1))``.
    """
    k, r, P = sp.symbols("k r P", positive=True)
    s, u = sp.symbols("s u", positive=True)
    Tp = sp.diff(T(x), x)
    lagrangian = T(x) * sp.diff(Delta(x), x) - k * r * Tp**P
    (el,) = sp.euler_equations(lagrangian, T(x), x)
    dL_dTp = sp.diff(lagrangian, Tp)
    first_integral = Delta(x) - dL_dTp
    check = sp.simplify(sp.diff(first_integral, x) - el.lhs)
    bc = dL_dTp.subs(Tp, u)
    eq = first_integral.subs(Tp, u).subs(Delta(x), -s)
    (slope,) = sp.solve(sp.Eq(eq, 0), u)
    return {"lagrangian": lagrangian, "euler_lagrange": el, "first_integral": first_integral,
            "first_integral_check": check, "natural_bc": bc, "slope": sp.simplify(slope),
            "symbols": {"k": k, "r": r, "P": P, "s": s, "u": u}}


@functools.cache
def wdiv_value() -> dict:
    """The optimal value ``W_{k,P} = c(k, P, r) int |Delta|^(P/(P-1)) dx`` (1-D).

    After integration by parts the objective is ``int j(T') dx`` with
    ``j(u) = -u Delta - k r |u|^P``; at ``Delta = -s`` and the optimal slope, sympy simplifies
    ``j`` to ``coefficient * s^(P/(P-1))``. ``coefficient_L`` is the same with ``r = 1/L``
    and ``k_2_P_6`` its value at ``k = 2, P = 6`` (the paper's choice).
    """
    el = wdiv_euler_lagrange()
    k, r, P, s, u = (el["symbols"][n] for n in ("k", "r", "P", "s", "u"))
    j = u * s - k * r * u**P
    j_star = j.subs(u, el["slope"])
    coefficient = sp.simplify(sp.powdenest(sp.expand_power_base(j_star / s ** (P / (P - 1)),
                                                                force=True), force=True))
    L = sp.Symbol("L", positive=True)
    coef_L = sp.simplify(coefficient.subs(r, 1 / L))
    return {"j_star": j_star, "coefficient": coefficient, "coefficient_L": coef_L,
            "k_2_P_6": sp.simplify(coef_L.subs({k: 2, P: 6})),
            "symbols": {**el["symbols"], "L": L}}


@functools.cache
def wdiv_large_p() -> dict:
    """What happens as the exponent ``P`` grows: ``W_{k,P} -> int |Delta| = W_1``, for every k.

    ``coefficient_limit`` - the limit of the coefficient (1), ``exponent_limit`` - of
    ``P / (P - 1)`` (1), ``slope_limit`` - of the optimal ``|T'|`` at ``|Delta| = s > 0`` (1,
    the slope of the W_1 critic ``-sign(Delta)``).
    """
    val = wdiv_value()
    sym = val["symbols"]
    P, L = sym["P"], sym["L"]
    slope = wdiv_euler_lagrange()["slope"].subs(sym["r"], 1 / L)
    return {"coefficient_limit": sp.limit(val["coefficient_L"], P, sp.oo),
            "exponent_limit": sp.limit(P / (P - 1), P, sp.oo),
            "slope_limit": sp.limit(slope, P, sp.oo)}


@functools.cache
def gp_pointwise() -> dict:
    """The WGAN-GP objective in 1-D: ``j(u) = -u Delta - lam r (|u| - 1)^2``, maximised pointwise.

    With ``Delta = -s`` (s > 0): on the branch ``u > 0`` sympy finds ``u* = 1 + s/(2 lam r)``
    and the value ``s + s^2 / (4 lam r)``; the branch ``u < 0`` is worse by ``gap`` (2s). At
    ``s = 0`` (p = q) the maximisers are ``|u| = 1``: ``at_equal`` (the value, 0, and the
    maximisers). So in 1-D the GP value is ``int |Delta| + Delta^2 / (4 lam r) dx``.
    """
    lam, r, s = sp.symbols("lam r s", positive=True)
    u, v = sp.symbols("u v", positive=True)
    pos = u * s - lam * r * (u - 1) ** 2  # u > 0
    neg = -v * s - lam * r * (v - 1) ** 2  # u = -v < 0
    (u_star,) = sp.solve(sp.diff(pos, u), u)
    (v_star,) = sp.solve(sp.diff(neg, v), v)
    best_pos = sp.expand(pos.subs(u, u_star))
    best_neg = sp.expand(neg.subs(v, v_star))
    w = sp.Symbol("w", real=True)
    at_equal = sp.solve(sp.diff(-lam * r * (w - 1) ** 2, w), w)
    return {"u_star": u_star, "value": sp.factor(best_pos), "gap": sp.simplify(best_pos - best_neg),
            "at_equal": {"value": (-lam * r * (w - 1) ** 2).subs(w, at_equal[0]),
                         "maximisers": [at_equal[0], -at_equal[0]]}}


@functools.cache
def odd_power_at_equal() -> dict:
    """``(|T'| - 1)^3`` instead of a square: at ``p = q`` the value is ``k > 0`` (no divergence).

    With ``Delta = 0`` the objective is ``-k r int (|T'| - 1)^3 dx``; ``-(w - 1)^3`` decreases
    in ``w = |T'| >= 0`` (``derivative`` is ``<= 0``), so the best is ``T' = 0`` everywhere, the
    value ``k r L = k`` for ``r = 1/L``.
    """
    k, r, L = sp.symbols("k r L", positive=True)
    w = sp.Symbol("w", nonnegative=True)
    density = -k * r * (w - 1) ** 3
    derivative = sp.factor(sp.diff(density, w))
    return {"derivative": derivative, "derivative_nonpositive": bool(derivative.is_nonpositive),
            "value": sp.simplify(density.subs(w, 0) * L).subs(r, 1 / L)}


@functools.cache
def sign_convention() -> dict:
    """Writing the critic as ``T`` or as ``-T`` gives the same divergence (no output activation).

    With ``J(T; p, q) = E_p T - E_q T - k E_r |T'|^P``: ``flip`` is ``J(-S; p, q) - J(S; q, p)``
    (0: the penalty sees ``|-S'| = |S'|``), so ``max_T J(T; p, q) = max_S J(S; q, p)``:
    ``W_{k,P}`` is symmetric. ``paper_form`` is the paper's ``E_p f - E_q f + k E|f'|^P``
    (minimised, an infimum <= 0) at ``f = -T``, plus ``J(T)``: 0, so the paper's value is
    ``-W_{k,P}``.
    """
    k, P = sp.symbols("k P", positive=True)
    S = sp.Function("S")
    Ep, Eq, Er = (sp.Function(n) for n in ("E_p", "E_q", "E_r"))

    def J(fn, first, second):
        return first(fn) - second(fn) - k * Er(sp.Abs(sp.diff(fn, x)) ** P)

    flip = sp.simplify(J(-S(x), Ep, Eq) - J(S(x), Eq, Ep))
    paper = Ep(-T(x)) - Eq(-T(x)) + k * Er(sp.Abs(sp.diff(-T(x), x)) ** P)
    linear = {Ep(-T(x)): -Ep(T(x)), Eq(-T(x)): -Eq(T(x)), Ep(-S(x)): -Ep(S(x)),
              Eq(-S(x)): -Eq(S(x))}  # expectations are linear
    flip = sp.simplify(flip.subs(linear))
    return {"flip": flip, "paper_form": sp.simplify((paper + J(T(x), Ep, Eq)).subs(linear))}


# ----------------------------------------------------------------------------- 1-D numerics
def gaussian_pair(mu_p: float = 0.5, sd_p: float = 0.5, mu_q: float = -0.5, sd_q: float = 1.0,
                  a: float = -6.0, b: float = 6.0, n: int = 1201) -> dict:
    """Two Gaussians on a grid over ``[a, b]``: densities, CDFs and ``Delta = F_p - F_q``.

    Float64 tensors ``(n,)``; the densities are renormalised to sum to 1 on the grid (the
    discretised objective is unbounded if ``sum (p - q) h`` is not exactly 0).
    """
    xs = torch.linspace(a, b, n, dtype=torch.float64)
    h = (b - a) / (n - 1)

    def density(mu, sd):
        d = torch.exp(-0.5 * ((xs - mu) / sd) ** 2)
        return d / (d.sum() * h)

    p, q = density(mu_p, sd_p), density(mu_q, sd_q)
    F_p = torch.special.ndtr((xs - mu_p) / sd_p)
    F_q = torch.special.ndtr((xs - mu_q) / sd_q)
    return {"x": xs, "h": h, "p": p, "q": q, "delta": F_p - F_q, "L": b - a}


def optimise_critic_1d(pair: dict, penalty: Callable[[Tensor], Tensor], weight: float,
                       iters: int = 400, rounds: int = 3, seed: int = 0,
                       start: Tensor | None = None) -> dict:
    """Maximise ``sum_i T_i (p_i - q_i) h - weight r sum_i penalty(T'_i) h`` over grid values T.

    The discretisation of ``E_p[T] - E_q[T] - weight E_r[penalty(T')]`` with ``r = 1/L`` and
    forward differences ``T'_i = (T_{i+1} - T_i) / h``: nothing of the closed form is used.
    L-BFGS in float64 (``rounds`` x ``iters`` iterations) from small random slopes, or from
    the slopes ``start`` ``(n - 1,)``: the GP objective is not concave in ``T'`` (each
    ``(|T'| - 1)^2`` has two local maxima, one of each sign), so a start near ``T = 0`` can
    end in a local maximum. Returns ``T`` ``(n,)``, ``slope`` ``(n - 1,)`` and ``value``.
    """
    h, L = pair["h"], pair["L"]
    diff = (pair["p"] - pair["q"]) * h
    g = torch.Generator().manual_seed(seed)
    # T is parametrised by its increments, T_i = h (u_0 + ... + u_{i-1}) with T_0 = 0 (a
    # constant shift of T changes nothing since sum (p - q) h = 0): the same objective, but
    # L-BFGS converges much faster in these coordinates
    u = 0.01 * torch.randn(len(diff) - 1, generator=g, dtype=torch.float64)
    u = (u if start is None else start.clone().to(torch.float64)).requires_grad_(True)
    opt = torch.optim.LBFGS([u], lr=1, max_iter=iters, tolerance_grad=1e-12,
                            tolerance_change=1e-15, history_size=50, line_search_fn="strong_wolfe")

    def values() -> Tensor:
        return torch.cat([u.new_zeros(1), torch.cumsum(u, 0) * h])

    def objective() -> Tensor:
        t = values()
        slope = torch.diff(t) / h
        return (t * diff).sum() - weight / L * (penalty(slope) * h).sum()

    def closure() -> Tensor:
        opt.zero_grad()
        loss = -objective()
        loss.backward()
        return loss

    for _ in range(rounds):  # L-BFGS restarts its curvature memory each round
        opt.step(closure)
    with torch.no_grad():
        t = values()
        return {"T": t, "slope": torch.diff(t) / h, "value": float(objective())}


def closed_forms_1d(pair: dict, k: float, P: float, lam: float) -> dict:
    """The formulas derived above, on ``pair``'s grid: values and optimal slopes.

    * ``w1`` = ``int |Delta|``;
    * ``wdiv`` = ``(1 - 1/P) (k P r)^(-1/(P-1)) int |Delta|^(P/(P-1))`` and its slope
      ``-sign(Delta) (|Delta| / (k P r))^(1/(P-1))``;
    * ``gp`` = ``int |Delta| + Delta^2 / (4 lam r)`` and its slope
      ``-sign(Delta) (1 + |Delta| / (2 lam r))``.
    Slopes are evaluated at the grid midpoints (``Delta`` averaged), to match
    :func:`optimise_critic_1d`.
    """
    d, h, r = pair["delta"], pair["h"], 1.0 / pair["L"]
    mid = (d[1:] + d[:-1]) / 2

    def integral(f: Tensor) -> float:
        return float(torch.trapezoid(f, dx=h))

    coef = (1 - 1 / P) * (k * P * r) ** (-1 / (P - 1))
    return {
        "w1": integral(d.abs()),
        "wdiv": coef * integral(d.abs() ** (P / (P - 1))),
        "wdiv_slope": -torch.sign(mid) * (mid.abs() / (k * P * r)) ** (1 / (P - 1)),
        "gp": integral(d.abs() + d**2 / (4 * lam * r)),
        "gp_slope": -torch.sign(mid) * (1 + mid.abs() / (2 * lam * r)),
    }


def wdiv_optimal_slope(delta: Tensor, k: float, P: float, r: float) -> Tensor:
    """The optimal ``T'`` of the W-divergence in 1-D: ``-sign(Delta) (|Delta| / (k P r))^(1/(P-1))``."""
    return -torch.sign(delta) * (delta.abs() / (k * P * r)) ** (1 / (P - 1))


# ----------------------------------------------------------------------------- experiment helpers
def empirical_w1(a: Tensor, b: Tensor) -> float:
    """Exact W_1 between two equal-size point clouds ``(n, d)``: an optimal assignment.

    With ``n`` points of weight ``1/n`` on each side an optimal coupling is a permutation
    (Birkhoff), found by the Hungarian method on the Euclidean cost matrix.
    """
    from scipy.optimize import linear_sum_assignment

    if len(a) != len(b):
        raise ValueError(f"need point clouds of one size, got {len(a)} and {len(b)}.")
    cost = torch.cdist(a.double().reshape(len(a), -1), b.double().reshape(len(b), -1)).numpy()
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def grad_norms(D: nn.Module, x: Tensor) -> Tensor:
    """``‖∇_x D(x_i)‖`` per sample ``(B,)``, over each whole flattened sample (no graph kept)."""
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x)
    return g.reshape(len(x), -1).norm(dim=1).detach()


def negated_copy(D: nn.Module) -> nn.Module:
    """A copy of ``D`` whose last layer's weight and bias are negated, so it computes ``-D``."""
    import copy

    neg = copy.deepcopy(D)
    last = [m for m in neg.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
    with torch.no_grad():
        last.weight.neg_()
        if last.bias is not None:
            last.bias.neg_()
    return neg
