"""What a chapter's first code cell calls: quick or full mode, the device, the seed."""

from __future__ import annotations

import os
import random
import warnings
from dataclasses import dataclass

import numpy as np
import torch

# Without ipywidgets, tqdm's notebook bar falls back to text with a warning: text is fine.
warnings.filterwarnings("ignore", message="IProgress not found")

from .training.train import resolve_device  # noqa: E402


@dataclass(frozen=True)
class Mode:
    """``quick`` is True when ``GAN_TUTORIAL_QUICK=1`` (CI, CPUs); ``full`` otherwise."""

    quick: bool
    device: torch.device

    def pick(self, quick, full):
        """``quick`` in quick mode, ``full`` in full mode: e.g. ``steps = MODE.pick(200, 5000)``."""
        return quick if self.quick else full


def setup(seed: int = 0) -> Mode:
    """Seed every generator, pick the mode and the device, and say which were picked."""
    quick = os.environ.get("GAN_TUTORIAL_QUICK", "0") == "1"
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = resolve_device("auto")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    print(f"mode: {'quick' if quick else 'full'}, device: {name}")
    return Mode(quick, device)


def step_latex(label: str, tex: str) -> str:
    """One line of a typeset derivation: ``label`` (text, with ``$...$`` for math) then ``tex``."""
    parts = label.split("$")  # text and $math$ alternate in a label
    head = "".join(r"\text{" + p + "}" if i % 2 == 0 else p for i, p in enumerate(parts) if p)
    return head + r":\quad " + tex


def show_steps(steps) -> None:
    """Typeset a derivation in a notebook: one line per ``(what is done, result in LaTeX)``."""
    from IPython.display import Math, display

    for label, tex in steps:
        display(Math(step_latex(label, tex)))
