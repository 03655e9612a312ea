"""Differentiable augmentation of D's inputs: random translations (Zhao et al., 2020).

With few training images, D learns them by heart and its gradient stops telling G what a
real image looks like. Showing D every image, real and generated, shifted by a random
number of pixels (a new shift per sample and per forward pass) makes memorising harder; the
shift is a gather of pixels, so G still receives D's gradient through it. The same wrapper
serves D's step, G's step and the penalties, which all call D.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def translate(x: Tensor, max_shift: int) -> Tensor:
    """Shift each image of ``x`` ``(B, C, H, W)`` by its own random offset in ``[-max_shift, max_shift]``
    in each direction, filling the uncovered border by repeating the edge pixels. Differentiable in ``x``.

    The offsets come from torch's global generator on ``x``'s device (saved in checkpoints).
    """
    if max_shift == 0:
        return x
    B, _, H, W = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s), mode="replicate")  # (B, C, H + 2s, W + 2s)
    dy, dx = torch.randint(0, 2 * s + 1, (2, B, 1), device=x.device)  # offsets into the padding
    rows = torch.arange(H, device=x.device)[None, :] + dy  # (B, H)
    cols = torch.arange(W, device=x.device)[None, :] + dx  # (B, W)
    batch = torch.arange(B, device=x.device)[:, None, None]
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (B, C, H, W)


class Translated(nn.Module):
    """``D`` seeing translated inputs while training: ``Translated(D, fraction)(x) = D(translate(x, s))``
    with ``s = round(fraction * side)``; in evaluation mode it is ``D`` itself."""

    def __init__(self, D: nn.Module, fraction: float):
        super().__init__()
        self.D, self.fraction = D, fraction

    def forward(self, x: Tensor) -> Tensor:
        shift = round(self.fraction * x.shape[-1])
        return self.D(translate(x, shift) if self.training else x)
