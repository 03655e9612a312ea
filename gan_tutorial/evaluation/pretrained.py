"""The course's trained generators, loaded with one call and checked by SHA-256.

``pretrained.load("wgan_div")`` returns seed 0's trained G of that row of the digit league,
in evaluation mode, so a chapter shows real results in seconds on a laptop
(``pretrained.load("colour_dcgan")``: chapter 2's 64x64 colour DCGAN)::

    from gan_tutorial import pretrained
    G = pretrained.load("sphere_r1")
    x = G(torch.randn(64, G.latent_dim))                # (64, 1, 28, 28) in [-1, 1]
    G, E = pretrained.load("ogan", discriminator=True)  # O-GAN's D is its encoder

The files are the leagues' committed networks (``assets/pretrained.json`` names each one, its
SHA-256, its architecture and how it was trained). They are looked for, in order: under
``root``; in the repository this package runs from (a clone, or ``pip install -e``); in the
working directory and its parents (a notebook in ``book/``); in the download cache; and
finally fetched from the repository on GitHub into that cache (Colab, a plain ``pip install``).
Every file is checked against its SHA-256 before it is read.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import urllib.request
from pathlib import Path

import torch
from torch import nn

from ..core.errors import CheckpointError, ConfigError
from ..core.models import DCGANDiscriminator, DCGANGenerator

MANIFEST = Path(__file__).resolve().parents[1] / "assets" / "pretrained.json"
REPOSITORY = "https://raw.githubusercontent.com/gan-tutorial/gan-tutorial/main"
CACHE = Path.home() / ".cache" / "gan_tutorial"  # downloads land here; set pretrained.CACHE to move them


@functools.lru_cache(maxsize=1)
def manifest() -> dict[str, dict]:
    """Every shipped generator by name: its file, SHA-256, architecture and provenance."""
    return json.loads(MANIFEST.read_text())["generators"]


def available() -> list[str]:
    """The names :func:`load` accepts."""
    return list(manifest())


def describe(name: str) -> str:
    """One line on how the generator ``name`` was trained and what it scores."""
    return _entry(name)["about"]


def load(name: str, discriminator: bool = False, root: str | Path | None = None, download: bool = True,
         device: str | torch.device = "cpu") -> nn.Module | tuple[nn.Module, nn.Module]:
    """Seed 0's trained G of the row ``name`` (and its D with ``discriminator=True``), in eval mode."""
    entry = _entry(name)
    state = torch.load(_locate(entry, root, download), map_location="cpu", weights_only=True)
    G = DCGANGenerator(**entry["G"])
    G.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["G"].items()})
    G = G.to(device).eval()
    if not discriminator:
        return G
    if entry.get("D") is None:
        raise ConfigError(f"{name} ships its generator only: load it with discriminator=False.")
    D = DCGANDiscriminator(**entry["D"])
    D.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["D"].items()})
    return G, D.to(device).eval()


def _entry(name: str) -> dict:
    if name not in manifest():
        raise ConfigError(f"no trained generator named {name!r}: use one of {', '.join(available())}.")
    return manifest()[name]


def _candidates(relative: str, root: str | Path | None) -> list[Path]:
    bases = [Path(root)] if root is not None else []
    bases += [Path(__file__).resolve().parents[2], Path.cwd(), *Path.cwd().parents]
    return [b / relative for b in bases] + [CACHE / relative]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _locate(entry: dict, root: str | Path | None, download: bool) -> Path:
    """The first copy of the entry's file whose SHA-256 matches; else a download into the cache."""
    seen = []
    for path in _candidates(entry["file"], root):
        if path.is_file():
            if _sha256(path) == entry["sha256"]:
                return path
            seen.append(str(path))
    if not download:
        raise CheckpointError(f"{entry['file']} was not found with its pinned SHA-256 (looked in the repository, "
                              f"the working directory and {CACHE}; other versions: {seen or 'none'}): run from a "
                              "clone of the repository, or allow download=True.")
    return _download(entry)


def _download(entry: dict) -> Path:
    target = CACHE / entry["file"]
    target.parent.mkdir(parents=True, exist_ok=True)
    url = f"{REPOSITORY}/{entry['file']}"
    tmp = target.with_name(f".{target.name}.part{os.getpid()}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as fh:
            fh.write(response.read())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CheckpointError(f"could not fetch {url} ({exc}): without network access, run from a clone of the "
                              f"repository, or copy the file to {target}.") from None
    if _sha256(tmp) != entry["sha256"]:
        tmp.unlink()
        raise CheckpointError(f"{url} does not have the pinned SHA-256 (the repository moved on?): update the "
                              "package, or run from a clone of the repository.")
    os.replace(tmp, target)
    return target
