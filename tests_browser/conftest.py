"""Fixtures of the built-book tests: the HTML folder, a local server for it, and the browser.

GAN_TUTORIAL_HTML=_build/html reuses a build (`make browser` passes the one `make book-strict`
made); without it the book is built strictly into a temporary folder first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from browser import CHROMIUM, SUMMARY, chromium, serve
from toc import ROOT


@pytest.fixture(scope="session")
def html_dir(tmp_path_factory) -> Path:
    given = os.environ.get("GAN_TUTORIAL_HTML")
    if given:
        folder = (ROOT / given).resolve()
        if not (folder / "index.html").is_file():
            pytest.fail(f"GAN_TUTORIAL_HTML={given}: no index.html there; build the book first (make book-strict)")
        return folder
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([str(jupyter_book), "build", str(ROOT), "-W", "-n", "--keep-going", "--path-output", str(out)],
                   check=True, cwd=ROOT)
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def site(html_dir) -> str:
    with serve(html_dir) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: install it (apt-get install chromium) to open the pages in a browser")
    with chromium() as b:
        yield b


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """A fresh folder for this run's screenshots and its report.txt (one summary line per page)."""
    folder = Path(os.environ.get("GAN_TUTORIAL_SCREENSHOTS", ROOT / "_build" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*.png"), folder / "report.txt"]:
        old.unlink(missing_ok=True)
    return folder


def pytest_terminal_summary(terminalreporter):
    if SUMMARY:
        terminalreporter.section("pages of the book in Chromium")
        for line in SUMMARY:
            terminalreporter.write_line(line)
