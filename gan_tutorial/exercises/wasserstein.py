"""Chapter 3's exercises: per-sample interpolates, the pooled W-div penalty, the optimal 1-D critic.

Solutions in ``regularizers.py`` and ``theory/wasserstein.py``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .checker import exercise, lazy


def _interpolate(x_real: Tensor, x_fake: Tensor, eps: Tensor) -> Tensor:
    e = eps.reshape((len(eps),) + (1,) * (x_real.ndim - 1))  # (B, 1, 1, 1)
    return e * x_real + (1 - e) * x_fake


def _image_pairs(g: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    b, c, s = (int(torch.randint(lo, hi, (1,), generator=g)) for lo, hi in ((2, 9), (1, 4), (2, 6)))
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
    from ..core import regularizers

    return regularizers.wdiv_penalty(D, x_real, x_fake, k=k, p=p, sampling="pool")


def _critic_inputs(g: torch.Generator) -> tuple:
    b, c, s = (int(torch.randint(lo, hi, (1,), generator=g)) for lo, hi in ((1, 9), (1, 3), (2, 5)))
    D = _TinyCritic(c * s * s, g)
    k = float(torch.rand(1, generator=g)) * 3 + 0.5
    p = float(torch.rand(1, generator=g)) * 5 + 1.5
    return (D, torch.randn(b, c, s, s, generator=g, dtype=torch.float64),
            torch.randn(b, c, s, s, generator=g, dtype=torch.float64), k, p)


def _with_weight_gradients(inputs: tuple, penalty) -> tuple:
    """The penalty and its gradients in D's weights: a penalty that D's step cannot use differs."""
    D = inputs[0]
    if not isinstance(penalty, Tensor) or penalty.grad_fn is None:
        raise ValueError("the penalty does not depend on D's weights (no autograd graph): take the "
                         "gradient in x with create_graph=True, so that D's step can back-propagate "
                         "through it")
    return (penalty, *torch.autograd.grad(penalty, list(D.parameters()), allow_unused=True, retain_graph=True))


exercise("wdiv_penalty_pool", _wdiv_pool, _critic_inputs,
         "k times the mean of |grad_x D(x)|^p over the real and the fake samples together "
         "(2B points), the norm over each whole flattened sample; differentiable in D's "
         "weights (create_graph=True): its gradients in D's weights are compared too.",
         atol=1e-9, rtol=1e-7, compare_as=_with_weight_gradients)


def _slope_inputs(g: torch.Generator) -> tuple:
    n = int(torch.randint(1, 50, (1,), generator=g))
    delta = torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1  # F_p - F_q in [-1, 1]
    delta[0] = 0.0
    return (delta, float(torch.rand(1, generator=g)) * 3 + 0.1,
            float(torch.rand(1, generator=g)) * 6 + 1.5, float(torch.rand(1, generator=g)) + 0.05)


exercise("wdiv_optimal_slope", lazy("theory.wasserstein", "wdiv_optimal_slope"), _slope_inputs,
         "The optimal critic's slope T'(x) of the 1-D W-divergence from Delta = F_p - F_q (n,), "
         "k, the exponent P and the density r of the uniform r(x).", atol=1e-9, rtol=1e-7)
