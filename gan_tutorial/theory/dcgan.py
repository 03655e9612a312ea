"""Chapter 2, DCGAN: the sizes of (transposed) convolutions, and why D ends in a logit.

Two sympy derivations and their exact numerical companions:

* ``transposed_conv_size`` solves the convolution's size equation for its *input* size: a
  transposed convolution is the gradient (the adjoint) of a convolution, so it maps a map of
  the convolution's output size back to one of its input size. With kernel 4, stride 2 and
  padding 1 the result simplifies to ``2 i``: the block doubles the size, as DCGAN needs;
* ``logit_loss`` derives the binary cross-entropy of ``sigmoid(s)`` against a label ``y`` as
  a softplus of the logit ``s``, ``softplus(s) - y s``, and its derivative ``sigmoid(s) - y``,
  bounded by 1, and its linear growth for confidently wrong logits; ``bce_gradients`` shows
  what float32 does to the same loss when it is computed from ``sigmoid(s)`` (Sigmoid +
  BCELoss), and ``saturation_logits`` finds where its gradient becomes exactly 0.

The architecture itself (Radford et al., 2016) is in :mod:`gan_tutorial.models`.
"""

from __future__ import annotations

import sympy as sp
import torch
import torch.nn.functional as F
from torch import Tensor


# ----------------------------------------------------------------------------- sizes
def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Side of ``Conv2d``'s output: ``floor((size + 2 padding - kernel) / stride) + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def conv_transpose_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0) -> int:
    """Side of ``ConvTranspose2d``'s output: ``(size - 1) stride - 2 padding + kernel + output_padding``.

    The smallest input of a convolution with these settings that has output side ``size``,
    plus ``output_padding`` extra rows (several inputs share one output size when
    ``stride > 1``; ``output_padding < stride`` picks among them).
    """
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def transposed_conv_size() -> dict:
    """Derive the output size of a transposed convolution from the convolution's.

    A convolution with kernel ``k``, stride ``s`` and padding ``p`` maps a side ``n`` to
    ``i = (n + 2p - k)/s + 1`` when ``s`` divides ``n + 2p - k``. The transposed convolution
    with the same settings maps ``i`` back to ``n``; sympy solves the equation for ``n``.
    Returns

    * ``conv`` - the convolution's output side ``i`` as a function of ``n``;
    * ``transposed`` - the solution ``n(i)``;
    * ``dcgan_up`` - ``n`` for ``k = 4, s = 2, p = 1``, simplified (``2 i``);
    * ``dcgan_down`` - ``i`` for the same settings, as a function of ``n`` (``n / 2``);
    * ``project`` - ``n`` for ``i = 1, s = 1, p = 0`` (the first layer of G: ``k``).
    """
    n, i, k, s = sp.symbols("n i k s", positive=True, integer=True)
    p = sp.symbols("p", nonnegative=True, integer=True)
    conv = (n + 2 * p - k) / s + 1
    transposed = sp.solve(sp.Eq(conv, i), n)
    if len(transposed) != 1:
        raise RuntimeError(f"expected one solution, got {transposed}")
    transposed = sp.expand(transposed[0])
    return {
        "symbols": (n, i, k, s, p),
        "conv": conv,
        "transposed": transposed,
        "dcgan_up": sp.simplify(transposed.subs({k: 4, s: 2, p: 1})),
        "dcgan_down": sp.simplify(conv.subs({k: 4, s: 2, p: 1})),
        "project": sp.simplify(transposed.subs({i: 1, s: 1, p: 0})),
    }


# ----------------------------------------------------------------------------- logits
def logit_loss() -> dict:
    """The binary cross-entropy of ``sigmoid(s)`` against a label ``y``, as a function of the logit ``s``.

    ``L(s, y) = -y log sigmoid(s) - (1 - y) log(1 - sigmoid(s))`` with
    ``sigmoid(s) = 1 / (1 + e^{-s})``. sympy derives, from that definition alone:

    * ``neg_log_sigmoid`` - ``-log sigmoid(s)`` with the logarithm expanded:
      ``log(1 + e^{-s})``, which is ``softplus(-s)`` (``softplus(u) = log(1 + e^u)``);
    * ``one_minus_sigmoid`` - ``1 - sigmoid(s)`` simplified: ``1 / (e^s + 1)``, i.e.
      ``sigmoid(-s)``, so ``neg_log_one_minus`` = ``-log(1 - sigmoid(s))`` = ``log(e^s + 1)``
      = ``softplus(s)``;
    * ``softplus_shift`` - ``softplus(-s) - softplus(s)`` simplified: ``-s``;
    * ``softplus_form`` - ``L`` simplified: ``log(e^s + 1) - y s`` = ``softplus(s) - y s``, which
      ``F.softplus`` evaluates without overflow;
    * ``grad`` - ``dL/ds`` simplified; ``logit_of`` - ``s`` solved from ``sigmoid(s) = sigma``
      (``log(sigma / (1 - sigma))``), and ``grad_in_sigmoid`` - ``grad`` at that ``s``:
      ``sigma - y``, between -1 and 1 for any logit;
    * ``wrong_fake_slope`` - the limit of ``L(s, 0) / s`` as ``s -> oo``: a fake sample that D
      calls real with logit ``s`` costs about ``s`` (1: the loss grows linearly, it does not
      saturate); ``right_fake_limit`` - ``L(s, 0)`` as ``s -> -oo`` (0).
    """
    s = sp.symbols("s", real=True)
    y = sp.symbols("y", nonnegative=True)
    sigma = sp.symbols("sigma", positive=True)
    sig = 1 / (1 + sp.exp(-s))
    loss = -y * sp.log(sig) - (1 - y) * sp.log(1 - sig)
    one_minus = sp.simplify(1 - sig)
    grad = sp.simplify(sp.diff(loss, s))
    (logit_of,) = sp.solve(sp.Eq(sig, sigma), s)
    fake = loss.subs(y, 0)
    return {
        "s": s, "y": y, "sigma": sigma, "sigmoid": sig, "loss": loss,
        "neg_log_sigmoid": sp.expand_log(-sp.log(sig), force=True),
        "one_minus_sigmoid": one_minus, "neg_log_one_minus": sp.expand_log(-sp.log(one_minus), force=True),
        "softplus_shift": sp.simplify(sp.log(1 + sp.exp(-s)) - sp.log(1 + sp.exp(s))),
        "softplus_form": sp.simplify(loss), "grad": grad, "logit_of": logit_of,
        "grad_in_sigmoid": sp.simplify(grad.subs(s, logit_of)),
        "wrong_fake_slope": sp.limit(fake / s, s, sp.oo),
        "right_fake_limit": sp.limit(fake, s, -sp.oo),
    }


def bce_gradients(logits: Tensor, labels: Tensor, dtype: torch.dtype = torch.float32) -> dict:
    """Loss and gradient per sample with respect to the logit, computed three ways.

    * ``sigmoid_bce`` - ``BCELoss(sigmoid(t), y)`` in ``dtype`` (what Sigmoid + BCELoss does);
    * ``with_logits`` - ``binary_cross_entropy_with_logits(t, y)`` in ``dtype``;
    * ``exact`` - the closed forms ``softplus(t) - y t`` and ``sigmoid(t) - y`` in float64.

    Each value is a pair ``(loss, grad)`` of float64 tensors shaped like ``logits``.
    """
    out = {}
    for name in ("sigmoid_bce", "with_logits"):
        t = logits.detach().to(dtype).requires_grad_(True)
        y = labels.to(dtype)
        if name == "sigmoid_bce":
            loss = F.binary_cross_entropy(torch.sigmoid(t), y, reduction="none")
        else:
            loss = F.binary_cross_entropy_with_logits(t, y, reduction="none")
        (grad,) = torch.autograd.grad(loss.sum(), t)
        out[name] = (loss.detach().double(), grad.double())
    t, y = logits.double(), labels.double()
    out["exact"] = (F.softplus(t) - y * t, torch.sigmoid(t) - y)
    return out


def saturation_logits(dtype: torch.dtype = torch.float32, fraction: float = 0.01,
                      step: float = 0.01) -> dict:
    """Where Sigmoid + BCELoss loses its gradient on a confidently wrong sample, in ``dtype``.

    Scans logits in ``[-150, 150]`` (spacing ``step``) with :func:`bce_gradients` and calls the
    gradient lost where its size is below ``fraction`` of the exact ``|sigmoid(s) - y|``
    (which is at least 1/2 on the wrong side). Returns ``fake`` - the smallest positive logit
    where a fake sample (label 0) has lost it, ``real`` - the largest negative logit where a
    real one (label 1) has (None if none in the range), ``with_logits_lost`` - whether the
    with-logits loss loses it anywhere on those sides, and ``clamp_logit`` - ``log(1e-12)``:
    PyTorch's BCELoss divides by ``max(p (1 - p), 1e-12)`` in its backward pass, so below that
    logit a real sample's gradient is about ``e^s / 1e-12`` instead of 1.
    """
    import math

    grid = torch.arange(-150.0, 150.0 + step / 2, step, dtype=torch.float64)
    out, logits_lost = {}, False
    for side, label, wrong in (("fake", 0.0, grid > 0), ("real", 1.0, grid < 0)):
        r = bce_gradients(grid, torch.full_like(grid, label), dtype)
        exact = r["exact"][1].abs()
        lost = (r["sigmoid_bce"][1].abs() < fraction * exact) & wrong
        hits = grid[lost]
        out[side] = None if not lost.any() else float(hits.min() if side == "fake" else hits.max())
        logits_lost |= bool(((r["with_logits"][1].abs() < fraction * exact) & wrong).any())
    return {**out, "with_logits_lost": logits_lost, "clamp_logit": math.log(1e-12)}


def stable_bce_with_logits(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean binary cross-entropy of ``sigmoid(logits)`` against ``labels`` in [0, 1].

    ``max(t, 0) - y t + log(1 + e^{-|t|})``: the same as ``softplus(t) - y t``, and no
    exponential of a large positive number is ever taken.
    """
    return (logits.clamp(min=0) - labels * logits + torch.log1p(torch.exp(-logits.abs()))).mean()


# ----------------------------------------------------------------------------- blocks
def dcgan_up_block(x: Tensor, weight: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
    """One DCGAN generator block in training mode: ``ReLU(BN(ConvTranspose(x)))``.

    ``x`` ``(B, C_in, H, W)``, ``weight`` ``(C_in, C_out, 4, 4)`` (no bias: batch norm's
    ``beta`` plays its role), stride 2 and padding 1, so the output is ``(B, C_out, 2H, 2W)``;
    batch norm with the batch's statistics (biased variance, ``eps = 1e-5``) and the affine
    parameters ``gamma``, ``beta`` ``(C_out,)``.
    """
    h = F.conv_transpose2d(x, weight, stride=2, padding=1)
    h = F.batch_norm(h, None, None, gamma, beta, training=True, eps=1e-5)
    return F.relu(h)


# ----------------------------------------------------------------------------- conditioning
def class_mix_split() -> dict:
    """KL between joints of (x, y) split into a class-mix term and a within-class term.

    Data ``p(x, y) = p(y) p(x | y)``, a model ``q(x, y) = q(y) q(x | y)``; two classes and
    three values of x, every probability a free symbol. Computes
    ``KL(p(x, y) || q(x, y)) - KL(p(y) || q(y)) - sum_y p(y) KL(p(x | y) || q(x | y))``
    from the definitions (it simplifies to 0: the chain rule), then the class-mix term once
    ``q(y) = p(y)``, which a conditional G has by construction (0), and once the two
    class mixes differ (not 0: an unconditional G pays it on top of its shapes).
    """
    a, b = sp.symbols("a b", positive=True)  # p(y = 0), q(y = 0)
    py, qy = (a, 1 - a), (b, 1 - b)
    px = [sp.symbols(f"p{y}_0:2", positive=True) for y in range(2)]
    qx = [sp.symbols(f"q{y}_0:2", positive=True) for y in range(2)]
    px = [(*s, 1 - sum(s)) for s in px]  # p(x | y), three values of x
    qx = [(*s, 1 - sum(s)) for s in qx]

    def kl(p, q):
        return sum(pi * sp.log(pi / qi) for pi, qi in zip(p, q))

    joint_p = [py[y] * px[y][i] for y in range(2) for i in range(3)]
    joint_q = [qy[y] * qx[y][i] for y in range(2) for i in range(3)]
    marginal = kl(py, qy)
    within = sum(py[y] * kl(px[y], qx[y]) for y in range(2))
    gap = sp.simplify(sp.expand_log(kl(joint_p, joint_q) - marginal - within, force=True))
    return {"gap": gap, "marginal_when_matched": sp.simplify(marginal.subs(b, a)),
            "marginal_at_a_half_b_a_third": sp.nsimplify(marginal.subs({a: sp.Rational(1, 2), b: sp.Rational(1, 3)})),
            "marginal": marginal}
