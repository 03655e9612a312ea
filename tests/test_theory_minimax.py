"""Chapter 1 theory: the sympy derivations, the exact numbers, the D-only experiment, exercises."""

import math

import pytest
import sympy as sp
import torch
from torch import nn

from gan_tutorial import data, exercises, losses, models, train
from gan_tutorial.theory import minimax as T


# ----------------------------------------------------------------------------- sympy
@pytest.fixture(scope="module")
def opt():
    return T.optimal_discriminator()


@pytest.fixture(scope="module")
def dec():
    return T.jsd_decomposition()


def test_optimal_discriminator_is_the_unique_stationary_point(opt):
    a, b, y = opt["a"], opt["b"], opt["y"]
    assert opt["critical_points"] == [a / (a + b)]
    # independently: f' vanishes there and not at the swapped or the equilibrium value
    assert sp.simplify(opt["df"].subs(y, a / (a + b))) == 0
    for wrong in (b / (a + b), sp.Rational(1, 2)):
        assert sp.simplify(opt["df"].subs(y, wrong)) != 0
    assert opt["limits"] == (-sp.oo, -sp.oo)


def test_second_derivative_is_negative_on_the_interval(opt):
    a, b, y, t = opt["a"], opt["b"], opt["y"], opt["t"]
    assert opt["concave"] is True
    assert sp.simplify(opt["d2f"] - (-a / y**2 - b / (1 - y) ** 2)) == 0  # hand derivative
    assert sp.simplify(opt["d2f_on_interval"] - opt["d2f"].subs(y, t / (1 + t))) == 0


def test_optimal_discriminator_beats_every_other_value_numerically(opt):
    f = sp.lambdify((opt["a"], opt["b"], opt["y"]), opt["f"], "math")
    ys = [i / 1000 for i in range(1, 1000)]
    for a, b in [(0.3, 2.0), (1.0, 1.0), (5.0, 0.1)]:
        best = max(ys, key=lambda y: f(a, b, y))
        assert abs(best - a / (a + b)) <= 1e-3


def test_jsd_decomposition_constant_is_minus_log_4(dec):
    a, b = dec["a"], dec["b"]
    assert dec["log_d_minus_log_a_over_m"] == -sp.log(2)
    assert dec["log_1md_minus_log_b_over_m"] == -sp.log(2)
    assert sp.expand(dec["remainder"] + (a + b) * sp.log(2)) == 0
    assert dec["remainder_is_linear"]
    assert dec["constant"] == -sp.log(4)
    assert dec["constant"] != -sp.log(2) and dec["constant"] != -2 * sp.log(4)
    assert dec["at_equal"]["y_star"] == sp.Rational(1, 2)
    assert sp.expand(dec["at_equal"]["integrand"] + 2 * a * sp.log(2)) == 0


def test_discrete_example_is_exact_and_a_wrong_constant_is_not():
    ex = T.discrete_example(["1/2", "1/3", "1/6"], ["1/6", "1/6", "2/3"])
    assert ex["difference"] == 0
    wrong = sp.simplify(sp.expand_log(ex["C"] - (-sp.log(2) + 2 * ex["jsd"]), force=True))
    assert wrong != 0
    disjoint = T.discrete_example([1, 0], [0, 1])
    assert disjoint["C"] == 0 and sp.simplify(disjoint["jsd"] - sp.log(2)) == 0
    with pytest.raises(ValueError):
        T.discrete_example(["1/2", "1/3"], ["1/2", "1/2"])


def test_generator_gradients_in_terms_of_d():
    gg = T.generator_gradients()
    y = gg["y"]
    assert gg["d_saturating_in_D"] == -y
    assert sp.expand(gg["d_non_saturating_in_D"] - (y - 1)) == 0
    assert gg["confident_fake"] == (0, -1)
    assert gg["fooled"] == (-1, 0)
    assert sp.simplify(gg["ratio_ns_over_sat"] - (1 - y) / y) == 0


def test_package_generator_losses_have_the_derived_gradients():
    f = torch.tensor([-30.0, -4.0, -0.5, 0.0, 1.5, 6.0], dtype=torch.float64, requires_grad=True)
    sig = torch.sigmoid(f.detach())
    (g_sat,) = torch.autograd.grad(losses.minimax_g_loss(f), f)
    (g_ns,) = torch.autograd.grad(losses.ns_g_loss(f), f)
    torch.testing.assert_close(g_sat, -sig / len(f))
    torch.testing.assert_close(g_ns, (sig - 1) / len(f))
    # D's loss with the same logits as real and (permuted) fake: (sigma - 1) + sigma per logit
    (g_d,) = torch.autograd.grad(losses.minimax_d_loss(f, f.flip(0)), f)
    torch.testing.assert_close(g_d, (2 * sig - 1) / len(f))


def test_change_of_variables_without_inverse():
    cov = T.change_of_variables_example()
    x = cov["x"]
    assert cov["mass"] == 1
    assert cov["lhs"] == cov["rhs"] == 1 / sp.sqrt(3)
    chi2_1 = sp.exp(-x / 2) / sp.sqrt(2 * sp.pi * x)  # the chi-square density, by hand
    assert sp.simplify(cov["density"] - chi2_1) == 0


# ----------------------------------------------------------------------------- exact numbers
def test_jsd_discrete_hand_values():
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
    q = torch.tensor([[0.5, 0.5], [0.5, 0.5], [0.0, 1.0]])
    expected = torch.tensor([0.75 * math.log(4 / 3), 0.0, math.log(2)], dtype=torch.float64)
    torch.testing.assert_close(T.jsd_discrete(p, q), expected)
    torch.testing.assert_close(T.kl_discrete(p[0], q[0]), torch.tensor(math.log(2), dtype=torch.float64))


def test_value_at_optimum_is_minus_log4_plus_2jsd_on_random_pairs():
    g = torch.Generator().manual_seed(0)
    p = torch.rand(200, 6, generator=g, dtype=torch.float64) * (torch.rand(200, 6, generator=g) > 0.3)
    q = torch.rand(200, 6, generator=g, dtype=torch.float64) * (torch.rand(200, 6, generator=g) > 0.3)
    keep = (p.sum(1) > 0) & (q.sum(1) > 0)
    p, q = p[keep] / p[keep].sum(1, keepdim=True), q[keep] / q[keep].sum(1, keepdim=True)
    c = T.value_at_optimum(p, q)
    jsd = T.jsd_discrete(p, q)
    torch.testing.assert_close(c, -math.log(4) + 2 * jsd, rtol=0, atol=1e-12)
    assert bool((jsd >= 0).all() and (jsd <= math.log(2) + 1e-12).all())
    assert not torch.allclose(c, -math.log(2) + 2 * jsd)


def test_gaussian_pair_two_routes_agree():
    chk = T.gaussian_pair_check(0.0, 1.0, 1.0, 2.0)
    assert abs(chk["C"] - chk["C_from_jsd"]) < 1e-12
    assert 0.12 < chk["jsd"] < 0.14
    same = T.gaussian_pair_check(0.5, 1.5, 0.5, 1.5)
    assert abs(same["C"] + math.log(4)) < 1e-12
    # third route: the grid quadrature of the mixtures module
    grid_jsd = T.jsd_quadrature(T.Mixture(((0.0,),), (1.0,)), T.Mixture(((1.0,),), (2.0,)), lim=20.0)
    assert abs(grid_jsd - chk["jsd"]) < 1e-8


def test_optimal_logit_is_finite_where_densities_underflow():
    log_p = torch.tensor([-1000.0, -2.0, 0.0])
    log_q = torch.tensor([-1001.0, -2.0, -3.0])
    torch.testing.assert_close(T.optimal_logit(log_p, log_q), torch.tensor([1.0, 0.0, 3.0]))
    p, q = math.exp(-2.0), math.exp(-2.0)
    assert float(T.optimal_discriminator_prob(log_p, log_q)[1]) == pytest.approx(p / (p + q))


# ----------------------------------------------------------------------------- known densities
def test_pair_1d_p_is_the_packages_mix1d():
    x = torch.linspace(-6, 6, 25)
    torch.testing.assert_close(T.PAIRS["1d"][0].log_prob(x), data.toy_log_prob("mix1d", x))


@pytest.mark.parametrize("name", ["1d", "2d"])
def test_mixture_densities_integrate_to_one_and_match_samples(name):
    for dist in T.PAIRS[name]:
        x, vol = T.grid(8.0, 4001 if dist.dim == 1 else 321, dist.dim)
        assert abs(float(dist.log_prob(x).exp().sum() * vol) - 1) < 1e-6
        s = dist.sample(40_000, generator=torch.Generator().manual_seed(0)).double()
        mu, _, w = dist._params()
        torch.testing.assert_close(s.mean(0), (w[:, None] * mu).sum(0), atol=0.03, rtol=0)


def test_jsd_quadrature_agrees_with_monte_carlo():
    p, q = T.PAIRS["2d"]
    g = torch.Generator().manual_seed(0)
    xp, xq = p.sample(100_000, generator=g), q.sample(100_000, generator=g)

    def log_m(x):
        return torch.logaddexp(p.log_prob(x), q.log_prob(x)) - math.log(2)

    mc = float(((p.log_prob(xp) - log_m(xp)).mean() + (q.log_prob(xq) - log_m(xq)).mean()) / 2)
    assert abs(T.jsd_quadrature(p, q) - mc) < 0.005


# ----------------------------------------------------------------------------- experiments
class _Exact(nn.Module):
    """A D whose logit is a fixed function (plus one dummy parameter, for the device)."""

    def __init__(self, logit):
        super().__init__()
        self.logit = logit
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return self.logit(x).float() + 0 * self.dummy


def test_estimate_value_of_the_optimal_and_of_a_constant_d():
    p, q = T.PAIRS["1d"]
    g = torch.Generator().manual_seed(0)
    xp, xq = p.sample(100_000, generator=g), q.sample(100_000, generator=g)
    c_true = -math.log(4) + 2 * T.jsd_quadrature(p, q)
    d_star = _Exact(lambda x: T.optimal_logit(p.log_prob(x), q.log_prob(x)))
    assert abs(T.estimate_value(d_star, xp, xq) - c_true) < 0.01
    half = _Exact(lambda x: torch.zeros(len(x)))
    assert T.estimate_value(half, xp, xq) == pytest.approx(-math.log(4), abs=1e-6)
    x, _ = T.grid(4.0, 201, 1)
    assert T.discriminator_error(d_star, p, q, x)["mean_abs"] < 1e-6
    assert T.discriminator_error(half, p, q, x)["mean_abs"] > 0.2


def test_train_discriminator_recovers_a_log_density_ratio():
    # p = N(-1, 1), q = N(1, 1): log p - log q = -2x, so a linear D must reach w = -2, b = 0
    torch.manual_seed(0)
    p, q = T.Mixture(((-1.0,),), (1.0,)), T.Mixture(((1.0,),), (1.0,))
    D = nn.Sequential(nn.Linear(1, 1), nn.Flatten(0))
    hist = T.train_discriminator(D, p.sample, q.sample, steps=400, batch_size=512, lr=0.05)
    assert D[0].weight.item() == pytest.approx(-2.0, abs=0.2)
    assert D[0].bias.item() == pytest.approx(0.0, abs=0.15)
    assert len(hist) == 8 and hist[-1] < hist[0]
    c_true = -math.log(4) + 2 * T.jsd_quadrature(p, q)
    assert abs(-hist[-1] - c_true) < 0.05  # D's loss levels off at -C(G)


def test_generator_grad_norms_match_a_closed_form():
    # G(z) = A z + c and D(x) = w.x + b: the loss gradients have closed forms in sigma(s)
    torch.manual_seed(0)
    G, D = nn.Linear(2, 2).double(), nn.Sequential(nn.Linear(2, 1), nn.Flatten(0)).double()
    with torch.no_grad():
        D[0].bias.fill_(-6.0)  # D confident that everything is fake
    z = torch.randn(64, 2, dtype=torch.float64)
    out = T.generator_grad_norms(G, D, z)
    with torch.no_grad():
        s, w = D(G(z)), D[0].weight[0]
        for name, weight in (("saturating", -torch.sigmoid(s)), ("non_saturating", torch.sigmoid(s) - 1)):
            g_c = (weight[:, None] * w).mean(0)  # d loss / d c
            g_A = (weight[:, None, None] * w[None, :, None] * z[:, None, :]).mean(0)  # d loss / d A
            assert out[name] == pytest.approx(float(torch.sqrt((g_c**2).sum() + (g_A**2).sum())), rel=1e-9)
        assert out["mean_D"] == pytest.approx(float(torch.sigmoid(s).mean()))
    assert out["non_saturating"] > 100 * out["saturating"]


def test_snapshot_callback_keeps_copies_of_d():
    G, D = models.MLPGenerator(2, 2, hidden=8, depth=1), models.MLPDiscriminator(2, hidden=8, depth=1)
    snaps = T.SnapshotD(every=2, z=torch.randn(5, 2))
    cfg = train.TrainConfig(steps=5, batch_size=8, log_every=1, device="cpu", progress=False)
    train.fit(G, D, data.toy("ring8", 64, seed=0), cfg, callbacks=[snaps])
    assert [s for s, _, _ in snaps.frames] == [2, 4, 5]
    step, x, d_copy = snaps.frames[0]
    assert x.shape == (5, 2) and d_copy is not D
    assert not torch.equal(d_copy.net[0].weight, D.net[0].weight)  # frozen at step 2


# ----------------------------------------------------------------------------- exercises
def test_chapter1_exercises_accept_right_answers():
    assert exercises.check("optimal_logit", lambda lp, lq: lp - lq, verbose=False) == 5

    def jsd(p, q):
        m = (p + q) / 2
        return 0.5 * (p * torch.log(p / m)).nansum(-1) + 0.5 * (q * torch.log(q / m)).nansum(-1)

    assert exercises.check("jsd_discrete", jsd, verbose=False) == 5


def test_chapter1_exercises_reject_wrong_answers():
    def via_probabilities(lp, lq):  # underflows: exp(-300) is 0 in float32
        p, q = lp.exp(), lq.exp()
        return torch.logit(p / (p + q))

    with pytest.raises(exercises.ExerciseFailed, match="values differ"):
        exercises.check("optimal_logit", via_probabilities, verbose=False)
    with pytest.raises(exercises.ExerciseFailed, match="values differ"):
        exercises.check("optimal_logit", lambda lp, lq: lq - lp, verbose=False)

    def jsd_bits(p, q):
        return T.jsd_discrete(p, q) / math.log(2)

    def jsd_no_zero_handling(p, q):
        m = (p + q) / 2
        return 0.5 * (p * torch.log(p / m)).sum(-1) + 0.5 * (q * torch.log(q / m)).sum(-1)

    for wrong in (jsd_bits, jsd_no_zero_handling, T.kl_discrete):
        with pytest.raises(exercises.ExerciseFailed, match="values differ"):
            exercises.check("jsd_discrete", wrong, verbose=False)
