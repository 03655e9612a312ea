"""Chapter 1, the minimax game: the optimal discriminator, the Jensen-Shannon divergence, and
why the generator is trained with the non-saturating loss (Goodfellow et al., 2014).

The value function of the game is

    V(G, D) = E_{x ~ p_data}[log D(x)] + E_{z ~ p_z}[log(1 - D(G(z)))].

Three kinds of functions live here:

* sympy derivations that *compute* the chapter's results (``optimal_discriminator``,
  ``jsd_decomposition``, ``generator_gradients``, ``change_of_variables_example``); each
  returns a dict of sympy expressions that the notebook prints and the tests assert;
* exact numerical companions (``kl_discrete``, ``jsd_discrete``, ``value_at_optimum``,
  ``gaussian_pair_check``) and a few known distributions (:class:`Mixture`, :data:`PAIRS`, in :mod:`.mixtures`);
* the experiment of the chapter: ``train_discriminator`` trains D alone against two fixed
  distributions, so that its output can be compared with ``p / (p + q)``.

Natural logarithms throughout: ``-log 4 = -1.3863`` and ``JSD <= log 2 = 0.6931`` nats.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import mpmath
import sympy as sp
import torch
from torch import Tensor, nn

from ..core.losses import minimax_d_loss
from ..core.sampling import evaluating
from .mixtures import PAIRS, Mixture, grid, jsd_quadrature  # noqa: F401  (known densities, re-exported)


# ----------------------------------------------------------------------------- sympy
def optimal_discriminator() -> dict:
    """Maximise ``f(y) = a log y + b log(1 - y)`` over ``y`` in (0, 1), for ``a, b > 0``.

    ``a = p_data(x)``, ``b = p_g(x)`` and ``y = D(x)`` at one point ``x``: ``V`` is the
    integral of ``f`` over ``x``, so maximising ``f`` pointwise maximises ``V``. Returns

    * ``f``, ``df``, ``d2f`` - the objective and its first two derivatives in ``y``;
    * ``critical_points`` - the solutions of ``df = 0`` (sympy's ``solve``);
    * ``y_star`` - the only one, ``a / (a + b)``;
    * ``d2f_on_interval`` - ``d2f`` after ``y = t / (1 + t)``, which maps ``t > 0`` onto
      ``0 < y < 1``, and ``concave`` - whether sympy proves it negative for every ``t > 0``;
    * ``limits`` - ``f`` at ``y -> 0+`` and ``y -> 1-`` (both ``-oo``: no maximum on the
      boundary);
    * ``f_max`` - ``f(y_star)``, the pointwise value of ``C(G)``'s integrand.
    """
    a, b = sp.symbols("a b", positive=True)
    y, t = sp.symbols("y t", positive=True)
    f = a * sp.log(y) + b * sp.log(1 - y)
    df = sp.diff(f, y)
    d2f = sp.diff(f, y, 2)
    critical = sp.solve(sp.Eq(df, 0), y)
    d2f_interval = sp.factor(sp.simplify(d2f.subs(y, t / (1 + t))))
    return {
        "a": a, "b": b, "y": y, "t": t,
        "f": f, "df": df, "d2f": d2f,
        "critical_points": critical,
        "y_star": critical[0] if len(critical) == 1 else None,
        "d2f_on_interval": d2f_interval,
        "concave": bool(d2f_interval.is_negative),
        "limits": (sp.limit(f, y, 0, "+"), sp.limit(f, y, 1, "-")),
        "f_max": a * sp.log(critical[0]) + b * sp.log(sp.factor(1 - critical[0])),
    }


def jsd_decomposition() -> dict:
    """Substitute ``D*`` into ``V`` and find the constant that separates ``C(G)`` from 2 JSD.

    With ``a = p_data(x)``, ``b = p_g(x)`` and ``m = (a + b) / 2`` (the mixture's density),
    the integrand of ``C(G) = V(G, D*)`` is ``c = a log D* + b log(1 - D*)``. The steps:

    * ``log_d_minus_log_a_over_m`` = ``log D* - log(a/m)`` and ``log_1md_minus_log_b_over_m``
      = ``log(1 - D*) - log(b/m)``: sympy finds each to be ``-log 2`` (this is the
      "add and subtract log 2" step: ``D* = a/(a+b) = (1/2) a/m``);
    * ``remainder`` = ``c - [a log(a/m) + b log(b/m)]``, simplified by sympy to
      ``-(a + b) log 2``; ``remainder_is_linear`` says it is linear and homogeneous in
      ``(a, b)``, so integrating it over ``x`` replaces ``a`` and ``b`` by their total
      masses, 1 and 1;
    * ``constant`` - that integral, ``-log 4``; the rest integrates to
      ``KL(p_data || m) + KL(p_g || m) = 2 JSD(p_data || p_g)``;
    * ``at_equal`` - the integrand and ``D*`` when ``a = b`` (``p_g = p_data``): ``D* = 1/2``.
    """
    opt = optimal_discriminator()
    a, b, y_star = opt["a"], opt["b"], opt["y_star"]
    m = (a + b) / 2
    integrand = opt["f_max"]  # a log D* + b log(1 - D*)
    kl_integrands = a * sp.log(a / m) + b * sp.log(b / m)

    def simp(e):
        return sp.simplify(sp.expand_log(e, force=True))

    remainder = simp(integrand - kl_integrands)
    poly = sp.Poly(remainder, a, b)
    constant = sp.logcombine(remainder.subs({a: 1, b: 1}), force=True)
    return {
        "a": a, "b": b, "m": m, "y_star": y_star,
        "integrand": integrand,
        "log_d_minus_log_a_over_m": simp(sp.log(y_star) - sp.log(a / m)),
        "log_1md_minus_log_b_over_m": simp(sp.log(1 - y_star) - sp.log(b / m)),
        "kl_integrands": kl_integrands,
        "remainder": sp.factor(remainder),
        "remainder_is_linear": bool(poly.is_linear and poly.is_homogeneous),
        "constant": constant,
        "at_equal": {"y_star": sp.simplify(y_star.subs(b, a)),
                     "integrand": sp.factor(simp(integrand.subs(b, a)))},
    }


def discrete_example(p: list, q: list) -> dict:
    """Exact check of ``C(G) = -log 4 + 2 JSD`` on two discrete distributions (sympy rationals).

    ``C`` is computed from its definition, ``sum p log D* + q log(1 - D*)`` with
    ``D* = p / (p + q)``; ``jsd`` from the KL definition ``(KL(p||m) + KL(q||m)) / 2``.
    Terms with a zero probability contribute 0 (``0 log 0 = 0``). ``difference`` is
    ``C - (-log 4 + 2 jsd)`` simplified: exactly 0.
    """
    p = [sp.nsimplify(v) for v in p]
    q = [sp.nsimplify(v) for v in q]
    if sum(p) != 1 or sum(q) != 1:
        raise ValueError("p and q must each sum to 1.")

    def xlogy(u, v):
        return 0 if u == 0 else u * sp.log(v)

    C = sum(xlogy(pi, pi / (pi + qi)) + xlogy(qi, qi / (pi + qi)) for pi, qi in zip(p, q))
    m = [(pi + qi) / 2 for pi, qi in zip(p, q)]
    kl_pm = sum(xlogy(pi, pi / mi) for pi, mi in zip(p, m))
    kl_qm = sum(xlogy(qi, qi / mi) for qi, mi in zip(q, m))
    jsd = (kl_pm + kl_qm) / 2
    difference = sp.simplify(sp.expand_log(C - (-sp.log(4) + 2 * jsd), force=True))
    return {"C": C, "jsd": jsd, "difference": difference}


def generator_gradients() -> dict:
    """Gradients of the two generator losses with respect to D's logit ``s`` on a fake sample.

    ``D = sigmoid(s)``. The saturating loss is ``log(1 - D)`` (G minimises V), the
    non-saturating one ``-log D``. Returns the derivatives in ``s`` (``d_saturating``,
    ``d_non_saturating``), the same written in ``y = D`` (by substituting the logit
    ``s = log(y / (1 - y))``), their limits when D is confident that the sample is fake
    (``s -> -oo``, ``y -> 0``) and when it is fooled (``s -> +oo``), and their ratio.
    """
    s = sp.Symbol("s", real=True)
    y = sp.Symbol("y", positive=True)
    D = 1 / (1 + sp.exp(-s))
    saturating, non_saturating = sp.log(1 - D), -sp.log(D)
    d_sat = sp.simplify(sp.diff(saturating, s))
    d_ns = sp.simplify(sp.diff(non_saturating, s))
    logit = sp.log(y / (1 - y))
    return {
        "s": s, "y": y, "D": D,
        "saturating": saturating, "non_saturating": non_saturating,
        "d_saturating": d_sat, "d_non_saturating": d_ns,
        "d_saturating_in_D": sp.simplify(d_sat.subs(s, logit)),
        "d_non_saturating_in_D": sp.simplify(d_ns.subs(s, logit)),
        "confident_fake": (sp.limit(d_sat, s, -sp.oo), sp.limit(d_ns, s, -sp.oo)),
        "fooled": (sp.limit(d_sat, s, sp.oo), sp.limit(d_ns, s, sp.oo)),
        "ratio_ns_over_sat": sp.simplify(d_ns.subs(s, logit) / d_sat.subs(s, logit)),
    }


def change_of_variables_example() -> dict:
    """``E_z[h(G(z))] = E_{x ~ p_g}[h(x)]`` for a generator that is *not* invertible.

    ``z ~ N(0, 1)`` and ``G(z) = z**2`` (two ``z`` for every ``x > 0``). The density of
    ``p_g`` comes from the probability of the preimage, ``F(x) = P(-sqrt(x) <= z <= sqrt(x))``,
    differentiated: no inverse of G is used. With ``h(x) = exp(-x)`` both sides are computed
    exactly: ``lhs`` as an integral over ``z``, ``rhs`` as an integral over ``x``.
    """
    z = sp.Symbol("z", real=True)
    x = sp.Symbol("x", positive=True)
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    cdf = sp.simplify(sp.integrate(phi, (z, -sp.sqrt(x), sp.sqrt(x))))
    density = sp.simplify(sp.diff(cdf, x))
    h = sp.exp(-x)
    lhs = sp.simplify(sp.integrate(phi * h.subs(x, z**2), (z, -sp.oo, sp.oo)))
    rhs = sp.simplify(sp.integrate(h * density, (x, 0, sp.oo)))
    return {"z": z, "x": x, "cdf": cdf, "density": density,
            "mass": sp.simplify(sp.integrate(density, (x, 0, sp.oo))), "lhs": lhs, "rhs": rhs}


# ----------------------------------------------------------------------------- exact numbers
def optimal_logit(log_p: Tensor, log_q: Tensor) -> Tensor:
    """The optimal discriminator's logit ``log p(x) - log q(x)``: ``sigmoid`` of it is ``p/(p+q)``.

    Works on log densities, so it stays finite where both densities underflow to 0.
    Shapes: any two broadcastable tensors.
    """
    return log_p - log_q


def optimal_discriminator_prob(log_p: Tensor, log_q: Tensor) -> Tensor:
    """``D*(x) = p(x) / (p(x) + q(x)) = sigmoid(log p(x) - log q(x))`` from log densities."""
    return torch.sigmoid(optimal_logit(log_p, log_q))


def kl_discrete(p: Tensor, q: Tensor) -> Tensor:
    """``KL(p || q) = sum_i p_i log(p_i / q_i)`` over the last dimension, in nats (``0 log 0 = 0``)."""
    p, q = torch.as_tensor(p, dtype=torch.float64), torch.as_tensor(q, dtype=torch.float64)
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(-1)


def jsd_discrete(p: Tensor, q: Tensor) -> Tensor:
    """``JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2``, last dimension.

    ``p`` and ``q`` ``(..., k)`` hold probabilities (rows summing to 1, zeros allowed);
    returns ``(...)``, between 0 (``p = q``) and ``log 2`` (disjoint supports).
    """
    p, q = torch.as_tensor(p, dtype=torch.float64), torch.as_tensor(q, dtype=torch.float64)
    m = (p + q) / 2
    return (kl_discrete(p, m) + kl_discrete(q, m)) / 2


def value_at_optimum(p: Tensor, q: Tensor) -> Tensor:
    """``C(G) = sum_i p_i log D*_i + q_i log(1 - D*_i)`` with ``D* = p / (p + q)``, last dimension.

    Computed from the definition (not from the JSD), so that the identity
    ``C = -log 4 + 2 JSD`` can be checked against :func:`jsd_discrete`.
    """
    p, q = torch.as_tensor(p, dtype=torch.float64), torch.as_tensor(q, dtype=torch.float64)
    d_star = torch.where(p + q > 0, p / (p + q).clamp_min(1e-300), 0.5)
    return (torch.xlogy(p, d_star) + torch.xlogy(q, 1 - d_star)).sum(-1)


def gaussian_pair_check(mu_p: float, std_p: float, mu_q: float, std_q: float) -> dict:
    """``C(G)`` and ``-log 4 + 2 JSD`` for two 1-D Gaussians, by two independent routes.

    * ``C`` - quadrature (mpmath) of ``p log D* + q log(1 - D*)`` with ``D* = p/(p+q)``;
    * ``jsd`` - ``H(m) - (H(p) + H(q)) / 2``, with the Gaussians' entropies in closed form
      ``log(std sqrt(2 pi e))`` and only the mixture's entropy ``H(m)`` by quadrature.

    Returns ``C``, ``jsd`` and ``C_from_jsd = -log 4 + 2 jsd`` as floats.
    """
    mpmath.mp.dps = 30

    def normal(mu, std):
        return lambda x: mpmath.npdf(x, mu, std)

    p, q = normal(mu_p, std_p), normal(mu_q, std_q)
    lo = min(mu_p - 12 * std_p, mu_q - 12 * std_q)
    hi = max(mu_p + 12 * std_p, mu_q + 12 * std_q)
    pts = sorted({lo, mu_p, mu_q, hi})

    def xlogy(u, v):
        return u * mpmath.log(v) if u > 0 else mpmath.mpf(0)

    def c_integrand(x):
        px, qx = p(x), q(x)
        return xlogy(px, px / (px + qx)) + xlogy(qx, qx / (px + qx))

    def m_entropy_integrand(x):
        mx = (p(x) + q(x)) / 2
        return -xlogy(mx, mx)

    C = mpmath.quad(c_integrand, pts)
    h_m = mpmath.quad(m_entropy_integrand, pts)

    def h(std):
        return mpmath.log(std * mpmath.sqrt(2 * mpmath.pi * mpmath.e))

    jsd = h_m - (h(std_p) + h(std_q)) / 2
    return {"C": float(C), "jsd": float(jsd), "C_from_jsd": float(-mpmath.log(4) + 2 * jsd)}


# ----------------------------------------------------------------------------- experiments
def train_discriminator(D: nn.Module, sample_p: Callable[[int], Tensor],
                        sample_q: Callable[[int], Tensor], steps: int, batch_size: int = 256,
                        lr: float = 1e-3, betas: tuple[float, float] = (0.5, 0.999),
                        final_lr: float = 1e-5, log_every: int = 50) -> list[float]:
    """Train D alone to tell ``p`` (label real) from ``q`` (label fake); G plays no part.

    Each step draws ``batch_size`` samples from each, then minimises the package's
    ``minimax_d_loss`` = ``-(E_p log sigmoid(D(x)) + E_q log(1 - sigmoid(D(x))))``, i.e.
    maximises ``V`` for a fixed ``q = p_g``. Its maximiser is ``D*(x) = p / (p + q)``, whose
    logit is ``log p - log q``. ``sample_p(n)`` and ``sample_q(n)`` return ``(n, d)``
    tensors. Adam's step size follows a cosine from ``lr`` down to ``final_lr``, so that the
    last steps average out the noise of the mini-batches. Returns D's mean loss over each
    ``log_every`` steps (read back only then).
    """
    device = next(D.parameters()).device
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=final_lr)
    D.train()
    losses, running = [], torch.zeros((), device=device)
    for step in range(1, steps + 1):
        x_real = sample_p(batch_size).to(device)
        x_fake = sample_q(batch_size).to(device)
        loss = minimax_d_loss(D(x_real), D(x_fake))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running += loss.detach()
        if step % log_every == 0 or step == steps:
            losses.append(float(running) / (log_every if step % log_every == 0 else step % log_every))
            running.zero_()
    return losses


@torch.no_grad()
def d_prob(D: nn.Module, x: Tensor) -> Tensor:
    """``sigmoid(D(x))`` in evaluation mode, float64 on the CPU, ``(n,)``."""
    device = next(D.parameters()).device
    with evaluating(D):
        return torch.sigmoid(D(x.to(device=device, dtype=torch.float32)).double()).cpu()


@torch.no_grad()
def estimate_value(D: nn.Module, x_real: Tensor, x_fake: Tensor) -> float:
    """Monte Carlo estimate of ``V(D) = E_p log D(x) + E_q log(1 - D(x))`` (D outputs logits).

    For the optimal D, ``V(D) = C(G) = -log 4 + 2 JSD(p || q)``; for any other D, ``V(D)`` is
    lower. On fresh samples the estimate is unbiased for ``V(D)``: its *expectation* is at
    most ``C(G)``, a single estimate can land above it by sampling noise
    (:func:`value_and_standard_error` gives the size of that noise).
    """
    device = next(D.parameters()).device
    with evaluating(D):
        v = -minimax_d_loss(D(x_real.to(device)).double(), D(x_fake.to(device)).double())
    return float(v)


@torch.no_grad()
def value_and_standard_error(D: nn.Module, x_real: Tensor, x_fake: Tensor) -> tuple[float, float]:
    """:func:`estimate_value` and its Monte Carlo standard error, from the same samples.

    ``V = mean_i log D(x_i) + mean_j log(1 - D(y_j))`` with independent ``x_i ~ p``,
    ``y_j ~ q``, so ``se^2 = var(log D(x)) / n + var(log(1 - D(y))) / m`` (sample variances).
    ``log D = -softplus(-s)`` and ``log(1 - D) = -softplus(s)`` on D's logits ``s``.
    """
    device = next(D.parameters()).device
    with evaluating(D):
        log_d = -torch.nn.functional.softplus(-D(x_real.to(device)).double())
        log_1md = -torch.nn.functional.softplus(D(x_fake.to(device)).double())
    value = log_d.mean() + log_1md.mean()
    se = (log_d.var() / log_d.numel() + log_1md.var() / log_1md.numel()).sqrt()
    return float(value), float(se)


def discriminator_error(D: nn.Module, p: Mixture, q: Mixture, x: Tensor,
                        candidate: Callable[[Tensor, Tensor], Tensor] | None = None) -> dict:
    """How far ``sigmoid(D(x))`` is from a candidate optimum on the points ``x`` ``(n, d)``.

    ``candidate(log_p, log_q)`` defaults to :func:`optimal_discriminator_prob`. Returns

    * ``mean_abs`` - mean of ``|D(x) - D*(x)|`` over the points where the mixture
      ``m = (p + q) / 2`` has density above 1% of its maximum on ``x`` (elsewhere neither
      ``p`` nor ``q`` puts samples, and D is never trained);
    * ``max_abs`` - the largest difference over those points;
    * ``m_weighted`` - ``E_{x ~ m} |D(x) - D*(x)|`` estimated on the points, weighted by ``m``.
    """
    candidate = candidate or optimal_discriminator_prob
    lp, lq = p.log_prob(x), q.log_prob(x)
    target = candidate(lp, lq)
    err = (d_prob(D, x) - target).abs()
    m = (lp.exp() + lq.exp()) / 2
    mask = m > 0.01 * m.max()
    return {"mean_abs": float(err[mask].mean()), "max_abs": float(err[mask].max()),
            "m_weighted": float((err * m).sum() / m.sum())}


class SnapshotD:
    """A ``fit`` callback that keeps ``(step, G(z_fixed), copy of D)`` every ``every`` steps.

    ``fit`` calls callbacks every ``log_every`` steps, so ``every`` should be a multiple of
    ``config.log_every``. The copies of D (on the CPU) let one draw D's contour as it was.
    """

    def __init__(self, every: int, z: Tensor):
        self.every, self.z = every, z
        self.frames: list[tuple[int, Tensor, nn.Module]] = []

    def __call__(self, state) -> None:
        if state.step % self.every and state.step != state.config.steps:
            return
        if self.frames and self.frames[-1][0] == state.step:
            return
        G = state.G
        with torch.no_grad(), evaluating(G):
            x = G(self.z.to(next(G.parameters()).device)).float().cpu()
        self.frames.append((state.step, x, copy.deepcopy(state.D).cpu().eval()))


def generator_grad_norms(G: nn.Module, D: nn.Module, z: Tensor) -> dict:
    """Norm of the gradient of each generator loss with respect to G's weights, on one batch.

    ``saturating`` is ``minimax_g_loss`` (``E log(1 - D(G(z)))``), ``non_saturating`` is
    ``ns_g_loss`` (``-E log D(G(z))``); also returns ``mean_D``, the mean of
    ``sigmoid(D(G(z)))`` on the batch (how confident D is that the samples are fake).
    """
    from ..core.losses import minimax_g_loss, ns_g_loss

    out = {}
    for name, fn in (("saturating", minimax_g_loss), ("non_saturating", ns_g_loss)):
        G.zero_grad(set_to_none=True)
        fake_scores = D(G(z))
        fn(fake_scores).backward()
        sq = sum(float((p.grad ** 2).sum()) for p in G.parameters() if p.grad is not None)
        out[name] = math.sqrt(sq)
        out["mean_D"] = float(torch.sigmoid(fake_scores.detach()).mean())
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)
    return out
