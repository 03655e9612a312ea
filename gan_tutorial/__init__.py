"""gan_tutorial: the companion package of the course "GANs from theory to practice".

The package is layered; each layer imports only from the layers above it in this list
(``ARCHITECTURE.md`` draws it, ``tests/test_architecture.py`` checks it):

* ``core`` - errors, data, models, losses, regularizers, augmentation, sampling, checkpoints;
* ``training`` - ``TrainConfig``, the run loop, the GAN step and ``fit``, VEEGAN;
* ``evaluation`` - metrics (the pinned digit metric among them), plots, latent-space helpers;
* ``theory`` and ``exercises`` - the chapters' sympy derivations and the exercise checkers;
* ``experiments`` - the leagues that produce the book's tables;
* ``cli`` and ``notebook`` - the command line and a chapter's set-up.

The short names the book and the exercises use, ``gan_tutorial.data``, ``.losses``,
``.regularizers``, ``.models``, ``.train``, ``.metrics``, ``.plots`` and the others of
:data:`SHORT_NAMES`, are the same module objects as their layered paths
(``gan_tutorial.data is gan_tutorial.core.data``), imported on first use.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

SHORT_NAMES = {
    **{name: f"core.{name}" for name in ("errors", "data", "emoji_data", "models", "losses", "regularizers",
                                         "augment", "sampling", "checkpoint", "distributed")},
    **{name: f"training.{name}" for name in ("config", "loop", "train", "veegan")},
    **{name: f"evaluation.{name}" for name in ("metrics", "frechet", "digit_metric", "colour_metric", "plots",
                                               "latent", "pretrained")},
    **{name: f"experiments.{name}" for name in ("toy_methods", "benchmark", "league", "paper_settings",
                                                "digit_methods", "digit_tables", "digit_league", "digit_results")},
}
"""``gan_tutorial.<short name>`` -> the module's path in its layer."""


class _ShortNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import gan_tutorial.metrics`` return the module ``gan_tutorial.evaluation.metrics`` itself."""

    def find_spec(self, fullname, path=None, target=None):
        head, _, tail = fullname.partition(".")
        if head == __name__ and tail in SHORT_NAMES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{SHORT_NAMES[spec.name.partition('.')[2]]}")

    def exec_module(self, module) -> None:  # the layered module is already executed
        pass


if not any(isinstance(f, _ShortNames) for f in sys.meta_path):
    sys.meta_path.append(_ShortNames())


def __getattr__(name: str):
    """``gan_tutorial.metrics`` etc. as attributes, imported on first use."""
    if name in SHORT_NAMES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
