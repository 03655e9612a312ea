"""The checks themselves: small pages built to pass or to break one check each, served and
opened exactly as the book's pages are. A check that cannot fail here would pass anything."""

import re
from pathlib import Path

import pytest
from browser import MATHJAX_CDN, MAX_PAGE_HEIGHT, check_page, png_dpi, serve, text_px
from links import broken_internal_links
from PIL import Image

COLAB = "https://colab.research.google.com/github/owner/repo/blob/main/book/ch.ipynb"
REPO = "https://github.com/owner/repo"
# what Sphinx 7 writes into a page with math
MATHJAX = ('<script>MathJax = {"options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"}}'
           f'</script><script defer src="{MATHJAX_CDN}es5/tex-mml-chtml.js"></script>')
BUTTONS = (f'<div class="dropdown dropdown-launch-buttons"><ul class="dropdown-menu" style="display:none">'
           f'<li><a href="{COLAB}"><img src="logo.png">Colab</a></li></ul></div>'
           f'<a class="btn-source-repository-button" href="{REPO}">Repository</a>')
GOOD_BODY = r"""
<p>Inline <span class="math notranslate nohighlight">\(D^*(x) = \frac{p(x)}{p(x) + q(x)}\)</span> and display</p>
<div class="math notranslate nohighlight">\[\begin{aligned} C(G) &= -\log 4 + 2\,\mathrm{JSD} \end{aligned}\]</div>
<div class="cell_input"><div class="highlight"><pre>r"$$\frac{1}{2}$$ \begin{x} \mathrm{y}"</pre></div></div>
<p>Code inline: <code class="docutils literal">"$$"</code>.</p>
<figure><img src="fig.png" alt="a figure"><figcaption>What to see.</figcaption></figure>
<table><tr><td>| a | b |</td><td>|---|</td></tr></table>
<div class="cell"><div class="cell_output"><figure><img src="fig.png" alt="a plot of the losses">
<figcaption><span class="caption-number">Fig. 1 </span><span class="caption-text">The losses.</span></figcaption>
</figure></div></div>
<div style="height: 4000px"></div>
<img src="lazy.png" loading="lazy" alt="far below">
"""


def _png(path: Path, size=(400, 300)):
    Image.new("RGB", size, (200, 30, 30)).save(path)


def _page(folder: Path, name: str, body: str, head: str = MATHJAX, buttons: str = BUTTONS) -> str:
    for png in ("fig.png", "lazy.png", "logo.png"):
        if not (folder / png).exists():
            _png(folder / png)
    (folder / name).write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head>"
                               f"<body>{buttons}<main id='main-content'><article>{body}</article></main></body></html>")
    return name


@pytest.fixture
def check(browser, tmp_path):
    """check(name, body, ...) -> PageReport of that page, served from a fresh folder."""
    with serve(tmp_path) as base:
        def run(name, body, head=MATHJAX, buttons=BUTTONS, launch_url=COLAB, repository_url=REPO, screenshot=None,
                **kwargs):
            _page(tmp_path, name, body, head, buttons)
            return check_page(browser, base + name, screenshot=screenshot,
                              launch_url=launch_url, repository_url=repository_url, **kwargs)
        yield run


def test_a_good_page_passes(check, tmp_path):
    report = check("good.html", GOOD_BODY, screenshot=tmp_path / "shots" / "good.png")
    assert report.problems == []
    assert report.ignored == []
    assert (report.math, report.typeset, report.images) == (2, 2, 4)
    assert report.launch_links == [COLAB]
    assert Image.open(tmp_path / "shots" / "good.png").size[1] > 4000  # the full page, not the viewport


def test_missing_images_fail_lazy_ones_far_below_too(check):
    report = check("missing.html", GOOD_BODY.replace('"lazy.png"', '"gone.png"') + '<img src="no_such_figure.png">')
    assert "image did not load: no_such_figure.png" in report.problems
    assert "image did not load: gone.png" in report.problems
    assert any(p.startswith("HTTP 404") and p.endswith("/no_such_figure.png") for p in report.problems)


RAW = {
    "$$ in": "<pre>$$x$$</pre>",                                              # MathJax skips <pre>
    "\\frac in": r"<p class='mathjax_ignore'>\frac{a}{b}</p>",               # text MathJax was told to leave
    "\\begin{ in": r"<div class='cell_output'><div class='highlight'><pre>\begin{pmatrix}</pre></div></div>",
    "\\mathrm in": r"<p>the \mathrm{KL} divergence</p>",                     # TeX without delimiters
}


def test_raw_tex_left_in_the_text_fails(check):
    report = check("raw.html", GOOD_BODY + "".join(RAW.values()))
    assert len(report.problems) == len(RAW), report.problems
    for marker in RAW:
        assert any(p.startswith(f"raw TeX in the page's text: {marker}") for p in report.problems), marker


def test_tex_commands_and_stray_dollars_left_in_the_text_fail(check):
    body = GOOD_BODY + r"<p>as $p \to \infty$, $W_{k,p} \to \int |F_p - F_q|$</p>"
    report = check("raw_commands.html", body)
    for marker in ("\\to", "\\infty", "\\int", "$...$"):
        assert any(p.startswith(f"raw TeX in the page's text: {marker} in") for p in report.problems), \
            (marker, report.problems)
    assert check("no_commands.html", body, tex_commands=()).problems == [
        p for p in report.problems if p.startswith("raw TeX in the page's text: $...$")]


def test_pipe_table_text_outside_a_table_fails(check):
    # what myst-nb's commonmark made of a league table: one paragraph, the dashes typographic
    paragraph = "<p>| method | ring8 modes | |\u2014|\u2014| | ns | 6.8 |</p>"
    rows = "<div class='cell_output'><pre>| method | modes |\n| ns | 6.8 |</pre></div>"
    report = check("pipes.html", GOOD_BODY + paragraph + rows)
    hits = [p for p in report.problems if p.startswith("pipe-table text outside a <table>")]
    assert len(hits) == 2, report.problems
    assert check("no_pipes.html", GOOD_BODY + "<p>mean |diff| and |T'| are fine</p>").problems == []


def test_small_wide_or_unlabelled_images_fail(check, tmp_path):
    _png(tmp_path / "strip.png", (1200, 150))   # 8:1
    _png(tmp_path / "tiny.png", (300, 100))     # 100 px tall at its natural size
    bad = ('<figure><img src="strip.png" alt="a strip"><figcaption>Strip.</figcaption></figure>'
           '<figure><img src="tiny.png" alt="tiny.png"><figcaption>Tiny.</figcaption></figure>'
           '<figure><img src="fig.png" alt="0a1b2c3d4e5f6071829a">'
           '<figcaption>Hash.</figcaption></figure>'
           '<figure><img src="fig.png"><figcaption>No alt.</figcaption></figure>')
    report = check("images.html", GOOD_BODY + bad)
    assert any(p.startswith("image wider than 3.2:1 (1200x150): strip.png") for p in report.problems), report.problems
    assert "image 100 px tall as laid out (at least 180): tiny.png" in report.problems, report.problems
    assert "image without alt text that describes it (alt='tiny.png'): tiny.png" in report.problems
    assert "image without alt text that describes it (alt='0a1b2c3d4e5f6071829a'): fig.png" in report.problems
    assert "image without alt text that describes it (alt=''): fig.png" in report.problems
    assert len(report.problems) == 6, report.problems  # strip.png is also under 180 px as laid out


def test_uncaptioned_figures_and_missing_figure_cells_fail(check):
    cells = ('<div class="cell"><div class="cell_input">x = 1</div></div>'
             '<div class="cell"><div class="cell_output"><img src="fig.png" alt="a loose output image"></div></div>'
             '<div class="cell"><div class="cell_output"><figure id="fig-empty"><img src="fig.png" alt="a plot">'
             '<figcaption><span class="caption-number">Fig. 2 </span><span class="caption-text"></span></figcaption>'
             '</figure></div></div>'
             '<div class="cell"><div class="cell_output"><pre>printed, no image</pre></div></div>')
    # GOOD_BODY holds one cell (position 0); the cells above are at positions 1 to 4
    report = check("figures.html", GOOD_BODY + cells,
                   figure_cells=[(0, "cell 3 (fig-good)"), (2, "cell 7 (fig-loose)"), (4, "cell 9 (fig-gone)")])
    assert report.problems == ["output image not in a numbered, captioned figure: fig.png",
                               "figure without a caption: fig-empty",
                               "figure cell without its image in the page: cell 9 (fig-gone)"], report.problems


def test_math_that_mathjax_cannot_typeset_fails(check):
    bad = [r"\(x^2^3\)",              # a TeX error: double exponent
           r"\(\nosuchmacro{x}\)",     # an undefined macro
           r"\(\frac{1}{\)"]          # unbalanced braces: MathJax does not even find it
    report = check("bad_tex.html", GOOD_BODY + "".join(f'<span class="math nohighlight">{t}</span>' for t in bad))
    assert sum(p.startswith("MathJax error in math") for p in report.problems) == 2, report.problems
    assert "math not typeset by MathJax: " + bad[2] in report.problems


def test_math_without_mathjax_fails(check):
    report = check("no_mathjax.html", GOOD_BODY, head="")
    assert "page has math but loads no MathJax" in report.problems
    assert sum(p.startswith("math not typeset") for p in report.problems) == 2


def test_script_errors_fail(check):
    report = check("js.html", GOOD_BODY + "<script>console.error('something broke')</script>"
                                          "<script>throw new Error('boom')</script>")
    assert any(p.startswith("uncaught script error: boom") for p in report.problems), report.problems
    assert any(p.startswith("console error: something broke") for p in report.problems), report.problems


def test_a_wrong_or_missing_launch_link_fails(check):
    wrong = check("wrong.html", GOOD_BODY, buttons=BUTTONS.replace("book/ch.ipynb", "ch.ipynb"))
    assert len(wrong.problems) == 1 and wrong.problems[0].startswith(f"launch dropdown lacks {COLAB}")
    missing = check("none.html", GOOD_BODY, buttons="")
    assert any(p.startswith("launch dropdown lacks") for p in missing.problems)
    assert any(p.startswith("repository button lacks") for p in missing.problems)
    assert check("md.html", GOOD_BODY, buttons="", launch_url=None, repository_url=None).problems == []


def test_requests_to_external_hosts_are_aborted_and_listed_not_hidden(check):
    url = "https://fonts.example.org/font.css"
    report = check("external.html", GOOD_BODY + f'<link rel="stylesheet" href="{url}">')
    assert report.problems == []
    assert f"aborted request to an external host (offline): {url}" in report.ignored
    # an external image is still an image that did not load
    report = check("external_img.html", GOOD_BODY + '<img src="https://img.example.org/fig.png">')
    assert "image did not load: https://img.example.org/fig.png" in report.problems


def test_broken_internal_links_are_found(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.html").write_text('<h1 id="top">A</h1><a href="sub/b.html#here">ok</a> <a href="#top">ok</a>'
                                     '<a href="https://example.org/x">external</a> <a href="#">bare</a>'
                                     '<a href="sub/b.html#nowhere">no anchor</a> <img src="missing.png">')
    (tmp_path / "sub" / "b.html").write_text('<p id="here">B</p><a href="../c.html">no file</a>'
                                             '<a href="../../outside.html">outside</a>')
    assert broken_internal_links(tmp_path) == [
        "a.html: sub/b.html#nowhere (no anchor #nowhere in sub/b.html)",
        "a.html: missing.png (no file missing.png)",
        "sub/b.html: ../c.html (no file c.html)",
        "sub/b.html: ../../outside.html (points outside the book)",
    ]


COLUMN = "<style>article { width: 688px; } img { max-width: 100%; }</style>"  # the book's column at 1280 px


def test_what_does_not_fit_the_column_fails(check, tmp_path):
    """A display equation and a table wider than the column, a short table cell that wraps, a
    figure drawn 1,600 px wide (10-pt text at 100 dpi shown 688 px wide: 6 px) and one saved at
    50 dpi shown at its natural size (7 px), and a page taller than MAX_PAGE_HEIGHT."""
    Image.new("RGB", (1600, 600), (200, 30, 30)).save(tmp_path / "wide.png", dpi=(100, 100))
    Image.new("RGB", (400, 300), (200, 30, 30)).save(tmp_path / "low_dpi.png", dpi=(50, 50))
    long_sum = " + ".join(f"x_{{{i}}}" for i in range(60))
    body = (GOOD_BODY + f'<div class="math notranslate nohighlight">\\[{long_sum}\\]</div>'
            '<table style="width: 900px"><tr><td>method</td><td>modes</td></tr></table>'
            '<table><tr><td style="width: 20px">8.0 ± 0.0</td><td>a long cell may wrap as it likes</td></tr></table>'
            '<figure><img src="wide.png" alt="a wide figure"><figcaption>Wide.</figcaption></figure>'
            '<figure><img src="low_dpi.png" alt="a figure at 50 dpi"><figcaption>Low dpi.</figcaption></figure>'
            f'<div style="height: {MAX_PAGE_HEIGHT}px"></div>')
    report = check("layout.html", body, head=MATHJAX + COLUMN)
    problems = "\n".join(report.problems)
    assert any(p.startswith("display math") and "wider than the article column (688 px): x_{0} + x_{1}" in p
               for p in report.problems), problems
    assert any(p.startswith("table 900 px wide, wider than the article column (688 px): method modes")
               for p in report.problems), problems
    assert "table cell of at most 14 characters wraps onto two lines: '8.0 ± 0.0'" in report.problems, problems
    shrunk = [p for p in report.problems if p.startswith("figure shows 10-pt text") and p.endswith(": wide.png")]
    assert len(shrunk) == 1, problems
    assert re.search(r" [56]\.\d px high \(at least 9\): 1600 px drawn, \d+ px shown", shrunk[0]), problems
    assert any(p.startswith("figure shows 10-pt text 6.9 px high (at least 9): 400 px drawn, 400 px shown: low_dpi.png")
               for p in report.problems), problems
    assert any(p.startswith("page ") and p.endswith(f"px tall (at most {MAX_PAGE_HEIGHT:,} in a 1280-px window)")
               for p in report.problems), problems
    assert len(report.problems) == 6, problems
    assert report.column == 688 and report.widest_display > 688 and report.widest_table == 900
    assert 5 < report.smallest_text < 6.1  # the wide figure, shown at most 688 px wide


def test_what_fits_the_column_passes(check, tmp_path):
    """The same kinds of content, each made to fit: the measurements are reported, nothing fails."""
    Image.new("RGB", (750, 400), (200, 30, 30)).save(tmp_path / "fits.png", dpi=(100, 100))
    body = (GOOD_BODY + r'<div class="math notranslate nohighlight">'
            r'\[\begin{aligned} a &= x_1 + x_2,\\ b &= x_3\end{aligned}\]</div>'
            '<table><tr><td>8.0 ± 0.0</td><td>24.6 ± 0.4</td></tr></table>'
            '<figure><img src="fits.png" alt="a figure 7.5 inches wide"><figcaption>Fits.</figcaption></figure>')
    report = check("fits.html", body, head=MATHJAX + COLUMN)
    assert report.problems == []
    assert 9 < report.smallest_text < 13.9 and report.widest_display < 688 and 0 < report.height < MAX_PAGE_HEIGHT


def test_png_dpi_and_text_px(tmp_path):
    Image.new("RGB", (10, 10)).save(tmp_path / "a.png", dpi=(100, 100))
    Image.new("RGB", (10, 10)).save(tmp_path / "b.png")
    assert abs(png_dpi((tmp_path / "a.png").read_bytes()) - 100) < 0.01
    assert png_dpi((tmp_path / "b.png").read_bytes()) is None
    assert png_dpi(b"GIF89a") is None
    assert abs(text_px(750, 750, 100) - 13.89) < 0.01          # 10 pt = 10/72 inch at 100 dpi
    assert abs(text_px(688, 1500, None) - 6.37) < 0.01         # no dpi stored: 100
