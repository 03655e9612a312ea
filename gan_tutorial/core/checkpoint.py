"""Checkpoints: written atomically, verified when read, rotated, and found for a resume.

A checkpoint holds everything a resumed run needs to continue exactly as an uninterrupted
one (weights, optimiser states, every random generator, the history). It is written to a
temporary file and renamed, so a crash never leaves a half-written file behind, and read
with ``torch.load(weights_only=True)``, which refuses pickled code.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from .errors import CheckpointError, ConfigError


def save_checkpoint(path: str | Path, state: dict) -> Path:
    """Write ``state`` with ``torch.save`` to a temporary file, then rename it over ``path``.

    The rename is atomic, so ``path`` is always either the old file or the complete new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint with ``weights_only=True``; a clear error if it is missing or damaged."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist: check the path, or start "
                              "without resume.")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut file loses its index
        raise CheckpointError(f"checkpoint {path} is truncated or corrupted (not a complete torch.save "
                              "archive): use an older checkpoint or start again.")
    with zipfile.ZipFile(path) as archive:  # CRC-32 of every member: catches flipped bytes
        try:
            bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            bad = str(exc)
    if bad is not None:
        raise CheckpointError(f"checkpoint {path} is corrupted (a checksum fails in {bad}): use an older "
                              "checkpoint or start again.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"checkpoint {path} holds pickled code or objects, which weights_only loading "
                              "refuses: it was not written by gan_tutorial; open it with "
                              "torch.load(..., weights_only=False) only if you trust its source.") from None
    except Exception as exc:  # a truncated zip, a bad magic number, a file cut short
        raise CheckpointError(f"checkpoint {path} is truncated or corrupted ({type(exc).__name__}): use an "
                              "older checkpoint or start again.") from None


def checkpoint_files(folder: str | Path) -> list[Path]:
    """The checkpoints ``step_*.pt`` in ``folder``, oldest first."""
    return sorted(Path(folder).glob("step_*.pt"))


def load_resume(resume: str | Path, map_location: str | torch.device = "cpu") -> tuple[dict, Path]:
    """Load the checkpoint to resume from: a file, or the newest readable one in a folder.

    In a folder, a damaged newest checkpoint (a crash while a disk filled up, a partial
    copy) is reported with a warning and the previous one is used instead.
    """
    path = Path(resume)
    if not path.is_dir():
        return load_checkpoint(path, map_location), path
    files = checkpoint_files(path)
    if not files:
        raise CheckpointError(f"no checkpoint (step_*.pt) in {path}: check the folder, or start "
                              "without resume.")
    for candidate in reversed(files):
        try:
            return load_checkpoint(candidate, map_location), candidate
        except CheckpointError as exc:
            warnings.warn(f"{exc} Falling back to the previous checkpoint.", stacklevel=3)
    raise CheckpointError(f"no readable checkpoint in {path}: start again without resume.")


def check_writable(folder: str | Path) -> Path:
    """Create ``folder`` if needed and make sure files can be written there."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write_test{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"output folder {folder} cannot be written ({exc.strerror or exc}): "
                          "choose another output folder.") from None
    return folder
