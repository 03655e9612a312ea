"""Chapter 2's exercises: a transposed convolution's size, the generator block, a stable BCE.

Solutions in ``theory/dcgan.py``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .checker import exercise, lazy


def _conv_transpose_settings(g: torch.Generator) -> tuple[int, int, int, int, int]:
    def draw(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    size, kernel, stride = draw(1, 32), draw(1, 7), draw(1, 3)
    padding = draw(0, (kernel - 1) // 2)
    return size, kernel, stride, padding, draw(0, stride - 1)


exercise("conv_transpose_output_size", lazy("theory.dcgan", "conv_transpose_output_size"),
         _conv_transpose_settings,
         "The side of ConvTranspose2d's output for an input side `size`, given kernel, stride, "
         "padding and output_padding (all integers).",
         # DCGAN's doubling block (the convolution's own size formula gives 2, not 8), then an
         # output_padding that counts
         cases=((4, 4, 2, 1, 0), (7, 3, 2, 1, 1), (5, 5, 3, 2, 2)))


def _up_block_inputs(g: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    b, c_in, c_out, h = (int(torch.randint(lo, hi, (1,), generator=g))
                         for lo, hi in ((2, 6), (1, 5), (1, 5), (1, 8)))
    return (torch.randn(b, c_in, h, h, generator=g), 0.2 * torch.randn(c_in, c_out, 4, 4, generator=g),
            1 + 0.1 * torch.randn(c_out, generator=g), 0.1 * torch.randn(c_out, generator=g))


exercise("dcgan_up_block", lazy("theory.dcgan", "dcgan_up_block"), _up_block_inputs,
         "One DCGAN generator block in training mode, ReLU(BatchNorm(ConvTranspose2d(x))), with "
         "kernel 4, stride 2, padding 1, no conv bias; weight (C_in, C_out, 4, 4), batch-norm "
         "scale gamma and shift beta (C_out,); returns (B, C_out, 2H, 2W).")


def _logits_and_labels(g: torch.Generator) -> tuple[Tensor, Tensor]:
    n = int(torch.randint(4, 64, (1,), generator=g))
    logits = torch.randn(n, generator=g) * 10
    logits[:4] = torch.tensor([-200.0, -30.0, 30.0, 200.0])  # where sigmoid saturates
    labels = (torch.rand(n, generator=g) < 0.5).float()
    labels[n // 2:] = torch.rand(n - n // 2, generator=g)  # soft labels too
    labels[:4] = torch.tensor([1.0, 1.0, 0.0, 0.0])  # the confident mistakes: loss about |t|
    return logits, labels


exercise("stable_bce_with_logits", lazy("theory.dcgan", "stable_bce_with_logits"), _logits_and_labels,
         "The mean binary cross-entropy of sigmoid(logits) against labels in [0, 1], computed "
         "from the logits without overflow or saturation (logits up to +-200).")
