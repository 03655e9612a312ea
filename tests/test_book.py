"""The book's structure: every chapter in the table of contents starts with the set-up cell."""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _toc_files(sections=True):
    """The files of _toc.yml's parts in order; with ``sections``, each chapter's sub-pages too."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files += [s["file"] for s in chapter.get("sections", [])] if sections else []
    return files


def _chapters():
    """Every notebook page of the table of contents, a chapter's sub-pages included."""
    return [ROOT / f"{f}.ipynb" for f in _toc_files() if (ROOT / f"{f}.ipynb").exists()]


def test_all_six_chapters_are_notebooks():
    chapters = [Path(f).name for f in _toc_files(sections=False) if (ROOT / f"{f}.ipynb").exists()]
    assert chapters[:6] == ["01_minimax", "02_dcgan", "03_wgan_div", "04_sphere_gan", "05_o_gan", "06_mode_collapse"]
    # chapter 6 is two pages: the second holds spectral collapse and VEEGAN
    assert "book/06b_spectral_veegan" in _toc_files()


def test_each_chapter_starts_with_the_setup_cell_and_the_configured_url():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    for nb_path in _chapters():
        cells = json.loads(nb_path.read_text())["cells"]
        first = next(c for c in cells if c["cell_type"] == "code")
        src = "".join(first["source"])
        assert '"google.colab" in sys.modules' in src, nb_path.name
        assert re.search(r"pip install -q \"gan-tutorial @ git\+(\S+)\"", src).group(1) == url, nb_path.name
        assert "notebook.setup(" in src, nb_path.name


def _code_sources(nb_path):
    cells = json.loads(nb_path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def test_the_first_code_cell_picks_the_mode_through_notebook_setup_once():
    for nb_path in _chapters():
        first, *rest = _code_sources(nb_path)
        assert re.search(r"^MODE = notebook\.setup\(", first, re.M), nb_path.name
        assert not any("notebook.setup(" in src or re.search(r"^MODE\s*=", src, re.M) for src in rest), nb_path.name


def test_gan_tutorial_quick_is_the_only_switch():
    """Quick or full mode is decided by GAN_TUTORIAL_QUICK alone, which notebook.setup reads: no
    chapter reads or sets the environment or keeps a flag of its own (Colab, with the variable
    unset, gets the full mode), and the package reads no other GAN_TUTORIAL_ variable."""
    for nb_path in _chapters():
        for i, src in enumerate(_code_sources(nb_path)):
            code = "\n".join(line.split("#")[0] for line in src.splitlines())  # comments may name it
            where = f"{nb_path.name}, code cell {i}"
            assert not re.search(r"os\.environ|getenv|%env|%set_env|GAN_TUTORIAL_", code), where
            assert not re.search(r"^\s*\w*(quick|full)\w*\s*=\s*(True|False|0|1)\s*$", code, re.M | re.I), where
            assert "Mode(" not in code, where
    names = {name for py in (ROOT / "gan_tutorial").rglob("*.py")
             for name in re.findall(r"GAN_TUTORIAL_[A-Z_]+", py.read_text())}
    assert names == {"GAN_TUTORIAL_QUICK"}


def test_notebook_setup_reads_gan_tutorial_quick(monkeypatch, capsys):
    from gan_tutorial import notebook

    for value, quick in [(None, False), ("0", False), ("1", True)]:
        if value is None:
            monkeypatch.delenv("GAN_TUTORIAL_QUICK", raising=False)
        else:
            monkeypatch.setenv("GAN_TUTORIAL_QUICK", value)
        mode = notebook.setup(seed=0)
        assert mode.quick is quick
        assert mode.pick("q", "f") == ("q" if quick else "f")
        assert capsys.readouterr().out.startswith(f"mode: {'quick' if quick else 'full'}, device: ")


_DRAWS = re.compile(r"plt\.(show|subplots|figure)\(|plots\.(show_images|plot_\w+|animate_snapshots)\(|"
                    r"display\(Image\(|plot_method_samples\(")
_FILE_NAME = re.compile(r"^\S+\.(png|jpe?g|gif|svg)$|^[0-9a-f]{16,}$", re.I)


def _notebooks():
    return sorted((ROOT / "book").glob("*.ipynb"))


def test_every_cell_that_draws_is_a_numbered_captioned_figure_with_alt_text():
    """myst-nb's cell metadata makes the cell's image a figure: `mystnb.figure.name` (the label
    for {numref}), `.caption` (what to see) and `mystnb.image.alt` (what it shows, not a file
    name). A cell that draws only on a GPU in full mode carries the tag `gpu-only` instead."""
    names = []
    for nb_path in _notebooks():
        for i, cell in enumerate(json.loads(nb_path.read_text())["cells"]):
            if cell["cell_type"] != "code":
                continue
            where = f"{nb_path.name}, cell {i}"
            meta = cell.get("metadata", {})
            figure = meta.get("mystnb", {}).get("figure")
            if not figure:
                assert not _DRAWS.search("".join(cell["source"])) or "gpu-only" in meta.get("tags", []), \
                    f"{where} draws a figure but has no mystnb.figure metadata (caption, name) and mystnb.image.alt"
                continue
            assert figure.get("name") and len(figure.get("caption", "")) > 20, where
            alt = meta["mystnb"].get("image", {}).get("alt", "")
            assert len(alt) > 20 and not _FILE_NAME.match(alt), where
            images = [o for o in cell.get("outputs", []) if "data" in o]
            assert len(images) <= 1, f"{where}: a figure cell shows one output (myst-nb puts each in the figure)"
            names.append(figure["name"])
    assert len(names) == len(set(names)), "figure names must be unique"
    assert len(names) >= 35


# Words about how the book was made, not about GANs: the reader has no use for them. Each entry
# is a regex (case-insensitive); legitimate uses are excluded in the pattern itself ("a Colab
# session", "a known issue", "the numbers depend on the machine").
_MAKING_OF = [
    r"(?<!known )\bissues?\b",
    r"(?<!Colab )(?<!runtime )\bsessions?\b",
    r"\b(earlier|previous|older) (version|draft|session|edition)s?\b",
    r"\banother job\b", r"\bother (training )?jobs\b", r"\bshared (with another|CPU|machine)\b",
    r"\bside test\b", r"\bwhat else the machine\b", r"\balone on the machine\b", r"\bthis project's machine\b",
    r"\bre-?executed\b", r"\bthe lead\b", r"\b(this|the|a|another) task\b", r"\bre-?measured since\b",
    r"\b(was|were) (made|measured|run|computed|written) before\b", r"\b(this|an earlier|the last) rewrite\b",
]
_MAKING_OF_RX = re.compile("|".join(f"(?:{p})" for p in _MAKING_OF), re.I)


def _reader_texts():
    """(where, text) for everything a reader of the book sees: the prose pages, and in every
    notebook the cells' sources, figure captions, alt texts and text outputs."""
    for path in sorted((ROOT / "book").glob("*.md")):
        yield path.name, path.read_text()
    for nb_path in _notebooks():
        for i, cell in enumerate(json.loads(nb_path.read_text())["cells"]):
            meta = cell.get("metadata", {}).get("mystnb", {})
            seen = ["".join(cell["source"]), meta.get("figure", {}).get("caption", ""),
                    meta.get("image", {}).get("alt", "")]
            yield f"{nb_path.name}, cell {i}", "\n".join(seen)
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                yield f"{nb_path.name}, cell {i} output", "".join(out.get("text", "")) + "".join(
                    data.get("text/markdown", "")) + "".join(data.get("text/plain", ""))


def test_no_words_about_how_the_book_was_made():
    found = [f"{where}: ...{text[max(0, m.start() - 50):m.end() + 30]}..."
             for where, text in _reader_texts() for m in _MAKING_OF_RX.finditer(text)]
    assert not found, "words about how the book was made, not about GANs:\n" + "\n".join(found)


def test_the_making_of_check_sees_such_words_and_spares_ordinary_ones():
    made = ["on one CPU core here, shared with another job", "measured on this session's machine",
            "An earlier version of this chapter blamed", "the issue behind this league",
            "depending on what else the machine ran", "an earlier session's side test",
            "1,100 s before the move (not re-measured since)", "This run was made before the rule"]
    ordinary = ["a Colab session that dies halfway", "a known issue of BCELoss",
                "the numbers depend on the machine", "the earlier steps of the run", "the first version of G"]
    assert all(_MAKING_OF_RX.search(t) for t in made), [t for t in made if not _MAKING_OF_RX.search(t)]
    assert not any(_MAKING_OF_RX.search(t) for t in ordinary), [t for t in ordinary if _MAKING_OF_RX.search(t)]


def test_nbval_markers_are_cell_tags_that_readers_do_not_see():
    """nbval 0.11 reads the cell tag ``nbval-check-output`` as it reads a ``# NBVAL_CHECK_OUTPUT``
    comment; the tag is metadata, the comment would be the first line a reader sees."""
    tagged = 0
    for nb_path in _notebooks():
        for i, cell in enumerate(json.loads(nb_path.read_text())["cells"]):
            if cell["cell_type"] != "code":
                continue
            assert "NBVAL_" not in "".join(cell["source"]), f"{nb_path.name}, cell {i}: use the nbval cell tag"
            tagged += "nbval-check-output" in cell.get("metadata", {}).get("tags", [])
    assert tagged >= 50
