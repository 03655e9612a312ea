"""Chapter 5, O-GAN: the orthogonal decomposition ``z = avg(z)·1 + std(z)·N(z)`` and the
Pearson correlation that turns the discriminator into an encoder (Su, 2019).

For ``z`` in R^n (n >= 3):

    avg(z) = (1/n) sum_i z_i,   std(z) = sqrt((1/n) sum_i (z_i - avg(z))²),
    N(z)   = (z - avg(z)·1) / std(z),      rho(z, e) = <N(z), N(e)> / n.

General ``n`` is handled without writing out components: every quantity here is a sum over
``i`` of a polynomial in one generic component ``z_i`` (and ``e_i``), and :func:`sum_over_i`
turns such a sum into the sample moments by linearity of the sum alone. The moments are
written through the mean, variance and covariance of the entries of the vectors (symbols
``m_z``, ``v_z``, ``c``...), so sympy knows which quantities are positive. What the functions
return is computed (expand, simplify, solve, diff), never typed in.

* :func:`decomposition_general` - avg and std solved for as the coefficients that make the
  decomposition orthogonal; ``‖N(z)‖² = n``, ``rho = <N(z), N(e)>/n``;
* :func:`decomposition_n3` - the three parts are functionally independent (n = 3, explicit);
* :func:`pearson_invariance` - ``rho(z, a e + b) = sign(a) rho(z, e)``;
* :func:`standardized_distance` - ``‖N(z) - N(e)‖² = 2n(1 - rho)``;
* :func:`mse_decomposition` - ``‖z - e‖²/n = (Δavg)² + (Δstd)² + 2 std_z std_e (1 - rho)``;
* :func:`information_bound` - a lower bound on ``I(Z; G(Z))`` from the correlation;
* :func:`gan_qp_optimum` - where GAN-QP's discriminator objective peaks for one pair;
* :func:`mode_count_bound` - the fewest distinct outputs a generator with that correlation can have;
* :func:`mse_parts` - the three parts of the MSE, numerically (torch).
"""

from __future__ import annotations

import math

import sympy as sp
from torch import Tensor

# one generic component of each vector, and the symbols of the sample moments
n = sp.Symbol("n", integer=True, positive=True)
z_i, e_i = sp.symbols("z_i e_i", real=True)
m_z, m_e, b = sp.symbols("m_z m_e b", real=True)  # means of the entries; b: a shift
v_z, v_e = sp.symbols("v_z v_e", positive=True)   # variances of the entries (non-constant vectors)
c = sp.Symbol("c", real=True)                       # covariance of the entries of z and e
rho = sp.Symbol("rho", real=True)                   # their correlation, c / sqrt(v_z v_e)
sd_z, sd_e = sp.symbols("sigma_z sigma_e", positive=True)  # std(z), std(e): v = sigma²


def _moment(p: int, q: int) -> sp.Expr:
    """``sum_i z_i^p e_i^q`` in terms of n, the means, variances and the covariance (p + q <= 2)."""
    table = {
        (0, 0): n,
        (1, 0): n * m_z, (0, 1): n * m_e,
        (2, 0): n * (v_z + m_z**2), (0, 2): n * (v_e + m_e**2),
        (1, 1): n * (c + m_z * m_e),
    }
    if (p, q) not in table:
        raise ValueError(f"sum_over_i handles polynomials of degree <= 2, got z_i^{p} e_i^{q}")
    return table[(p, q)]


def sum_over_i(summand: sp.Expr) -> sp.Expr:
    """``sum_{i=1}^n summand`` for a summand polynomial (degree <= 2) in ``z_i`` and ``e_i``.

    The coefficients may be anything that does not depend on ``i`` (means, std's, ``n``).
    Only linearity is used: ``sum_i (k·z_i^p e_i^q) = k · sum_i z_i^p e_i^q``.
    """
    poly = sp.Poly(sp.expand(summand), z_i, e_i)
    return sp.simplify(sum(coef * _moment(p, q) for (p, q), coef in poly.terms()))


def _stats(x_i: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``avg``, ``std`` and the generic component of ``N`` for the vector with entries ``x_i``."""
    avg = sp.simplify(sum_over_i(x_i) / n)
    std = sp.sqrt(sp.simplify(sum_over_i((x_i - avg) ** 2) / n))
    return avg, std, (x_i - avg) / std


def decomposition_general() -> dict:
    """avg, std and N for general n, *solved for* as the parts of an orthogonal decomposition.

    * ``mean_equation`` / ``mean_solution`` - ``<z - a·1, 1> = 0`` solved for ``a``: the one
      multiple of ``1`` whose remainder is orthogonal to ``1`` is ``a = avg(z)`` (``m_z``);
    * ``scale_equation`` / ``scale_solution`` - ``‖(z - avg(z)·1) / t‖² = n`` solved for
      ``t > 0``: the scale that gives the remainder the squared norm of ``1`` is ``std(z)``
      (``sqrt(v_z)``);
    * ``N_z`` - the component ``(z_i - avg) / std``; ``sum_N`` = ``<N(z), 1>`` (0),
      ``norm2_N`` = ``‖N(z)‖²`` (n), ``cross`` = ``<avg·1, std·N(z)>`` (0: the two parts are
      orthogonal) and ``reconstruction`` = ``avg + std·N(z)_i - z_i`` (0);
    * ``avg_z``, ``std_z`` - the solutions; ``rho`` = ``<N(z), N(e)>/n`` (``c / sqrt(v_z v_e)``:
      the correlation of the entries).
    """
    a = sp.Symbol("a", real=True)
    t = sp.Symbol("t", positive=True)
    mean_eq = sp.Eq(sum_over_i(z_i - a), 0)
    avg_z = sp.solve(mean_eq, a)
    scale_eq = sp.Eq(sum_over_i(((z_i - avg_z[0]) / t) ** 2), n)
    std_z = sp.solve(scale_eq, t)
    N_z = (z_i - avg_z[0]) / std_z[0]
    _, _, N_e = _stats(e_i)
    return {
        "mean_equation": mean_eq, "mean_solution": avg_z,
        "scale_equation": scale_eq, "scale_solution": std_z,
        "avg_z": avg_z[0], "std_z": std_z[0], "N_z": N_z,
        "sum_N": sum_over_i(N_z),
        "norm2_N": sum_over_i(N_z**2),
        "cross": sum_over_i(avg_z[0] * std_z[0] * N_z),
        "rho": sp.simplify(sum_over_i(N_z * N_e) / n),
        "reconstruction": sp.simplify(avg_z[0] + std_z[0] * N_z - z_i),
    }


def _zero(expr: sp.Expr) -> sp.Expr:
    """Simplify a rational expression in the entries and their square roots (fast; 0 if it is 0)."""
    return sp.expand(sp.cancel(sp.together(expr)))


def decomposition_n3() -> dict:
    """The three parts of ``z`` in R^3 are functionally independent, and orthogonal to first order.

    With ``z = (z1, z2, z3)`` written out:

    * ``grad_avg`` (``(1,1,1)/3``) and ``grad_std``; ``grad_std_minus_N3`` = ``grad_std - N(z)/3``
      (0) and ``grad_dot`` = ``<grad_avg, grad_std>`` (0): moving z along 1 changes only avg,
      along N(z) only std;
    * ``JN_ones`` = ``J_N · 1`` and ``JN_N`` = ``J_N · N(z)`` (both 0: N ignores shifts and
      scalings), ``rank_JN`` = 1 = n - 2 (N(z) moves on a circle: ``N ⟂ 1``, ``‖N‖² = 3``);
    * ``rank_all`` = rank of the Jacobian of ``(avg, std, N)`` = 3 = n: nothing is lost;
    * the inverse map ``(m, t, θ) -> z = m·1 + t·sqrt(3)(cos θ v1 + sin θ v2)`` (``v1``, ``v2``
      an orthonormal basis of the plane ⟂ 1): ``avg_std_of_inverse`` gives back ``(m, t)``,
      ``N_of_inverse`` = N of that z minus the circle point (0), and ``det_inverse`` is its
      Jacobian determinant (``3 sqrt(3) t``, never 0 for t > 0).
    """
    zs = sp.symbols("z1:4", real=True)
    zv = sp.Matrix(zs)
    ones = sp.ones(3, 1)
    avg = sum(zs) / 3
    std = sp.sqrt(sum((x - avg) ** 2 for x in zs) / 3)
    N = (zv - avg * ones) / std
    grad_avg = sp.Matrix([sp.diff(avg, x) for x in zs])
    grad_std = sp.Matrix([sp.diff(std, x) for x in zs])
    JN = N.jacobian(zv)
    J_all = sp.Matrix.vstack(grad_avg.T, grad_std.T, JN)
    # a generic point (distinct entries) for the ranks: the rank is the same at almost every z
    point = dict(zip(zs, (sp.Rational(1), sp.Rational(-2), sp.Rational(4))))

    m, th = sp.symbols("m theta", real=True)
    t = sp.Symbol("t", positive=True)
    v1 = sp.Matrix([1, -1, 0]) / sp.sqrt(2)
    v2 = sp.Matrix([1, 1, -2]) / sp.sqrt(6)
    circle = sp.sqrt(3) * (sp.cos(th) * v1 + sp.sin(th) * v2)
    z_of = m * ones + t * circle
    sub = dict(zip(zs, z_of))
    avg_of = sp.expand(avg.subs(sub))
    std_of = sp.sqrt(sp.trigsimp(sp.expand((std**2).subs(sub))))
    return {
        "grad_avg": grad_avg,
        "grad_std": grad_std,
        "grad_std_minus_N3": (grad_std - N / 3).applyfunc(_zero),
        "grad_dot": _zero((grad_avg.T * grad_std)[0]),
        "JN_ones": (JN * ones).applyfunc(_zero),
        "JN_N": (JN * N).applyfunc(_zero),
        "rank_JN": JN.subs(point).rank(),
        "rank_all": J_all.subs(point).rank(),
        "avg_std_of_inverse": (avg_of, std_of),
        "N_of_inverse": ((z_of - avg_of * ones) / std_of - circle).applyfunc(sp.expand),
        "det_inverse": sp.simplify(z_of.jacobian([m, t, th]).det()),
        "circle_checks": (sp.simplify((ones.T * circle)[0]), sp.simplify((circle.T * circle)[0])),
    }


def pearson_invariance() -> dict:
    """``rho(z, a·e + b)`` for ``a > 0`` and ``a < 0``, by substituting ``e_i -> a e_i + b``.

    Returns ``rho`` (of z and e), ``rho_pos`` and ``rho_neg`` (after the affine map with
    a positive and a negative ``a``) and their ratios to ``rho`` (1 and -1).
    """
    a_pos = sp.Symbol("a", positive=True)
    a_neg = sp.Symbol("a", negative=True)
    _, _, N_z = _stats(z_i)

    def rho_with(x_i: sp.Expr) -> sp.Expr:
        _, _, N_x = _stats(x_i)
        return sp.simplify(sum_over_i(N_z * N_x) / n)

    rho = rho_with(e_i)
    rho_pos, rho_neg = rho_with(a_pos * e_i + b), rho_with(a_neg * e_i + b)
    return {"rho": rho, "rho_pos": rho_pos, "rho_neg": rho_neg,
            "ratio_pos": sp.simplify(rho_pos / rho), "ratio_neg": sp.simplify(rho_neg / rho)}


def _c_in_rho() -> sp.Expr:
    """The covariance in terms of the correlation: ``rho = c / sqrt(v_z v_e)`` solved for ``c``."""
    _, _, N_z = _stats(z_i)
    _, _, N_e = _stats(e_i)
    (c_of_rho,) = sp.solve(sp.Eq(rho, sp.simplify(sum_over_i(N_z * N_e) / n)), c)
    return c_of_rho


def standardized_distance() -> dict:
    """``‖N(z) - N(e)‖²`` for general n, written in the correlation.

    ``distance`` is the sum computed by :func:`sum_over_i` (in the moments); ``c_of_rho``
    solves the definition of ``rho`` for the covariance ``c``, and ``distance_in_rho`` is
    ``distance`` with it substituted and factored: ``2n(1 - rho)``, for every n.
    """
    _, _, N_z = _stats(z_i)
    _, _, N_e = _stats(e_i)
    distance = sum_over_i((N_z - N_e) ** 2)
    c_of_rho = _c_in_rho()
    return {"distance": distance, "c_of_rho": c_of_rho,
            "distance_in_rho": sp.factor(sp.simplify(distance.subs(c, c_of_rho)))}


def mse_decomposition() -> dict:
    """Split the mean squared error ``‖z - e‖²/n`` into three parts, in ``sigma = std`` and ``rho``.

    ``mse`` is computed by :func:`sum_over_i`; ``mse_in_rho`` has ``v = sigma²`` and ``c``
    solved from ``rho`` substituted. The parts are *derived* from it, not typed in:

    * ``mean_part`` - what the means contribute, ``mse - mse(m_e = m_z)``: ``(avg z - avg e)²``;
    * ``scale_part`` - what is left with equal means and ``rho = 1``: ``(std z - std e)²``;
    * ``direction_part`` - the rest, factored: ``2 std z std e (1 - rho)``, zero only when
      the directions ``N(z)``, ``N(e)`` agree.

    Minimising the MSE therefore fixes avg(e) and std(e) as well as the direction N(e).
    """
    mse = sp.simplify(sum_over_i((z_i - e_i) ** 2) / n)
    sub = {v_z: sd_z**2, v_e: sd_e**2}
    mse_rho = sp.expand(mse.subs(c, _c_in_rho()).subs(sub))
    mean_part = sp.factor(mse_rho - mse_rho.subs(m_e, m_z))
    scale_part = sp.factor(mse_rho.subs({m_e: m_z, rho: 1}))
    direction = sp.factor(mse_rho - mean_part - scale_part)
    return {"mse": mse, "mse_in_rho": mse_rho, "mean_part": mean_part, "scale_part": scale_part,
            "direction_part": direction,
            "residual": sp.simplify(mean_part + scale_part + direction - mse_rho)}


def information_bound() -> dict:
    """The best scale ``alpha`` for predicting ``z`` by ``alpha·N(e)``, ``e = E(G(z))``, and the bound.

    * ``error_sum`` - ``‖z - alpha N(e)‖² / n`` by :func:`sum_over_i`, in the moments;
    * ``second_moment`` - ``E[Z_i²]`` for ``Z_i ~ N(0, 1)``, integrated against the Gaussian
      density (1), the expectation of ``v_z + m_z² = ‖z‖²/n``;
    * ``std_times_rho`` - ``std(z)·rho(z, e)`` simplified (``c / sqrt(v_e)``, the term of
      ``error_sum`` that ``alpha`` multiplies), whose expectation is written ``rho_bar``;
    * ``error`` - the expected per-entry error ``1 - 2 alpha rho_bar + alpha²`` assembled from
      the two expectations; ``alpha_star`` - the root of its ``diff`` in ``alpha``
      (``[rho_bar]``), ``second_derivative`` (2 > 0: a minimum), ``min_error`` (``1 - rho_bar²``);
    * ``bound`` - ``I(Z; G(Z)) >= H(Z) - H(Z - ẑ) >= -(n/2) log(min_error)`` in nats, with
      ``H`` the (differential) entropy.
    """
    alpha = sp.Symbol("alpha", real=True)
    rho_bar = sp.Symbol("rho_bar", real=True)
    x = sp.Symbol("x", real=True)
    _, std_z, N_z = _stats(z_i)
    _, _, N_e = _stats(e_i)
    error_sum = sp.expand(sum_over_i((z_i - alpha * N_e) ** 2) / n)
    second = sp.integrate(x**2 * sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi), (x, -sp.oo, sp.oo))
    std_rho = sp.simplify(std_z * sp.simplify(sum_over_i(N_z * N_e) / n))
    # take expectations: v_z + m_z² -> E[Z_i²], std(z) rho -> rho_bar (solve for v_z and c)
    (v_of,) = sp.solve(sp.Eq(v_z + m_z**2, second), v_z)
    (c_of,) = sp.solve(sp.Eq(std_rho, rho_bar), c)
    error = sp.expand(error_sum.subs({v_z: v_of, c: c_of}))
    alpha_star = sp.solve(sp.diff(error, alpha), alpha)
    min_error = sp.factor(error.subs(alpha, alpha_star[0]))
    return {"error_sum": error_sum, "second_moment": second, "std_times_rho": std_rho,
            "error": error, "alpha_star": alpha_star, "second_derivative": sp.diff(error, alpha, 2),
            "min_error": min_error, "bound": -n / 2 * sp.log(min_error), "rho_bar": rho_bar,
            "alpha": alpha}


def gan_qp_optimum() -> dict:
    """GAN-QP's per-pair objective ``Delta - Delta² / (2 kappa d)`` maximised over ``Delta``.

    ``Delta = D(x_r) - D(x_f)``, ``d = d(x_r, x_f) > 0``, ``kappa > 0``. Returns ``bracket``,
    ``stationary`` (the root of its ``diff`` in ``Delta``: ``[kappa d]``), ``second_derivative``
    (``-1 / (kappa d)``, negative: a maximum) and ``max_value`` (``kappa d / 2``).
    """
    delta = sp.Symbol("Delta", real=True)
    kappa, d = sp.symbols("kappa d", positive=True)
    bracket = delta - delta**2 / (2 * kappa * d)
    stationary = sp.solve(sp.diff(bracket, delta), delta)
    return {"bracket": bracket, "stationary": stationary,
            "second_derivative": sp.diff(bracket, delta, 2),
            "max_value": sp.simplify(bracket.subs(delta, stationary[0])), "Delta": delta}


def mode_count_bound(k: float, n_latent: int) -> float:
    """``log10`` of the fewest distinct images a generator can make if ``E[std(Z) rho] = k``.

    ``k`` is the book's ``rho_bar``. A generator with K distinct outputs has
    ``I(Z; G(Z)) <= log K``; with :func:`information_bound`, ``log K >= -(n/2) log(1 - k²)``. Returned in decimal digits
    because the number itself overflows a float for large ``n``.
    """
    if not 0 <= k < 1:
        raise ValueError(f"k must be in [0, 1), got {k}")
    return -n_latent / 2 * math.log(1 - k**2) / math.log(10)


def mse_parts(z: Tensor, e: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The three parts of the mean squared error ``‖z - e‖²/n``, row-wise ``(B, n) -> 3 × (B,)``.

    ``((avg z - avg e)², (std z - std e)², 2 std z std e (1 - rho(z, e)))``, with the
    population std (divide by n); they add up to ``((z - e)²).mean(-1)`` (see
    :func:`mse_decomposition`). The last part is computed as ``2 (std z std e - cov(z, e))``,
    which is the same number and stays finite for constant rows.
    """
    sz, se = z.std(-1, unbiased=False), e.std(-1, unbiased=False)
    cov = ((z - z.mean(-1, keepdim=True)) * (e - e.mean(-1, keepdim=True))).mean(-1)
    return (z.mean(-1) - e.mean(-1)) ** 2, (sz - se) ** 2, 2 * (sz * se - cov)
