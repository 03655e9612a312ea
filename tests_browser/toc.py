"""The book's pages and the links it must hold, read from _toc.yml and _config.yml."""

from __future__ import annotations

import json
import re
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


def _code_cells(nb: dict) -> list[dict]:
    """The code cells that the built page shows, in order (myst-nb drops those tagged remove-cell)."""
    return [c for c in nb["cells"] if c["cell_type"] == "code"
            and not {"remove-cell", "remove_cell"} & set(c.get("metadata", {}).get("tags", []))]


def figure_cells(docname: str) -> list[tuple[int, str]]:
    """(position among the page's code cells, 'cell i (name)') of each cell of the notebook that
    carries myst-nb figure metadata: each must show its image in the built page."""
    nb = json.loads((ROOT / f"{docname}.ipynb").read_text())
    index = {id(c): i for i, c in enumerate(nb["cells"])}
    return [(pos, f"cell {index[id(c)]} ({c['metadata']['mystnb']['figure'].get('name', 'no name')})")
            for pos, c in enumerate(_code_cells(nb)) if c.get("metadata", {}).get("mystnb", {}).get("figure")]


def _markdown_sources() -> list[str]:
    texts = [p.read_text() for p in sorted((ROOT / "book").glob("*.md"))]
    for nb_path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        texts += ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
        texts += [c.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("caption", "") for c in nb["cells"]]
    return texts


def tex_commands() -> list[str]:
    """Every TeX command name (two letters or more) that the book's Markdown uses outside code:
    none of them may appear as text in a built page."""
    names = set()
    for text in _markdown_sources():
        text = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.S)  # code blocks and inline code
        names |= set(re.findall(r"\\([A-Za-z]{2,})", text))
    return sorted(names)
