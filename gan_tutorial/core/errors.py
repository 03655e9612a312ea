"""The package's own exceptions: one line that names the problem and the fix.

Every error a learner can cause by passing a wrong value is a :class:`GanTutorialError`;
it is also a ``ValueError`` or ``TypeError`` so that ordinary ``except`` clauses work.
The CLI prints such an error as one line and exits non-zero, without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GanTutorialError(Exception):
    """Base class of the errors raised on bad input."""


class ConfigError(GanTutorialError, ValueError):
    """A value that is out of range or unknown (a name, a size, a rate)."""


class ShapeError(GanTutorialError, ValueError):
    """A tensor whose shape or layout does not fit what the method needs."""


class DataError(GanTutorialError, ValueError):
    """A data set that cannot be found or holds invalid values."""


class CheckpointError(GanTutorialError, ValueError):
    """A checkpoint that cannot be read (truncated, corrupted, or unsafe)."""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> ConfigError:
    """Build the error for an unknown name, listing the valid ones and the closest match."""
    valid = sorted(valid)
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"unknown {kind} {name!r}.{hint} Choose one of: {', '.join(valid)}.")
