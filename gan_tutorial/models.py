"""Generators and discriminators: MLPs for low-dimensional data, DCGAN for 28x28 and 32x32.

Conventions used everywhere in the course:

* a generator ``G`` maps ``z`` ``(B, latent_dim)`` to a sample shaped like the data, and
  exposes ``G.latent_dim`` and ``G.out_shape``;
* a discriminator ``D`` maps a batch to *scores*: ``(B,)`` raw logits by default, or
  ``(B, out_dim)`` for methods whose D has a vector output (Sphere GAN, O-GAN).
  No sigmoid at the end: the losses work on logits (see chapter 2 for why).
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import ConfigError


def _positive(**sizes: int) -> None:
    for name, v in sizes.items():
        if not isinstance(v, int) or v <= 0:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}.")


def _score_head(out: torch.Tensor, out_dim: int | None) -> torch.Tensor:
    """``(B, k)`` -> ``(B,)`` for a scalar D (``out_dim=None``), unchanged otherwise."""
    return out.reshape(len(out), -1).squeeze(1) if out_dim is None else out.reshape(len(out), out_dim)


# ----------------------------------------------------------------------------- MLPs
class MLPGenerator(nn.Module):
    """z ``(B, latent_dim)`` -> x ``(B, out_dim)``: ``depth`` hidden ReLU layers, linear output."""

    def __init__(self, latent_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        _positive(latent_dim=latent_dim, out_dim=out_dim, hidden=hidden, depth=depth)
        self.latent_dim, self.out_shape = latent_dim, (out_dim,)
        layers, width = [], latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, out_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """x ``(B, in_dim)`` -> scores ``(B,)`` (or ``(B, out_dim)``): LeakyReLU(0.2) hidden layers."""

    def __init__(self, in_dim: int = 2, hidden: int = 128, depth: int = 3,
                 out_dim: int | None = None):
        super().__init__()
        _positive(in_dim=in_dim, hidden=hidden, depth=depth)
        if out_dim is not None:
            _positive(out_dim=out_dim)
        self.in_shape, self.out_dim = (in_dim,), out_dim
        layers, width = [], in_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, out_dim or 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _score_head(self.net(x.reshape(len(x), -1)), self.out_dim)


# ----------------------------------------------------------------------------- DCGAN
def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation (Radford et al., 2016): conv weights ~ N(0, 0.02), BN gamma ~ N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _base_size(image_size: int) -> int:
    if image_size not in (28, 32):
        raise ConfigError(f"DCGAN models here support image_size 28 or 32, got {image_size!r}.")
    return 7 if image_size == 28 else 4  # 7 -> 14 -> 28, or 4 -> 8 -> 16 -> 32


class DCGANGenerator(nn.Module):
    """z ``(B, latent_dim)`` -> images ``(B, C, S, S)`` in [-1, 1], S = 28 or 32.

    DCGAN rules: a transposed convolution projects z to a small feature map, then each
    stride-2 transposed convolution doubles the size; batch norm and ReLU after every layer
    but the last, which ends in tanh.
    """

    def __init__(self, latent_dim: int = 64, channels: int = 1, image_size: int = 28,
                 width: int = 64, batch_norm: bool = True):
        super().__init__()
        _positive(latent_dim=latent_dim, channels=channels, width=width)
        base = _base_size(image_size)
        n_up = 2 if base == 7 else 3
        self.latent_dim, self.out_shape = latent_dim, (channels, image_size, image_size)
        widths = [width * 2 ** i for i in reversed(range(n_up))]  # e.g. [128, 64] for 28x28

        def block(conv: nn.Module, c: int) -> list[nn.Module]:
            return [conv, *([nn.BatchNorm2d(c)] if batch_norm else []), nn.ReLU(True)]

        layers = block(nn.ConvTranspose2d(latent_dim, widths[0], base, 1, 0, bias=not batch_norm),
                       widths[0])  # (B, w0, base, base)
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += block(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=not batch_norm), c_out)
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(len(z), self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Images ``(B, C, S, S)`` -> scores ``(B,)`` (or ``(B, out_dim)``).

    DCGAN rules: stride-2 convolutions instead of pooling, LeakyReLU(0.2), batch norm on
    every layer but the first; the last convolution covers the remaining map and outputs a
    logit (no sigmoid).
    """

    def __init__(self, channels: int = 1, image_size: int = 28, width: int = 64,
                 out_dim: int | None = None, batch_norm: bool = True):
        super().__init__()
        _positive(channels=channels, width=width)
        if out_dim is not None:
            _positive(out_dim=out_dim)
        base = _base_size(image_size)
        n_down = 2 if base == 7 else 3
        self.in_shape, self.out_dim = (channels, image_size, image_size), out_dim
        widths = [width * 2 ** i for i in range(n_down)]  # e.g. [64, 128]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not batch_norm),
                       *([nn.BatchNorm2d(c_out)] if batch_norm else []), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(widths[-1], out_dim or 1, base, 1, 0)]  # (B, k, 1, 1)
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _score_head(self.net(x), self.out_dim)


def default_models(data_shape: tuple[int, ...], latent_dim: int | None = None,
                   out_dim: int | None = None) -> tuple[nn.Module, nn.Module]:
    """The course's default G and D for data of shape ``data_shape`` (one sample, no batch).

    Vectors get the MLPs (latent size 2 unless given); images get DCGAN (latent size 64).
    """
    if len(data_shape) == 1:
        dim = data_shape[0]
        return (MLPGenerator(latent_dim or max(2, dim), dim),
                MLPDiscriminator(dim, out_dim=out_dim))
    if len(data_shape) == 3:
        c, h, w = data_shape
        if h != w:
            raise ConfigError(f"DCGAN models need square images, got {h}x{w}.")
        return (DCGANGenerator(latent_dim or 64, c, h),
                DCGANDiscriminator(c, h, out_dim=out_dim))
    raise ConfigError(f"no default model for samples of shape {tuple(data_shape)}: "
                      "use vectors (d,) or images (C, H, W).")
