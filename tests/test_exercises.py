"""The exercise checkers: each accepts an independent right answer (the book's solution where it
gives one) and rejects the mistake its exercise or chapter warns about."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_tutorial import exercises, losses
from gan_tutorial.errors import ConfigError
from gan_tutorial.theory import sphere


# ----------------------------------------------------------------------------- right answers
def _pole_distance(p):
    r = p.norm(dim=-1)
    return 2 * torch.atan2(torch.ones_like(r), r)


def _sphere_d_loss(real_scores, fake_scores, moments):  # chapter 4's solution
    d_real, d_fake = _pole_distance(real_scores), _pole_distance(fake_scores)
    return sum((d_fake**k).mean() - (d_real**k).mean() for k in range(1, moments + 1))


def _jsd(p, q):  # chapter 1's solution, with xlogy
    m = (p + q) / 2
    return ((torch.xlogy(p, p) - torch.xlogy(p, m)).sum(-1) + (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(-1)) / 2


def _up_block(x, weight, gamma, beta):  # chapter 2's solution
    h = F.conv_transpose2d(x, weight, stride=2, padding=1)
    return F.relu(F.batch_norm(h, None, None, gamma, beta, training=True, eps=1e-5))


def _spectrum_numpy(W):
    s = np.linalg.svd(W.numpy(), compute_uv=False)
    return torch.from_numpy(s / s[0])


def _static(W, top):  # chapter 6's solution
    U, s, Vh = torch.linalg.svd(W, full_matrices=False)
    lifted = s.clone()
    lifted[:top] = s[0]
    return (U * (lifted / s[0])) @ Vh


def _coverage(samples, centers, std):  # chapter 6's solution
    dist, nearest = torch.cdist(samples, centers).min(1)
    good = dist <= 3 * std
    return len(torch.unique(nearest[good])), good.float().mean().item()


def _pearson_numpy(a, b):  # numpy's corrcoef, 0 for a constant row (where it is undefined)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = [np.corrcoef(x, y)[0, 1] for x, y in zip(a.double().numpy(), b.double().numpy())]
    return torch.tensor(np.nan_to_num(r, nan=0.0), dtype=a.dtype)


def _ogan_d_loss(real_scores, fake_scores, z, x_real, x_fake, lam=2.0):  # chapter 5's solution
    delta = real_scores.mean(1) - fake_scores.mean(1)
    d = (x_real - x_fake).pow(2).flatten(1).mean(1)
    return (-delta + delta**2 / (2 * lam * d)).mean() - 0.5 * _pearson_numpy(z, fake_scores).mean()


def _mse_parts(z, e, unbiased=False):  # chapter 5's solution
    sz, se = z.std(-1, unbiased=unbiased), e.std(-1, unbiased=unbiased)
    cov = ((z - z.mean(-1, keepdim=True)) * (e - e.mean(-1, keepdim=True))).mean(-1)
    return (z.mean(-1) - e.mean(-1)) ** 2, (sz - se) ** 2, 2 * (sz * se - cov)


def _wdiv_pool(D, x_real, x_fake, k, p, create_graph=True):  # chapter 3's solution
    x = torch.cat([x_real, x_fake]).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=create_graph)
    return k * g.flatten(1).norm(dim=1).pow(p).mean()


RIGHT = {
    "ns_g_loss": lambda f: (f.neg().clamp(min=0) + torch.log1p(torch.exp(-f.abs()))).mean(),
    "optimal_logit": lambda log_p, log_q: log_p - log_q,
    "jsd_discrete": _jsd,
    "conv_transpose_output_size": lambda n, k, s, p, op: (n - 1) * s - 2 * p + k + op,
    "dcgan_up_block": _up_block,
    "stable_bce_with_logits": lambda t, y: (t.clamp(min=0) - y * t + torch.log1p(torch.exp(-t.abs()))).mean(),
    "normalised_spectrum": _spectrum_numpy,
    "static_compensation": _static,
    "mode_coverage": _coverage,
    "inverse_stereographic": lambda p: torch.cat([2 * p / (p.square().sum(-1, keepdim=True) + 1),
                                                  (p.square().sum(-1, keepdim=True) - 1)
                                                  / (p.square().sum(-1, keepdim=True) + 1)], dim=-1),
    "pole_distance_from_p": _pole_distance,
    "sphere_d_loss": _sphere_d_loss,
    "pearson_rows": _pearson_numpy,
    "ogan_d_loss": _ogan_d_loss,
    "mse_parts": _mse_parts,
    "interpolate": lambda x_real, x_fake, eps: eps.reshape(-1, *[1] * (x_real.ndim - 1)) * (x_real - x_fake) + x_fake,
    "wdiv_penalty_pool": _wdiv_pool,
    "wdiv_optimal_slope": lambda delta, k, P, r: -torch.sign(delta) * (delta.abs() / (k * P * r)) ** (1 / (P - 1)),
}


# ----------------------------------------------------------------------------- the mistakes
def _coverage_any_nearest(samples, centers, std):  # a mode counts as covered with a far sample
    dist, nearest = torch.cdist(samples, centers).min(1)
    return len(torch.unique(nearest)), (dist <= 3 * std).double().mean().item()


def _coverage_box(samples, centers, std):  # |dx|, |dy| <= 3 std instead of the distance
    nearest = torch.cdist(samples, centers).argmin(1)
    good = (samples - centers[nearest]).abs().amax(1) <= 3 * std
    return len(torch.unique(nearest[good])), good.double().mean().item()


def _static_off_by_one(W, top):  # lifts one value too many
    U, s, Vh = torch.linalg.svd(W, full_matrices=False)
    lifted = s.clone()
    lifted[:top + 1] = s[0]
    return (U * (lifted / s[0])) @ Vh


def _sphere_d_loss_snippet(real_scores, fake_scores, moments):  # chapter 4's copied snippet, arccos
    def d(p):
        return torch.arccos(sphere.copied_snippet_projection(p)[:, -1])

    return sum((d(fake_scores) ** k).mean() - (d(real_scores) ** k).mean() for k in range(1, moments + 1))


def _pearson_no_eps(a, b):
    a, b = a - a.mean(-1, keepdim=True), b - b.mean(-1, keepdim=True)
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))


def _wdiv_per_coordinate(D, x_real, x_fake, k, p):  # |g_j|^p per pixel, not the norm per sample
    x = torch.cat([x_real, x_fake]).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return k * g.abs().pow(p).flatten(1).sum(1).mean()


WRONG = [  # (exercise, the mistake, what the report says)
    ("ns_g_loss", lambda f: -torch.log(torch.sigmoid(f)).mean(), "got inf"),
    ("ns_g_loss", lambda f: -torch.log(torch.sigmoid(f.double())).mean(), "got inf"),  # float64 is not enough
    ("ns_g_loss", lambda f: torch.log(1 - torch.sigmoid(f)).mean(), "values differ"),  # the saturating loss
    ("optimal_logit", lambda lp, lq: torch.logit(lp.double().exp() / (lp.double().exp() + lq.double().exp())),
     "values differ"),
    ("jsd_discrete", lambda p, q: ((p * torch.log(2 * p / (p + q))).sum(-1)
                                   + (q * torch.log(2 * q / (p + q))).sum(-1)) / 2, "values differ"),  # 0 log 0 = NaN
    ("jsd_discrete", lambda p, q: _jsd(p, q) / np.log(2), "values differ"),  # bits, not nats
    ("conv_transpose_output_size", lambda n, k, s, p, op: (n - 1) * s - 2 * p + k, "expected 14, got 13"),
    ("conv_transpose_output_size", lambda n, k, s, p, op: (n + 2 * p - k) // s + 1, "expected 8, got 2"),
    ("dcgan_up_block", lambda x, w, g, b: F.batch_norm(F.relu(F.conv_transpose2d(x, w, stride=2, padding=1)),
                                                         None, None, g, b, training=True), "values differ"),
    ("dcgan_up_block", lambda x, w, g, b: F.relu(F.batch_norm(
        F.conv_transpose2d(x, w, stride=2, padding=1), torch.zeros(w.shape[1]), torch.ones(w.shape[1]), g, b)),
     "values differ"),  # batch norm in evaluation mode
    ("stable_bce_with_logits", lambda t, y: F.binary_cross_entropy(torch.sigmoid(t), y), "values differ"),
    ("stable_bce_with_logits", lambda t, y: -(y * torch.log(torch.sigmoid(t.double()))
                                              + (1 - y) * torch.log(1 - torch.sigmoid(t.double()))).mean(),
     "values differ"),
    ("normalised_spectrum", lambda W: torch.linalg.svdvals(W / torch.linalg.matrix_norm(W)), "values differ"),
    ("static_compensation", lambda W, top: W / torch.linalg.svdvals(W)[0], "values differ"),
    ("static_compensation", _static_off_by_one, "values differ"),
    ("mode_coverage", _coverage_any_nearest, r"output\[0\]: expected \d+, got \d+"),
    ("mode_coverage", _coverage_box, r"output\[1\]"),
    ("inverse_stereographic", sphere.copied_snippet_projection, "values differ"),  # chapter 4's erratum
    ("inverse_stereographic", lambda p: RIGHT["inverse_stereographic"](p).roll(1, dims=-1), "values differ"),
    ("pole_distance_from_p", lambda p: torch.arccos(losses.inverse_stereographic(p)[..., -1]), "values differ"),
    ("sphere_d_loss", lambda r, f, R: (_pole_distance(f) ** R).mean() - (_pole_distance(r) ** R).mean(),
     "values differ"),  # the last moment only
    ("sphere_d_loss", lambda r, f, R: -_sphere_d_loss(r, f, R), "values differ"),
    ("sphere_d_loss", _sphere_d_loss_snippet, "values differ"),
    ("pearson_rows", _pearson_no_eps, "nan"),
    ("ogan_d_loss", lambda *a: _ogan_d_loss(*a, lam=1.0), "values differ"),
    ("ogan_d_loss", lambda rs, fs, z, xr, xf: _ogan_d_loss(rs, fs, z, xr, xf) + _pearson_numpy(z, fs).mean(),
     "values differ"),  # the correlation with the wrong sign
    ("mse_parts", lambda z, e: _mse_parts(z, e, unbiased=True), "values differ"),
    ("interpolate", lambda x_real, x_fake, eps: eps[:, None] * x_real + (1 - eps[:, None]) * x_fake,
     "raised RuntimeError|values differ"),  # broadcasts against the image axes
    ("interpolate", lambda x_real, x_fake, eps: (lambda e: e * x_real + (1 - e) * x_fake)(
        torch.rand_like(x_real)), "values differ"),  # one weight per pixel
    ("wdiv_penalty_pool", lambda *a: _wdiv_pool(*a, create_graph=False), "create_graph=True"),
    ("wdiv_penalty_pool", _wdiv_per_coordinate, "values differ"),
    ("wdiv_optimal_slope", lambda d, k, P, r: -torch.sign(d) * (d.abs() / (k * P * r)) ** (1 / P), "values differ"),
    ("wdiv_optimal_slope", lambda d, k, P, r: -RIGHT["wdiv_optimal_slope"](d, k, P, r), "values differ"),
]


@pytest.mark.parametrize("name", sorted(exercises.EXERCISES))
def test_the_reference_and_an_independent_answer_pass(name):
    assert exercises.check(name, exercises.EXERCISES[name].solution, verbose=False) == 5
    assert exercises.check(name, RIGHT[name], verbose=False) == 5


@pytest.mark.parametrize("name,wrong,match", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_the_mistake_the_exercise_warns_about_fails(name, wrong, match):
    with pytest.raises(exercises.ExerciseFailed, match=match):
        exercises.check(name, wrong, verbose=False)


def test_every_exercise_has_an_independent_answer_and_a_mistake_it_rejects():
    assert set(RIGHT) == set(exercises.EXERCISES)
    assert {name for name, _, _ in WRONG} == set(exercises.EXERCISES)


# ----------------------------------------------------------------------------- the checker itself
def test_a_right_answer_passes_and_says_so(capsys):
    assert exercises.check("ns_g_loss", RIGHT["ns_g_loss"]) == 5
    assert "all 5 checks passed" in capsys.readouterr().out


def test_fixed_cases_come_first():
    seen = []
    exercises.check("conv_transpose_output_size", lambda *a: seen.append(a) or RIGHT["conv_transpose_output_size"](*a),
                    verbose=False)
    assert seen[:3] == list(exercises.EXERCISES["conv_transpose_output_size"].cases) and len(seen) == 5


def test_a_wrong_answer_is_explained():
    with pytest.raises(exercises.ExerciseFailed, match="values differ"):
        exercises.check("ns_g_loss", lambda f: torch.nn.functional.softplus(f).mean())


def test_a_wrong_shape_is_explained():
    with pytest.raises(exercises.ExerciseFailed, match=r"expected shape \(\)"):
        exercises.check("ns_g_loss", lambda f: torch.nn.functional.softplus(-f))


def test_a_wrong_type_is_explained():
    with pytest.raises(exercises.ExerciseFailed, match="expected a number or tensor"):
        exercises.check("ns_g_loss", lambda f: "softplus")


def test_an_answer_that_crashes_is_reported():
    with pytest.raises(exercises.ExerciseFailed, match="raised ZeroDivisionError"):
        exercises.check("ns_g_loss", lambda f: 1 / 0)


def test_unknown_exercise():
    with pytest.raises(ConfigError, match="ns_g_loss"):
        exercises.check("ns_g_los", lambda f: f)
