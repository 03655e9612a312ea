"""GAN losses as pure functions of discriminator outputs, and one registry of them.

Every loss is a pair of functions that return a mean-reduced scalar to *minimise*:

* ``d_loss(real_scores, fake_scores, ...)`` - what D minimises;
* ``g_loss(fake_scores, ...)`` - what G minimises.

``real_scores = D(x_real)`` and ``fake_scores = D(x_fake)`` are raw outputs (logits for
the classifier GANs), shaped ``(B,)`` for a scalar D or ``(B, k)`` for a vector D. A loss
that also needs ``z``, ``x_real`` or ``x_fake`` declares
it in its :class:`GANLoss` (``d_inputs``, ``g_inputs``); the training step supplies exactly
what is declared.

:data:`LOSSES` maps a name to a :class:`GANLoss`, which also says whether D must output a
vector, which regularizer (a function of :mod:`gan_tutorial.regularizers`) the method adds
to D's loss with its default weight, and whether D's weights are clipped after each step.
Variants are built by functions (``wgan_div_loss(sampling="fake")``, ``sphere_loss(2)``,
``ogan_loss("ns")``) and given to ``TrainConfig(loss=...)`` directly or registered by name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from . import regularizers
from .errors import ConfigError, ShapeError, unknown_name


# ----------------------------------------------------------------------------- minimax / NS
def minimax_d_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """D maximises ``E log sigmoid(r) + E log(1 - sigmoid(f))`` (Goodfellow et al., 2014).

    Written with softplus on logits: ``-log sigmoid(t) = softplus(-t)`` and
    ``-log(1 - sigmoid(t)) = softplus(t)``, stable for any logit and under autocast.
    """
    return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()


def minimax_g_loss(fake_scores: Tensor) -> Tensor:
    """G minimises ``E log(1 - sigmoid(f)) = -E softplus(f)``: the original saturating loss."""
    return -F.softplus(fake_scores).mean()


def ns_g_loss(fake_scores: Tensor) -> Tensor:
    """Non-saturating G loss: minimise ``-E log sigmoid(f) = E softplus(-f)``."""
    return F.softplus(-fake_scores).mean()


# ----------------------------------------------------------------------------- registry
D_INPUTS = ("z", "x_real", "x_fake")
G_INPUTS = ("z", "x_real", "x_fake")
VECTOR_DIM = 16  # outputs of a vector D whose loss does not compare them with z (Sphere GAN's S^16)


@dataclass(frozen=True)
class GANLoss:
    """A GAN's objective: the two loss functions and what the training step must supply.

    ``d_fn(real_scores, fake_scores, **inputs)`` and ``g_fn(fake_scores, **inputs)`` get, as
    keywords, exactly the extra inputs they declare: ``d_inputs`` from ``z``, ``x_real``,
    ``x_fake``; ``g_inputs`` from the same three (G's step evaluates D on the fakes only).
    ``output`` is ``"scalar"`` (D returns ``(B,)``) or ``"vector"`` (``(B, k)``; with ``z``
    among the inputs, ``k`` must be the latent size). ``penalty(D, x_real, x_fake)`` is an
    unweighted regularizer of D added to D's loss with ``penalty_weight``; ``clip`` is the
    weight-clipping bound applied after each D step. ``probability``: D's scalar score is the
    logit of "x is real" (its sigmoid is a probability, as in the classifier GANs).
    ``score`` maps D's raw outputs to one number per sample, higher meaning "more real", for
    plots of D (None: a scalar output as it is, a vector output averaged).
    """

    name: str
    d_fn: Callable[..., Tensor]
    g_fn: Callable[..., Tensor]
    d_inputs: tuple[str, ...] = ()
    g_inputs: tuple[str, ...] = ()
    output: str = "scalar"
    penalty: Callable[..., Tensor] | None = None
    penalty_weight: float = 0.0
    clip: float | None = None
    probability: bool = False
    score: Callable[[Tensor], Tensor] | None = None

    def __post_init__(self) -> None:
        bad = [k for k in self.d_inputs if k not in D_INPUTS] + [k for k in self.g_inputs if k not in G_INPUTS]
        if bad or self.output not in ("scalar", "vector"):
            raise ConfigError(f"loss {self.name!r}: inputs must come from {D_INPUTS} (D) and "
                              f"{G_INPUTS} (G) and output be 'scalar' or 'vector'; got {bad or self.output}.")

    @property
    def uses_z(self) -> bool:
        """Whether a loss function compares D's output with ``z`` (D then outputs ``latent_dim``)."""
        return "z" in self.d_inputs or "z" in self.g_inputs

    def d_out_dim(self, latent_dim: int, vector_dim: int | None = None) -> int | None:
        """What D must return for this loss: None (one score per sample, ``(B,)``), ``latent_dim``
        (a vector compared with z, O-GAN) or ``vector_dim`` (another vector, Sphere GAN; default
        :data:`VECTOR_DIM`). The one place where a D's output size is derived from its loss."""
        if self.output == "scalar":
            return None
        return latent_dim if self.uses_z else (VECTOR_DIM if vector_dim is None else vector_dim)

    @property
    def d_batch_norm(self) -> bool:
        """Whether D may use batch norm: not under a per-sample gradient penalty (it mixes the batch)."""
        return self.penalty is None

    @property
    def penalty_name(self) -> str | None:
        """The penalty's function name, with its fixed arguments, e.g. ``wdiv_penalty(sampling='fake')``."""
        if self.penalty is None:
            return None
        fn = getattr(self.penalty, "func", self.penalty)
        kw = ", ".join(f"{k}={v!r}" for k, v in getattr(self.penalty, "keywords", {}).items())
        return f"{fn.__name__}({kw})" if kw else fn.__name__

    def d_loss(self, real_scores: Tensor, fake_scores: Tensor, **inputs) -> Tensor:
        """D's loss; ``inputs`` must hold what ``d_inputs`` declares (others are ignored)."""
        return self.d_fn(real_scores, fake_scores, **{k: inputs[k] for k in self.d_inputs})

    def g_loss(self, fake_scores: Tensor, **inputs) -> Tensor:
        """G's loss; ``inputs`` must hold what ``g_inputs`` declares (others are ignored)."""
        return self.g_fn(fake_scores, **{k: inputs[k] for k in self.g_inputs})


LOSSES: dict[str, GANLoss] = {}


def register(loss: GANLoss, replace: bool = False) -> GANLoss:
    """Add ``loss`` to :data:`LOSSES` under its name; an existing name is an error unless ``replace``."""
    if loss.name in LOSSES and not replace and LOSSES[loss.name] is not loss:
        raise ConfigError(f"a loss named {loss.name!r} is already registered: choose another name, "
                          "pass register(..., replace=True), or give fit the GANLoss itself.")
    LOSSES[loss.name] = loss
    return loss


def get_loss(name: str) -> GANLoss:
    """The registered loss ``name``, or a clear error listing the valid names."""
    if name not in LOSSES:
        raise unknown_name("loss", name, LOSSES)
    return LOSSES[name]


register(GANLoss("minimax", minimax_d_loss, minimax_g_loss, probability=True))
register(GANLoss("ns", minimax_d_loss, ns_g_loss, probability=True))


# ---- chapter 3: Wasserstein GANs and the hinge loss ----
def wasserstein_d_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """The critic ``T = D`` maximises ``E_p[T(x_real)] - E_q[T(x_fake)]``: minimise ``E f - E r``.

    The Kantorovich-Rubinstein dual of W_1 (Arjovsky et al., 2017); the constraint on T
    (clipping, a gradient penalty) is added by the training step, not here. ``(B,)`` scores.
    """
    return fake_scores.mean() - real_scores.mean()


def wasserstein_g_loss(fake_scores: Tensor) -> Tensor:
    """G minimises ``E_p[T] - E_q[T]``; only ``-E_q[T(G(z))]`` depends on G."""
    return -fake_scores.mean()


def hinge_d_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Hinge loss of D: ``E relu(1 - r) + E relu(1 + f)`` (Lim and Ye, 2017; Miyato et al., 2018)."""
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def wgan_gp_loss(sampling: str = "real_fake", weight: float = 10.0, name: str | None = None) -> GANLoss:
    """WGAN-GP (Gulrajani et al., 2017): the Wasserstein losses plus ``weight`` times
    :func:`~gan_tutorial.regularizers.gradient_penalty` at the points ``sampling`` draws."""
    penalty = functools.partial(regularizers.gradient_penalty, sampling=regularizers.check_sampling(sampling))
    return GANLoss(name or ("wgan_gp" if sampling == "real_fake" else f"wgan_gp_{sampling}"),
                   wasserstein_d_loss, wasserstein_g_loss, penalty=penalty, penalty_weight=weight)


def wgan_div_loss(sampling: str = "real_fake", k: float = 2.0, p: float = 6.0,
                  name: str | None = None) -> GANLoss:
    """WGAN-div (Wu et al., 2018): the Wasserstein losses plus
    :func:`~gan_tutorial.regularizers.wdiv_penalty` ``k E ||grad D||^p`` (weight 1: ``k`` is
    inside the penalty). The paper's ``k = 2``, ``p = 6``; the authors' TensorFlow code uses
    ``k = 10``."""
    penalty = functools.partial(regularizers.wdiv_penalty, k=k, p=p,
                                sampling=regularizers.check_sampling(sampling))
    return GANLoss(name or ("wgan_div" if sampling == "real_fake" else f"wgan_div_{sampling}"),
                   wasserstein_d_loss, wasserstein_g_loss, penalty=penalty, penalty_weight=1.0)


register(GANLoss("wgan", wasserstein_d_loss, wasserstein_g_loss, clip=0.01))
register(wgan_gp_loss())
register(wgan_div_loss())
register(GANLoss("hinge", hinge_d_loss, wasserstein_g_loss))  # G: minimise -E f
# the non-saturating GAN with R1, a zero-centred gradient penalty on real data (Mescheder et
# al., 2018): near equilibrium it damps the rotation of (G, D) that plain GANs circle in
register(GANLoss("ns_r1", minimax_d_loss, ns_g_loss, penalty=regularizers.r1_penalty,
                 penalty_weight=0.1, probability=True))
# ---- end of chapter 3 ----


# ---- chapter 4: Sphere GAN (Park and Kwon, CVPR 2019) ----
def inverse_stereographic(u: Tensor) -> Tensor:
    """Inverse stereographic projection ``R^n -> S^n``, the north pole ``(0, ..., 0, 1)`` last.

    For D's linear output ``s`` (the argument ``u`` here) ``(..., n)``,
    ``Pi^-1(s) = (2s / (|s|^2 + 1), (|s|^2 - 1) / (|s|^2 + 1))`` ``(..., n + 1)`` is the point
    of the unit sphere where the line from the north pole through ``(s, 0)`` meets it (Park
    and Kwon, 2019; chapter 4 writes it ``u``). ``s = 0`` goes to the south pole and
    ``|s| -> inf`` to the north pole.

    For ``|s| > 1`` the formula is evaluated on the inverted point ``w = s / |s|^2``
    (``|w| = 1 / |s|``), since ``Pi^-1(s)`` is ``Pi^-1(w)`` with its last coordinate negated:
    nothing overflows for large ``|s|`` and the gradient is finite everywhere (no square
    root is taken near ``s = 0``).
    """
    sq = u.square().sum(-1, keepdim=True)  # (..., 1), may overflow to inf: only a mask
    inside = sq <= 1.0
    # each branch gets a harmless input where it is not used, so no NaN leaks into gradients
    u_in = torch.where(inside, u, torch.zeros_like(u))
    s = u_in.square().sum(-1, keepdim=True)  # |u|^2 <= 1
    x_in, y_in = 2 * u_in / (s + 1), (s - 1) / (s + 1)
    u_out = torch.where(inside, torch.ones_like(u), u)  # |u| > 1
    m = u_out.abs().amax(-1, keepdim=True)  # scale first: |u|^2 may overflow, (u / m) cannot
    v = u_out / m
    w = v / (m * v.square().sum(-1, keepdim=True))  # = u / |u|^2, |w| < 1
    q = w.square().sum(-1, keepdim=True)  # = 1 / |u|^2
    x_out, y_out = 2 * w / (q + 1), (1 - q) / (1 + q)
    return torch.cat([torch.where(inside, x_in, x_out), torch.where(inside, y_in, y_out)], dim=-1)


def stereographic(x: Tensor) -> Tensor:
    """Stereographic projection from the north pole (last coordinate) of ``S^n`` onto ``R^n``.

    ``Pi(u', y) = u' / (1 - y)`` for a unit vector ``u = (u', y)`` (the argument ``x``)
    ``(..., n + 1)``; near the pole (``y > 0``) it is evaluated as ``u' (1 + y) / |u'|^2``,
    equal on the sphere because ``(1 - y)(1 + y) = |u'|^2``, which avoids the cancellation in
    ``1 - y``. The north pole itself has no image (the result is not finite there).
    """
    xp, y = x[..., :-1], x[..., -1:]
    near_pole = y > 0
    far = xp / torch.where(near_pole, torch.ones_like(y), 1 - y)
    near = xp * (1 + y) / torch.where(near_pole, xp.square().sum(-1, keepdim=True), torch.ones_like(y))
    return torch.where(near_pole, near, far)


def geodesic_distance(a: Tensor, b: Tensor) -> Tensor:
    """Great-circle distance ``d(a, b) = arccos(<a, b>)`` between unit vectors ``(..., k)`` -> ``(...)``.

    Evaluated as ``2 atan2(|a - b|, |a + b|)``, equal for unit vectors (the chord lengths are
    ``2 sin(d / 2)`` and ``2 cos(d / 2)``): exact for tiny angles and near ``pi``, where
    ``arccos`` of a rounded dot product loses half the digits, and its gradient is finite
    everywhere (``arccos`` has an infinite derivative at ``+-1``).
    """
    return 2 * torch.atan2(torch.linalg.vector_norm(a - b, dim=-1),
                           torch.linalg.vector_norm(a + b, dim=-1))


def pole_distance(x: Tensor) -> Tensor:
    """Geodesic distance ``arccos(u_{n+1})`` from points ``u`` (the argument ``x``)
    ``(..., n + 1)`` of S^n to the north pole ``(0, ..., 0, 1)``.

    Written ``atan2(|u'|, u_{n+1})`` with ``u = (u', u_{n+1})``: the angle between ``u`` and
    the last axis. For ``u = Pi^-1(s)`` it equals ``2 atan(1 / |s|)`` (chapter 4), in ``[0, pi]``.
    """
    return torch.atan2(torch.linalg.vector_norm(x[..., :-1], dim=-1), x[..., -1])


def sphere_score(scores: Tensor) -> Tensor:
    """Sphere GAN's D as one number per sample: the distance of ``Pi^-1(s)`` to the north pole
    ``(B,)``, large for what D takes as real (real samples are pushed away from the pole)."""
    return pole_distance(inverse_stereographic(scores))


def sphere_moments(scores: Tensor, moments: int = 3) -> Tensor:
    """``sum_{k=1}^R mean(d^k)``, ``d`` the distance of ``Pi^-1(s)`` to the north pole, for D's
    linear outputs ``s`` = ``scores`` ``(B, n)``."""
    d = pole_distance(inverse_stereographic(scores))  # (B,) in [0, pi]
    return sum(d.pow(r).mean() for r in range(1, moments + 1))


def sphere_d_loss(real_scores: Tensor, fake_scores: Tensor, moments: int = 3) -> Tensor:
    """D of Sphere GAN maximises ``sum_k E_{p_data} d(u(x))^k - sum_k E_{p_z} d(u(G(z)))^k``.

    Park and Kwon (2019): ``min_G max_D`` of that objective, ``k = 1..R``, where
    ``u(x) = Pi^-1(s(x))`` is D's output on S^n, ``d`` its geodesic distance to the north
    pole, and ``s`` = ``real_scores`` / ``fake_scores`` ``(B, n)`` are D's linear outputs.
    Real samples are pushed away from the pole (to the south pole), fakes towards it.
    Returns the negated objective, to minimise.
    """
    return sphere_moments(fake_scores, moments) - sphere_moments(real_scores, moments)


def sphere_g_loss(fake_scores: Tensor, moments: int = 3) -> Tensor:
    """G of Sphere GAN minimises ``-sum_k E_{p_z} d(u(G(z)))^k``: fakes move away from the north pole."""
    return -sphere_moments(fake_scores, moments)


def sphere_loss(moments: int = 3, name: str | None = None) -> GANLoss:
    """The Sphere GAN objective with ``R = moments`` (a vector D: build it with ``out_dim=n``).

    Named ``"sphere"`` for the default ``R = 3`` and ``"sphere_r{R}"`` otherwise; pass it to
    :func:`register` to train with it by name. No penalty, no clipping: the distance to
    the north pole is bounded by ``pi``.
    """
    if isinstance(moments, bool) or not isinstance(moments, int) or moments < 1:
        raise ConfigError(f"moments must be a positive integer (R = 1, 2, 3, ...), got {moments!r}.")

    name = name or ("sphere" if moments == 3 else f"sphere_r{moments}")
    return GANLoss(name, functools.partial(sphere_d_loss, moments=moments),
                   functools.partial(sphere_g_loss, moments=moments), output="vector",
                   score=sphere_score)


register(sphere_loss(3))
# ---- end chapter 4 ----


# ---- chapter 5: GAN-QP and O-GAN (Su, 2018; Su, 2019) ----------------------------------------
def gan_qp_d_loss(real_scores: Tensor, fake_scores: Tensor, x_real: Tensor, x_fake: Tensor,
                  lam: float = 10.0, distance: str = "rms", eps: float = 1e-8) -> Tensor:
    """GAN-QP's D loss (Su, 2018): D maximises ``E[Δ - Δ² / (2 κ d(x_real, x_fake))]``.

    ``Δ = D(x_real) - D(x_fake)`` for the pair ``(x_real[i], x_fake[i])``; the quadratic term
    replaces a Lipschitz constraint: for one pair the maximum over Δ is at ``Δ = κ d``.
    ``κ`` is the argument ``lam``. ``distance`` is ``"rms"`` (``‖x_r - x_f‖₂ / sqrt(dim)``,
    the package's ``gan_qp`` with ``κ = 10``) or ``"ms"`` (the mean squared difference,
    ``κ = 2`` in O-GAN's code). The GAN-QP reference code's default, the mean absolute
    difference ``‖x_r - x_f‖₁ / dim`` (L1), is not offered (chapter 5 says why).
    Scores ``(B,)``; samples ``(B, ...)``. Returns the mean of ``-Δ + Δ²/(2κd)`` (minimised).
    """
    if distance not in ("rms", "ms"):
        raise ConfigError(f"distance must be 'rms' or 'ms', got {distance!r}.")
    delta = real_scores - fake_scores  # (B,)
    d = (x_real - x_fake).reshape(len(x_real), -1).pow(2).mean(1)  # (B,) mean squared
    d = d.sqrt() if distance == "rms" else d
    return (-delta + delta.pow(2) / (2 * lam * d.clamp_min(eps))).mean()


def gan_qp_g_loss(fake_scores: Tensor) -> Tensor:
    """GAN-QP's G loss ``E[D(x_real) - D(x_fake)]`` less its term constant in G: ``-E D(x_fake)``."""
    return -fake_scores.mean()


def gan_qp_loss(lam: float = 10.0, distance: str = "rms", name: str = "gan_qp") -> GANLoss:
    """A GAN-QP :class:`GANLoss` with coefficient ``κ = lam`` and ``distance`` (see :func:`gan_qp_d_loss`)."""

    d_fn = functools.partial(gan_qp_d_loss, lam=lam, distance=distance)
    return GANLoss(name, d_fn, gan_qp_g_loss, d_inputs=("x_real", "x_fake"))


def standardize(e: Tensor, eps: float = 1e-8) -> Tensor:
    """``N(e) = (e - avg(e)) / std(e)`` row-wise over the last axis (population std, ``+eps``).

    ``e = avg(e)·1 + std(e)·N(e)`` with ``N(e) ⟂ 1`` and ``‖N(e)‖² = n`` (chapter 5). A constant
    row gives ``N(e) = 0`` (no NaN, no infinite gradient).
    """
    c = e - e.mean(-1, keepdim=True)
    return c / (c.pow(2).mean(-1, keepdim=True) + eps).sqrt()


def pearson(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """Pearson correlation of the rows of ``a`` and ``b`` ``(B, n)`` -> ``(B,)``.

    ``rho(a, b) = <N(a), N(b)> / n`` (see :func:`standardize`): invariant under
    ``b -> alpha b + beta`` for ``alpha > 0``; 0 for a constant row. O-GAN (Su, 2019) maximises
    ``rho(z, E(G(z)))``.
    """
    return (standardize(a, eps) * standardize(b, eps)).mean(-1)


def ogan_loss(base: str | GANLoss = "gan_qp", weight: float = 0.5, recon: str = "pearson",
              name: str | None = None) -> GANLoss:
    """O-GAN (Su, 2019): the discriminator is ``D(x) = avg(E(x))`` of a vector output ``E(x)``.

    ``E`` is the vector-output D of the package (``out_dim = latent_dim``), so
    ``real_scores = E(x_real)`` and ``fake_scores = E(G(z))`` are ``(B, latent_dim)``; the
    average replaces the head ``h`` of a scalar D. Both players add ``-λ · rho(z, E(G(z)))``,
    ``λ`` = ``weight``, to the ``base`` loss evaluated on the averages:

        D (i.e. E): min  base_d(avg E(x_real), avg E(G(z))) - λ · E rho(z, E(G(z)))
        G:          min  base_g(avg E(G(z)))                - λ · E rho(z, E(G(z)))

    ``base`` is a scalar GAN loss (a :class:`GANLoss` or a registered name, looked up when
    the loss is called; its penalty and clipping are not carried over). ``recon="mse"`` is
    the ablation ``+ λ · mean((z - E(G(z)))²)`` in place of ``-λ · rho``.
    """
    if recon not in ("pearson", "mse"):
        raise ConfigError(f"recon must be 'pearson' or 'mse', got {recon!r}.")
    base_name = base if isinstance(base, str) else base.name

    def scalar_base() -> GANLoss:
        b = get_loss(base) if isinstance(base, str) else base
        if b.output != "scalar":
            raise ConfigError(f"O-GAN needs a scalar base loss; {b.name!r} is not one: use e.g. 'gan_qp' or 'ns'.")
        return b

    def recon_loss(z: Tensor, fake_scores: Tensor) -> Tensor:
        if fake_scores.ndim != 2 or fake_scores.shape != z.shape:
            raise ShapeError(f"O-GAN needs E(G(z)) shaped like z {tuple(z.shape)}, got "
                             f"{tuple(fake_scores.shape)}: build D with out_dim = latent_dim.")
        if recon == "mse":
            return weight * (z - fake_scores).pow(2).mean()
        return -weight * pearson(z, fake_scores).mean()

    def d_fn(real_scores: Tensor, fake_scores: Tensor, z: Tensor, x_real: Tensor,
             x_fake: Tensor) -> Tensor:
        adv = scalar_base().d_loss(real_scores.mean(1), fake_scores.mean(1), z=z,
                                   x_real=x_real, x_fake=x_fake)
        return adv + recon_loss(z, fake_scores)

    def g_fn(fake_scores: Tensor, z: Tensor, x_real: Tensor, x_fake: Tensor) -> Tensor:
        adv = scalar_base().g_loss(fake_scores.mean(1), z=z, x_real=x_real, x_fake=x_fake)
        return adv + recon_loss(z, fake_scores)

    inputs = ("z", "x_real", "x_fake")
    return GANLoss(name or f"ogan_{base_name}", d_fn, g_fn, d_inputs=inputs, g_inputs=inputs,
                   output="vector")


register(gan_qp_loss())  # "gan_qp": κ = 10, root-mean-square distance
register(ogan_loss(gan_qp_loss(lam=2.0, distance="ms", name="gan_qp_ms"), 0.5, name="ogan"))
register(ogan_loss("ns", name="ogan_ns"))
register(ogan_loss("hinge", name="ogan_hinge"))
register(ogan_loss(gan_qp_loss(lam=2.0, distance="ms", name="gan_qp_ms"), 0.5, recon="mse",
                   name="ogan_mse"))
# ---- end of chapter 5 ----
