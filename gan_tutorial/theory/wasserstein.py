"""Chapter 3, from WGAN to WGAN-div: the Wasserstein distance, Lipschitz constraints and the
Wasserstein divergence (Arjovsky et al., 2017; Gulrajani et al., 2017; Wu et al., 2018).

W_1 and its dual, and the Lipschitz constant of a linear layer, are in :mod:`.duality`; the
disjoint-supports example in :mod:`.supports`. Three kinds of functions live here:

* sympy derivations that *compute* the chapter's results: ``wdiv_euler_lagrange``,
  ``wdiv_value``, ``wdiv_large_p``, ``gp_pointwise``, ``gp_perturbation``,
  ``odd_power_at_equal`` and ``sign_convention``; each returns a dict of sympy expressions
  that the notebook prints and the tests assert;
* an exact numerical companion: ``clipped_lipschitz_bound``;
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

import sympy as sp
import torch
from torch import Tensor, nn

x = sp.Symbol("x", real=True)
T = sp.Function("T")
Delta = sp.Function("Delta")


# ----------------------------------------------------------------------------- Lipschitz constraint
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
    ``j(u) = -u Delta - k r |u|^P``; at ``Delta = -s`` (s > 0) and ``u > 0``,
    ``j(u) = u s - k r u^P = u (s - k r w)`` with ``w = u^(P-1)``. Returns

    * ``stationarity`` - ``j'(u)`` written in ``w``: ``s - k P r w``; ``w_star`` - its root
      ``s / (k P r)`` (sympy's ``solve``), the slope ``u* = w_star^(1/(P-1))``;
    * ``j_star`` - ``j`` at the optimum, ``(P - 1)/P * s * u*``: the ratio ``ratio`` =
      ``j_star / (s u*)`` is ``(P - 1)/P``, and ``slope_factor`` = ``u* / s^(1/(P-1))`` is
      ``(k P r)^(-1/(P-1))``, so ``j_star = coefficient * s^(P/(P-1))``;
    * ``coefficient`` - ``ratio * slope_factor``; ``coefficient_L`` the same with ``r = 1/L``
      and ``k_2_P_6`` its value at ``k = 2, P = 6`` (the paper's choice).
    """
    el = wdiv_euler_lagrange()
    k, r, P, s, u = (el["symbols"][n] for n in ("k", "r", "P", "s", "u"))
    w = sp.Symbol("w", positive=True)  # u^(P-1)
    j = u * s - k * r * u**P
    stationarity = sp.expand(sp.diff(j, u).subs(u**P, u * w))
    (w_star,) = sp.solve(stationarity, w)
    u_star = w_star ** (1 / (P - 1))
    j_w = sp.factor(sp.expand(j.subs(u**P, u * w)).subs(w, w_star))  # still in u
    ratio = sp.simplify(j_w / (s * u))
    slope_factor = sp.powdenest(sp.expand_power_base(u_star / s ** (1 / (P - 1)), force=True), force=True)
    coefficient = ratio * slope_factor
    L = sp.Symbol("L", positive=True)
    coef_L = coefficient.subs(r, 1 / L)
    return {"stationarity": stationarity, "w_star": w_star, "u_star": u_star,
            "j_star": j_w.subs(u, u_star), "ratio": ratio, "slope_factor": slope_factor,
            "coefficient": coefficient, "coefficient_L": coef_L,
            "k_2_P_6": coef_L.subs({k: 2, P: 6}), "symbols": {**el["symbols"], "L": L}}


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
def gp_perturbation() -> dict:
    """Why the WGAN-GP value is a divergence too, and where the argument for it must start.

    ``J(T) = E_p T - E_q T - lam E_r (||grad T|| - 1)^2``, with ``r`` a probability density.

    * ``at_zero`` - ``J(0) = -lam int r``, with ``int r = 1``: ``-lam`` (the penalty is
      ``lam`` there), so ``T = 0`` is not where the value is 0;
    * ``penalty_series`` - the penalty of ``T_0 + eps h`` with ``T_0 = <v, x>``, ``||v|| = 1``:
      ``(||v + eps g|| - 1)^2`` with ``||v + eps g||^2 = 1 + 2 eps c + eps^2 n``
      (``c = <v, g>``, ``n = ||g||^2``, ``g = grad h``), expanded by sympy: ``c^2 eps^2 +
      O(eps^3)``, while the gain is linear in ``eps``;
    * ``best_eps`` and ``best_gain`` - the maximum over ``eps`` of ``eps d - lam C eps^2``
      (``d = E_p h - E_q h > 0``, ``C = E_r <v, grad h>^2 > 0``): ``d / (2 lam C)`` and
      ``d^2 / (4 lam C) > 0``.
    """
    lam, eps, d, C, n = sp.symbols("lam epsilon d C n", positive=True)
    c = sp.Symbol("c", real=True)
    r = sp.Function("r")
    a, b = sp.symbols("a b", real=True)
    at_zero = (-sp.integrate(lam * (0 - 1) ** 2 * r(x), (x, a, b))).subs(sp.Integral(r(x), (x, a, b)), 1)
    series = sp.series((sp.sqrt(1 + 2 * eps * c + eps**2 * n) - 1) ** 2, eps, 0, 3)
    gain = eps * d - lam * C * eps**2
    (best,) = sp.solve(sp.diff(gain, eps), eps)
    return {"at_zero": at_zero, "penalty_series": series, "best_eps": best,
            "best_gain": sp.factor(gain.subs(eps, best))}


@functools.cache
def sign_convention() -> dict:
    """Writing the critic as ``T`` or as ``-T`` gives the same divergence (no output activation).

    The expectations are integrals against the densities ``p`` (``p_data``), ``q`` (``p_g``) and
    ``r`` on ``[a, b]``: ``J(T; p, q) = int T p - int T q - k int |T'|^P r``, and sympy's
    ``integrate`` takes the constant ``-1`` out of each (linearity). ``j_of_minus_s`` is
    ``J(-S; p, q)`` as sympy writes it; ``flip`` is ``J(-S; p, q) - J(S; q, p)``, simplified (0:
    the penalty sees ``|-S'| = |S'|``), so ``max_T J(T; p, q) = max_S J(S; q, p)``: ``W_{k,P}`` is
    symmetric. ``paper_form`` is the paper's ``int f p - int f q + k int |f'|^P r`` (minimised,
    an infimum <= 0) at ``f = -T``, plus ``J(T)``: 0, so the paper's value is ``-W_{k,P}``.
    """
    k, P = sp.symbols("k P", positive=True)
    a, b = sp.symbols("a b", real=True)
    S = sp.Function("S")
    p, q, r = (sp.Function(n) for n in ("p_data", "p_g", "r"))

    def E(f, density):
        return sp.integrate(f * density(x), (x, a, b))

    def J(fn, first, second):
        return E(fn, first) - E(fn, second) - k * E(sp.Abs(sp.diff(fn, x)) ** P, r)

    f = -T(x)
    paper = E(f, p) - E(f, q) + k * E(sp.Abs(sp.diff(f, x)) ** P, r)
    return {"j_of_minus_s": J(-S(x), p, q), "flip": sp.simplify(J(-S(x), p, q) - J(S(x), q, p)),
            "paper_form": sp.simplify(paper + J(T(x), p, q))}


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
