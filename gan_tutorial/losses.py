"""GAN losses as pure functions of discriminator outputs, and one registry of them.

Every loss is a pair of functions that return a mean-reduced scalar to *minimise*:

* ``d_loss(real_scores, fake_scores, ...)`` - what D minimises;
* ``g_loss(fake_scores, ...)`` - what G minimises.

``real_scores = D(x_real)`` and ``fake_scores = D(x_fake)`` are raw outputs (logits for
the classifier GANs), shaped ``(B,)`` for a scalar D or ``(B, k)`` for a vector D. A loss
function may also ask, by naming them as arguments, for ``real_scores`` (in ``g_loss``),
``z``, ``x_real`` or ``x_fake``; :class:`GANLoss` passes each function only what it names.

:data:`LOSSES` maps a name to a :class:`GANLoss`, which also says whether D must output a
vector, which regularizer the method adds to D's loss (by name, looked up in
:mod:`gan_tutorial.regularizers`) with its default weight, and whether D's weights are
clipped after each step.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import torch.nn.functional as F
from torch import Tensor

from .errors import unknown_name


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
@dataclass(frozen=True)
class GANLoss:
    """A GAN's objective: the two loss functions and what the training step must add.

    ``output`` is ``"scalar"`` (D returns ``(B,)``) or ``"vector"`` (``(B, k)``).
    ``penalty`` names a function in ``regularizers.PENALTIES`` added to D's loss with
    ``penalty_weight``; ``clip`` is the weight-clipping bound applied after each D step.
    """

    name: str
    d_fn: Callable[..., Tensor]
    g_fn: Callable[..., Tensor]
    output: str = "scalar"
    penalty: str | None = None
    penalty_weight: float = 0.0
    clip: float | None = None
    _d_args: tuple[str, ...] = field(init=False, repr=False)
    _g_args: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_d_args", tuple(inspect.signature(self.d_fn).parameters))
        object.__setattr__(self, "_g_args", tuple(inspect.signature(self.g_fn).parameters))

    @property
    def g_needs_real(self) -> bool:
        """Whether G's loss uses ``D(x_real)`` (then the G step evaluates D on real data)."""
        return "real_scores" in self._g_args

    def d_loss(self, real_scores: Tensor, fake_scores: Tensor, **context) -> Tensor:
        """D's loss; ``context`` may hold ``z``, ``x_real``, ``x_fake`` for losses that name them."""
        context.update(real_scores=real_scores, fake_scores=fake_scores)
        return self.d_fn(**{k: context[k] for k in self._d_args})

    def g_loss(self, fake_scores: Tensor, **context) -> Tensor:
        """G's loss; ``context`` may hold ``real_scores``, ``z``, ``x_real``, ``x_fake``."""
        context.update(fake_scores=fake_scores)
        return self.g_fn(**{k: context[k] for k in self._g_args})


LOSSES: dict[str, GANLoss] = {}


def register(loss: GANLoss) -> GANLoss:
    """Add ``loss`` to :data:`LOSSES` under its name (used by every chapter's losses)."""
    LOSSES[loss.name] = loss
    return loss


def get_loss(name: str) -> GANLoss:
    """The registered loss ``name``, or a clear error listing the valid names."""
    if name not in LOSSES:
        raise unknown_name("loss", name, LOSSES)
    return LOSSES[name]


register(GANLoss("minimax", minimax_d_loss, minimax_g_loss))
register(GANLoss("ns", minimax_d_loss, ns_g_loss))
