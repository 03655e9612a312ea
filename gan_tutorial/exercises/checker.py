"""The checker behind :func:`check`: a registry of exercises and a comparison that says what differs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..core.errors import GanTutorialError, unknown_name


class ExerciseFailed(GanTutorialError, AssertionError):
    """Raised by :func:`check` with a message that says what differs."""


@dataclass(frozen=True)
class Exercise:
    """A reference ``solution``, a ``make_inputs(generator) -> tuple`` and tolerances.

    ``cases`` are fixed input tuples that expose the mistake the exercise warns about; they
    are the first trials, the random draws of ``make_inputs`` the rest. ``compare_as(inputs,
    output)``, when given, maps both the reference's and the answer's output to what is
    compared (for example the output together with its gradients); it raises ``ValueError``
    with a sentence for the reader when the answer's output cannot be used.
    """

    name: str
    solution: Callable
    make_inputs: Callable[[torch.Generator], tuple]
    description: str = ""
    atol: float = 1e-5
    rtol: float = 1e-4
    cases: tuple = ()
    compare_as: Callable | None = None


EXERCISES: dict[str, Exercise] = {}


def exercise(name: str, solution: Callable, make_inputs: Callable[[torch.Generator], tuple],
             description: str = "", atol: float = 1e-5, rtol: float = 1e-4, cases: tuple = (),
             compare_as: Callable | None = None) -> Exercise:
    """Register an exercise whose answer must agree with ``solution`` on ``cases`` and random inputs."""
    EXERCISES[name] = Exercise(name, solution, make_inputs, description, atol, rtol, tuple(cases), compare_as)
    return EXERCISES[name]


def _describe(value) -> str:
    if isinstance(value, Tensor):
        return f"tensor of shape {tuple(value.shape)}"
    return repr(value)


def _compare_tensors(expected, got, ex: Exercise, where: str) -> str | None:
    """Tensors and floats: same shape, equal within ``atol`` and ``rtol`` (NaN only where expected)."""
    try:
        got_t = torch.as_tensor(got.detach() if isinstance(got, Tensor) else got).to(torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return f"{where}: expected a number or tensor, got {_describe(got)}"
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
    if isinstance(expected, (Tensor, float)) or isinstance(got, (Tensor, float)):
        return _compare_tensors(expected, got, ex, where)  # a float answer, e.g. from .item(), to tolerance
    if expected != got:
        return f"{where}: expected {expected!r}, got {got!r}"
    return None


def _clone(inputs: tuple) -> list:
    return [i.clone() if isinstance(i, Tensor) else i for i in inputs]


def check(name: str, answer: Callable, trials: int = 5, seed: int = 0, verbose: bool = True) -> int:
    """Run ``answer`` against the reference of exercise ``name`` on ``trials`` inputs.

    The first trials are the exercise's fixed ``cases`` (the inputs where its warned mistake
    shows), the others random draws. Returns the number of trials passed (all of them);
    raises :class:`ExerciseFailed` with a description of the first difference otherwise.
    """
    if name not in EXERCISES:
        raise unknown_name("exercise", name, EXERCISES)
    ex = EXERCISES[name]
    g = torch.Generator().manual_seed(seed)
    for t in range(trials):
        inputs = tuple(ex.cases[t]) if t < len(ex.cases) else ex.make_inputs(g)
        shapes = ", ".join(_describe(i) for i in inputs)
        expected = ex.solution(*_clone(inputs))
        try:
            got = answer(*_clone(inputs))
        except Exception as exc:
            raise ExerciseFailed(f"{name}: your function raised {type(exc).__name__}: {exc} "
                                 f"(inputs: {shapes})") from exc
        if ex.compare_as is not None:
            expected = ex.compare_as(inputs, expected)
            try:
                got = ex.compare_as(inputs, got)
            except ValueError as exc:
                raise ExerciseFailed(f"{name}, trial {t + 1} (inputs: {shapes}): {exc}") from exc
        msg = _compare(expected, got, ex, "output")
        if msg:
            raise ExerciseFailed(f"{name}, trial {t + 1} (inputs: {shapes}): {msg}")
    if verbose:
        print(f"{name}: all {trials} checks passed.")
    return trials


def lazy(module: str, name: str) -> Callable:
    """``gan_tutorial.<module>.<name>``, imported at its first call.

    The reference solutions that live in ``theory/`` modules load sympy; importing them
    lazily keeps ``import gan_tutorial.exercises`` light.
    """

    def call(*args):
        return getattr(importlib.import_module(f"gan_tutorial.{module}"), name)(*args)

    call.__name__ = call.__qualname__ = name
    return call
