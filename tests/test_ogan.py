"""Chapter 5: Pearson correlation, GAN-QP, O-GAN losses, the linear probe and the sympy theory."""

import math

import numpy as np
import pytest
import sympy as sp
import torch

from gan_tutorial import exercises, losses, metrics, models, train
from gan_tutorial.errors import ConfigError, ShapeError
from gan_tutorial.theory import orthogonal as th


def _rows(b=6, n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, n, generator=g, dtype=torch.float64),
            torch.randn(b, n, generator=g, dtype=torch.float64))


# ----------------------------------------------------------------------------- pearson
def test_pearson_matches_numpy_corrcoef():
    a, b = _rows()
    b = b + 0.7 * a  # correlated rows too
    expected = torch.tensor([np.corrcoef(ai, bi)[0, 1] for ai, bi in zip(a.numpy(), b.numpy())])
    got = losses.pearson(a, b)
    assert got.shape == (6,)
    torch.testing.assert_close(got, expected, atol=1e-7, rtol=1e-6)


def test_pearson_is_invariant_to_positive_affine_maps_and_flips_for_negative():
    a, b = _rows(seed=1)
    rho = losses.pearson(a, b)
    for scale, shift in [(0.3, 5.0), (7.0, -2.0)]:
        torch.testing.assert_close(losses.pearson(a, scale * b + shift), rho, atol=1e-7, rtol=1e-6)
        torch.testing.assert_close(losses.pearson(scale * a - shift, b), rho, atol=1e-7, rtol=1e-6)
    torch.testing.assert_close(losses.pearson(a, -2.0 * b + 1.0), -rho, atol=1e-7, rtol=1e-6)
    torch.testing.assert_close(losses.pearson(a, 3.0 * a + 1.0), torch.ones(6, dtype=torch.float64))


def test_pearson_is_safe_for_constant_rows():
    a = torch.randn(3, 8)
    b = torch.full((3, 8), 0.1, requires_grad=True)  # 0.1 is not exact in binary: mean != 0.1
    rho = losses.pearson(a, b)
    torch.testing.assert_close(rho, torch.zeros(3), atol=1e-4, rtol=0)
    rho.sum().backward()
    assert torch.isfinite(b.grad).all()
    zero = torch.zeros(2, 5, requires_grad=True)
    out = losses.pearson(zero, zero)
    out.sum().backward()
    assert torch.equal(out, torch.zeros(2)) and torch.isfinite(zero.grad).all()


def test_standardize_gives_the_orthogonal_decomposition():
    a, _ = _rows(b=4, n=9, seed=2)
    N = losses.standardize(a, eps=0.0)
    avg = a.mean(1, keepdim=True)
    std = a.std(1, unbiased=False, keepdim=True)
    torch.testing.assert_close(N.sum(1), torch.zeros(4, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(N.pow(2).sum(1), torch.full((4,), 9.0, dtype=torch.float64))
    torch.testing.assert_close(avg + std * N, a)


def test_standardized_distance_identity_holds_numerically():
    for n in (3, 10, 64):
        a, b = _rows(b=5, n=n, seed=n)
        lhs = (losses.standardize(a, 0.0) - losses.standardize(b, 0.0)).pow(2).sum(1)
        torch.testing.assert_close(lhs, 2 * n * (1 - losses.pearson(a, b, eps=0.0)))


def test_mse_splits_into_mean_std_and_correlation_parts():
    a, b = _rows(b=5, n=12, seed=3)
    parts = th.mse_parts(a, b)
    torch.testing.assert_close(sum(parts), (a - b).pow(2).mean(1))
    torch.testing.assert_close(parts[0], (a.mean(1) - b.mean(1)) ** 2)


# ----------------------------------------------------------------------------- GAN-QP
def test_gan_qp_d_loss_matches_a_hand_computation():
    r = torch.tensor([1.0, 0.0])
    f = torch.tensor([0.0, 0.5])
    x_real = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    x_fake = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    # pair 1: delta = 1, ms = 1, rms = 1; pair 2: delta = -0.5, ms = 1/4, rms = 1/2
    rms = ((-1 + 1 / 20) + (0.5 + 0.25 / (20 * 0.5))) / 2  # λ = 10: -0.2125
    ms = ((-1 + 1 / 4) + (0.5 + 0.25 / (4 * 0.25))) / 2  # λ = 2: 0
    torch.testing.assert_close(losses.gan_qp_d_loss(r, f, x_real, x_fake), torch.tensor(rms))
    torch.testing.assert_close(losses.gan_qp_d_loss(r, f, x_real, x_fake, lam=2.0, distance="ms"),
                               torch.tensor(ms))
    reg = losses.get_loss("gan_qp")
    assert reg.output == "scalar"
    torch.testing.assert_close(reg.d_loss(r, f, x_real=x_real, x_fake=x_fake, z=None), torch.tensor(rms))
    torch.testing.assert_close(reg.g_loss(f), torch.tensor(-0.25))
    with pytest.raises(ConfigError, match="distance"):
        losses.gan_qp_d_loss(r, f, x_real, x_fake, distance="l1")


def test_gan_qp_per_pair_optimum_is_lambda_times_distance():
    x_real, x_fake = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)  # rms = 0.5
    delta = torch.tensor([0.3], requires_grad=True)
    losses.gan_qp_d_loss(delta, torch.zeros(1), x_real, x_fake, lam=10.0).backward()
    # d/dΔ (-Δ + Δ²/(2λd)) = -1 + Δ/(λd) = -1 + 0.3/5
    torch.testing.assert_close(delta.grad, torch.tensor([-1 + 0.3 / 5]))
    at_opt = torch.tensor([5.0], requires_grad=True)
    losses.gan_qp_d_loss(at_opt, torch.zeros(1), x_real, x_fake, lam=10.0).backward()
    torch.testing.assert_close(at_opt.grad, torch.zeros(1))


def test_gan_qp_is_finite_when_real_equals_fake():
    x = torch.randn(4, 5)
    s = torch.randn(4)
    torch.testing.assert_close(losses.gan_qp_d_loss(s, s, x, x), torch.tensor(0.0))


# ----------------------------------------------------------------------------- O-GAN
def _ogan_batch(seed=0, b=5, n=6):
    g = torch.Generator().manual_seed(seed)
    return dict(real_scores=torch.randn(b, n, generator=g, dtype=torch.float64),
                fake_scores=torch.randn(b, n, generator=g, dtype=torch.float64),
                z=torch.randn(b, n, generator=g, dtype=torch.float64),
                x_real=torch.randn(b, 1, 4, 4, generator=g, dtype=torch.float64),
                x_fake=torch.randn(b, 1, 4, 4, generator=g, dtype=torch.float64))


def _corrcoef_rows(a, b):
    return torch.tensor([np.corrcoef(x, y)[0, 1] for x, y in zip(a.numpy(), b.numpy())])


def test_ogan_loss_matches_the_official_formula():
    k = _ogan_batch()
    ogan = losses.get_loss("ogan")
    assert ogan.output == "vector" and ogan.uses_z and "z" in ogan.g_inputs
    r, f = k["real_scores"].mean(1), k["fake_scores"].mean(1)
    delta = r - f
    ms = (k["x_real"] - k["x_fake"]).pow(2).flatten(1).mean(1)
    rho = _corrcoef_rows(k["z"], k["fake_scores"])
    d_expected = (-delta + 0.25 * delta**2 / ms).mean() - 0.5 * rho.mean()
    g_expected = -f.mean() - 0.5 * rho.mean()
    torch.testing.assert_close(ogan.d_loss(k["real_scores"], k["fake_scores"], z=k["z"],
                                           x_real=k["x_real"], x_fake=k["x_fake"]), d_expected)
    torch.testing.assert_close(ogan.g_loss(k["fake_scores"], z=k["z"], x_real=k["x_real"],
                                           x_fake=k["x_fake"]), g_expected)


def test_ogan_on_other_bases_and_the_mse_ablation():
    k = _ogan_batch(seed=1)
    r, f = k["real_scores"].mean(1), k["fake_scores"].mean(1)
    rho = _corrcoef_rows(k["z"], k["fake_scores"]).mean()
    ns = losses.get_loss("ogan_ns")
    d_ns = -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean() - 0.5 * rho
    torch.testing.assert_close(ns.d_loss(k["real_scores"], k["fake_scores"], z=k["z"],
                                         x_real=k["x_real"], x_fake=k["x_fake"]), d_ns)
    g_ns = -torch.log(torch.sigmoid(f)).mean() - 0.5 * rho
    torch.testing.assert_close(ns.g_loss(k["fake_scores"], z=k["z"], x_real=None, x_fake=None), g_ns)
    custom = losses.ogan_loss("ns", weight=2.0)
    torch.testing.assert_close(custom.g_loss(k["fake_scores"], z=k["z"], x_real=None, x_fake=None),
                               -torch.log(torch.sigmoid(f)).mean() - 2.0 * rho)
    mse = losses.get_loss("ogan_mse")
    g_mse = -f.mean() + 0.5 * (k["z"] - k["fake_scores"]).pow(2).mean()
    torch.testing.assert_close(mse.g_loss(k["fake_scores"], z=k["z"], x_real=None, x_fake=None), g_mse)
    h = losses.get_loss("ogan_hinge")
    d_h = torch.relu(1 - r).mean() + torch.relu(1 + f).mean() - 0.5 * rho
    torch.testing.assert_close(h.d_loss(k["real_scores"], k["fake_scores"], z=k["z"],
                                        x_real=k["x_real"], x_fake=k["x_fake"]), d_h)


def test_ogan_explains_bad_shapes_and_bases():
    k = _ogan_batch()
    with pytest.raises(ShapeError, match="out_dim = latent_dim"):
        losses.get_loss("ogan").g_loss(k["fake_scores"][:, :3], z=k["z"], x_real=None, x_fake=None)
    with pytest.raises(ConfigError, match="scalar base loss"):
        losses.ogan_loss("ogan_ns").g_loss(k["fake_scores"], z=k["z"], x_real=None, x_fake=None)
    with pytest.raises(ConfigError, match="recon"):
        losses.ogan_loss("ns", recon="l1")


def test_ogan_trains_an_encoder_on_toy_data():
    """200 CPU steps: the correlation of z with E(G(z)) rises from about 0 (0.58 here)."""
    torch.manual_seed(0)
    x = torch.randn(512, 6) @ torch.randn(6, 6) * 0.5
    G = models.MLPGenerator(latent_dim=4, out_dim=6, hidden=32, depth=2)
    D = models.MLPDiscriminator(6, hidden=32, depth=2, out_dim=4)
    z = torch.randn(256, 4, generator=torch.Generator().manual_seed(1))

    def mean_rho() -> float:
        with torch.no_grad():
            return float(losses.pearson(z, D(G(z))).mean())

    before = mean_rho()
    hist = train.fit(G, D, x, train.TrainConfig(loss="ogan", steps=200, batch_size=64, lr_d=1e-3,
                                                lr_g=1e-3, device="cpu", progress=False, log_every=100))
    assert all(math.isfinite(v) for v in hist.d_loss + hist.g_loss)
    assert -0.3 < before < 0.3
    assert 0.4 < mean_rho() <= 1.0


# ----------------------------------------------------------------------------- linear probe
def test_linear_probe_reads_linear_structure_and_not_noise():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 5, generator=g) * 4
    y = torch.randint(0, 3, (300,), generator=g)
    f = centers[y] + torch.randn(300, 5, generator=g)
    assert metrics.linear_probe(f[:200], y[:200], f[200:], y[200:]) >= 0.97
    noise = torch.randn(300, 5, generator=g)
    assert 0.15 < metrics.linear_probe(noise[:200], y[:200], noise[200:], y[200:]) < 0.55


def test_encode_matches_a_direct_call_in_eval_mode():
    D = models.DCGANDiscriminator(1, 28, width=8, out_dim=4)
    x = torch.randn(7, 1, 28, 28)
    D.eval()
    expected = D(x)
    D.train()
    torch.testing.assert_close(metrics.encode(D, x, batch_size=3), expected.detach())
    assert D.training


# ----------------------------------------------------------------------------- sympy theory
def test_decomposition_for_general_n():
    r = th.decomposition_general()
    assert r["sum_N"] == 0 and r["norm2_N"] == th.n and r["reconstruction"] == 0 and r["cross"] == 0
    assert r["mean_solution"] == [th.m_z] and r["avg_z"] == th.m_z
    assert len(r["scale_solution"]) == 1 and sp.simplify(r["std_z"] - sp.sqrt(th.v_z)) == 0
    assert sp.simplify(r["rho"] - th.c / sp.sqrt(th.v_z * th.v_e)) == 0


def test_three_parts_are_independent_for_n3():
    r = th.decomposition_n3()
    zero = sp.zeros(3, 1)
    assert r["grad_std_minus_N3"] == zero and r["grad_dot"] == 0
    assert r["JN_ones"] == zero and r["JN_N"] == zero and r["N_of_inverse"] == zero
    assert r["rank_JN"] == 1 and r["rank_all"] == 3
    t = sp.Symbol("t", positive=True)
    assert sp.simplify(r["det_inverse"] - 3 * sp.sqrt(3) * t) == 0
    assert r["avg_std_of_inverse"] == (sp.Symbol("m", real=True), t)
    assert r["circle_checks"] == (0, 3)


def test_pearson_invariance_and_distance_identities():
    inv = th.pearson_invariance()
    assert inv["ratio_pos"] == 1 and inv["ratio_neg"] == -1
    dist = th.standardized_distance()
    assert sp.expand(dist["distance_in_rho"] - 2 * th.n * (1 - th.rho)) == 0
    assert sp.simplify(dist["c_of_rho"] - th.rho * sp.sqrt(th.v_z * th.v_e)) == 0
    mse = th.mse_decomposition()
    # the mse in moments: (m_z - m_e)² + v_z + v_e - 2c
    assert sp.expand(mse["mse"] - ((th.m_z - th.m_e) ** 2 + th.v_z + th.v_e - 2 * th.c)) == 0
    sz, se = th.sd_z, th.sd_e
    assert sp.expand(mse["mean_part"] - (th.m_z - th.m_e) ** 2) == 0
    assert sp.expand(mse["scale_part"] - (sz - se) ** 2) == 0
    assert sp.expand(mse["direction_part"] - 2 * sz * se * (1 - th.rho)) == 0 and mse["residual"] == 0


def test_information_bound():
    r = th.information_bound()
    rb = r["rho_bar"]
    assert r["second_moment"] == 1 and sp.simplify(r["std_times_rho"] - th.c / sp.sqrt(th.v_e)) == 0
    assert sp.expand(r["error"] - (1 - 2 * r["alpha"] * rb + r["alpha"] ** 2)) == 0
    assert r["alpha_star"] == [rb] and r["second_derivative"] == 2
    assert sp.expand(r["min_error"] - (1 - rb**2)) == 0
    assert th.mode_count_bound(0.6, 2) == pytest.approx(-math.log10(0.64), rel=1e-12)
    assert th.mode_count_bound(0.0, 64) == 0.0
    with pytest.raises(ValueError):
        th.mode_count_bound(1.0, 4)


def test_gan_qp_optimum_in_sympy():
    r = th.gan_qp_optimum()
    kappa, d = sp.symbols("kappa d", positive=True)
    assert r["stationary"] == [kappa * d] and r["max_value"] == kappa * d / 2
    assert r["second_derivative"].is_negative


def test_sum_over_i_uses_only_linearity():
    assert th.sum_over_i(th.z_i * 0 + 1) == th.n
    assert sp.expand(th.sum_over_i(3 * th.z_i - th.e_i) - th.n * (3 * th.m_z - th.m_e)) == 0
    with pytest.raises(ValueError, match="degree"):
        th.sum_over_i(th.z_i**3)


# ----------------------------------------------------------------------------- exercises
def _pearson_numpy(a, b):  # numpy's corrcoef, 0 for a constant row (where it is undefined)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = [np.corrcoef(x, y)[0, 1] for x, y in zip(a.double().numpy(), b.double().numpy())]
    return torch.tensor(np.nan_to_num(r, nan=0.0), dtype=a.dtype)


def _ogan_d_loss_by_hand(real_scores, fake_scores, z, x_real, x_fake):  # the official formula
    delta = real_scores.mean(1) - fake_scores.mean(1)
    ms = (x_real - x_fake).pow(2).flatten(1).mean(1)
    return (-delta + 0.25 * delta**2 / ms).mean() - 0.5 * _pearson_numpy(z, fake_scores).mean()


def _mse_parts_by_hand(z, e):  # population std with numpy
    sz, se = (torch.from_numpy(v.double().numpy().std(-1)).to(z.dtype) for v in (z, e))
    return (z.mean(-1) - e.mean(-1)) ** 2, (sz - se) ** 2, 2 * sz * se * (1 - _pearson_numpy(z, e))


@pytest.mark.parametrize("name,answer", [("pearson_rows", _pearson_numpy), ("ogan_d_loss", _ogan_d_loss_by_hand),
                                         ("mse_parts", _mse_parts_by_hand)])
def test_chapter5_exercises_accept_an_independent_answer(name, answer):
    assert exercises.check(name, answer, verbose=False) == 5


def test_chapter5_exercises_reject_common_mistakes():
    def no_eps(a, b):  # NaN on the constant row
        a = a - a.mean(-1, keepdim=True)
        b = b - b.mean(-1, keepdim=True)
        return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))

    with pytest.raises(exercises.ExerciseFailed):
        exercises.check("pearson_rows", no_eps, verbose=False)

    def unbiased_mse_parts(z, e):  # std with n - 1: the parts no longer add up
        sz, se = z.std(-1), e.std(-1)
        return ((z.mean(-1) - e.mean(-1)) ** 2, (sz - se) ** 2,
                2 * sz * se * (1 - losses.pearson(z, e)))

    with pytest.raises(exercises.ExerciseFailed, match="values differ"):
        exercises.check("mse_parts", unbiased_mse_parts, verbose=False)

    def wrong_sign(real_scores, fake_scores, z, x_real, x_fake):
        return losses.get_loss("ogan").d_loss(real_scores, fake_scores, z=z, x_real=x_real,
                                              x_fake=x_fake) + losses.pearson(z, fake_scores).mean()

    with pytest.raises(exercises.ExerciseFailed, match="values differ"):
        exercises.check("ogan_d_loss", wrong_sign, verbose=False)
