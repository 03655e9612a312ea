"""Chapter 3, disjoint supports: the parallel-lines example of Arjovsky, Chintala and Bottou
(2017, Example 1), where JS, KL and TV ignore how far apart two distributions are and W_1 does not.

``P`` is uniform on the segment ``{0} x [0, 1]`` of the plane and ``Q_theta`` uniform on
``{theta} x [0, 1]``. Neither has a density with respect to the area of the plane, but both
have one with respect to ``mu`` = (counting measure on the vertical lines ``x = 0`` and
``x = theta``) x (length in ``y``): on the strip ``0 <= y <= 1``, ``p(x, y) = 1{x = 0}`` and
``q(x, y) = 1{x = theta}``, and both vanish outside it. KL, JS and TV are integrals of these
densities against ``mu`` (any common dominating measure gives the same values), so sympy computes
each as a sum over the two lines of an integral over ``y``.

Three kinds of functions live here:

* sympy derivations: ``line_divergences`` (JS, KL, TV and the value of the game at the
  optimal discriminator, from the indicator densities), ``line_w1`` (W_1 from a coupling
  above and a 1-Lipschitz critic below), ``line_gradients`` (their derivatives in ``theta``);
* ``line_curves`` evaluates the derived expressions on a grid of ``theta`` for the figure;
* the exercise's experiment: ``sample_lines`` and ``fit_line_critic``, a critic trained with
  weight clipping or a gradient penalty on samples of the two segments.

Natural logarithms: ``JS <= log 2 = 0.6931`` nats.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp
import torch
from torch import Tensor

from ..core import regularizers
from ..core.models import MLPDiscriminator

theta = sp.Symbol("theta", real=True, nonzero=True)  # the shift of Q; theta = 0 is its own case
y = sp.Symbol("y", real=True)


# ----------------------------------------------------------------------------- definitions
def _density(line):
    """The density of the uniform law on ``{line} x [0, 1]`` on the vertical line ``x = x0``
    (for ``0 <= y <= 1``; 0 outside): ``1{x0 = line}``. sympy decides ``Eq(x0, line)``."""
    return lambda x0: sp.Piecewise((1, sp.Eq(x0, line)), (0, True))


def _kl_term(a, b):
    """``a log(a / b)``, with ``0 log(0 / b) = 0`` and ``a log(a / 0) = lim_{e -> 0+} a log(a / e)``.

    Left as an unevaluated limit, taken after the integral over ``y`` (``oo`` times a length
    would otherwise give ``oo * 0`` at the lower end of the antiderivative)."""
    if a == 0:
        return sp.Integer(0)
    e = sp.Symbol("e", positive=True)
    return sp.Limit(a * sp.log(a / e), e, b, "+")


def _xlogy(a, b):
    """``a log b`` with ``0 log 0 = 0`` (the integrand of ``V`` where a density vanishes)."""
    return sp.Integer(0) if a == 0 else a * sp.log(b)


def _integral(term, lines):
    """``int term d mu``: a sum over the vertical lines of an integral over ``0 <= y <= 1``."""
    return sp.simplify(sum(sp.integrate(term(x0), (y, 0, 1)).doit() for x0 in lines))


def _divergences(shift) -> dict:
    """KL, JS, TV and ``V(D*)`` between ``P`` and ``Q_shift``, from the densities, and the
    integrand of each on each line (``integrands``, the limits of :func:`_kl_term` taken)."""
    p, q = _density(0), _density(shift)
    lines = sorted({sp.Integer(0), sp.sympify(shift)}, key=sp.default_sort_key)  # one line if shift = 0
    m = lambda x0: (p(x0) + q(x0)) / 2  # noqa: E731  (the mixture of JS)
    d_star = {x0: p(x0) / (p(x0) + q(x0)) for x0 in lines}  # chapter 1's optimal D, on each line
    integrands = {
        "kl": lambda x0: _kl_term(p(x0), q(x0)),
        "js": lambda x0: (_kl_term(p(x0), m(x0)) + _kl_term(q(x0), m(x0))) / 2,
        "tv": lambda x0: sp.Abs(p(x0) - q(x0)) / 2,
        "value_at_optimal_d": lambda x0: _xlogy(p(x0), d_star[x0]) + _xlogy(q(x0), 1 - d_star[x0]),
    }
    out = {name: _integral(term, lines) for name, term in integrands.items()}
    out["integrands"] = {name: {x0: sp.simplify(term(x0).doit()) for x0 in lines}
                         for name, term in integrands.items()}
    return {**out, "optimal_d": d_star}


# ----------------------------------------------------------------------------- derivations
@functools.cache
def line_divergences() -> dict:
    """JS, KL and TV between ``P`` and ``Q_theta``, for ``theta != 0`` and at ``theta = 0``.

    Returns ``apart`` (``theta != 0``: ``kl`` = oo, ``js`` = log 2, ``tv`` = 1, the optimal
    discriminator ``optimal_d`` = 1 on ``x = 0`` and 0 on ``x = theta``, the value of the
    game there, ``value_at_optimal_d`` = 0 = -log 4 + 2 JS, and ``integrands``, each
    integrand on each line before the integral over ``y``), ``together`` (``theta = 0``:
    all 0, ``optimal_d`` = 1/2), and ``js_limit``, the limit of JS as ``theta -> 0`` (log 2,
    not JS(0) = 0: JS jumps at 0).
    """
    apart, together = _divergences(theta), _divergences(0)
    return {"apart": apart, "together": together,
            "js_limit": sp.limit(apart["js"], theta, 0), "theta": theta}


def _as_abs(expr):
    """``expr`` as ``|theta|`` if it equals ``theta`` for ``theta > 0`` and ``-theta`` for
    ``theta < 0`` (sympy returns the integral of ``|theta|`` over ``y`` as a Piecewise)."""
    t = sp.Symbol("t", positive=True)
    same = all(sp.simplify(expr.subs(theta, v) - t) == 0 for v in (t, -t))
    return sp.Abs(theta) if same else expr


@functools.cache
def line_w1() -> dict:
    """``W_1(P, Q_theta) = |theta|``, squeezed between a coupling and a 1-Lipschitz critic.

    * ``upper`` - the cost ``int_0^1 ||(0, y) - (theta, y)|| dy`` of the coupling that moves
      each point of ``P`` horizontally to ``Q_theta``: ``W_1 <= |theta|`` (an infimum);
    * ``critic`` - ``T(x, y) = -sign(theta) x``; ``critic_grad_norm`` its gradient norm (1,
      so ``T`` is 1-Lipschitz);
    * ``lower`` - ``E_P[T] - E_Q[T] = int_0^1 T(0, y) dy - int_0^1 T(theta, y) dy``, a lower
      bound by the Kantorovich-Rubinstein dual (a supremum): ``|theta|``;
    * ``gap`` - ``upper - lower`` (0), so ``w1`` = ``|theta|``; ``w1_limit`` its limit at 0 (0).
    """
    xs = sp.Symbol("x", real=True)
    upper = _as_abs(sp.integrate(sp.sqrt((theta - 0) ** 2 + (y - y) ** 2), (y, 0, 1)))
    critic = -sp.sign(theta) * xs
    grad_norm = sp.simplify(sp.sqrt(sp.diff(critic, xs) ** 2 + sp.diff(critic, y) ** 2))
    lower = _as_abs(sp.integrate(critic.subs(xs, 0), (y, 0, 1))
                    - sp.integrate(critic.subs(xs, theta), (y, 0, 1)))
    gap = sp.simplify(upper - lower)
    return {"upper": upper, "critic": critic, "critic_grad_norm": grad_norm, "lower": lower,
            "gap": gap, "w1": lower, "w1_limit": sp.limit(lower, theta, 0), "x": xs}


@functools.cache
def line_gradients() -> dict:
    """What a generator that moves ``theta`` learns from each distance (``theta != 0``).

    ``d_value`` - ``d/dtheta`` of the game's value at the optimal discriminator, ``-log 4 + 2
    JS(P, Q_theta)`` (chapter 1): 0, the vanishing gradient; ``d_js`` - of JS (0); ``d_w1`` -
    of ``W_1 = |theta|``: ``sign(theta)``, which points away from the data, so gradient
    descent on ``theta`` moves ``Q_theta`` towards ``P`` at unit speed.
    """
    div, w1 = line_divergences()["apart"], line_w1()["w1"]
    return {"d_value": sp.diff(-sp.log(4) + 2 * div["js"], theta), "d_js": sp.diff(div["js"], theta),
            "d_w1": sp.diff(w1, theta)}


def line_curves(thetas: np.ndarray) -> dict:
    """The four distances on a grid of ``theta`` (float arrays), from the derived expressions:
    the ``theta != 0`` expression off 0 and the ``theta = 0`` value at 0 (``kl`` is ``inf`` off 0)."""
    div = line_divergences()
    exprs = {"js": div["apart"]["js"], "kl": div["apart"]["kl"], "tv": div["apart"]["tv"],
             "w1": line_w1()["w1"]}
    at_zero = {**{n: div["together"][n] for n in ("js", "kl", "tv")},
               "w1": line_w1()["w1"].subs(theta, 0)}
    thetas = np.asarray(thetas, dtype=float)
    out = {}
    for name, expr in exprs.items():
        off = np.inf if expr == sp.oo else sp.lambdify(theta, expr, "numpy")(thetas)
        out[name] = np.where(thetas == 0, float(at_zero[name]), np.broadcast_to(off, thetas.shape))
    return out


# ----------------------------------------------------------------------------- the exercise
def sample_lines(shift: float, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` samples of ``P`` (on ``x = 0``) and of ``Q_shift`` (on ``x = shift``): ``(n, 2)`` each."""
    y_p, y_q = torch.rand(n, generator=generator), torch.rand(n, generator=generator)
    return (torch.stack([torch.zeros(n), y_p], 1), torch.stack([torch.full((n,), float(shift)), y_q], 1))


def fit_line_critic(shift: float, constraint: str = "gp", steps: int = 300, batch_size: int = 256,
                    lr: float = 1e-3, seed: int = 0) -> dict:
    """Train a critic ``T`` on the parallel lines; return its estimate of ``W_1(P, Q_shift)``.

    ``T`` is an MLP (2 -> 64 -> 64 -> 1). It minimises ``E_Q[T] - E_P[T]``, plus
    ``10 E(||grad T|| - 1)^2`` on interpolates for ``constraint="gp"``, or with every weight
    clipped into ``[-0.01, 0.01]`` after each Adam step for ``constraint="clip"``. Returns
    ``estimate`` (``E_P[T] - E_Q[T]`` on 4,096 fresh samples) and ``grad_norm`` (the mean
    ``||grad T||`` on those samples).
    """
    if constraint not in ("gp", "clip"):
        raise ValueError(f"constraint must be 'gp' or 'clip', got {constraint!r}.")
    torch.manual_seed(seed)  # weights and the penalty's interpolation weights
    g = torch.Generator().manual_seed(seed)
    T = MLPDiscriminator(2, hidden=64, depth=2)
    opt = torch.optim.Adam(T.parameters(), lr=lr, betas=(0.5, 0.9))
    for _ in range(steps):
        x_p, x_q = sample_lines(shift, batch_size, g)
        loss = T(x_q).mean() - T(x_p).mean()  # minimise E_Q T - E_P T: maximise the estimate
        if constraint == "gp":
            loss = loss + 10.0 * regularizers.gradient_penalty(T, x_p, x_q)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if constraint == "clip":
            with torch.no_grad():
                regularizers.clip_weights(T, 0.01)
    x_p, x_q = sample_lines(shift, 4096, g)
    x = torch.cat([x_p, x_q]).requires_grad_(True)
    (grad,) = torch.autograd.grad(T(x).sum(), x)
    with torch.no_grad():
        return {"estimate": float(T(x_p).mean() - T(x_q).mean()),
                "grad_norm": float(grad.norm(dim=1).mean())}
