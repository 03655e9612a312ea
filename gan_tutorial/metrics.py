"""Metrics: mode coverage on the toy mixtures (more metrics come with the chapters)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def mode_coverage(samples: Tensor, centers: Tensor, std: float, threshold: float = 3.0) -> dict:
    """Score generated samples against a mixture with known ``centers`` ``(k, d)`` and ``std``.

    A sample is *high quality* when it lies within ``threshold * std`` (Euclidean distance)
    of its nearest centre, and then counts for that centre's mode. Returns

    * ``modes`` - the number of modes holding at least one high-quality sample;
    * ``high_quality`` - the fraction of all samples that are high quality;
    * ``per_mode`` - list of the number of high-quality samples in each mode;
    * ``reverse_kl`` - ``KL(q || uniform) = sum_i q_i log(k q_i)`` where ``q`` is the
      per-mode histogram of the high-quality samples (0 when every mode has the same share,
      ``log k`` when all fall in one mode, ``inf`` when there is no high-quality sample).

    This is the metric of VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018).
    """
    samples = samples.detach().reshape(len(samples), -1).to(torch.float64).cpu()
    centers = centers.detach().reshape(len(centers), -1).to(torch.float64).cpu()
    if samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples have dimension {samples.shape[1]} but the centres have "
                         f"{centers.shape[1]}: score samples of the same data set.")
    dist = torch.cdist(samples, centers)  # (n, k)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= threshold * std
    per_mode = torch.bincount(nearest[good], minlength=len(centers))
    n_good = int(good.sum())
    if n_good == 0:
        reverse_kl = math.inf
    else:
        q = per_mode.double() / n_good
        nz = q > 0
        reverse_kl = float((q[nz] * torch.log(q[nz] * len(centers))).sum())
    return {
        "modes": int((per_mode > 0).sum()),
        "high_quality": n_good / len(samples) if len(samples) else 0.0,
        "per_mode": per_mode.tolist(),
        "reverse_kl": reverse_kl,
    }
