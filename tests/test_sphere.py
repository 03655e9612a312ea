"""Chapter 4, Sphere GAN: the projection, the distances, the loss, the sympy derivations."""

import math

import pytest
import sympy as sp
import torch

from gan_tutorial import data, losses, models, train
from gan_tutorial.errors import ConfigError, ShapeError
from gan_tutorial.theory import sphere as theory

NORMS = [0.0, 1e-6, 1e-3, 0.3, 1.0, 3.0, 1e3, 1e6]


def _points(norms, n=5, dtype=torch.float64, seed=0):
    """One random direction per norm, scaled to that norm: ``(len(norms), n)``."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(len(norms), n, generator=g, dtype=dtype)
    return v / v.norm(dim=1, keepdim=True) * torch.tensor(norms, dtype=dtype)[:, None]


# ----------------------------------------------------------------------------- projection
def test_inverse_stereographic_hand_values():
    got = losses.inverse_stereographic(torch.tensor([[2.0, 0, 0], [0, 0, 0], [0, 1, 0]],
                                                    dtype=torch.float64))
    want = torch.tensor([[0.8, 0, 0, 0.6], [0, 0, 0, -1], [0, 1, 0, 0]], dtype=torch.float64)
    torch.testing.assert_close(got, want)
    # one dimension: the unit circle of the 2-D picture, x = 2p/(p^2+1), y = (p^2-1)/(p^2+1)
    p = torch.tensor([[-3.0], [0.5], [7.0]], dtype=torch.float64)
    torch.testing.assert_close(losses.inverse_stereographic(p),
                               torch.cat([2 * p / (p**2 + 1), (p**2 - 1) / (p**2 + 1)], 1))


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 2e-7), (torch.float64, 1e-15)])
def test_inverse_stereographic_lands_on_the_unit_sphere(dtype, tol):
    u = _points(NORMS + [1e15], dtype=dtype).reshape(3, 3, 5)  # batch dimensions are kept
    x = losses.inverse_stereographic(u)
    assert x.shape == (3, 3, 6) and x.dtype == dtype
    norms = x.double().norm(dim=-1)
    assert float((norms - 1).abs().max()) <= 2 * tol


@pytest.mark.parametrize("dtype,rtol", [(torch.float32, 1e-6), (torch.float64, 1e-14)])
def test_stereographic_inverts_it_across_scales(dtype, rtol):
    u = _points(NORMS[1:], dtype=dtype)
    back = losses.stereographic(losses.inverse_stereographic(u))
    torch.testing.assert_close(back, u, rtol=rtol, atol=0)
    # and the other way round, from points of the sphere (away from N)
    x = torch.nn.functional.normalize(torch.randn(50, 4, dtype=torch.float64), dim=1)
    torch.testing.assert_close(losses.inverse_stereographic(losses.stereographic(x)), x)


def test_projection_is_conformal():
    p = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    J = torch.autograd.functional.jacobian(losses.inverse_stereographic, p)  # (4, 3)
    lam = 2 / (1 + p.square().sum())
    torch.testing.assert_close(J.T @ J, lam**2 * torch.eye(3, dtype=torch.float64))


# ----------------------------------------------------------------------------- distances
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pole_distance_is_twice_arctan_of_the_inverse_norm(dtype):
    u = _points(NORMS, dtype=dtype)
    d = losses.pole_distance(losses.inverse_stereographic(u))
    want = torch.tensor([2 * math.atan2(1.0, r) for r in NORMS], dtype=torch.float64)
    torch.testing.assert_close(d.double(), want, rtol=2e-6 if dtype == torch.float32 else 1e-14,
                               atol=1e-12)
    assert d[0] == pytest.approx(math.pi) and float(d[-1]) == pytest.approx(2e-6, rel=1e-5)


def test_geodesic_distance_matches_the_closed_form_and_stays_exact_for_tiny_angles():
    p, q = _points([0.4, 2.0, 5.0], seed=1), _points([1.5, 0.1, 5.0], seed=2)
    d = losses.geodesic_distance(losses.inverse_stereographic(p), losses.inverse_stereographic(q))
    sp_, sq_, pq = p.square().sum(1), q.square().sum(1), (p * q).sum(1)
    paper = torch.arccos((sp_ * sq_ - sp_ - sq_ + 4 * pq + 1) / ((sp_ + 1) * (sq_ + 1)))
    torch.testing.assert_close(d, paper)
    # two unit vectors 1e-5 rad apart, in float32: arccos of the rounded dot product is far off
    a = torch.tensor([1.0, 0.0, 0.0])
    b = torch.tensor([math.cos(1e-5), math.sin(1e-5), 0.0])
    assert float(losses.geodesic_distance(a, b)) == pytest.approx(1e-5, rel=1e-4)
    assert abs(float(torch.arccos((a * b).sum().clamp(-1, 1))) - 1e-5) > 1e-6
    torch.testing.assert_close(losses.geodesic_distance(a, -a), torch.tensor(math.pi))


# ----------------------------------------------------------------------------- the loss
def _hand_moments(p: torch.Tensor, R: int) -> torch.Tensor:
    d = 2 * torch.atan(1 / p.norm(dim=1))  # independent formula, p != 0 here
    return sum((d**r).mean() for r in range(1, R + 1))


@pytest.mark.parametrize("R", [1, 2, 3])
def test_sphere_losses_match_an_independent_formula(R):
    real, fake = _points([0.2, 0.7, 1.5, 4.0]), _points([0.05, 1.0, 3.0, 30.0], seed=3)
    loss = losses.sphere_loss(R)
    assert loss.output == "vector" and loss.penalty is None and loss.clip is None
    assert loss.name == ("sphere" if R == 3 else f"sphere_r{R}")
    torch.testing.assert_close(loss.d_loss(real, fake), _hand_moments(fake, R) - _hand_moments(real, R))
    torch.testing.assert_close(loss.g_loss(fake), -_hand_moments(fake, R))


def test_registered_default_has_three_moments():
    loss = losses.get_loss("sphere")
    real, fake = _points([0.2, 3.0]), _points([1.0, 0.5], seed=4)
    torch.testing.assert_close(loss.d_loss(real, fake), _hand_moments(fake, 3) - _hand_moments(real, 3))
    with pytest.raises(ConfigError, match="moments"):
        losses.sphere_loss(0)


def test_loss_and_gradient_are_finite_at_the_poles_and_beyond():
    # 0 maps to the south pole, huge outputs to (numerically) the north pole
    p = torch.tensor([[0.0, 0.0], [1e-30, 0.0], [1e20, -1e20], [3e38, 0.0], [1.0, 2.0]],
                     requires_grad=True)
    for R in (1, 3):
        loss = losses.sphere_loss(R)
        total = loss.d_loss(p, p.flip(0)) + loss.g_loss(p)
        (grad,) = torch.autograd.grad(total, p)
        assert torch.isfinite(total) and torch.isfinite(grad).all()
    d = losses.pole_distance(losses.inverse_stereographic(p.detach()))
    torch.testing.assert_close(d[[0, 2, 3]], torch.tensor([math.pi, 0.0, 0.0]), atol=1e-7, rtol=0)
    # the naive arccos of the last coordinate has an infinite slope at the south pole
    x = losses.inverse_stereographic(p[:1])
    (naive,) = torch.autograd.grad(torch.arccos(x[..., -1]).sum(), p)
    assert not torch.isfinite(naive).all()


def test_gradient_norm_never_exceeds_the_derived_bound():
    p = _points([1e-4, 0.01, 0.1, 0.5, 1.0, 2.0, 10.0], n=3).requires_grad_(True)
    for R in (1, 3):
        d = losses.pole_distance(losses.inverse_stereographic(p))
        (grad,) = torch.autograd.grad(sum((d**r).sum() for r in range(1, R + 1)), p)
        bound = float(theory.moment_bounds(R)["grad_sup"])
        norms = grad.norm(dim=1)
        assert float(norms.max()) <= bound and float(norms[0]) == pytest.approx(bound, rel=1e-3)
        # |grad d| = 2 / (1 + |p|^2) for R = 1
        if R == 1:
            torch.testing.assert_close(norms, 2 / (1 + p.detach().square().sum(1)))


def test_fit_trains_a_vector_discriminator_and_rejects_a_scalar_one():
    x = data.toy("ring8", 256, seed=0)
    G, D = models.MLPGenerator(2, 2, hidden=16), models.MLPDiscriminator(2, hidden=16, out_dim=3)
    cfg = train.TrainConfig(loss="sphere", steps=4, batch_size=32, log_every=2, device="cpu",
                            progress=False, n_samples=8)
    h = train.fit(G, D, x, cfg)
    assert h.step == [2, 4] and all(math.isfinite(v) for v in h.d_loss + h.g_loss)
    # D's loss is a difference of bounded moments: within +-(pi + pi^2 + pi^3)
    assert all(abs(v) <= math.pi + math.pi**2 + math.pi**3 for v in h.d_loss)
    with pytest.raises(ShapeError, match="out_dim"):
        train.fit(G, models.MLPDiscriminator(2, hidden=16), x, cfg)


# ----------------------------------------------------------------------------- sympy
def test_similar_triangles_give_the_circle_point():
    r = theory.circle_from_similar_triangles()
    s = r["s"]
    assert len(r["solutions"]) == 2
    assert sp.simplify(r["point"][0] - 2 * s / (s**2 + 1)) == 0
    assert sp.simplify(r["point"][1] - (s**2 - 1) / (s**2 + 1)) == 0


@pytest.mark.parametrize("n", [1, 2, 3])
def test_projection_properties_in_sympy(n):
    r = theory.inverse_projection_properties(n)
    S = sum(c**2 for c in r["s"])
    assert r["norm_sq"] == 1 and r["round_trip"] == sp.zeros(n, 1)
    assert sp.simplify(r["gram"] - (2 / (1 + S)) ** 2 * sp.eye(n)) == sp.zeros(n, n)
    assert sp.simplify(r["conformal_factor"] - 2 / (1 + S)) == 0
    assert r["gram_over_factor"] == sp.eye(n)


def test_conformal_for_every_n_from_the_adapted_frame():
    c = theory.conformal_any_n()
    r = c["r"]
    assert c["frame_jacobian"].shape == (4, 3) and c["frame_gram_over_factor"] == sp.eye(3)
    assert sp.simplify(c["conformal_factor"] - 2 / (1 + r**2)) == 0
    # the frame computation agrees with autograd at a point of R^6 (n > 3)
    s = torch.tensor([0.3, -1.2, 2.0, 0.1, 0.0, -0.7], dtype=torch.float64)
    J = torch.autograd.functional.jacobian(losses.inverse_stereographic, s)
    lam = float(c["conformal_factor"].subs(r, float(s.norm())))
    torch.testing.assert_close(J.T @ J, lam**2 * torch.eye(6, dtype=torch.float64))


def test_distance_derivations_in_sympy():
    g = theory.geodesic_between_projections()
    Ss, St, P = theory.S_s, theory.S_t, theory.P_st
    assert g["u_norm_sq"] == 1 and g["cos_from_chord"] == 0
    # Park and Kwon's expression, an independent transcription of the paper
    paper = (Ss * St - Ss - St + 4 * P + 1) / ((Ss + 1) * (St + 1))
    assert sp.simplify(g["cos_d"] - paper) == 0
    assert len(g["chord_ratio"]) == 1 and sp.simplify(g["chord_ratio"][0] - 4 / ((1 + Ss) * (1 + St))) == 0
    d = theory.pole_distance_derivation()
    r = d["r"]
    assert d["pythagoras"] == 1 and d["weierstrass_residual"] == 0 and d["tan_half"] == [1 / r]
    assert d["distance"] == 2 * sp.atan(1 / r) and d["derivative_residual"] == 0
    assert d["value_at_1"] == (sp.pi / 2, sp.pi / 2) and d["limits"] == (sp.pi, 0)
    assert sp.simplify(d["grad_norm"] - 2 / (1 + r**2)) == 0 and d["grad_sup"] == 2
    assert d["slope_critical_points"] == [] and d["slope_negative"] is True
    assert d["inversion_sum"] == (0, sp.pi)


@pytest.mark.parametrize("R", [1, 2, 3])
def test_moment_bounds_and_where_the_gradient_peaks(R):
    m = theory.moment_bounds(R)
    assert m["slope_residual"] == 0 and m["slope_signs"] == (True, True)
    assert m["value_sup"] == sum(sp.pi**k for k in range(1, R + 1))
    assert m["grad_sup"] == 2 * sum(k * sp.pi ** (k - 1) for k in range(1, R + 1))
    # numerically: the gradient norm on a grid of r decreases towards 0 from 2 g'(pi)
    r, vals = m["grad_norm"].free_symbols.pop(), []
    for x in (1e-6, 0.1, 1.0, 10.0):
        vals.append(float(m["grad_norm"].subs(r, x)))
    assert vals == sorted(vals, reverse=True) and vals[0] == pytest.approx(float(m["grad_sup"]), rel=1e-5)


def test_copied_snippet_erratum():
    a = theory.copied_snippet_analysis()
    ex = a["example"]
    assert ex["norm_sq"] == sp.Rational(28921, 42025) and ex["right_norm_sq"] == 1
    assert a["stationary_points"] == [1]
    assert list(ex["point"]) == [sp.Rational(4, 5), 0, 0, sp.Rational(-9, 41)]
    assert a["on_sphere_at"] == [0, 1] and a["symmetry"] == 0
    assert a["cos_pole_range"] == (-1, 0, -1)
    # the torch transcription computes the same numbers
    pt = theory.copied_snippet_projection(torch.tensor([[2.0, 0, 0]], dtype=torch.float64))
    assert float(pt.square().sum()) == pytest.approx(28921 / 42025, rel=1e-15)
    # |s| and 1/|s| get the same "distance" to the pole from the snippet
    two = theory.copied_snippet_projection(torch.tensor([[3.0, 0.0], [1 / 3, 0.0]], dtype=torch.float64))
    torch.testing.assert_close(two[0, -1], two[1, -1])


def test_free_discriminator_reaches_g_pi_times_total_variation():
    P = torch.tensor([0.5, 0.3, 0.2, 0.0])
    Q = torch.tensor([0.1, 0.2, 0.2, 0.5])
    r = theory.sphere_ipm_free_d(P, Q, moments=1, steps=1500)
    assert theory.total_variation(P, Q) == pytest.approx(0.5)
    assert 0.95 * r["supremum"] <= r["objective"] <= r["supremum"]
    assert float(r["distances"][0]) > 3.0 and float(r["distances"][3]) < 0.15
