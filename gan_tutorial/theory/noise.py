"""Chapter 6, instance noise: why blurring D's inputs pulls G towards a mode it misses.

G has all its mass on one mode at 0; the data have that mode and a second one at distance
``a``, each with variance ``s^2``. With Gaussian noise of variance ``sigma^2`` added to both
(D sees the two densities convolved with ``N(0, sigma^2)``), each mode has variance
``v = s^2 + sigma^2``. The optimal D's logit is ``log p_v / q_v`` (chapter 1, with the blurred
densities), and G's samples at 0 move along its gradient there: the pull towards the missing
mode. The functions below derive that pull and the fact that the blurred game still has the
data as its only solution.
"""

from __future__ import annotations

import sympy as sp


def pull_towards_missing_mode() -> dict:
    """The gradient at 0 of ``log p_v(x) / q_v(x)``, ``p_v = (N(0, v) + N(a, v)) / 2``, ``q_v = N(0, v)``.

    Returns the gradient (simplified), its difference to ``(a / v) / (1 + exp(a^2 / (2 v)))``,
    its limit as ``v -> 0`` (no noise, sharp modes) and its value for the grid's numbers
    (``a = 2``, ``s = 0.05``) without noise and with ``sigma = 0.5``.
    """
    x = sp.symbols("x", real=True)
    a, v = sp.symbols("a v", positive=True)

    def normal(mean):
        return sp.exp(-(x - mean) ** 2 / (2 * v)) / sp.sqrt(2 * sp.pi * v)

    log_ratio = sp.log((normal(0) + normal(a)) / 2) - sp.log(normal(0))
    pull = sp.simplify(sp.diff(log_ratio, x).subs(x, 0))
    closed = (a / v) / (1 + sp.exp(a**2 / (2 * v)))
    s2 = sp.Rational(1, 400)  # s = 0.05
    sharp, blurred = (pull.subs({a: 2, v: var}) for var in (s2, s2 + sp.Rational(1, 4)))
    return {"pull": pull, "pull - closed form": sp.simplify(pull - closed),
            "limit v -> 0": sp.limit(pull, v, 0, "+"), "pull without noise": sharp,
            "pull with sigma 0.5": blurred, "log10 gain": sp.N(sp.log(blurred / sharp, 10), 6)}


def blurring_keeps_the_solution() -> dict:
    """The characteristic function of the noise ``N(0, sigma^2)``, computed from its density.

    Blurring multiplies a distribution's characteristic function by this one; it is never 0,
    so two blurred distributions are equal only if the distributions are: the blurred game's
    only solution is still ``p_g = p_data``. Returns it and whether it is positive for all t.
    """
    x, t = sp.symbols("x t", real=True)
    sigma = sp.symbols("sigma", positive=True)
    density = sp.exp(-x**2 / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))
    phi = sp.simplify(sp.integrate(sp.exp(sp.I * t * x) * density, (x, -sp.oo, sp.oo)))
    return {"characteristic function": phi, "positive for all t": bool(sp.ask(sp.Q.positive(phi)))}
