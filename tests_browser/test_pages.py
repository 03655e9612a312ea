"""The built book in a real browser: every page of _toc.yml renders its math, its tables and its
images (each figure cell's image in a captioned figure, readable at the content width),
notebook pages launch on Colab from this repository, and nothing errs in the console.

One full-page screenshot per page lands in _build/screenshots/<page>.png.
"""

import re
from pathlib import Path

import pytest
from browser import SUMMARY, check_page, serve
from links import broken_internal_links
from PIL import Image
from toc import CONFIG, colab_url, figure_cells, is_notebook, tex_commands, toc_pages

PAGES = toc_pages()
NOTEBOOKS = [d for d in PAGES if is_notebook(d)]
TEX = tex_commands()

# Figures whose cell already draws at the column's width (plots.subplots / plots.figsize) but
# whose stored image is still the one drawn before, because the cell needs a training run
# longer than a figure cell should take to re-execute (or, for the landing figure, is made by
# tools/landing_figure.py). Their text-size problem is listed as ignored, not failed, until the
# cell is re-executed; once an image is readable, the entry must go (the test says so).
AWAITING_RERUN: dict[str, set[str]] = {}


def split_awaiting(docname: str, problems: list[str]) -> tuple[list[str], list[str], set[str]]:
    """(problems, ignored, figures seen): the small-text problems of AWAITING_RERUN's figures move
    to ignored."""
    awaiting, kept, ignored, seen = AWAITING_RERUN.get(docname, set()), [], [], set()
    for problem in problems:
        figure = problem.rsplit(": ", 1)[-1]
        if problem.startswith("figure shows") and figure in awaiting:
            ignored.append(f"{problem} (awaiting the re-execution of its cell)")
            seen.add(figure)
        else:
            kept.append(problem)
    return kept, ignored, seen


@pytest.mark.parametrize("docname", PAGES)
def test_page_renders_in_the_browser(docname, browser, site, screenshots):
    report = check_page(browser, f"{site}{docname}.html", screenshot=screenshots / f"{Path(docname).name}.png",
                        launch_url=colab_url(docname) if is_notebook(docname) else None,
                        repository_url=CONFIG["repository"]["url"], tex_commands=TEX,
                        figure_cells=figure_cells(docname) if is_notebook(docname) else ())
    report.problems, awaiting, seen = split_awaiting(docname, report.problems)
    report.ignored += awaiting
    for figure in sorted(AWAITING_RERUN.get(docname, set()) - seen):
        report.problems.append(f"figure {figure} is readable now: remove it from AWAITING_RERUN")
    lines = [report.summary(), *(f"  ignored: {x}" for x in report.ignored),
             *(f"  PROBLEM: {x}" for x in report.problems)]
    print(*lines, sep="\n")
    SUMMARY.extend(lines)
    with open(screenshots / "report.txt", "a") as f:
        f.write("\n".join(lines) + "\n")
    assert not report.problems, f"{docname}:\n  " + "\n  ".join(report.problems)


def test_awaiting_rerun_names_figures_of_the_book():
    for docname, figures in AWAITING_RERUN.items():
        assert docname in PAGES, docname
        if is_notebook(docname):
            names = {what.split("(", 1)[1].rstrip(")") for _, what in figure_cells(docname)}
            assert figures <= names, (docname, figures - names)


@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_launch_link_in_the_built_html_opens_this_notebook_on_colab(docname, html_dir):
    html = (html_dir / f"{docname}.html").read_text()
    links = re.findall(r'href="(https://colab\.research\.google\.com/[^"]*)"', html)
    assert links == [colab_url(docname)]


def test_internal_links_resolve(html_dir):
    broken = broken_internal_links(html_dir)
    assert not broken, "\n".join(broken)


def test_a_broken_copy_of_a_built_chapter_fails(browser, html_dir, tmp_path):
    """The same checks on a copy of a built chapter with its first figure missing and raw TeX in a <pre>."""
    docname = NOTEBOOKS[0]
    for entry in html_dir.iterdir():
        if entry.name != "book":
            (tmp_path / entry.name).symlink_to(entry)
    html = (html_dir / f"{docname}.html").read_text()
    figure = re.search(r'<img [^>]*src="(\.\./_images/[^"]+)"', html)
    if figure:
        html = html.replace(figure.group(1), "../_images/missing_figure.png")
    else:  # a chapter without figures yet: add one whose file is missing
        html = html.replace("<section", '<img src="../_images/missing_figure.png"><section', 1)
    html = html.replace("<section", "<pre>$$x$$</pre><section", 1)
    (tmp_path / docname).parent.mkdir(parents=True)
    (tmp_path / f"{docname}.html").write_text(html)
    with serve(tmp_path) as base:
        report = check_page(browser, f"{base}{docname}.html", launch_url=colab_url(docname),
                            repository_url=CONFIG["repository"]["url"])
    assert "image did not load: ../_images/missing_figure.png" in report.problems, report.problems
    assert any(p.startswith('raw TeX in the page\'s text: $$ in "$$x$$"') for p in report.problems), report.problems


def test_each_new_check_fails_on_a_broken_copy_of_a_built_chapter(browser, html_dir, tmp_path):
    """A copy of a built chapter broken in six ways: a pipe table left as text, raw TeX and a stray
    $...$ in a paragraph, a figure's image removed from its cell, a figure's image swapped for a
    thin strip, an alt text that is a file name, and a caption removed. Each check must see its break."""
    docname = next(d for d in NOTEBOOKS if len(figure_cells(d)) >= 4)
    for entry in html_dir.iterdir():
        if entry.name not in ("book", "_images"):
            (tmp_path / entry.name).symlink_to(entry)
    (tmp_path / "_images").mkdir()
    for entry in (html_dir / "_images").iterdir():
        (tmp_path / "_images" / entry.name).symlink_to(entry)
    Image.new("RGB", (1600, 200), (200, 30, 30)).save(tmp_path / "_images" / "strip.png")
    html = (html_dir / f"{docname}.html").read_text()
    figures = re.findall(r'<figure[^>]*>.*?</figure>', html, flags=re.S)
    assert len(figures) >= 4, f"{docname}: fewer than four figures in the built page"
    # 1. the first figure loses its image (the cell keeps its caption)
    html = html.replace(figures[0], re.sub(r"<img [^>]*>", "", figures[0]), 1)
    # 2. the second figure's image becomes a 1600x200 strip (thin as laid out, wider than 3.2:1)
    html = html.replace(figures[1], re.sub(r'src="[^"]+"', 'src="../_images/strip.png"', figures[1]), 1)
    # 3. the third figure's alt text is its file name
    html = html.replace(figures[2], re.sub(r'alt="[^"]*"', 'alt="0123456789abcdef0123.png"', figures[2]), 1)
    # 4. the fourth figure loses its caption
    html = html.replace(figures[3], re.sub(r"<figcaption>.*?</figcaption>", "", figures[3], flags=re.S), 1)
    # 5. a league table left as text, and 6. raw TeX and a stray $...$, in a paragraph
    html = html.replace("<section", "<p>| method | modes |\n|---|---|\n| ns | 6.8 |</p>"
                                     "<p>as $p \\to \\infty$ the value tends to \\int |F_p - F_q|</p><section", 1)
    (tmp_path / docname).parent.mkdir(parents=True)
    (tmp_path / f"{docname}.html").write_text(html)
    cells = figure_cells(docname)
    with serve(tmp_path) as base:
        report = check_page(browser, f"{base}{docname}.html", launch_url=colab_url(docname),
                            repository_url=CONFIG["repository"]["url"], tex_commands=TEX, figure_cells=cells)
    problems = "\n".join(report.problems)
    assert f"figure cell without its image in the page: {cells[0][1]}" in report.problems, problems
    assert any(re.fullmatch(r"image \d+ px tall as laid out \(at least 180\): \.\./_images/strip\.png", p)
               for p in report.problems), problems
    assert "image wider than 3.2:1 (1600x200): ../_images/strip.png" in report.problems, problems
    assert any(p.startswith("image without alt text that describes it (alt='0123456789abcdef0123.png')")
               for p in report.problems), problems
    assert any(p.startswith("figure without a caption") for p in report.problems), problems
    assert any(p.startswith("pipe-table text outside a <table>: | method | modes |") for p in report.problems), problems
    for marker in ("\\to", "\\int", "\\infty", "$...$"):
        assert any(p.startswith(f"raw TeX in the page's text: {marker} in") for p in report.problems), \
            (marker, problems)
