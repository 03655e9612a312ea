"""Checkers for the book's exercises.

An exercise names a reference function from the package and a way to draw random inputs,
plus fixed inputs where the mistake that the exercise warns about shows (logits of -1000,
log densities of -900, a constant row, an off-by-one ``top``, ...).
``check(name, your_function)`` calls both on the same inputs several times and reports the
first difference it finds: which input, the expected and the obtained value or shape.

    >>> from gan_tutorial import exercises
    >>> exercises.check("ns_g_loss", my_ns_g_loss)   # prints what passed, or raises

One module per chapter registers its exercises with :func:`exercise`; ``checker`` holds the
registry and :func:`check`.
"""

from __future__ import annotations

from . import dcgan, minimax, mode_collapse, orthogonal, sphere, wasserstein  # noqa: F401  (they register)
from .checker import EXERCISES, Exercise, ExerciseFailed, check, exercise

__all__ = ["EXERCISES", "Exercise", "ExerciseFailed", "check", "exercise"]
