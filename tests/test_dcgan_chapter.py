"""Chapter 2 (DCGAN): convolution sizes, logit losses, the generator block, latent walks,
the Frechet tracker and the chapter's exercises."""

import itertools
import math

import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from torch import nn

from gan_tutorial import exercises, latent, metrics, models, train
from gan_tutorial.theory import dcgan


# ----------------------------------------------------------------------------- sizes
def test_transposed_size_is_derived_and_simplifies_for_dcgan():
    r = dcgan.transposed_conv_size()
    n, i, k, s, p = r["symbols"]
    assert sp.simplify(r["transposed"] - (s * (i - 1) + k - 2 * p)) == 0
    assert r["dcgan_up"] == 2 * i and r["dcgan_down"] == n / 2 and r["project"] == k
    # the transposed convolution undoes the convolution's size change
    assert sp.simplify(r["conv"].subs(n, r["transposed"]) - i) == 0


@pytest.mark.parametrize("kernel,stride,padding", [(4, 2, 1), (3, 1, 1), (5, 3, 2), (7, 1, 0), (2, 2, 0)])
def test_size_formulas_match_torch(kernel, stride, padding):
    for size, out_pad in itertools.product((1, 4, 7, 9), range(stride)):
        x = torch.zeros(1, 1, size, size)
        up = nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding=out_pad)
        expected = dcgan.conv_transpose_output_size(size, kernel, stride, padding, out_pad)
        if expected >= 1:
            assert up(x).shape[-1] == expected
        if size + 2 * padding >= kernel:
            down = nn.Conv2d(1, 1, kernel, stride, padding)
            assert down(x).shape[-1] == dcgan.conv_output_size(size, kernel, stride, padding)


def test_dcgan_generator_sizes_follow_the_formula():
    G = models.DCGANGenerator(8, 1, 28, width=4)
    sizes, side = [], 1
    for layer in G.net:
        if isinstance(layer, nn.ConvTranspose2d):
            side = dcgan.conv_transpose_output_size(side, layer.kernel_size[0], layer.stride[0],
                                                    layer.padding[0])
            sizes.append(side)
    assert sizes == [7, 14, 28]


def test_first_generator_layer_is_a_linear_map():
    torch.manual_seed(0)
    conv = nn.ConvTranspose2d(5, 3, 7, 1, 0, bias=False)
    z = torch.randn(4, 5)
    linear = z @ conv.weight.reshape(5, -1)  # (B, 3 * 7 * 7)
    torch.testing.assert_close(conv(z[:, :, None, None]).reshape(4, -1), linear)


# ----------------------------------------------------------------------------- logits
def test_logit_loss_derivation():
    r = dcgan.logit_loss()
    s, y, sigma = r["s"], r["y"], r["sigma"]
    softplus = lambda u: sp.log(1 + sp.exp(u))  # noqa: E731
    assert r["neg_log_sigmoid"] == softplus(-s)
    assert r["one_minus_sigmoid"] == 1 / (sp.exp(s) + 1) and r["neg_log_one_minus"] == softplus(s)
    assert r["softplus_shift"] == -s
    assert sp.simplify(r["softplus_form"] - (softplus(s) - y * s)) == 0
    assert r["grad_in_sigmoid"] == sigma - y
    assert sp.simplify(r["sigmoid"].subs(s, r["logit_of"]) - sigma) == 0
    assert r["wrong_fake_slope"] == 1 and r["right_fake_limit"] == 0
    f = sp.lambdify((s, y), r["grad"], "math")
    loss = sp.lambdify((s, y), r["softplus_form"], "math")
    for t, label in [(-3.0, 1.0), (0.5, 0.0), (2.0, 0.3)]:
        tt = torch.tensor(t, dtype=torch.float64, requires_grad=True)
        value = F.binary_cross_entropy_with_logits(tt, torch.tensor(label, dtype=torch.float64))
        value.backward()
        assert f(t, label) == pytest.approx(float(tt.grad), abs=1e-12)
        assert loss(t, label) == pytest.approx(float(value), abs=1e-12)


def test_saturation_logits_of_sigmoid_then_bce():
    r32 = dcgan.saturation_logits(torch.float32, step=0.01)
    # float32: 1 + e^-s rounds to 1 once e^-s < 2^-24, i.e. s > 24 log 2 = 16.64
    assert r32["fake"] == pytest.approx(24 * math.log(2), abs=0.011)
    # below log(1e-12) the gradient is e^s / 1e-12: under 1% of 1 from s = log(1e-14) = -32.24
    assert r32["real"] == pytest.approx(math.log(1e-14), abs=0.011)
    assert r32["clamp_logit"] == pytest.approx(math.log(1e-12))
    assert not r32["with_logits_lost"]
    r16 = dcgan.saturation_logits(torch.bfloat16, step=0.01)
    assert 5.5 < r16["fake"] < 7.0 and not r16["with_logits_lost"]


def test_sigmoid_then_bce_loses_the_gradient_in_float32():
    logits = torch.tensor([-3.0, 0.0, 3.0, 20.0, 120.0])
    r = dcgan.bce_gradients(logits, torch.zeros(5))
    exact_loss, exact_grad = r["exact"]
    loss, grad = r["with_logits"]
    torch.testing.assert_close(loss, exact_loss, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grad, exact_grad, rtol=1e-6, atol=1e-6)
    loss, grad = r["sigmoid_bce"]
    torch.testing.assert_close(loss[:3], exact_loss[:3], rtol=1e-5, atol=1e-6)
    # sigmoid(20) rounds to 1 in float32: the loss is clamped at 100 and the gradient is 0
    assert loss[3:].tolist() == [100.0, 100.0] and grad[3:].tolist() == [0.0, 0.0]
    assert exact_grad[3:].tolist() == pytest.approx([1.0, 1.0])


def test_stable_bce_with_logits_matches_torch_and_stays_finite():
    t = torch.tensor([-500.0, -30.0, -1.0, 0.0, 2.0, 30.0, 500.0])
    y = torch.tensor([1.0, 0.0, 0.3, 1.0, 0.0, 1.0, 0.0])
    got = dcgan.stable_bce_with_logits(t, y)
    torch.testing.assert_close(got, F.binary_cross_entropy_with_logits(t, y))
    # by hand, softplus(t) - y t per sample: 500, 0, 0.3133 + 0.3, log 2, 2.1269, 0, 500
    hand = (500 + 0 + math.log1p(math.exp(-1)) + 0.3 + math.log(2) + math.log1p(math.exp(2)) + 0 + 500) / 7
    assert got.item() == pytest.approx(hand, rel=1e-6)


def test_up_block_matches_the_module_version():
    torch.manual_seed(0)
    x, w = torch.randn(3, 4, 5, 5), torch.randn(4, 2, 4, 4)
    gamma, beta = torch.tensor([1.5, 0.5]), torch.tensor([0.1, -0.2])
    conv, bn = nn.ConvTranspose2d(4, 2, 4, 2, 1, bias=False), nn.BatchNorm2d(2)
    with torch.no_grad():
        conv.weight.copy_(w), bn.weight.copy_(gamma), bn.bias.copy_(beta)
    out = dcgan.dcgan_up_block(x, w, gamma, beta)
    assert out.shape == (3, 2, 10, 10) and out.min() == 0
    torch.testing.assert_close(out, torch.relu(bn(conv(x))))


# ----------------------------------------------------------------------------- latent walks
def test_lerp_and_slerp_end_points_and_norms():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(16, generator=g), torch.randn(16, generator=g)
    z1 = z1 / z1.norm() * z0.norm()
    for path in (latent.lerp(z0, z1, 7), latent.slerp(z0, z1, 7)):
        assert path.shape == (7, 16)
        torch.testing.assert_close(path[0], z0)
        torch.testing.assert_close(path[-1], z1)
    arc = latent.slerp(z0, z1, 7)
    torch.testing.assert_close(arc.norm(dim=1), z0.norm().expand(7))
    # the chord is shorter in the middle (the codes are not parallel)
    assert latent.lerp(z0, z1, 7)[3].norm() < 0.95 * z0.norm()
    # equal angles between consecutive codes on the arc
    cos = F.cosine_similarity(arc[:-1], arc[1:])
    torch.testing.assert_close(cos, cos[:1].expand(6))
    # parallel codes fall back to the segment
    torch.testing.assert_close(latent.slerp(z0, 2 * z0, 3), latent.lerp(z0, 2 * z0, 3))


def test_attribute_direction_recovers_a_linear_attribute_and_walk_layout():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(500, 6, generator=g)
    w = torch.tensor([0.0, 3.0, 0.0, -4.0, 0.0, 0.0])
    u = latent.attribute_direction(z, 2.0 + z @ w + 0.01 * torch.randn(500, generator=g))
    torch.testing.assert_close(u, w / 5, atol=1e-3, rtol=0)
    codes = latent.walk(z[:2], u, [-1.0, 0.0, 1.0])
    assert codes.shape == (6, 6)
    torch.testing.assert_close(codes[1], z[0])
    torch.testing.assert_close(codes[5] - codes[4], u)


# ----------------------------------------------------------------------------- Frechet tracker
def test_frechet_tracker_records_the_distance_of_the_current_generator():
    torch.manual_seed(0)
    clf = metrics.DigitClassifier()
    x_ref = torch.rand(64, 1, 28, 28) * 2 - 1
    G, D = models.DCGANGenerator(8, width=4), models.DCGANDiscriminator(width=4)
    z = torch.randn(64, 8)
    tracker = metrics.FrechetTracker(clf, x_ref, z, every=2)
    config = train.TrainConfig(steps=5, batch_size=8, log_every=1, device="cpu", progress=False)
    train.fit(G, D, x_ref, config, callbacks=[tracker])
    assert tracker.step == [2, 4, 5]
    direct = metrics.frechet_digit_distance(clf, train.sample(G, z), x_ref)
    assert tracker.distance[-1] == pytest.approx(direct, rel=1e-9)
    assert all(d > 0 for d in tracker.distance)


# ----------------------------------------------------------------------------- exercises
def test_chapter_2_exercises_accept_right_and_reject_wrong_answers():
    assert exercises.check("conv_transpose_output_size",
                           lambda n, k, s, p, op: (n - 1) * s - 2 * p + k + op, verbose=False) == 5
    with pytest.raises(exercises.ExerciseFailed, match="expected"):
        exercises.check("conv_transpose_output_size", lambda n, k, s, p, op: n * s - 2 * p + k)

    def block(x, w, gamma, beta):
        conv = nn.ConvTranspose2d(w.shape[0], w.shape[1], 4, 2, 1, bias=False)
        bn = nn.BatchNorm2d(w.shape[1])
        with torch.no_grad():
            conv.weight.copy_(w), bn.weight.copy_(gamma), bn.bias.copy_(beta)
        return torch.relu(bn(conv(x)))

    assert exercises.check("dcgan_up_block", block, verbose=False) == 5
    with pytest.raises(exercises.ExerciseFailed, match="shape"):
        exercises.check("dcgan_up_block", lambda x, w, g, b: torch.relu(F.conv2d(x, w.transpose(0, 1))))
    with pytest.raises(exercises.ExerciseFailed, match="values differ"):  # ReLU before BN
        exercises.check("dcgan_up_block", lambda x, w, g, b: F.batch_norm(
            torch.relu(F.conv_transpose2d(x, w, stride=2, padding=1)), None, None, g, b, training=True))

    assert exercises.check("stable_bce_with_logits", F.binary_cross_entropy_with_logits,
                           verbose=False) == 5
    with pytest.raises(exercises.ExerciseFailed, match="values differ"):
        exercises.check("stable_bce_with_logits",
                        lambda t, y: F.binary_cross_entropy(torch.sigmoid(t), y))


# ----------------------------------------------------------------------------- conditioning
def test_class_mix_split_is_the_chain_rule_and_checks_numerically():
    r = dcgan.class_mix_split()
    assert r["gap"] == 0 and r["marginal_when_matched"] == 0
    # the symbolic class-mix term against numbers, and the split on a random joint
    assert math.isclose(float(r["marginal_at_a_half_b_a_third"]),
                        0.5 * math.log(0.5 / (1 / 3)) + 0.5 * math.log(0.5 / (2 / 3)))
    g = torch.Generator().manual_seed(0)
    p = torch.rand(2, 3, generator=g, dtype=torch.float64)
    q = torch.rand(2, 3, generator=g, dtype=torch.float64)
    p, q = p / p.sum(), q / q.sum()
    py, qy = p.sum(1), q.sum(1)
    joint = (p * (p / q).log()).sum()
    marginal = (py * (py / qy).log()).sum()
    pc, qc = p / py[:, None], q / qy[:, None]
    within = (py * (pc * (pc / qc).log()).sum(1)).sum()
    assert marginal > 0 and math.isclose(joint, marginal + within, rel_tol=1e-12)


def test_conditional_gan_trains_on_pairs_and_rejection_keeps_pairs():
    (x, y) = torch.rand(64, 1, 28, 28) * 2 - 1, torch.arange(64) % 10
    pairs = models.with_labels(x, y, 10)
    torch.manual_seed(0)
    G = models.ConditionalDCGANGenerator(noise_dim=8, width=8)
    D = models.ProjectionDCGANDiscriminator(width=8)
    config = train.TrainConfig(steps=3, batch_size=16, device="cpu", progress=False, log_every=1, ema=0.9)
    history = train.fit(G, D, pairs, config)
    assert history.snapshots[-1][1].shape == (64, 2, 28, 28)
    kept, info = train.rejection_sample(G, D, 20, G.latent_dim, quantile=0.5, calibration=200, batch=200,
                                        generator=torch.Generator().manual_seed(1))
    assert kept.shape == (20, 2, 28, 28) and 0 < info["acceptance"] <= 1
    labels = models.read_label_plane(kept, 10)
    assert torch.equal(kept[:, 1], models.label_plane(labels, 10, 28)[:, 0])  # planes stay exact
