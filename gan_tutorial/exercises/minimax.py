"""Chapter 1's exercises: the non-saturating loss, the optimal discriminator's logit, the JSD.

Solutions in ``losses.py`` and ``theory/minimax.py``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..core import losses
from .checker import exercise, lazy

# logits where sigmoid rounds to 0 or 1: in float32 beyond about 17 and 104, in float64 beyond 37 and 745
EXTREME_LOGITS = (-1000.0, -200.0, -30.0, 30.0, 200.0, 1000.0)


def _logit_batch(g: torch.Generator) -> tuple[Tensor]:
    n = int(torch.randint(len(EXTREME_LOGITS), 64, (1,), generator=g))
    f = torch.randn(n, generator=g) * 5  # logits, some of them confident
    f[torch.randperm(n, generator=g)[:len(EXTREME_LOGITS)]] = torch.tensor(EXTREME_LOGITS)
    return (f,)


exercise("ns_g_loss", losses.ns_g_loss, _logit_batch,
         "The non-saturating generator loss -E log sigmoid(f) from D's logits f, finite for "
         "logits down to -1000 (where sigmoid(f) is 0 even in float64).")


def _log_density_pair(g: torch.Generator) -> tuple[Tensor, Tensor]:
    n = int(torch.randint(4, 64, (1,), generator=g))
    # log densities far in the tails too: exp() of them underflows to 0 in float32 (below
    # about -104) and, for the first rows, in float64 (below about -745)
    log_p, log_q = -torch.rand(n, generator=g) * 300, -torch.rand(n, generator=g) * 300
    log_p[:2], log_q[:2] = torch.tensor([-900.0, -1000.0]), torch.tensor([-1000.0, -850.0])
    return log_p, log_q


exercise("optimal_logit", lazy("theory.minimax", "optimal_logit"), _log_density_pair,
         "The logit of the optimal discriminator, sigmoid^-1(p/(p+q)), from the log densities "
         "log p(x) and log q(x); finite even where p(x) and q(x) underflow to 0, in float64 too.")


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


exercise("jsd_discrete", lazy("theory.minimax", "jsd_discrete"), _distribution_pairs,
         "The Jensen-Shannon divergence in nats between the rows of p and q (B, k), which may "
         "hold zero probabilities (0 log 0 = 0); returns (B,).", atol=1e-8, rtol=1e-6)
