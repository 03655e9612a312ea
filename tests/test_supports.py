"""Chapter 3, disjoint supports: the parallel-lines example, derived and measured."""

import math

import numpy as np
import pytest
import sympy as sp
import torch

from gan_tutorial.theory import supports as S

theta = S.theta


def test_js_kl_tv_of_parallel_lines():
    div = S.line_divergences()
    apart, together = div["apart"], div["together"]
    assert (apart["kl"], apart["js"], apart["tv"]) == (sp.oo, sp.log(2), 1)
    assert (together["kl"], together["js"], together["tv"]) == (0, 0, 0)
    # chapter 1: V at the optimal D is -log 4 + 2 JS, on both sides of the jump
    for case in (apart, together):
        assert sp.simplify(case["value_at_optimal_d"] - (-sp.log(4) + 2 * case["js"])) == 0
    assert apart["optimal_d"] == {0: 1, theta: 0} and together["optimal_d"] == {0: sp.Rational(1, 2)}
    assert div["js_limit"] == sp.log(2)  # JS does not tend to JS(0) = 0
    half_log2 = sp.log(2) / 2
    assert apart["integrands"] == {"kl": {0: sp.oo, theta: 0}, "js": {0: half_log2, theta: half_log2},
                                   "tv": {0: sp.Rational(1, 2), theta: sp.Rational(1, 2)},
                                   "value_at_optimal_d": {0: 0, theta: 0}}


def test_js_of_parallel_lines_against_a_discrete_computation():
    # an independent oracle: each segment as 50 atoms at the same heights, JS of the two
    # discrete distributions on the 100 points of their union
    p = np.r_[np.full(50, 1 / 50), np.zeros(50)]
    q = p[::-1]
    m = (p + q) / 2

    def kl(a, b):
        keep = a > 0
        return float(np.sum(a[keep] * np.log(a[keep] / b[keep])))

    assert 0.5 * kl(p, m) + 0.5 * kl(q, m) == pytest.approx(math.log(2), abs=1e-12)
    assert 0.5 * np.abs(p - q).sum() == pytest.approx(1.0)


def test_w1_of_parallel_lines_is_squeezed_to_abs_theta():
    w = S.line_w1()
    assert w["upper"] == sp.Abs(theta) and w["lower"] == sp.Abs(theta) and w["gap"] == 0
    assert w["critic_grad_norm"] == 1 and w["w1_limit"] == 0
    # the critic at numbers: T(0, y) - T(theta, y) = |theta| for both signs
    for value in (-1.5, 0.3):
        T = sp.lambdify((w["x"], theta), w["critic"])
        assert T(0.0, value) - T(value, value) == pytest.approx(abs(value))


def test_gradients_in_theta():
    g = S.line_gradients()
    assert g["d_value"] == 0 and g["d_js"] == 0 and g["d_w1"] == sp.sign(theta)


def test_line_curves_on_a_grid():
    thetas = np.array([-1.0, -0.25, 0.0, 0.5])
    c = S.line_curves(thetas)
    np.testing.assert_allclose(c["w1"], [1.0, 0.25, 0.0, 0.5])
    np.testing.assert_allclose(c["js"], [math.log(2), math.log(2), 0.0, math.log(2)])
    np.testing.assert_allclose(c["tv"], [1.0, 1.0, 0.0, 1.0])
    assert np.isinf(c["kl"][[0, 1, 3]]).all() and c["kl"][2] == 0


def test_sample_lines_lie_on_the_two_segments():
    x_p, x_q = S.sample_lines(0.7, 64, torch.Generator().manual_seed(0))
    assert x_p.shape == x_q.shape == (64, 2)
    assert (x_p[:, 0] == 0).all() and torch.allclose(x_q[:, 0], torch.full((64,), 0.7))
    assert ((x_p[:, 1] >= 0) & (x_p[:, 1] <= 1)).all() and ((x_q[:, 1] >= 0) & (x_q[:, 1] <= 1)).all()


def test_a_short_gp_critic_estimates_w1_and_clipping_only_its_sign():
    gp = S.fit_line_critic(1.0, "gp", steps=60, batch_size=64)
    assert 0.7 < gp["estimate"] < 1.4 and 0.7 < gp["grad_norm"] < 1.4
    clip = S.fit_line_critic(1.0, "clip", steps=60, batch_size=64)
    assert 0 < clip["estimate"] < 0.05 and 0 < clip["grad_norm"] < 0.05
    with pytest.raises(ValueError, match="constraint must be"):
        S.fit_line_critic(1.0, "spectral")
