"""Chapter 5's exercises: the row-wise Pearson correlation, O-GAN's D loss, the parts of a squared error.

Solutions in ``losses.py`` and ``theory/orthogonal.py``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..core import losses
from .checker import exercise, lazy


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


def _mse_inputs(g: torch.Generator) -> tuple[Tensor, Tensor]:
    z, e = _correlated_rows(g)
    return z, e * 0.3 + 0.5


exercise("mse_parts", lazy("theory.orthogonal", "mse_parts"), _mse_inputs,
         "Split the mean squared error mean((z - e)², -1) of rows (B, n) into ((avg z - avg e)², "
         "(std z - std e)², 2 std z std e (1 - rho(z, e))), std with 1/n; each (B,).",
         atol=1e-8, rtol=1e-6)
