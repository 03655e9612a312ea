"""The built book in a real browser: every page of _toc.yml renders its math and its images,
notebook pages launch on Colab from this repository, and nothing errs in the console.

One full-page screenshot per page lands in _build/screenshots/<page>.png.
"""

import re
from pathlib import Path

import pytest
from browser import SUMMARY, check_page, serve
from links import broken_internal_links
from toc import CONFIG, colab_url, is_notebook, toc_pages

PAGES = toc_pages()
NOTEBOOKS = [d for d in PAGES if is_notebook(d)]


@pytest.mark.parametrize("docname", PAGES)
def test_page_renders_in_the_browser(docname, browser, site, screenshots):
    report = check_page(browser, f"{site}{docname}.html", screenshot=screenshots / f"{Path(docname).name}.png",
                        launch_url=colab_url(docname) if is_notebook(docname) else None,
                        repository_url=CONFIG["repository"]["url"])
    lines = [report.summary(), *(f"  ignored: {x}" for x in report.ignored),
             *(f"  PROBLEM: {x}" for x in report.problems)]
    print(*lines, sep="\n")
    SUMMARY.extend(lines)
    with open(screenshots / "report.txt", "a") as f:
        f.write("\n".join(lines) + "\n")
    assert not report.problems, f"{docname}:\n  " + "\n  ".join(report.problems)


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
