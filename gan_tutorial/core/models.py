"""Generators and discriminators: MLPs for low-dimensional data, DCGAN for 28x28 to 128x128.

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

from .errors import ConfigError, DataError, ShapeError


def _positive(**sizes: int) -> None:
    for name, v in sizes.items():
        if not isinstance(v, int) or v <= 0:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}.")


def _score_head(out: torch.Tensor, out_dim: int | None) -> torch.Tensor:
    """``(B, k)`` -> ``(B,)`` for a scalar D (``out_dim=None``), unchanged otherwise."""
    return out.reshape(len(out), -1).squeeze(1) if out_dim is None else out.reshape(len(out), out_dim)


# ----------------------------------------------------------------------------- MLPs
class MLPGenerator(nn.Module):
    """z ``(B, latent_dim)`` -> x ``(B, out_dim)``: ``depth`` hidden ReLU layers, linear output.

    ``batch_norm=True`` puts batch norm before each ReLU (PacGAN's 2-D generator).
    """

    def __init__(self, latent_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3,
                 batch_norm: bool = False):
        super().__init__()
        _positive(latent_dim=latent_dim, out_dim=out_dim, hidden=hidden, depth=depth)
        self.latent_dim, self.out_shape = latent_dim, (out_dim,)
        layers, width = [], latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), *([nn.BatchNorm1d(hidden)] if batch_norm else []), nn.ReLU()]
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


class Maxout(nn.Module):
    """``(B, in_dim)`` -> ``(B, out_dim)``: the largest of ``pieces`` linear maps (Goodfellow et al., 2013)."""

    def __init__(self, in_dim: int, out_dim: int, pieces: int):
        super().__init__()
        self.pieces, self.linear = pieces, nn.Linear(in_dim, out_dim * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).unflatten(1, (-1, self.pieces)).amax(2)  # (B, out_dim, pieces) -> max


class MaxoutDiscriminator(MLPDiscriminator):
    """:class:`MLPDiscriminator` with maxout hidden layers (PacGAN's 2-D D: 3 x 200, 5 pieces)."""

    def __init__(self, in_dim: int = 2, hidden: int = 200, depth: int = 3, pieces: int = 5,
                 out_dim: int | None = None):
        super().__init__(in_dim, hidden, depth, out_dim)
        _positive(pieces=pieces)
        layers, width = [], in_dim
        for _ in range(depth):
            layers.append(Maxout(width, hidden, pieces))
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, out_dim or 1))


# ----------------------------------------------------------------------------- DCGAN
def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation (Radford et al., 2016): conv weights ~ N(0, 0.02), BN gamma ~ N(1, 0.02).

    Biases (where a layer keeps one) and BN's beta start at 0.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


DCGAN_SIZES = (28, 32, 64, 128)  # 28 and every power of two from 32 to 128


def _base_size(image_size: int) -> tuple[int, int]:
    """``(base, n)``: the smallest feature map's side and the number of stride-2 layers.

    ``image_size = base * 2**n``: 28 = 7 * 2**2 (7 -> 14 -> 28, MNIST), and a power of two
    S from 32 to 128 is 4 * 2**(log2(S) - 2) (4 -> 8 -> ... -> S, as in pytorch/examples).
    """
    if image_size == 28:
        return 7, 2
    if isinstance(image_size, int) and 32 <= image_size <= 128 and image_size & (image_size - 1) == 0:
        return 4, image_size.bit_length() - 3
    raise ConfigError(f"DCGAN models here support image_size 28 or a power of two from 32 to 128 "
                      f"({', '.join(map(str, DCGAN_SIZES))}), got {image_size!r}: resize the images "
                      "(data.image_folder(path, size=64) does).")


class DCGANGenerator(nn.Module):
    """z ``(B, latent_dim)`` -> images ``(B, C, S, S)`` in [-1, 1], S = 28, 32, 64 or 128.

    DCGAN rules (Radford et al., 2016): a transposed convolution projects z to a
    ``base x base`` feature map, then each stride-2 transposed convolution doubles the size
    and halves the filters, down to ``width``; batch norm and ReLU after every layer but the
    last, which ends in tanh. Filters for S = 64: 8w-4w-2w-w (512-256-128-64 at ``width=64``).

    At ``DCGANGenerator(100, 3, 64, width=64)`` the layers are those of pytorch/examples
    ``dcgan/main.py`` (nz = 100, ngf = 64): 3,576,704 parameters there, plus the one bias
    kept here on purpose: the last transposed convolution's (``channels`` numbers, 3), which
    sets the output's mean since no batch norm follows it. Layers followed by batch norm have
    no bias (BN's beta plays its part); with ``batch_norm=False`` every layer has one.
    """

    def __init__(self, latent_dim: int = 64, channels: int = 1, image_size: int = 28,
                 width: int = 64, batch_norm: bool = True):
        super().__init__()
        _positive(latent_dim=latent_dim, channels=channels, width=width)
        base, n_up = _base_size(image_size)
        self.latent_dim, self.out_shape = latent_dim, (channels, image_size, image_size)
        widths = [width * 2 ** i for i in reversed(range(n_up))]  # [128, 64] at 28, [512, 256, 128, 64] at 64

        def block(conv: nn.Module, c: int) -> list[nn.Module]:
            return [conv, *([nn.BatchNorm2d(c)] if batch_norm else []), nn.ReLU(True)]

        layers = block(nn.ConvTranspose2d(latent_dim, widths[0], base, 1, 0, bias=not batch_norm),
                       widths[0])  # (B, w0, base, base)
        for c_in, c_out in zip(widths[:-1], widths[1:]):  # each doubles the side
            layers += block(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=not batch_norm), c_out)
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]  # (B, C, S, S)
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(len(z), self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Images ``(B, C, S, S)`` -> scores ``(B,)`` (or ``(B, out_dim)``), S = 28, 32, 64 or 128.

    DCGAN rules: stride-2 convolutions instead of pooling, LeakyReLU(0.2), batch norm on
    every layer but the first; the last convolution covers the remaining ``base x base`` map
    and outputs a logit (no sigmoid). Filters for S = 64: w-2w-4w-8w (64-128-256-512).

    At ``DCGANDiscriminator(3, 64, width=64)`` the layers are those of pytorch/examples
    ``dcgan/main.py`` (ndf = 64) without its Sigmoid: 2,765,568 parameters there, plus two
    biases kept here on purpose: the first convolution's (``width`` numbers, 64; no batch
    norm follows it) and the last one's (1 per output, the logit's offset). Layers followed
    by batch norm have no bias; with ``batch_norm=False`` every layer has one.
    """

    def __init__(self, channels: int = 1, image_size: int = 28, width: int = 64,
                 out_dim: int | None = None, batch_norm: bool = True):
        super().__init__()
        _positive(channels=channels, width=width)
        if out_dim is not None:
            _positive(out_dim=out_dim)
        base, n_down = _base_size(image_size)
        self.in_shape, self.out_dim = (channels, image_size, image_size), out_dim
        widths = [width * 2 ** i for i in range(n_down)]  # [64, 128] at 28, [64, 128, 256, 512] at 64
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in zip(widths[:-1], widths[1:]):  # each halves the side
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not batch_norm),
                       *([nn.BatchNorm2d(c_out)] if batch_norm else []), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(widths[-1], out_dim or 1, base, 1, 0)]  # (B, k, 1, 1)
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _score_head(self.net(x), self.out_dim)


def default_models(data_shape: tuple[int, ...], latent_dim: int | None = None,
                   out_dim: int | None = None, d_batch_norm: bool = True) -> tuple[nn.Module, nn.Module]:
    """The course's default G and D for data of shape ``data_shape`` (one sample, no batch).

    Vectors get the MLPs (latent size 2 unless given); images get DCGAN (latent size 64),
    whose D has batch norm unless ``d_batch_norm=False`` (a critic with a gradient penalty).
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
                DCGANDiscriminator(c, h, out_dim=out_dim, batch_norm=d_batch_norm))
    raise ConfigError(f"no default model for samples of shape {tuple(data_shape)}: "
                      "use vectors (d,) or images (C, H, W).")


# ----------------------------------------------------------------------------- conditional DCGAN
# A class-conditional GAN is a GAN on pairs (x, y): G draws y from the data's class
# frequencies and makes x given y; D judges the pair. Here the label rides along as one more
# image channel, constant over the image (the "label plane"), so that the pairs are ordinary
# tensors (N, C + 1, H, W): fit, checkpoints, the moving average and rejection sampling work
# on them unchanged (chapter 2).
def label_plane(y: torch.Tensor, n_classes: int, size: int | tuple[int, int]) -> torch.Tensor:
    """Labels ``y`` ``(B,)`` in ``0..n_classes-1`` as constant planes ``(B, 1, H, W)`` in [-1, 1]."""
    _positive(n_classes=n_classes)
    if n_classes < 2:
        raise ConfigError(f"a conditional model needs n_classes >= 2, got {n_classes}.")
    h, w = (size, size) if isinstance(size, int) else size
    y = torch.as_tensor(y)
    if y.ndim != 1 or y.is_floating_point():
        raise ShapeError(f"labels must be integers shaped (B,), got {y.dtype} {tuple(y.shape)}.")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise DataError(f"labels must lie in 0..{n_classes - 1}, got values in "
                        f"[{int(y.min())}, {int(y.max())}]: pass n_classes = the number of classes.")
    value = -1.0 + 2.0 * y.float() / (n_classes - 1)
    return value.view(-1, 1, 1, 1).expand(len(y), 1, h, w)


def read_label_plane(x: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The labels ``(B,)`` carried by the last channel of pairs ``x`` ``(B, C + 1, H, W)``."""
    value = x[:, -1].float().mean(dim=(1, 2))
    return ((value + 1) / 2 * (n_classes - 1)).round().long().clamp(0, n_classes - 1)


def with_labels(x: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Images ``(N, C, H, W)`` and labels ``(N,)`` -> pairs ``(N, C + 1, H, W)`` for a conditional GAN."""
    if x.ndim != 4:
        raise ShapeError(f"images must be shaped (N, C, H, W), got {tuple(x.shape)}.")
    if len(y) != len(x):
        raise ShapeError(f"{len(x)} images but {len(y)} labels: pass one label per image.")
    return torch.cat([x, label_plane(y, n_classes, x.shape[-2:]).to(x.dtype)], dim=1)


class ConditionalDCGANGenerator(nn.Module):
    """z ``(B, 1 + noise_dim)`` -> pairs ``(B, C + 1, S, S)``: an image and its label plane.

    The first coordinate of z picks the class: ``y = F^{-1}(Phi(z_0))`` with ``Phi`` the
    standard normal CDF and ``F`` the cumulative ``class_probs``, so ``P(y = k) =
    class_probs[k]`` exactly (the data's class mix, not G's guess at it). The image is a
    DCGAN generator's output on ``(z_1.., one_hot(y))``.
    """

    def __init__(self, noise_dim: int = 64, n_classes: int = 10, class_probs: torch.Tensor | None = None,
                 channels: int = 1, image_size: int = 28, width: int = 64):
        super().__init__()
        _positive(noise_dim=noise_dim, n_classes=n_classes)
        probs = torch.full((n_classes,), 1.0 / n_classes) if class_probs is None else \
            torch.as_tensor(class_probs, dtype=torch.float32)
        if probs.shape != (n_classes,) or not torch.isfinite(probs).all() or (probs < 0).any() or probs.sum() <= 0:
            raise ConfigError(f"class_probs must be {n_classes} non-negative numbers (the class "
                              f"frequencies), got {probs.tolist()}.")
        self.noise_dim, self.n_classes = noise_dim, n_classes
        self.latent_dim = noise_dim + 1
        self.out_shape = (channels + 1, image_size, image_size)
        self.register_buffer("cum", (probs / probs.sum()).cumsum(0)[:-1].contiguous())
        self.image = DCGANGenerator(noise_dim + n_classes, channels, image_size, width)

    def labels(self, z: torch.Tensor) -> torch.Tensor:
        """The class ``(B,)`` that each code's first coordinate picks."""
        u = 0.5 * (1 + torch.erf(z[:, 0].float() / 2 ** 0.5))
        return torch.searchsorted(self.cum, u.contiguous())

    def latent_for(self, y: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, 1 + noise_dim)`` whose class is ``y`` ``(B,)``: z_0 is the middle of y's interval."""
        edges = torch.cat([self.cum.new_zeros(1), self.cum, self.cum.new_ones(1)])
        mid = (edges[y] + edges[y + 1]) / 2
        z0 = torch.erfinv(2 * mid - 1) * 2 ** 0.5
        return torch.cat([z0[:, None].to(noise.dtype), noise], dim=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = self.labels(z)
        one_hot = nn.functional.one_hot(y, self.n_classes).to(z.dtype)
        img = self.image(torch.cat([z[:, 1:], one_hot], dim=1))
        return torch.cat([img, label_plane(y, self.n_classes, img.shape[-2:]).to(img.dtype)], dim=1)


class ProjectionDCGANDiscriminator(nn.Module):
    """Pairs ``(B, C + 1, S, S)`` -> logits ``(B,)``: a DCGAN D plus a projection of the label.

    ``logit = psi(phi(x)) + <e_y, sum over positions of phi(x)>`` (Miyato & Koyama, 2018):
    ``phi`` is the DCGAN body, ``psi`` its last convolution and ``e_y`` a learned embedding
    of the label read from the label plane. The image alone goes through the convolutions.
    """

    def __init__(self, n_classes: int = 10, channels: int = 1, image_size: int = 28, width: int = 64):
        super().__init__()
        _positive(n_classes=n_classes)
        self.n_classes = n_classes
        self.in_shape, self.out_dim = (channels + 1, image_size, image_size), None
        body = DCGANDiscriminator(channels, image_size, width).net
        self.body, self.head = body[:-1], body[-1]
        self.embed = nn.Embedding(n_classes, self.head.in_channels)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = read_label_plane(x, self.n_classes)
        h = self.body(x[:, :-1])
        return self.head(h).flatten() + (self.embed(y) * h.sum(dim=(2, 3))).sum(1)
