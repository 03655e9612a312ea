"""Regularizers of the discriminator: pure functions that return an unweighted scalar.

The training step multiplies a penalty by its weight (``GANLoss.penalty_weight`` or
``TrainConfig.penalty_weight``) and adds it to D's loss; a :class:`gan_tutorial.losses.GANLoss`
holds its penalty as one of these functions (with its fixed arguments bound by
``functools.partial``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .errors import ConfigError


@torch.no_grad()
def clip_weights(D: nn.Module, bound: float) -> None:
    """Clip every parameter of D into ``[-bound, bound]`` (the original WGAN's constraint)."""
    for p in D.parameters():
        p.clamp_(-bound, bound)


# ---- chapter 3: gradient penalties (WGAN-GP, WGAN-div) ----
SAMPLINGS = ("real_fake", "real_real_fake_fake", "shuffled_pool", "pool", "fake", "real")
"""The six choices of the points ``x ~ r(x)`` where a penalty is evaluated (Wu et al., 2018):

* ``real_fake`` - ``eps x_real + (1 - eps) x_fake``, one ``eps ~ U(0, 1)`` per sample (B points);
* ``real_real_fake_fake`` - interpolates between two real samples and between two fake
  samples, each batch paired with a random permutation of itself (2B points);
* ``shuffled_pool`` - interpolates between random pairs of the pooled real+fake batch (2B);
* ``pool`` - the real and the fake samples themselves (2B);
* ``fake`` - the fake samples (B); ``real`` - the real samples (B).
"""


def check_sampling(sampling: str) -> str:
    """``sampling`` if it is one of :data:`SAMPLINGS`, else a :class:`ConfigError` naming them."""
    if sampling not in SAMPLINGS:
        raise ConfigError(f"sampling must be one of {', '.join(SAMPLINGS)}; got {sampling!r}.")
    return sampling


def _interpolate(a: Tensor, b: Tensor) -> Tensor:
    """``eps a + (1 - eps) b`` with one ``eps ~ U(0, 1)`` per *sample*, broadcast over its entries.

    ``eps`` has shape ``(B, 1, ..., 1)``: a per-pixel ``eps`` (shape ``(B, C, H, W)``) would
    scatter the points off the segment between the two samples.
    """
    eps = torch.rand((len(a),) + (1,) * (a.ndim - 1), device=a.device, dtype=a.dtype)
    return eps * a + (1 - eps) * b


def penalty_points(x_real: Tensor, x_fake: Tensor, sampling: str = "real_fake") -> Tensor:
    """The points ``(M, ...)`` drawn by ``sampling`` (one of :data:`SAMPLINGS`), detached.

    Random numbers come from the global torch generator, which ``fit`` seeds and checkpoints.
    Both batches are detached first, so no gradient of a penalty reaches G.
    """
    x_real, x_fake = x_real.detach(), x_fake.detach()
    check_sampling(sampling)
    if sampling == "real":
        return x_real
    if sampling == "fake":
        return x_fake
    if x_real.shape != x_fake.shape:
        raise ValueError(f"sampling {sampling!r} needs real and fake batches of one shape, got "
                         f"{tuple(x_real.shape)} and {tuple(x_fake.shape)}.")
    if sampling == "real_fake":
        return _interpolate(x_real, x_fake)
    pool = torch.cat([x_real, x_fake])  # (2B, ...)
    if sampling == "pool":
        return pool
    n = len(x_real)
    if sampling == "real_real_fake_fake":
        partner = torch.cat([x_real[torch.randperm(n, device=pool.device)],
                             x_fake[torch.randperm(n, device=pool.device)]])
        return _interpolate(pool, partner)
    pool = pool[torch.randperm(2 * n, device=pool.device)]  # shuffled_pool
    return _interpolate(pool, pool[torch.randperm(2 * n, device=pool.device)])


def _squared_grad_norms(D: nn.Module, x: Tensor) -> Tensor:
    """``‖∇_x D(x_i)‖²`` ``(M,)``, the norm over each whole flattened sample, with a graph.

    ``create_graph=True`` keeps the graph of the gradient, so the penalty can be
    differentiated with respect to D's weights (a second-order backward pass). Summing the
    scores gives every sample's own gradient because each score depends only on its own
    input, which holds for a D without batch norm (batch norm mixes the samples).

    Under bf16 autocast the scores are summed and the norms taken in (at least) float32, the
    points' precision and so their gradient's: only D's layers run in bf16.
    """
    x = _full_precision(x.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(_full_precision(D(x)).sum(), x, create_graph=True)
    return grad.reshape(len(x), -1).pow(2).sum(1)  # (M,), in x's precision


def _full_precision(t: Tensor) -> Tensor:
    """``t`` in float32 if it is in a half precision (bf16, fp16), else as it is (float64 stays)."""
    return t.float() if t.dtype in (torch.bfloat16, torch.float16) else t


def gradient_penalty(D: nn.Module, x_real: Tensor, x_fake: Tensor,
                     sampling: str = "real_fake") -> Tensor:
    """WGAN-GP's penalty ``E_{x ~ r}[(‖∇_x D(x)‖ - 1)²]`` (Gulrajani et al., 2017).

    ``r`` is the law of per-sample interpolates between real and fake samples by default
    (see :data:`SAMPLINGS` for the others). ``x_real``, ``x_fake``: ``(B, ...)``; returns a
    scalar, unweighted (WGAN-GP weighs it by 10). Centred at 1: it pulls the gradient norm
    towards 1, the Lipschitz bound of the Kantorovich-Rubinstein dual.
    """
    sq = _squared_grad_norms(D, penalty_points(x_real, x_fake, sampling))
    norms = sq.clamp_min(torch.finfo(sq.dtype).tiny).sqrt()  # gradient 0, not NaN, at 0
    return (norms - 1).pow(2).mean()


def wdiv_penalty(D: nn.Module, x_real: Tensor, x_fake: Tensor, k: float = 2.0, p: float = 6.0,
                 sampling: str = "real_fake") -> Tensor:
    """The W-divergence's penalty ``k E_{x ~ r}[‖∇_x D(x)‖^p]`` (Wu et al., 2018).

    Centred at 0, with ``k > 0`` and ``p > 1`` (the paper's best: ``k = 2``, ``p = 6``); ``r``
    is one of :data:`SAMPLINGS`. ``k`` is part of the penalty, so WGAN-div weighs it by 1.
    ``x_real``, ``x_fake``: ``(B, ...)``; returns a scalar.
    """
    sq = _squared_grad_norms(D, penalty_points(x_real, x_fake, sampling))
    return k * sq.clamp_min(torch.finfo(sq.dtype).tiny).pow(p / 2).mean()



# ---- chapter 6: spectral normalisation and spectral regularization ----
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _weighted_layers(D: nn.Module) -> list[nn.Module]:
    return [m for m in D.modules() if isinstance(m, _WEIGHTED)]


def spectral_norm(D: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Divide every weight of ``D`` by its largest singular value: ``W_SN = W / sigma_1(W)``.

    Spectral normalisation (Miyato et al., 2018) with PyTorch's parametrization
    (``torch.nn.utils.parametrizations.spectral_norm``): ``sigma_1`` is estimated by power
    iteration, ``n_power_iterations`` per training forward, so after a few hundred steps
    ``sigma_max(W_SN) = 1`` to float precision. Conv weights ``(out, in, kh, kw)`` are
    treated as ``(out, in * kh * kw)`` matrices. Changes ``D`` in place and returns it.
    """
    for m in _weighted_layers(D):
        torch.nn.utils.parametrizations.spectral_norm(m, n_power_iterations=n_power_iterations)
    return D


def compensated_spectrum(s: Tensor, mode: str = "dynamic", top: int | None = None,
                         gamma: Tensor | None = None) -> Tensor:
    """Singular values after spectral regularization's compensation (Liu et al., 2019).

    ``s`` ``(r,)`` are the singular values ``sigma_1 >= ... >= sigma_r`` of a weight. The
    compensation adds ``Delta D = diag(delta_1, ..., delta_r)`` to them:

    * ``"static"``: ``delta_j = sigma_1 - sigma_j`` for ``j <= top``, 0 beyond: the ``top``
      largest values are lifted to ``sigma_1`` (``top`` is a hand-picked hyperparameter);
    * ``"dynamic"``: ``delta_j = gamma_j (sigma_1 - sigma_j)`` with ``gamma_j`` the largest
      ratio ``sigma_j / sigma_1`` seen so far in training (``gamma`` ``(r,)``; by default
      the current ratio, as at the first step): the normalised value is ``r + gamma (1 - r)``
      (``r = sigma_j / sigma_1``), the course's reading of the paper's equation;
    * ``"authors"``: the authors' code, which sets the normalised value to ``gamma_j`` itself,
      ``delta_j = gamma_j sigma_1 - sigma_j``; on the first call ``gamma = r`` and this is plain
      spectral normalisation (the run only starts compensating once a ratio has fallen).

    Returns ``s + delta`` ``(r,)``; dividing by ``sigma_1`` gives the spectrum of ``W_SR``.
    """
    ratio = s / s[0]
    if mode == "static":
        if top is None or top < 1:
            raise ValueError("static compensation needs top >= 1: how many of the largest "
                             "singular values to lift to sigma_1.")
        lift = (torch.arange(len(s), device=s.device) < top).to(s.dtype)
    elif mode in ("dynamic", "authors"):
        lift = ratio if gamma is None else torch.maximum(gamma.to(s), ratio)
        if mode == "authors":
            return s[0] * lift
    else:
        raise ValueError(f"unknown compensation {mode!r}: use 'static', 'dynamic' or 'authors'.")
    return s + lift * (s[0] - s)


def spectral_regularized_weight(weight: Tensor, mode: str = "static", top: int | None = None,
                                gamma: Tensor | None = None) -> Tensor:
    """``W_SR = (W + U diag(delta) V^T) / sigma_1`` for one weight ``(out, ...)`` (Liu et al., 2019).

    The functional form of :class:`SpectralCompensation`: ``delta`` from
    :func:`compensated_spectrum`; a conv weight is treated as ``(out, in * k...)``.
    """
    w = weight.reshape(weight.shape[0], -1)
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    lifted = compensated_spectrum(s, mode, top, gamma)
    return ((u * (lifted / s[0])) @ vh).reshape(weight.shape)


class SpectralCompensation(nn.Module):
    """A parametrization ``W -> W_SR = (W + Delta W) / sigma_1(W)`` (Liu et al., 2019).

    ``W = U diag(sigma) V^T``; ``Delta W = U diag(delta) V^T`` with ``delta`` from
    :func:`compensated_spectrum`, so ``W_SR`` keeps W's singular vectors and has singular
    values ``(sigma_j + delta_j) / sigma_1``: spectral normalisation plus a lift of the small
    singular values. The SVD is taken on every forward and ``Delta W`` is a constant in the
    backward pass; ``sigma_1 = u_1^T W v_1``
    carries the gradient, as in spectral normalisation. In the dynamic modes the buffer
    ``gamma`` holds the running maximum of ``sigma_j / sigma_1``, updated in training mode.
    """

    def __init__(self, weight: Tensor, mode: str = "dynamic", top: int | None = None):
        super().__init__()
        compensated_spectrum(torch.ones(2), mode, top)  # validates mode and top
        self.mode, self.top = mode, top
        rank = min(weight.shape[0], weight[0].numel())
        self.register_buffer("gamma", torch.zeros(rank))

    def forward(self, weight: Tensor) -> Tensor:
        w = weight.reshape(weight.shape[0], -1)  # (out, in * k...)
        # a fresh SVD on every call: a cache keyed on the tensor went stale after edits through
        # .data and on new tensors, and for these sizes the SVD costs little (speed appendix)
        with torch.no_grad():
            u, s, vh = torch.linalg.svd(w.detach(), full_matrices=False)
            if self.mode != "static" and self.training:  # a running max: repeated calls are idempotent
                self.gamma.copy_(torch.maximum(self.gamma, s / s[0]))
            gamma = self.gamma if self.mode != "static" else None
            delta_w = (u * (compensated_spectrum(s, self.mode, self.top, gamma) - s)) @ vh
        sigma1 = u[:, 0] @ w @ vh[0]  # differentiable in W
        return ((w + delta_w) / sigma1).reshape(weight.shape)


def spectral_regularization(D: nn.Module, mode: str = "dynamic", top: int | None = None) -> nn.Module:
    """Put :class:`SpectralCompensation` on every weight of ``D`` (in place; returns ``D``).

    Apply it before training: D's forward then uses ``W_SR``, and ``fit`` needs no change.
    ``mode="static"`` lifts the ``top`` largest singular values of each weight to
    ``sigma_1`` (layers with fewer singular values have all of them lifted);
    ``mode="dynamic"`` needs no hyperparameter; ``mode="authors"`` is the dynamic variant as
    the authors' code computes it (see :func:`compensated_spectrum`).
    """
    from torch.nn.utils import parametrize

    for m in _weighted_layers(D):
        parametrize.register_parametrization(m, "weight", SpectralCompensation(m.weight, mode, top))
    return D


def r1_penalty(D: nn.Module, x_real: Tensor, x_fake: Tensor) -> Tensor:
    """R1: ``E_{x ~ p} ||grad_x D(x)||^2`` on real data, a 0-centred penalty (Mescheder et al., 2018).

    ``x_real`` ``(B, ...)``; the norm is over the whole flattened sample; ``x_fake`` is unused.
    """
    return _squared_grad_norms(D, x_real).mean()

