"""Checkers for the book's exercises.

An exercise names a reference function from the package and a way to draw random inputs.
``check(name, your_function)`` calls both on the same inputs several times and reports the
first difference it finds: which input, the expected and the obtained value or shape.

    >>> from gan_tutorial import exercises
    >>> exercises.check("ns_g_loss", my_ns_g_loss)   # prints what passed, or raises

Chapters register their exercises with :func:`exercise`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from . import losses
from .errors import GanTutorialError, unknown_name


class ExerciseFailed(GanTutorialError, AssertionError):
    """Raised by :func:`check` with a message that says what differs."""


@dataclass(frozen=True)
class Exercise:
    """A reference ``solution``, a ``make_inputs(generator) -> tuple`` and tolerances."""

    name: str
    solution: Callable
    make_inputs: Callable[[torch.Generator], tuple]
    description: str = ""
    atol: float = 1e-5
    rtol: float = 1e-4


EXERCISES: dict[str, Exercise] = {}


def exercise(name: str, solution: Callable, make_inputs: Callable[[torch.Generator], tuple],
             description: str = "", atol: float = 1e-5, rtol: float = 1e-4) -> Exercise:
    """Register an exercise whose answer must agree with ``solution`` on random inputs."""
    EXERCISES[name] = Exercise(name, solution, make_inputs, description, atol, rtol)
    return EXERCISES[name]


def _describe(value) -> str:
    if isinstance(value, Tensor):
        return f"tensor of shape {tuple(value.shape)}"
    return repr(value)


def _compare(expected, got, ex: Exercise, where: str) -> str | None:
    """None if ``got`` matches ``expected``, else a sentence saying what differs."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"{where}: expected a sequence of {len(expected)} values, got {_describe(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            msg = _compare(e, g, ex, f"{where}[{i}]")
            if msg:
                return msg
        return None
    if isinstance(expected, Tensor) or isinstance(got, Tensor):
        got_t = torch.as_tensor(got.detach() if isinstance(got, Tensor) else got).to(torch.float64)
        exp_t = torch.as_tensor(expected.detach() if isinstance(expected, Tensor) else expected)
        exp_t = exp_t.to(torch.float64)
        if got_t.shape != exp_t.shape:
            return f"{where}: expected shape {tuple(exp_t.shape)}, got {tuple(got_t.shape)}"
        if not torch.allclose(got_t, exp_t, atol=ex.atol, rtol=ex.rtol, equal_nan=True):
            diff = (got_t - exp_t).abs()
            i = int(torch.nan_to_num(diff, nan=float("inf")).argmax())
            return (f"{where}: values differ (largest difference {float(diff.flatten()[i]):.3g} at "
                    f"flat index {i}: expected {float(exp_t.flatten()[i]):.6g}, "
                    f"got {float(got_t.flatten()[i]):.6g})")
        return None
    if expected != got:
        return f"{where}: expected {expected!r}, got {got!r}"
    return None


def check(name: str, answer: Callable, trials: int = 5, seed: int = 0, verbose: bool = True) -> int:
    """Run ``answer`` against the reference of exercise ``name`` on ``trials`` random inputs.

    Returns the number of trials passed (all of them); raises :class:`ExerciseFailed` with a
    description of the first difference otherwise.
    """
    if name not in EXERCISES:
        raise unknown_name("exercise", name, EXERCISES)
    ex = EXERCISES[name]
    g = torch.Generator().manual_seed(seed)
    for t in range(trials):
        inputs = ex.make_inputs(g)
        expected = ex.solution(*inputs)
        try:
            got = answer(*[i.clone() if isinstance(i, Tensor) else i for i in inputs])
        except Exception as exc:
            shapes = ", ".join(_describe(i) for i in inputs)
            raise ExerciseFailed(f"{name}: your function raised {type(exc).__name__}: {exc} "
                                 f"(inputs: {shapes})") from exc
        msg = _compare(expected, got, ex, "output")
        if msg:
            shapes = ", ".join(_describe(i) for i in inputs)
            raise ExerciseFailed(f"{name}, trial {t + 1} (inputs: {shapes}): {msg}")
    if verbose:
        print(f"{name}: all {trials} checks passed.")
    return trials


# ----------------------------------------------------------------------------- chapter 1
def _logit_batch(g: torch.Generator) -> tuple[Tensor]:
    n = int(torch.randint(1, 64, (1,), generator=g))
    return (torch.randn(n, generator=g) * 5,)  # logits, some of them confident


exercise("ns_g_loss", losses.ns_g_loss, _logit_batch,
         "The non-saturating generator loss -E log sigmoid(f) from D's logits f, stable for "
         "large |f|.")
