"""Chapter 1, the Dirac-GAN: sympy's field and eigenvalues, the torch field, trained trajectories."""

import math

import numpy as np
import pytest
import sympy as sp
import torch
from torch.testing import assert_close

from gan_tutorial import losses, train
from gan_tutorial.theory import dynamics as T

a, lam, h, noise_std = T.A, T.LAM, T.H, T.NOISE_STD
MINIMAX = losses.get_loss("minimax")
R1 = T.with_r1(MINIMAX, 0.1)


@pytest.fixture(scope="module")
def plain():
    return T.equilibrium_analysis("minimax")


@pytest.fixture(scope="module")
def steps():
    return T.plain_game_steps()


# ----------------------------------------------------------------------------- sympy
def test_the_only_equilibrium_is_the_origin_and_the_eigenvalues_are_purely_imaginary(plain):
    assert plain["equilibria"] == [{T.THETA: 0, T.PSI: 0}]
    assert plain["jacobian"] == sp.Matrix([[0, a], [-a, 0]])
    assert set(plain["eigenvalues"]) == {sp.I * a, -sp.I * a}
    assert plain["real_parts"] == [0, 0]  # exactly 0, not merely small
    assert plain["f_prime_0"] == sp.Rational(1, 2)
    assert set(plain["at_gan_f"]["eigenvalues"]) == {sp.I / 2, -sp.I / 2}


def test_the_non_saturating_loss_has_the_same_jacobian_at_the_equilibrium(plain):
    ns = T.equilibrium_analysis("ns")
    assert ns["equilibria"] == [{T.THETA: 0, T.PSI: 0}]
    assert ns["jacobian"] == plain["jacobian"]
    # away from it the fields differ: minimax conserves the radius along the flow, ns does not
    assert T.dirac_field("minimax")["flow_r2"] == 0
    assert sp.simplify(T.dirac_field("ns")["flow_r2"] + T.THETA * T.PSI * sp.tanh(T.THETA * T.PSI / 2)) == 0


def test_simultaneous_steps_spiral_out_for_every_step_size(steps):
    assert steps["simultaneous_modulus"] == [sp.sqrt(a**2 * h**2 + 1)] * 2
    assert steps["simultaneous_r2_gain"] == 0
    for hv in (0.01, 0.2, 1.0):  # numerically, with numpy's eigenvalues of I + h J
        M = np.eye(2) + hv * np.array([[0, 0.5], [-0.5, 0]])
        assert_close(np.abs(np.linalg.eigvals(M)), np.full(2, math.sqrt(1 + hv**2 / 4)), rtol=1e-12, atol=0)


def test_alternating_steps_have_modulus_exactly_one_while_h_a_is_below_two(steps):
    alt = steps["maps"]["alternating"]
    assert alt["det"] == 1
    assert alt["matrix"] == sp.Matrix([[1 - a**2 * h**2, a * h], [-a * h, 1]])
    assert steps["complex_when"] == sp.Interval.open(0, 2)
    assert steps["alternating_modulus2"] == [1, 1]
    M = np.array([[1 - 0.25 * 0.04, 0.1], [-0.1, 1]])  # a = 1/2, h = 0.2
    assert_close(np.abs(np.linalg.eigvals(M)), np.ones(2), rtol=1e-12, atol=0)
    M = np.array([[1 - 0.25 * 25, 2.5], [-2.5, 1]])  # h a = 2.5: real eigenvalues, one outside
    assert np.abs(np.linalg.eigvals(M)).max() > 1.5


def test_r1_moves_the_eigenvalues_into_the_left_half_plane():
    r1 = T.r1_steps()
    assert r1["jacobian"] == sp.Matrix([[0, a], [-a, -2 * lam]])
    assert r1["real_parts"] == [-lam, -lam]
    assert r1["trace"] == -2 * lam and r1["det"] == a**2
    assert r1["simultaneous_contracts"] == sp.Interval.open(0, 2 * lam / a**2)
    assert r1["maps"]["alternating"]["det"] == sp.factor(1 - 2 * h * lam)
    J = np.array([[0, 0.5], [-0.5, -0.2]])  # lambda = 0.1: simultaneous steps contract for h < 0.8
    for hv, inside in ((0.5, True), (0.79, True), (0.81, False), (1.0, False)):
        assert bool(np.abs(np.linalg.eigvals(np.eye(2) + hv * J)).max() < 1) is inside


def test_instance_noise_damps_d_by_twice_the_noise_variance_times_f_second():
    noise = T.instance_noise_jacobian()
    assert noise["jacobian"] == sp.Matrix([[0, a], [-a, 2 * T.C * noise_std**2]])
    assert noise["f_second_0"] == -sp.Rational(1, 4)
    J = noise["at_gan_f"]["jacobian"]
    assert J == sp.Matrix([[0, sp.Rational(1, 2)], [-sp.Rational(1, 2), -noise_std**2 / 2]])
    # independently: the expected field by Gauss-Hermite quadrature over both noises, noise_std = 0.5,
    # differentiated by central differences at the origin
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    e1, e2 = 0.5 * nodes[:, None], 0.5 * nodes[None, :]
    w = weights[:, None] * weights[None, :]

    def expected_field(theta, psi):
        def fp(t):  # f'(t) for f(t) = log sigmoid(t)
            return 1 / (1 + np.exp(t))
        v_theta = psi * fp(-psi * (theta + e2))
        v_psi = e1 * fp(psi * e1) - (theta + e2) * fp(-psi * (theta + e2))
        return np.array([(w * v_theta).sum(), (w * v_psi).sum()])

    d = 1e-5
    numeric = np.stack([(expected_field(d, 0) - expected_field(-d, 0)) / (2 * d),
                        (expected_field(0, d) - expected_field(0, -d)) / (2 * d)], axis=1)
    assert_close(numeric, np.array(J.subs(noise_std, sp.Rational(1, 2)), dtype=float), rtol=0, atol=1e-8)


# ----------------------------------------------------------------------------- torch
@pytest.mark.parametrize("loss, d_penalty", [(MINIMAX, 0.0), (losses.get_loss("ns"), 0.0),
                                             (R1, -0.2), (losses.get_loss("ns_r1"), -0.2)])
def test_the_jacobian_of_the_torch_field_at_the_origin_is_sympys(loss, d_penalty):
    J = torch.autograd.functional.jacobian(lambda p: T.torch_field(p, loss),
                                           torch.zeros(2, dtype=torch.float64))
    J_sympy = T.equilibrium_analysis("minimax", r1=d_penalty != 0)["at_gan_f"]["jacobian"]
    expected = torch.tensor(np.array(J_sympy.subs(lam, 0.1), dtype=float))
    assert_close(J, expected, rtol=0, atol=1e-12)
    assert J[1, 1].item() == pytest.approx(d_penalty, abs=1e-12)


@pytest.mark.parametrize("name, r1", [("minimax", False), ("ns", False), ("minimax", True)])
def test_the_torch_field_is_sympys_away_from_the_origin(name, r1):
    loss = T.with_r1(losses.get_loss(name), 0.1) if r1 else losses.get_loss(name)
    v = T.numeric_field(T.dirac_field(name, r1)["field"], {lam: 0.1})
    for point in [(1.0, 1.0), (-0.7, 2.0), (3.0, -0.4)]:
        got = T.torch_field(torch.tensor(point, dtype=torch.float64, requires_grad=True), loss)
        assert_close(got.detach(), torch.tensor(v(*point), dtype=torch.float64), rtol=1e-12, atol=1e-12)


def _run(loss, start, n, simultaneous=False, **kw):
    return T.dirac_run(train.d_step, train.g_step, loss, start, n, 0.2, simultaneous=simultaneous, **kw)


@pytest.mark.parametrize("simultaneous, loss", [(True, MINIMAX), (False, MINIMAX), (False, R1)])
def test_the_package_steps_follow_the_sympy_field(simultaneous, loss):
    path = _run(loss, (1.0, 1.0), 200, simultaneous)
    field = T.dirac_field("minimax", r1=loss is R1)["field"]
    ref = T.iterate_field(field, (1.0, 1.0), 200, 0.2, simultaneous, {lam: 0.1})
    assert_close(path, ref, rtol=0, atol=1e-5)  # d_step computes the losses in float32


@pytest.mark.parametrize("simultaneous, r1", [(True, False), (False, False), (False, True)])
def test_near_the_equilibrium_the_steps_are_the_linear_maps(simultaneous, r1):
    loss = R1 if r1 else MINIMAX
    J = (T.r1_steps() if r1 else T.plain_game_steps())["maps"]
    M = J["simultaneous" if simultaneous else "alternating"]["matrix"].subs({a: sp.Rational(1, 2), h: 0.2, lam: 0.1})
    M = torch.tensor(np.array(M, dtype=float))
    start = torch.tensor([1e-3, 1e-3], dtype=torch.float64)
    path = _run(loss, tuple(start.tolist()), 150, simultaneous)
    linear = torch.stack([torch.linalg.matrix_power(M, n) @ start for n in range(151)])
    assert_close(path, linear, rtol=0, atol=1e-8)  # 1% of the smallest radius on the path


def test_simultaneous_steps_move_out_by_exactly_the_derived_factor_every_step():
    path = _run(MINIMAX, (1.0, 1.0), 300, simultaneous=True)
    r2 = path.pow(2).sum(1)
    theta, psi = path[:-1, 0], path[:-1, 1]
    predicted = r2[:-1] * (1 + 0.04 * torch.sigmoid(theta * psi) ** 2)  # r^2 (1 + h^2 sigmoid(theta psi)^2)
    assert_close(r2[1:], predicted, rtol=1e-5, atol=0)
    assert (r2[1:] > r2[:-1]).all() and 2.0 < r2[-1].sqrt() / r2[0].sqrt() < 2.1


def test_alternating_steps_neither_converge_nor_diverge():
    r = _run(MINIMAX, (1.0, 1.0), 2000).norm(dim=1)
    assert 0.9 < (r / r[0]).min() and (r / r[0]).max() < 1.1
    assert r[-200:].mean() > 0.9 * r[0]


def test_r1_and_instance_noise_bring_the_iterates_to_the_equilibrium():
    r = _run(R1, (1.0, 1.0), 300).norm(dim=1)
    rate = math.sqrt(1 - 2 * 0.2 * 0.1)  # the alternating map's |eigenvalue|, sqrt(det)
    assert 0.9 * rate**100 < r[-1] / r[-101] < 1.1 * rate**100
    assert r[-1] < 0.01 * r[0]
    noisy = _run(MINIMAX, (1.0, 1.0), 600, noise=0.5, batch_size=256).norm(dim=1)
    assert 1e-3 * noisy[0] < noisy[-200:].mean() < 0.05 * noisy[0]
