"""A Frechet distance for colour pictures, and nearest training pictures (are samples copies?).

The digit metric's classifier reads grey 28x28 digits only. For colour pictures the package
pins a *random* convolutional network instead: four strided 3x3 convolutions
``3 -> 32 -> 64 -> 128 -> 128`` with LeakyReLU(0.2) and global average pooling, a 128-d
feature of a ``(3, 64, 64)`` picture (128 features: fewer than the 138 held-out single
emoji, so their covariance has full rank). Random features are no Inception network (they
know no object), but they respond to colour, edges and texture at four scales; with fixed
weights the distance means the same on every machine: the weights are drawn once from a
seed, rounded to float16, ship as ``assets/colour_features.pt`` (485 kB) and are checked
against :data:`COLOUR_FEATURES_SHA256` when loaded. The features are computed in float64 and
come out bit for bit the same under the default (AVX-512), AVX2 and scalar CPU kernels
(``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2``, ``ATEN_CPU_CAPABILITY=default``).

Measured on the emoji of :func:`gan_tutorial.core.emoji_data.emoji` (64x64), split by
``emoji_split`` (10% held out, seed 0), with :func:`colour_protocol`'s defaults (n = the
held-out count, 5 floor draws):

* 1,381 single emoji, 1,243 training and 138 held-out: floor 0.312 +- 0.068. A fresh draw
  of 138 training pictures scores 0.75x the floor; the same pictures with Gaussian noise
  (std 0.1 / 0.2) 0.83x / 1.10x, blurred (4x4 blocks) 0.94x, shifted by 8 pixels 1.57x,
  blended in pairs 2.75x, in grey 11.6x, with red and blue swapped 9.2x. With 138 reference
  pictures the estimate is coarse: it tells broken colours, shapes and blends from real
  pictures, not mild noise or blur;
* all 3,882 pictures (``singles_only=False``), 3,494 training and 388 held-out: floor
  0.104 +- 0.028.
"""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import CheckpointError, ShapeError
from .metrics import frechet_distance, gaussian_stats

WIDTHS = (32, 64, 128, 128)  # channels after each strided convolution
FEATURES_SIZE = 64  # pictures of other sizes are resized to 64x64 (bilinear) first
COLOUR_FEATURES_SEED = 0
COLOUR_FEATURES_FILE = Path(__file__).resolve().parents[1] / "assets" / "colour_features.pt"
COLOUR_FEATURES_SHA256 = "0ba620fe0c67ad6811adaaf1bdbc8aa94ea08ac29b5f6bfcf656038919b07107"
"""The pinned weights of the colour feature network (``tools/make_colour_features.py`` made them)."""


class ColourFeatures(nn.Module):
    """``(N, 3, 64, 64)`` in [-1, 1] -> ``(N, 128)``: strided 3x3 convolutions, LeakyReLU, mean over space."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS):
        super().__init__()
        layers, c = [], 3
        for w in widths:  # 64 -> 32 -> 16 -> 8 -> 4 pixels
            layers += [nn.Conv2d(c, w, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c = w
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).mean((2, 3))  # (N, widths[-1])


def random_feature_state(seed: int = COLOUR_FEATURES_SEED) -> dict[str, Tensor]:
    """The network's weights drawn from ``seed``, rounded to float16: what the shipped file holds.

    Each convolution's weights are uniform in ``±sqrt(6 / ((1 + 0.2²) fan_in))`` (He et al.,
    2015, for LeakyReLU(0.2)), its biases uniform in ``±1 / sqrt(fan_in)``; the uniforms are
    drawn in float64 by torch's CPU generator (Mersenne Twister), which gives the same numbers
    on every processor.
    """
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, p in ColourFeatures().state_dict().items():
        fan_in = p[0].numel() if p.ndim > 1 else state[name.replace("bias", "weight")][0].numel()
        bound = math.sqrt(6 / ((1 + 0.2**2) * fan_in)) if p.ndim > 1 else 1 / math.sqrt(fan_in)
        state[name] = ((torch.rand(p.shape, generator=g, dtype=torch.float64) * 2 - 1) * bound).to(torch.float16)
    return state


@functools.lru_cache(maxsize=2)
def _pinned_state(path: str) -> dict[str, Tensor]:
    file = Path(path)
    remake = ("Reinstall the package (pip install --force-reinstall gan-tutorial), or from a clone run "
              "`git checkout gan_tutorial/assets` or `python tools/make_colour_features.py`.")
    if not file.is_file():
        raise CheckpointError(f"the colour feature network's weights {file} are missing from the package. {remake}")
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    if digest != COLOUR_FEATURES_SHA256:
        raise CheckpointError(f"the colour feature network's weights {file} are not the pinned ones (sha256 "
                              f"{digest[:12]}..., expected {COLOUR_FEATURES_SHA256[:12]}...): distances scored with "
                              f"them would not be comparable with the course's. {remake}")
    return {k: v.double() for k, v in torch.load(file, map_location="cpu", weights_only=True).items()}


def colour_feature_network(device: str | torch.device = "cpu") -> ColourFeatures:
    """The pinned colour feature network in eval mode, in float64 (weights checked by SHA-256)."""
    model = ColourFeatures().double()
    model.load_state_dict(_pinned_state(str(COLOUR_FEATURES_FILE)))
    return model.to(device).eval().requires_grad_(False)


@torch.no_grad()
def colour_features(x: Tensor, batch_size: int = 500, device: str | torch.device = "cpu") -> Tensor:
    """Features ``(N, 128)`` float32 (on the CPU) of pictures ``x`` ``(N, 3, H, W)`` in [-1, 1].

    Pictures that are not 64x64 are resized to it (bilinear, antialiased); grey pictures
    ``(N, 1, H, W)`` count as colour ones with three equal channels. Computed in float64 on
    ``device``, in batches of ``batch_size``: on the CPU the features come out bit for bit the
    same under every kernel set tried (about 2 s per 1,000 pictures on one core); a GPU gives
    them to float32 rounding.
    """
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ShapeError(f"colour_features takes pictures (N, 3, H, W) (or grey ones (N, 1, H, W)), "
                         f"got {tuple(x.shape)}.")
    model = colour_feature_network(device)
    out = []
    for i in range(0, len(x), batch_size):
        batch = x[i:i + batch_size].to(device, torch.float64).expand(-1, 3, -1, -1)
        if tuple(batch.shape[-2:]) != (FEATURES_SIZE, FEATURES_SIZE):
            batch = F.interpolate(batch, size=(FEATURES_SIZE, FEATURES_SIZE), mode="bilinear",
                                  align_corners=False, antialias=True)
        out.append(model(batch).float().cpu())
    return torch.cat(out) if out else torch.empty(0, WIDTHS[-1])


def frechet_colour_distance(x1: Tensor, x2: Tensor) -> float:
    """Frechet distance between two sets of colour pictures in the pinned random features.

    As for FID, compare only numbers computed with the same sample sizes: the estimate is
    biased upwards for small samples (and more so with fewer pictures than 128 features).
    """
    return frechet_distance(*gaussian_stats(colour_features(x1)), *gaussian_stats(colour_features(x2)))


def colour_protocol(samples: Tensor, reference: Tensor, train_images: Tensor, n: int | None = None,
                    floor_draws: int = 5, seed: int = 0) -> dict:
    """G's Frechet colour distance to held-out pictures, and the floor that real pictures reach.

    ``distance``: the first ``n`` samples against every picture of ``reference`` (pictures G
    never trained on). ``floor``: ``n`` pictures of ``train_images`` drawn without replacement
    against the same reference, mean over ``floor_draws`` seeded draws (``floor_std`` their
    spread): what a G that reproduced its training set would score. ``ratio``: distance / floor.
    ``n`` defaults to ``len(reference)``: both sets of a distance then have the same size.
    """
    n = len(reference) if n is None else n
    if len(samples) < n or len(train_images) < n or floor_draws < 1:
        raise ShapeError(f"colour_protocol scores n = {n} samples and draws n training pictures, at least once: got "
                         f"{len(samples)} samples, {len(train_images)} training pictures, floor_draws={floor_draws}.")
    ref = gaussian_stats(colour_features(reference))
    train_features = colour_features(train_images)
    g = torch.Generator().manual_seed(seed)
    floors = torch.tensor([frechet_distance(*gaussian_stats(train_features[torch.randperm(len(train_images),
                                                                                          generator=g)[:n]]), *ref)
                           for _ in range(floor_draws)])
    distance = frechet_distance(*gaussian_stats(colour_features(samples[:n])), *ref)
    floor = float(floors.mean())
    return {"distance": distance, "floor": floor, "floor_std": float(floors.std()) if floor_draws > 1 else 0.0,
            "ratio": distance / floor, "n": n}


def _nearest(queries: Tensor, keys: Tensor, k: int, skip_self: bool, batch_size: int) -> tuple[Tensor, Tensor]:
    """Indices ``(N, k)`` of and L2 distances ``(N, k)`` to the ``k`` nearest rows of ``keys``, in float64."""
    q, keys = queries.flatten(1).double().cpu(), keys.flatten(1).double().cpu()
    if q.shape[1] != keys.shape[1] or not 1 <= k <= len(keys) - skip_self:
        raise ShapeError(f"nearest neighbours need pictures of one shape and k in 1..{len(keys) - skip_self}, got "
                         f"{tuple(queries.shape[1:])} and {tuple(keys.shape[1:])} with k = {k}.")
    key_sq = (keys**2).sum(1)
    indices, distances = [], []
    for i in range(0, len(q), batch_size):
        b = q[i:i + batch_size]
        d2 = ((b**2).sum(1, keepdim=True) + key_sq - 2 * b @ keys.T).clamp(min=0)  # (B, M) squared distances
        if skip_self:  # row j of the batch is picture i + j itself: never its own neighbour
            d2[torch.arange(len(b)), torch.arange(i, i + len(b))] = math.inf
        idx = d2.topk(k, dim=1, largest=False).indices  # the k candidates, then their distances exactly:
        dist, order = (b[:, None, :] - keys[idx]).norm(dim=2).sort(dim=1)  # (B, k), 0 for an exact copy
        indices.append(idx.gather(1, order))
        distances.append(dist)
    return torch.cat(indices), torch.cat(distances)


def nearest_neighbours(samples: Tensor, train_images: Tensor, k: int = 1,
                       batch_size: int = 256) -> tuple[Tensor, Tensor]:
    """For each sample, its ``k`` nearest training pictures: indices ``(N, k)`` and distances ``(N, k)``.

    Distances are Euclidean over all pixels, ``||x - y||_2`` of the flattened ``(C, H, W)``
    pictures in [-1, 1], nearest first, in float64: the candidates are found from
    ``||x||² + ||y||² - 2 <x, y>`` in batches of ``batch_size`` samples, then their distances
    computed directly (an exact copy is at 0). A sample that copies a training picture lies
    much nearer to it than training pictures lie to one another
    (:func:`training_nearest_neighbours`: for the 1,243 training single emoji, median 42.5,
    smallest 9.9).
    """
    return _nearest(samples, train_images, k, False, batch_size)


def training_nearest_neighbours(train_images: Tensor, k: int = 1, batch_size: int = 256) -> tuple[Tensor, Tensor]:
    """For each training picture, its ``k`` nearest *other* training pictures: indices and distances ``(N, k)``.

    The yardstick for :func:`nearest_neighbours`: how far a picture is from its nearest
    neighbour in the data itself (the picture itself excluded, exact duplicates counted at 0).
    """
    return _nearest(train_images, train_images, k, True, batch_size)
