"""The package's layers: imports point down, no cycle, short modules and functions, ARCHITECTURE.md current."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("architecture", ROOT / "tools" / "architecture.py")
architecture = importlib.util.module_from_spec(_spec)
sys.modules["architecture"] = architecture
_spec.loader.exec_module(architecture)


def test_every_import_points_down_with_no_cycle_and_every_module_and_function_is_short():
    assert architecture.problems() == []


def test_architecture_md_is_what_the_imports_say():
    assert (ROOT / "ARCHITECTURE.md").read_text() == architecture.render(), \
        "ARCHITECTURE.md is out of date: run python tools/architecture.py"


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path, monkeypatch):
    pkg = tmp_path / "gan_tutorial"
    for sub in ("core", "training"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text("from ..training import b\n")  # core reaching up into training
    (pkg / "training" / "b.py").write_text("def f():\n    from ..core import a\n")  # and back: a cycle
    monkeypatch.setattr(architecture, "ROOT", tmp_path)
    monkeypatch.setattr(architecture, "PACKAGE", pkg)
    found = architecture.problems()
    assert any("gan_tutorial.core.a (core) imports gan_tutorial.training.b (training)" in p for p in found)
    assert any(p.startswith("import cycle: gan_tutorial.core.a -> gan_tutorial.training.b") for p in found)


@pytest.mark.parametrize("short, layered", [("metrics", "evaluation.metrics"), ("data", "core.data"),
                                            ("train", "training.train"), ("digit_league", "experiments.digit_league")])
def test_the_short_names_are_the_layered_modules_themselves(short, layered):
    import importlib

    assert importlib.import_module(f"gan_tutorial.{short}") is importlib.import_module(f"gan_tutorial.{layered}")
