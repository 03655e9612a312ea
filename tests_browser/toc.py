"""The book's pages and the links it must hold, read from _toc.yml and _config.yml."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
COLAB = "https://colab.research.google.com"


def toc_pages() -> list[str]:
    """Every page of _toc.yml, in order: the root, then each part's chapters and their sections."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            yield from walk(entry.get("sections", []))

    chapters = [c for part in toc.get("parts", []) for c in part["chapters"]] + toc.get("chapters", [])
    return [toc["root"], *walk(chapters)]


def is_notebook(docname: str) -> bool:
    return (ROOT / f"{docname}.ipynb").is_file()


def colab_url(docname: str) -> str:
    """The Colab link that the launch button must hold for a notebook, from _config.yml:
    https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/<path_to_book>/<docname>.ipynb"""
    repo = CONFIG["repository"]
    owner_repo = urlsplit(repo["url"]).path.strip("/").removesuffix(".git")
    path = "/".join(p for p in [str(repo.get("path_to_book") or "").strip("/"), f"{docname}.ipynb"] if p)
    return f"{COLAB}/github/{owner_repo}/blob/{repo['branch']}/{path}"
