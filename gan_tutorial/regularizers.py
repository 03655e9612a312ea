"""Regularizers of the discriminator: pure functions that return an unweighted scalar.

The training step multiplies a penalty by its weight (``GANLoss.penalty_weight`` or
``TrainConfig.penalty_weight``) and adds it to D's loss. :data:`PENALTIES` maps the names
that :class:`gan_tutorial.losses.GANLoss` uses to the functions.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

PENALTIES: dict[str, Callable[..., Tensor]] = {}


@torch.no_grad()
def clip_weights(D: nn.Module, bound: float) -> None:
    """Clip every parameter of D into ``[-bound, bound]`` (the original WGAN's constraint)."""
    for p in D.parameters():
        p.clamp_(-bound, bound)
