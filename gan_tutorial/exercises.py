"""Checkers for the book's exercises.

An exercise names a reference function from the package and a way to draw random inputs.
``check(name, your_function)`` calls both on the same inputs several times and reports the
first difference it finds: which input, the expected and the obtained value or shape.

    >>> from gan_tutorial import exercises
    >>> exercises.check("ns_g_loss", my_ns_g_loss)   # prints what passed, or raises

Chapters register their exercises with :func:`exercise`.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from . import losses
from .errors import GanTutorialError, unknown_name


class ExerciseFailed(GanTutorialError, AssertionError):
    """Raised by :func:`check` with a message that says what differs."""


@dataclass(frozen=True)
class Exercise:
    """A reference ``solution``, a ``make_inputs(generator) -> tuple`` and tolerances."""

    name: str
    solution: Callable
    make_inputs: Callable[[torch.Generator], tuple]
    description: str = ""
    atol: float = 1e-5
    rtol: float = 1e-4


EXERCISES: dict[str, Exercise] = {}


def exercise(name: str, solution: Callable, make_inputs: Callable[[torch.Generator], tuple],
             description: str = "", atol: float = 1e-5, rtol: float = 1e-4) -> Exercise:
    """Register an exercise whose answer must agree with ``solution`` on random inputs."""
    EXERCISES[name] = Exercise(name, solution, make_inputs, description, atol, rtol)
    return EXERCISES[name]


def _describe(value) -> str:
    if isinstance(value, Tensor):
        return f"tensor of shape {tuple(value.shape)}"
    return repr(value)


def _compare(expected, got, ex: Exercise, where: str) -> str | None:
    """None if ``got`` matches ``expected``, else a sentence saying what differs."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"{where}: expected a sequence of {len(expected)} values, got {_describe(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            msg = _compare(e, g, ex, f"{where}[{i}]")
            if msg:
                return msg
        return None
    if isinstance(expected, Tensor) or isinstance(got, Tensor):
        got_t = torch.as_tensor(got.detach() if isinstance(got, Tensor) else got).to(torch.float64)
        exp_t = torch.as_tensor(expected.detach() if isinstance(expected, Tensor) else expected)
        exp_t = exp_t.to(torch.float64)
        if got_t.shape != exp_t.shape:
            return f"{where}: expected shape {tuple(exp_t.shape)}, got {tuple(got_t.shape)}"
        if not torch.allclose(got_t, exp_t, atol=ex.atol, rtol=ex.rtol, equal_nan=True):
            diff = (got_t - exp_t).abs()
            i = int(torch.nan_to_num(diff, nan=float("inf")).argmax())
            return (f"{where}: values differ (largest difference {float(diff.flatten()[i]):.3g} at "
                    f"flat index {i}: expected {float(exp_t.flatten()[i]):.6g}, "
                    f"got {float(got_t.flatten()[i]):.6g})")
        return None
    if expected != got:
        return f"{where}: expected {expected!r}, got {got!r}"
    return None


def check(name: str, answer: Callable, trials: int = 5, seed: int = 0, verbose: bool = True) -> int:
    """Run ``answer`` against the reference of exercise ``name`` on ``trials`` random inputs.

    Returns the number of trials passed (all of them); raises :class:`ExerciseFailed` with a
    description of the first difference otherwise.
    """
    if name not in EXERCISES:
        raise unknown_name("exercise", name, EXERCISES)
    ex = EXERCISES[name]
    g = torch.Generator().manual_seed(seed)
    for t in range(trials):
        inputs = ex.make_inputs(g)
        expected = ex.solution(*inputs)
        try:
            got = answer(*[i.clone() if isinstance(i, Tensor) else i for i in inputs])
        except Exception as exc:
            shapes = ", ".join(_describe(i) for i in inputs)
            raise ExerciseFailed(f"{name}: your function raised {type(exc).__name__}: {exc} "
                                 f"(inputs: {shapes})") from exc
        msg = _compare(expected, got, ex, "output")
        if msg:
            shapes = ", ".join(_describe(i) for i in inputs)
            raise ExerciseFailed(f"{name}, trial {t + 1} (inputs: {shapes}): {msg}")
    if verbose:
        print(f"{name}: all {trials} checks passed.")
    return trials


def _lazy(module: str, name: str) -> Callable:
    """``gan_tutorial.<module>.<name>``, imported at its first call.

    The reference solutions that live in ``theory/`` modules load sympy; importing them
    lazily keeps ``import gan_tutorial.exercises`` light.
    """

    def call(*args):
        return getattr(importlib.import_module(f"gan_tutorial.{module}"), name)(*args)

    call.__name__ = call.__qualname__ = name
    return call


# ----------------------------------------------------------------------------- chapter 1
def _logit_batch(g: torch.Generator) -> tuple[Tensor]:
    n = int(torch.randint(1, 64, (1,), generator=g))
    return (torch.randn(n, generator=g) * 5,)  # logits, some of them confident


exercise("ns_g_loss", losses.ns_g_loss, _logit_batch,
         "The non-saturating generator loss -E log sigmoid(f) from D's logits f, stable for "
         "large |f|.")


# ---- chapter 1: the optimal discriminator and the JSD (solutions in theory/minimax.py) ----
_optimal_logit = _lazy("theory.minimax", "optimal_logit")


def _log_density_pair(g: torch.Generator) -> tuple[Tensor, Tensor]:
    n = int(torch.randint(1, 64, (1,), generator=g))
    # log densities far in the tails too: exp() of them underflows to 0 in float32
    return (-torch.rand(n, generator=g) * 300, -torch.rand(n, generator=g) * 300)


exercise("optimal_logit", _optimal_logit, _log_density_pair,
         "The logit of the optimal discriminator, sigmoid^-1(p/(p+q)), from the log densities "
         "log p(x) and log q(x); finite even where p(x) and q(x) underflow to 0.")


_jsd_discrete = _lazy("theory.minimax", "jsd_discrete")


def _distribution_pairs(g: torch.Generator) -> tuple[Tensor, Tensor]:
    b, k = int(torch.randint(1, 8, (1,), generator=g)), int(torch.randint(2, 7, (1,), generator=g))

    def rows() -> Tensor:
        w = torch.rand(b, k, generator=g, dtype=torch.float64)
        w = w * (torch.rand(b, k, generator=g) > 0.3)  # some zero probabilities
        w[:, 0] += 1e-3 * (w.sum(1) == 0)  # no empty row
        return w / w.sum(1, keepdim=True)

    p, q = rows(), rows()
    one_hot = torch.eye(k, dtype=torch.float64)
    # always include p = q (JSD 0) and disjoint supports (JSD log 2)
    return torch.cat([p, p[:1], one_hot[:1]]), torch.cat([q, p[:1], one_hot[1:2]])


exercise("jsd_discrete", _jsd_discrete, _distribution_pairs,
         "The Jensen-Shannon divergence in nats between the rows of p and q (B, k), which may "
         "hold zero probabilities (0 log 0 = 0); returns (B,).", atol=1e-8, rtol=1e-6)


# ---- chapter 2: DCGAN (solutions in theory/dcgan.py) ----
_conv_transpose_output_size = _lazy("theory.dcgan", "conv_transpose_output_size")


def _conv_transpose_settings(g: torch.Generator) -> tuple[int, int, int, int, int]:
    def draw(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    size, kernel, stride = draw(1, 32), draw(1, 7), draw(1, 3)
    padding = draw(0, (kernel - 1) // 2)
    return size, kernel, stride, padding, draw(0, stride - 1)


exercise("conv_transpose_output_size", _conv_transpose_output_size, _conv_transpose_settings,
         "The side of ConvTranspose2d's output for an input side `size`, given kernel, stride, "
         "padding and output_padding (all integers).")


_dcgan_up_block = _lazy("theory.dcgan", "dcgan_up_block")


def _up_block_inputs(g: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    b, c_in, c_out, h = (int(torch.randint(lo, hi, (1,), generator=g))
                         for lo, hi in ((2, 6), (1, 5), (1, 5), (1, 8)))
    return (torch.randn(b, c_in, h, h, generator=g), 0.2 * torch.randn(c_in, c_out, 4, 4, generator=g),
            1 + 0.1 * torch.randn(c_out, generator=g), 0.1 * torch.randn(c_out, generator=g))


exercise("dcgan_up_block", _dcgan_up_block, _up_block_inputs,
         "One DCGAN generator block in training mode, ReLU(BatchNorm(ConvTranspose2d(x))), with "
         "kernel 4, stride 2, padding 1, no conv bias; weight (C_in, C_out, 4, 4), batch-norm "
         "scale gamma and shift beta (C_out,); returns (B, C_out, 2H, 2W).")


_stable_bce_with_logits = _lazy("theory.dcgan", "stable_bce_with_logits")


def _logits_and_labels(g: torch.Generator) -> tuple[Tensor, Tensor]:
    n = int(torch.randint(1, 64, (1,), generator=g))
    logits = torch.randn(n, generator=g) * 10
    logits[:4] = torch.tensor([-200.0, -30.0, 30.0, 200.0])[:n]  # where sigmoid saturates
    labels = (torch.rand(n, generator=g) < 0.5).float()
    labels[n // 2:] = torch.rand(n - n // 2, generator=g)  # soft labels too
    return logits, labels


exercise("stable_bce_with_logits", _stable_bce_with_logits, _logits_and_labels,
         "The mean binary cross-entropy of sigmoid(logits) against labels in [0, 1], computed "
         "from the logits without overflow or saturation (logits up to +-200).")


# ---- chapter 6: spectra, spectral regularization, mode coverage ----
def _normalised_spectrum(W: Tensor) -> Tensor:
    return torch.linalg.svdvals(W.to(torch.float64)) / torch.linalg.matrix_norm(
        W.to(torch.float64), ord=2)


def _weight_matrix(g: torch.Generator) -> tuple[Tensor]:
    m, n = (int(torch.randint(1, 9, (1,), generator=g)) for _ in range(2))
    return (torch.randn(m, n, generator=g, dtype=torch.float64),)


exercise("normalised_spectrum", _normalised_spectrum, _weight_matrix,
         "The singular values of a weight W (m, n), largest first, divided by the largest: "
         "the spectrum of the spectrally normalised weight W / sigma_1(W); returns (min(m, n),).",
         atol=1e-10, rtol=1e-8)


def _static_sr(W: Tensor, top: int) -> Tensor:
    from .regularizers import spectral_regularized_weight

    return spectral_regularized_weight(W, "static", top)


def _weight_and_top(g: torch.Generator) -> tuple[Tensor, int]:
    (W,) = _weight_matrix(g)
    return W, int(torch.randint(1, min(W.shape) + 1, (1,), generator=g))


exercise("static_compensation", _static_sr, _weight_and_top,
         "Spectral regularization with static compensation: W_SR = (W + Delta W) / sigma_1 where "
         "Delta W = U diag(sigma_1 - sigma_j for j <= top, 0 after) V^T; W (m, n), top >= 1.",
         atol=1e-10, rtol=1e-8)


def _coverage(samples: Tensor, centers: Tensor, std: float) -> tuple[int, float]:
    from .metrics import mode_coverage

    m = mode_coverage(samples, centers, std)
    return m["modes"], m["high_quality"]


def _samples_near_centres(g: torch.Generator) -> tuple[Tensor, Tensor, float]:
    k, n = int(torch.randint(2, 9, (1,), generator=g)), int(torch.randint(1, 200, (1,), generator=g))
    centers = 4 * torch.randn(k, 2, generator=g, dtype=torch.float64)
    pick = torch.randint(0, max(1, k - 1), (n,), generator=g)  # the last mode is never drawn
    spread = torch.rand(n, 1, generator=g, dtype=torch.float64) * 0.3  # some beyond 3 std
    return centers[pick] + spread * torch.randn(n, 2, generator=g, dtype=torch.float64), centers, 0.05


exercise("mode_coverage", _coverage, _samples_near_centres,
         "Score samples (n, 2) against mode centres (k, 2) with std: return (modes, high_quality), "
         "the number of modes holding a sample within 3 std of it (as its nearest centre) and the "
         "fraction of samples within 3 std of their nearest centre.")


# ---- chapter 4: Sphere GAN (solutions in losses.py) ----
def _log_uniform_norms(g: torch.Generator, lo: float, hi: float) -> Tensor:
    """Points ``(B, n)`` in float64 with norms spread log-uniformly in ``[lo, hi]``, and a 0 row."""
    b, n = int(torch.randint(2, 40, (1,), generator=g)), int(torch.randint(1, 9, (1,), generator=g))
    v = torch.randn(b, n, generator=g, dtype=torch.float64)
    r = torch.exp(math.log(lo) + torch.rand(b, 1, generator=g, dtype=torch.float64) * math.log(hi / lo))
    u = v / v.norm(dim=1, keepdim=True) * r
    u[0] = 0.0  # the south pole
    return u


exercise("inverse_stereographic", losses.inverse_stereographic,
         lambda g: (_log_uniform_norms(g, 1e-3, 1e3),),
         "The inverse stereographic projection of p (B, n) onto the unit sphere S^n, north pole "
         "(0, ..., 0, 1) last: returns (B, n + 1).", atol=1e-10, rtol=1e-8)


def _pole_distance_from_p(p: Tensor) -> Tensor:
    return losses.pole_distance(losses.inverse_stereographic(p))


exercise("pole_distance_from_p", _pole_distance_from_p,
         lambda g: (_log_uniform_norms(g, 1e-4, 1e12),),
         "The geodesic distance from Pi^-1(p) to the north pole, for p (B, n); returns (B,). "
         "Checked to a relative error of 1e-9 for |p| up to 1e12, where arccos of the last "
         "coordinate has lost most of its digits.", atol=0.0, rtol=1e-9)


def _sphere_scores(g: torch.Generator) -> tuple[Tensor, Tensor, int]:
    real, fake = _log_uniform_norms(g, 1e-2, 1e2), _log_uniform_norms(g, 1e-2, 1e2)
    n = min(real.shape[1], fake.shape[1])
    return real[:, :n], fake[:, :n], int(torch.randint(1, 5, (1,), generator=g))


exercise("sphere_d_loss", losses.sphere_d_loss, _sphere_scores,
         "Sphere GAN's D loss from D's linear outputs real_scores (B, n), fake_scores (B', n) and "
         "the number of moments R: minus sum_{r=1..R} [mean d_real^r - mean d_fake^r], with d "
         "the geodesic distance of Pi^-1(p) to the north pole.", atol=1e-10, rtol=1e-8)


# ---- chapter 5: O-GAN (solutions in losses.py and theory/orthogonal.py) ----
def _correlated_rows(g: torch.Generator) -> tuple[Tensor, Tensor]:
    b, n = int(torch.randint(2, 9, (1,), generator=g)), int(torch.randint(3, 65, (1,), generator=g))
    a = torch.randn(b, n, generator=g, dtype=torch.float64) * 3 + 1
    e = 0.5 * a + torch.randn(b, n, generator=g, dtype=torch.float64)
    e[0] = 2.5 * a[0] - 4.0  # an affine image: rho = 1
    e[-1] = 0.25  # a constant row: rho must be 0, not NaN
    return a, e


exercise("pearson_rows", losses.pearson, _correlated_rows,
         "The Pearson correlation of the rows of a and b (B, n), returns (B,); a constant row "
         "gives 0 (put a small eps, e.g. 1e-8, under the square root of the variance).",
         atol=1e-6, rtol=1e-6)


def _ogan_d_loss(real_scores: Tensor, fake_scores: Tensor, z: Tensor, x_real: Tensor,
                 x_fake: Tensor) -> Tensor:
    return losses.get_loss("ogan").d_loss(real_scores, fake_scores, z=z, x_real=x_real, x_fake=x_fake)


def _ogan_inputs(g: torch.Generator) -> tuple[Tensor, ...]:
    b, n = int(torch.randint(2, 17, (1,), generator=g)), int(torch.randint(3, 33, (1,), generator=g))
    return (torch.randn(b, n, generator=g), torch.randn(b, n, generator=g),
            torch.randn(b, n, generator=g), torch.rand(b, 1, 6, 6, generator=g) * 2 - 1,
            torch.rand(b, 1, 6, 6, generator=g) * 2 - 1)


exercise("ogan_d_loss", _ogan_d_loss, _ogan_inputs,
         "O-GAN's D loss with the GAN-QP base: with D(x) = avg(E(x)) and Δ = D(x_real) - D(x_fake) "
         "per pair, mean(-Δ + Δ² / (4 · mean over pixels of (x_real - x_fake)²)) - 0.5 · mean "
         "rho(z, E(G(z))); inputs real_scores = E(x_real), fake_scores = E(G(z)), z, x_real, x_fake.")


_mse_parts = _lazy("theory.orthogonal", "mse_parts")


def _mse_inputs(g: torch.Generator) -> tuple[Tensor, Tensor]:
    z, e = _correlated_rows(g)
    return z, e * 0.3 + 0.5


exercise("mse_parts", _mse_parts, _mse_inputs,
         "Split the mean squared error mean((z - e)², -1) of rows (B, n) into ((avg z - avg e)², "
         "(std z - std e)², 2 std z std e (1 - rho(z, e))), std with 1/n; each (B,).",
         atol=1e-8, rtol=1e-6)


# ---- chapter 3: interpolates, the W-div penalty, the optimal 1-D critic ----
def _interpolate(x_real: Tensor, x_fake: Tensor, eps: Tensor) -> Tensor:
    return eps.reshape((len(eps),) + (1,) * (x_real.ndim - 1)) * x_real + \
        (1 - eps.reshape((len(eps),) + (1,) * (x_real.ndim - 1))) * x_fake


def _image_pairs(g: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    b, c, s = (int(torch.randint(lo, hi, (1,), generator=g)) for lo, hi in ((1, 9), (1, 4), (2, 6)))
    return (torch.randn(b, c, s, s, generator=g), torch.randn(b, c, s, s, generator=g),
            torch.rand(b, generator=g))


exercise("interpolate", _interpolate, _image_pairs,
         "Per-sample interpolates eps_i x_real_i + (1 - eps_i) x_fake_i of image batches "
         "(B, C, H, W), with one weight eps_i per sample given as eps (B,).")


class _TinyCritic(torch.nn.Module):
    """A small smooth critic on flattened inputs, with random float64 weights."""

    def __init__(self, d: int, g: torch.Generator):
        super().__init__()
        self.w1 = torch.nn.Parameter(torch.randn(d, 6, generator=g, dtype=torch.float64) / d ** 0.5)
        self.w2 = torch.nn.Parameter(torch.randn(6, generator=g, dtype=torch.float64))

    def forward(self, x: Tensor) -> Tensor:
        return torch.tanh(x.reshape(len(x), -1) @ self.w1) @ self.w2  # (B,)


def _wdiv_pool(D, x_real: Tensor, x_fake: Tensor, k: float, p: float) -> Tensor:
    from . import regularizers

    return regularizers.wdiv_penalty(D, x_real, x_fake, k=k, p=p, sampling="pool")


def _critic_inputs(g: torch.Generator) -> tuple:
    b, c, s = (int(torch.randint(lo, hi, (1,), generator=g)) for lo, hi in ((1, 9), (1, 3), (2, 5)))
    D = _TinyCritic(c * s * s, g)
    k = float(torch.rand(1, generator=g)) * 3 + 0.5
    p = float(torch.rand(1, generator=g)) * 5 + 1.5
    return (D, torch.randn(b, c, s, s, generator=g, dtype=torch.float64),
            torch.randn(b, c, s, s, generator=g, dtype=torch.float64), k, p)


exercise("wdiv_penalty_pool", _wdiv_pool, _critic_inputs,
         "k times the mean of |grad_x D(x)|^p over the real and the fake samples together "
         "(2B points), the norm over each whole flattened sample; differentiable in D's "
         "weights (create_graph=True).", atol=1e-9, rtol=1e-7)


_wdiv_slope = _lazy("theory.wasserstein", "wdiv_optimal_slope")


def _slope_inputs(g: torch.Generator) -> tuple:
    n = int(torch.randint(1, 50, (1,), generator=g))
    delta = torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1  # F_p - F_q in [-1, 1]
    delta[0] = 0.0
    return (delta, float(torch.rand(1, generator=g)) * 3 + 0.1,
            float(torch.rand(1, generator=g)) * 6 + 1.5, float(torch.rand(1, generator=g)) + 0.05)


exercise("wdiv_optimal_slope", _wdiv_slope, _slope_inputs,
         "The optimal critic's slope T'(x) of the 1-D W-divergence from Delta = F_p - F_q (n,), "
         "k, the exponent P and the density r of the uniform r(x).", atol=1e-9, rtol=1e-7)
