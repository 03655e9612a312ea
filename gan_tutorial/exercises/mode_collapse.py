"""Chapter 6's exercises: a normalised spectrum, static compensation, mode coverage.

Solutions in ``regularizers.py`` and ``metrics.py``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .checker import exercise


def _normalised_spectrum(W: Tensor) -> Tensor:
    return torch.linalg.svdvals(W.to(torch.float64)) / torch.linalg.matrix_norm(
        W.to(torch.float64), ord=2)


def _weight_matrix(g: torch.Generator) -> tuple[Tensor]:
    # at least 2 x 2: for a rank-one W the Frobenius norm equals sigma_1 and hides that mistake
    m, n = (int(torch.randint(2, 9, (1,), generator=g)) for _ in range(2))
    return (torch.randn(m, n, generator=g, dtype=torch.float64),)


exercise("normalised_spectrum", _normalised_spectrum, _weight_matrix,
         "The singular values of a weight W (m, n), largest first, divided by the largest: "
         "the spectrum of the spectrally normalised weight W / sigma_1(W) (not W divided by its "
         "Frobenius norm); returns (min(m, n),).", atol=1e-10, rtol=1e-8)


def _static_sr(W: Tensor, top: int) -> Tensor:
    from ..core.regularizers import spectral_regularized_weight

    return spectral_regularized_weight(W, "static", top)


def _weight_and_top(g: torch.Generator) -> tuple[Tensor, int]:
    (W,) = _weight_matrix(g)
    return W, int(torch.randint(1, min(W.shape) + 1, (1,), generator=g))


_W54 = torch.randn(5, 4, generator=torch.Generator().manual_seed(6), dtype=torch.float64)

exercise("static_compensation", _static_sr, _weight_and_top,
         "Spectral regularization with static compensation: W_SR = (W + Delta W) / sigma_1 where "
         "Delta W = U diag(sigma_1 - sigma_j for j <= top, 0 after) V^T; W (m, n), top >= 1 "
         "counts sigma_1 itself.", atol=1e-10, rtol=1e-8,
         # top = 2 and 3 on one 5 x 4 weight: an off-by-one in top, or no lift at all, shows
         cases=((_W54, 2), (_W54, 3)))


def _coverage(samples: Tensor, centers: Tensor, std: float) -> tuple[int, float]:
    from ..evaluation.metrics import mode_coverage

    m = mode_coverage(samples, centers, std)
    return m["modes"], m["high_quality"]


def _samples_near_centres(g: torch.Generator) -> tuple[Tensor, Tensor, float]:
    """Samples around all centres but the last, some beyond 3 std, plus two that expose mistakes.

    One sample lies 5 std from the last centre (its nearest): the last mode holds no
    high-quality sample, so it is not covered although a sample is nearest to it. One lies
    at (2.5, 2.5) std from the first centre, inside the square of side 6 std around it but
    3.54 std away: not high quality.
    """
    k, n = int(torch.randint(3, 9, (1,), generator=g)), int(torch.randint(1, 200, (1,), generator=g))
    centers = 4 * torch.randn(k, 2, generator=g, dtype=torch.float64)
    std = 0.05
    pick = torch.randint(0, k - 1, (n,), generator=g)  # the last mode is never drawn
    spread = torch.rand(n, 1, generator=g, dtype=torch.float64) * 0.3  # some beyond 3 std
    samples = centers[pick] + spread * torch.randn(n, 2, generator=g, dtype=torch.float64)
    others = centers[:-1] - centers[-1]
    away = -others[others.norm(dim=1).argmin()]  # from the last centre, away from its nearest neighbour
    outlier = centers[-1] + 5 * std * away / away.norm()
    corner = centers[0] + 2.5 * std * torch.ones(2, dtype=torch.float64)
    return torch.cat([samples, outlier[None], corner[None]]), centers, std


exercise("mode_coverage", _coverage, _samples_near_centres,
         "Score samples (n, 2) against mode centres (k, 2) with std: return (modes, high_quality), "
         "the number of modes holding a sample within 3 std of it (as its nearest centre) and the "
         "fraction of samples within 3 std (Euclidean distance) of their nearest centre.")
