"""The Frechet distance between two Gaussians, and the statistics it compares (the formula of FID)."""

from __future__ import annotations

import torch
from torch import Tensor


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """Frechet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    ``d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2})`` (Dowson and
    Landau, 1982), the formula of FID (Heusel et al., 2017). The trace of the matrix square
    root is computed as ``Tr((s1^{1/2} sigma2 s1^{1/2})^{1/2})``, the sum of the square roots of
    the eigenvalues of a symmetric positive semi-definite matrix, in float64.
    """
    mu1, mu2 = mu1.to(torch.float64), mu2.to(torch.float64)
    s1, s2 = sigma1.to(torch.float64), sigma2.to(torch.float64)
    evals, evecs = torch.linalg.eigh(s1)
    root1 = evecs @ torch.diag(evals.clamp(min=0).sqrt()) @ evecs.T
    middle = root1 @ s2 @ root1
    tr_covmean = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr_covmean)


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean ``(d,)`` and unbiased covariance ``(d, d)`` of ``features`` ``(n, d)``, in float64."""
    f = features.detach().to(torch.float64).cpu()
    return f.mean(0), torch.cov(f.T)
