"""Chapter 3: the Wasserstein losses, the two gradient penalties and the sympy derivations."""

import math

import numpy as np
import pytest
import sympy as sp
import torch
from torch import nn

from gan_tutorial import losses, regularizers, train
from gan_tutorial.errors import ConfigError
from gan_tutorial.models import MLPDiscriminator, MLPGenerator
from gan_tutorial.theory import duality as Dl
from gan_tutorial.theory import wasserstein as W

R = torch.tensor([-1.5, 0.2, 0.9, 2.0], dtype=torch.float64)
F = torch.tensor([0.5, -2.0, 1.1, -0.3], dtype=torch.float64)


# ----------------------------------------------------------------------------- losses
def test_wasserstein_losses_hand_values():
    # E f - E r = (-0.7/4) - (1.6/4)
    torch.testing.assert_close(losses.wasserstein_d_loss(R, F), torch.tensor(-0.575, dtype=torch.float64))
    torch.testing.assert_close(losses.wasserstein_g_loss(F), torch.tensor(0.175, dtype=torch.float64))


def test_hinge_loss_matches_a_loop():
    expected = sum(max(0.0, 1 - r) for r in R.tolist()) / 4 + sum(max(0.0, 1 + f) for f in F.tolist()) / 4
    torch.testing.assert_close(losses.hinge_d_loss(R, F), torch.tensor(expected, dtype=torch.float64))
    assert losses.LOSSES["hinge"].g_loss(F).item() == pytest.approx(0.175)


def test_registry_entries():
    L = losses.LOSSES
    assert L["wgan"].clip == 0.01 and L["wgan"].penalty is None
    gp, div = L["wgan_gp"], L["wgan_div"]
    assert (gp.penalty.func, gp.penalty.keywords, gp.penalty_weight, gp.clip) == (
        regularizers.gradient_penalty, {"sampling": "real_fake"}, 10.0, None)
    assert (div.penalty.func, div.penalty.keywords, div.penalty_weight) == (
        regularizers.wdiv_penalty, {"k": 2.0, "p": 6.0, "sampling": "real_fake"}, 1.0)
    assert not [name for name in L if ":" in name]  # variants are built, not registered
    for s in regularizers.SAMPLINGS:
        for make, pen in ((losses.wgan_gp_loss, "gradient_penalty"), (losses.wgan_div_loss, "wdiv_penalty")):
            loss = make(sampling=s)
            assert loss.penalty.keywords["sampling"] == s and loss.penalty.func.__name__ == pen
            assert loss.name == (make().name if s == "real_fake" else f"{make().name}_{s}")
    with pytest.raises(ConfigError, match="sampling must be one of"):
        losses.wgan_div_loss(sampling="everywhere")


# ----------------------------------------------------------------------------- penalties
class LinearCritic(nn.Module):
    """D(x) = <w, x> over the whole sample: its gradient is w at every point."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


class QuadraticCritic(nn.Module):
    """D(x) = |x|^2 / 2: its gradient at x is x itself. Records the points it is evaluated at."""

    def forward(self, x):
        self.seen = x.detach().clone()
        return 0.5 * x.flatten(1).pow(2).sum(1)


def _batches(b=4, shape=(2, 3, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, *shape, generator=g, dtype=torch.float64),
            torch.randn(b, *shape, generator=g, dtype=torch.float64))


@pytest.mark.parametrize("sampling", regularizers.SAMPLINGS)
def test_linear_critic_hand_values(sampling):
    # w = 0.1 everywhere on (2, 3, 3): |w| over the flattened sample = 0.1 sqrt(18) = 0.424264;
    # a norm over one axis only (e.g. the 2 channels: 0.1 sqrt(2)) gives other numbers
    D = LinearCritic(torch.full((2, 3, 3), 0.1, dtype=torch.float64))
    xr, xf = _batches()
    gp = regularizers.gradient_penalty(D, xr, xf, sampling=sampling)
    torch.testing.assert_close(gp, torch.tensor(0.331471862576143, dtype=torch.float64))
    wd = regularizers.wdiv_penalty(D, xr, xf, k=2.0, p=6.0, sampling=sampling)
    torch.testing.assert_close(wd, torch.tensor(0.011664, dtype=torch.float64))  # 2 * 0.18^3
    wd3 = regularizers.wdiv_penalty(D, xr, xf, k=0.5, p=3.0, sampling=sampling)
    torch.testing.assert_close(wd3, torch.tensor(0.5 * 0.424264068711929 ** 3, dtype=torch.float64))


def test_quadratic_critic_on_raw_samples():
    D = QuadraticCritic()
    xr, xf = _batches()
    nr, nf = xr.flatten(1).norm(dim=1), xf.flatten(1).norm(dim=1)
    k, p = 1.5, 4.0
    torch.testing.assert_close(regularizers.wdiv_penalty(D, xr, xf, k, p, "real"), k * (nr ** p).mean())
    torch.testing.assert_close(regularizers.wdiv_penalty(D, xr, xf, k, p, "fake"), k * (nf ** p).mean())
    torch.testing.assert_close(regularizers.wdiv_penalty(D, xr, xf, k, p, "pool"),
                               k * torch.cat([nr, nf]).pow(p).mean())
    torch.testing.assert_close(regularizers.gradient_penalty(D, xr, xf, "real"), ((nr - 1) ** 2).mean())


def _on_segment(point, a, b):
    """Is ``point = e a + (1 - e) b`` for one scalar e in [0, 1] (the same for every entry)?"""
    d = (a - b).flatten()
    e = float(((point - b).flatten() @ d) / (d @ d))
    return -1e-12 <= e <= 1 + 1e-12 and torch.allclose(point, e * a + (1 - e) * b, atol=1e-10)


@pytest.mark.parametrize("penalty", [regularizers.gradient_penalty, regularizers.wdiv_penalty])
def test_interpolates_are_per_sample_and_penalty_is_mean_over_them(penalty):
    D = QuadraticCritic()
    xr, xf = _batches(b=5)
    torch.manual_seed(3)
    value = penalty(D, xr, xf)
    seen = D.seen
    assert seen.shape == xr.shape
    # one eps per sample: every point lies on the segment between its real and fake sample
    # (a per-pixel eps puts it off the segment)
    assert all(_on_segment(seen[i], xr[i], xf[i]) for i in range(5))
    norms = seen.flatten(1).norm(dim=1)
    expected = ((norms - 1) ** 2).mean() if penalty is regularizers.gradient_penalty else 2 * (norms ** 6).mean()
    torch.testing.assert_close(value, expected)


def test_other_interpolating_samplings_stay_within_their_pairs():
    D = QuadraticCritic()
    xr, xf = _batches(b=4)
    pool = torch.cat([xr, xf])
    regularizers.wdiv_penalty(D, xr, xf, sampling="real_real_fake_fake")
    seen = D.seen
    assert len(seen) == 8
    assert all(any(_on_segment(seen[i], xr[i], xr[j]) for j in range(4)) for i in range(4))
    assert all(any(_on_segment(seen[4 + i], xf[i], xf[j]) for j in range(4)) for i in range(4))
    regularizers.wdiv_penalty(D, xr, xf, sampling="shuffled_pool")
    seen = D.seen
    assert len(seen) == 8
    assert all(any(_on_segment(s, pool[i], pool[j]) for i in range(8) for j in range(8)) for s in seen)
    # and not all on real-fake segments only
    with pytest.raises(ValueError, match="sampling must be one of"):
        regularizers.wdiv_penalty(D, xr, xf, sampling="uniform")


def test_penalties_are_differentiable_in_D_weights():
    # GP of a linear critic = (|w| - 1)^2, with gradient 2 (|w| - 1) w / |w|;
    # W-div = k |w|^p, with gradient k p |w|^(p-2) w
    w = torch.tensor([[0.3, -0.4], [1.2, 0.5]], dtype=torch.float64)
    n = w.norm()
    xr, xf = _batches(b=3, shape=(2, 2))
    D = LinearCritic(w)
    (grad,) = torch.autograd.grad(regularizers.gradient_penalty(D, xr, xf), D.w)
    torch.testing.assert_close(grad, 2 * (n - 1) * w / n)
    (grad,) = torch.autograd.grad(regularizers.wdiv_penalty(D, xr, xf, k=2.0, p=6.0), D.w)
    torch.testing.assert_close(grad, 2.0 * 6.0 * n ** 4 * w)


def test_no_gradient_reaches_G_and_fake_batch_without_grad_works():
    torch.manual_seed(0)
    G, D = MLPGenerator(2, 2, hidden=8, depth=1), MLPDiscriminator(2, hidden=8, depth=1)
    z, xr = torch.randn(6, 2), torch.randn(6, 2)
    for pen in (regularizers.gradient_penalty, regularizers.wdiv_penalty):
        for s in regularizers.SAMPLINGS:
            G.zero_grad(set_to_none=True)
            D.zero_grad(set_to_none=True)
            pen(D, xr, G(z), sampling=s).backward()  # x_fake carries G's graph here
            assert all(p.grad is None for p in G.parameters()), (pen.__name__, s)
            # the penalty reaches D's weights (not its biases: dD/dx does not depend on them)
            assert all(p.grad is not None for p in D.parameters() if p.ndim == 2), (pen.__name__, s)
            with torch.no_grad():
                xf = G(z)
            assert torch.isfinite(pen(D, xr, xf, sampling=s))


def test_zero_gradient_gives_finite_penalty_gradients():
    D = LinearCritic(torch.zeros(3, dtype=torch.float64))
    xr, xf = _batches(b=2, shape=(3,))
    for value in (regularizers.gradient_penalty(D, xr, xf), regularizers.wdiv_penalty(D, xr, xf, p=1.5)):
        (grad,) = torch.autograd.grad(value, D.w)
        assert torch.isfinite(grad).all()


def test_penalty_draws_follow_the_global_seed():
    D = QuadraticCritic()
    xr, xf = _batches()
    torch.manual_seed(7)
    a = regularizers.wdiv_penalty(D, xr, xf, sampling="shuffled_pool")
    torch.manual_seed(7)
    torch.testing.assert_close(regularizers.wdiv_penalty(D, xr, xf, sampling="shuffled_pool"), a)


def test_fit_with_each_wasserstein_loss():
    x = torch.randn(64, 2)
    for name in ("wgan", "wgan_gp", "wgan_div", losses.wgan_div_loss("real_real_fake_fake"), "hinge"):
        G, D = MLPGenerator(2, 2, hidden=8, depth=1), MLPDiscriminator(2, hidden=8, depth=1)
        cfg = train.TrainConfig(loss=name, steps=3, batch_size=8, n_critic=2, log_every=1,
                                progress=False, device="cpu")
        h = train.fit(G, D, x, cfg)
        assert len(h.step) == 3 and all(math.isfinite(v) for v in h.d_loss)
        if name == "wgan":
            assert max(p.abs().max().item() for p in D.parameters()) <= 0.01
        if name not in ("wgan", "hinge"):
            assert all(v > 0 for v in h.penalty)


# ----------------------------------------------------------------------------- theory
def test_w1_dual_and_integration_by_parts():
    ibp = Dl.integration_by_parts()
    p, q, T, Delta = (sp.Function(n) for n in ("p_data", "p_g", "T", "Delta"))
    x, a, b = Dl.x, Dl.a, Dl.b
    assert ibp["delta_prime"] == p(x) - q(x)
    assert sp.simplify(ibp["product_rule"] - (T(x) * Delta(x).diff(x) + T(x).diff(x) * Delta(x))) == 0
    assert ibp["bracket"] == T(b) * Delta(b) - T(a) * Delta(a)
    assert ibp["boundary"] == {a: 0, b: 0} and ibp["bracket_value"] == 0
    dual = Dl.w1_dual_1d()
    d = sp.Symbol("Delta", real=True)
    assert dual["best"] == sp.Max(d, -d) and dual["is_abs"] and dual["argmax_gap"] == 0
    s = sp.Symbol("s", positive=True)
    assert dual["example"] == s and dual["coupling"] == s
    ub = Dl.unbounded_without_lipschitz()
    c, g, K = sp.Symbol("c", positive=True), sp.Symbol("g", positive=True), sp.Symbol("K", positive=True)
    assert ub["value"] == c * g and ub["limit"] == sp.oo
    assert ub["scaled"] == K and ub["lipschitz_scaled"] == K
    # p - q = (-0.4, 0.4, 0.05, -0.05): |F_p - F_q| = 0.4, 0, 0.05 on the three gaps
    lp = Dl.w1_linear_programs([0, 1, 2, 3], [0.1, 0.4, 0.3, 0.2], [0.5, 0.0, 0.25, 0.25])
    for key in ("primal", "dual", "cdf"):
        assert lp[key] == pytest.approx(0.45, abs=1e-9)
    assert np.all(np.abs(np.diff(lp["T"])) <= 1 + 1e-9)  # the dual critic is 1-Lipschitz


def test_spectral_norm_three_ways():
    M = sp.Matrix([[1, 2], [3, 4]])
    lip = Dl.lipschitz_of_linear_map(M)
    assert len(lip["critical_points"]) == 4 and lip["multipliers_are_values"]
    assert lip["critical_values"] == lip["eigenvalues"] == [15 - sp.sqrt(221), 15 + sp.sqrt(221)]
    assert sp.simplify(lip["sigma_max"] - sp.sqrt(15 + sp.sqrt(221))) == 0
    svd = np.linalg.svd(np.array([[1.0, 2.0], [3.0, 4.0]]), compute_uv=False)[0]
    assert lip["sigma_max_float"] == pytest.approx(svd, rel=1e-12)
    power = Dl.power_iteration(torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64))
    assert power == pytest.approx(svd, rel=1e-10)
    # every iterate |W v| with |v| = 1 is at most sigma_1: an estimate from below
    for iters in (1, 2, 5):
        assert Dl.power_iteration(torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64), iters) <= svd + 1e-12
    D = MLPDiscriminator(2, hidden=4, depth=1)  # layers 2->4, 4->1
    assert W.clipped_lipschitz_bound(D, 0.01) == pytest.approx(0.01 * math.sqrt(8) * 0.01 * 2)


def test_euler_lagrange_solution_and_value():
    el = W.wdiv_euler_lagrange()
    sym = el["symbols"]
    k, r, P, s = sym["k"], sym["r"], sym["P"], sym["s"]
    assert el["first_integral_check"] == 0
    # the slope solves Delta + k P r u^(P-1) = 0 at Delta = -s, checked at numbers
    vals = {k: 2, r: sp.Rational(1, 12), P: 6, s: sp.Rational(3, 10)}
    u = el["slope"].subs(vals)
    assert float(-vals[s] + vals[k] * vals[P] * vals[r] * u ** (vals[P] - 1)) == pytest.approx(0, abs=1e-12)
    val = W.wdiv_value()
    assert val["w_star"] == s / (k * P * r) and val["ratio"] == (P - 1) / P
    for point in ({k: 2, r: 0.1, P: 6}, {k: 0.5, r: 1.3, P: 2}, {k: 3, r: 0.25, P: 1.5}):
        kk, rr, pp = (float(point[v]) for v in (k, r, P))
        assert float(val["coefficient"].subs(point)) == pytest.approx((1 - 1 / pp) * (kk * pp * rr) ** (-1 / (pp - 1)))
    assert float(val["k_2_P_6"].subs(val["symbols"]["L"], 7)) == pytest.approx(5 / 6 * (7 / 12) ** 0.2)
    lim = W.wdiv_large_p()
    assert lim == {"coefficient_limit": 1, "exponent_limit": 1, "slope_limit": 1}


def test_gp_is_not_centred_at_zero_and_odd_powers_fail():
    gp = W.gp_pointwise()
    lam, r, s = sp.symbols("lam r s", positive=True)
    assert sp.simplify(gp["value"] - (s + s ** 2 / (4 * lam * r))) == 0
    assert gp["gap"] == 2 * s and gp["at_equal"] == {"value": 0, "maximisers": [1, -1]}
    odd = W.odd_power_at_equal()
    assert odd["derivative_nonpositive"] and odd["value"] == sp.Symbol("k", positive=True)
    sign = W.sign_convention()
    assert (sign["flip"], sign["paper_form"]) == (0, 0)


def test_gp_perturbation_starts_from_a_unit_slope_critic():
    pert = W.gp_perturbation()
    lam, eps, d, C = sp.symbols("lam epsilon d C", positive=True)
    c = sp.Symbol("c", real=True)
    assert pert["at_zero"] == -lam
    assert pert["penalty_series"].removeO() == c ** 2 * eps ** 2
    assert pert["best_eps"] == d / (2 * lam * C) and pert["best_gain"] == d ** 2 / (4 * lam * C)
    # the series against numbers: (|v + eps g| - 1)^2 / eps^2 -> <v, g>^2
    v, g = np.array([0.6, 0.8]), np.array([1.5, -0.5])
    for e in (1e-3, 1e-4):
        assert (np.linalg.norm(v + e * g) - 1) ** 2 / e ** 2 == pytest.approx((v @ g) ** 2, rel=1e-2)


def test_discretised_critic_matches_closed_forms():
    pair = W.gaussian_pair(n=241)
    cf = W.closed_forms_1d(pair, k=2.0, P=6.0, lam=10.0)
    wd = W.optimise_critic_1d(pair, lambda u: u.abs() ** 6, weight=2.0, iters=150)
    assert wd["value"] == pytest.approx(cf["wdiv"], rel=0.01)
    # where |Delta| is tiny the objective is flat in T' (|T'|^6), so compare the slopes where
    # the two distributions differ
    mid = (pair["delta"][1:] + pair["delta"][:-1]).abs() / 2
    core = mid > 0.05
    assert core.sum() > 50
    assert (wd["slope"] - cf["wdiv_slope"])[core].abs().max() < 0.05
    # GP is not concave in T': start it from the W-div critic's slopes (right signs)
    gp = W.optimise_critic_1d(pair, lambda u: (u.abs() - 1) ** 2, weight=10.0, iters=150,
                              start=wd["slope"])
    assert gp["value"] == pytest.approx(cf["gp"], rel=0.01)
    assert cf["gp"] > cf["w1"] > cf["wdiv"] > 0
