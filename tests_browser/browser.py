"""Check built HTML pages in a real browser: served on 127.0.0.1, opened in headless Chromium.

`check_page` opens one page and returns a `PageReport` whose `problems` list is empty when

- MathJax typeset every math element (each `.math` holds an `mjx-container`, no TeX error
  node) and no raw TeX is left in the page's text outside code: `$$`, a stray `$...$`, and
  any of the TeX commands in `tex_commands` (`\\frac`, `\\to`, `\\int`, ... : by default
  those in RAW_TEX; test_pages passes every command the book's sources use);
- no Markdown pipe-table text (`| a | b |` rows, `|---|` separators) outside a `<table>`;
- every `<img>` loaded (complete, naturalWidth > 0), hidden and lazy ones included;
- every content image (in the article) that is laid out is at least MIN_IMAGE_HEIGHT pixels
  tall in the 1280-pixel-wide window, is not wider than MAX_ASPECT:1, and has alt text that is
  not a file name (animation frames, whose script sets the src, excepted); every image of a
  cell output sits in a `<figure>`, and every `<figure>` has a caption;
- each of `figure_cells` (positions among the page's code cells, from the notebook) has an
  image in its output;
- the page fits the article column of the 1280-pixel-wide window (its content box, where the
  text is set): no typeset display equation (MathJax's `mjx-container[display="true"]`) and no
  `<table>` is wider than it; no table cell of at most SHORT_CELL characters that holds a number
  (with its unit or spread, such as `8.0 ± 0.0` or `56 s`) wraps onto a second line; every
  figure shows its 10-point text at least MIN_TEXT_PX pixels high (computed from the
  image's width as laid out, its natural width and the dpi stored in the PNG, 100 when none is:
  10 pt is 10/72 inch, so 10/72 * dpi * shown width / natural width pixels; animation frames
  excepted); and the page is at most MAX_PAGE_HEIGHT pixels tall;
- the launch dropdown has the expected Colab link and the repository button the expected URL
  (when the caller expects them, i.e. on notebook pages);
- the console shows no error and no script threw.

Offline, the only external resource the book needs is MathJax 3 from the jsDelivr CDN; its
requests are answered from a local copy of the same MathJax 3 (the `django-static-mathjax`
wheel of the `[dev]` extra, or the folder in GAN_TUTORIAL_MATHJAX). Every other request to
a host other than 127.0.0.1 is aborted and listed in `PageReport.ignored`, together with the
one console line that each abort causes ("Failed to load resource" for exactly that URL);
nothing else is ignored.
"""

from __future__ import annotations

import functools
import http.server
import importlib.resources
import mimetypes
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("GAN_TUTORIAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/"  # Sphinx 7's default mathjax_path lives here
RAW_TEX = ("$$", "\\frac", "\\begin{", "\\mathrm")
TEX_COMMANDS = ("frac", "mathrm", "to", "int", "sum", "log", "mathbb", "mathcal", "lVert", "rVert", "Vert",
                "sqrt", "tfrac", "big", "Big", "nabla", "partial", "infty", "le", "ge", "cdot", "text")
MIN_IMAGE_HEIGHT = 180   # pixels, as laid out in the 1280-pixel-wide window
MAX_ASPECT = 3.2         # width / height of an image file
MIN_TEXT_PX = 9.0        # pixels: the height at which a figure's 10-point text is shown, at least
TEXT_PT = 10             # the size of a figure's text (matplotlib's default font size)
DEFAULT_DPI = 100        # a PNG that stores no dpi (matplotlib stores it: 100 unless changed)
MAX_PAGE_HEIGHT = 30_000  # pixels, in the 1280-pixel-wide window: a page a learner can pace
SHORT_CELL = 14          # characters: a table cell this short must not wrap
TIMEOUT_MS = 30_000
SUMMARY: list[str] = []  # one line per checked page of the book, printed at the end of the run


# --- serving a folder -------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no line per request on stderr
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 on a free port in a thread; yield its base URL (ends in '/')."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- the browser ------------------------------------------------------------------------------

def mathjax_dir() -> Path:
    """A local MathJax 3 distribution: the folder that holds `es5/tex-mml-chtml.js`."""
    if os.environ.get("GAN_TUTORIAL_MATHJAX"):
        folder = Path(os.environ["GAN_TUTORIAL_MATHJAX"])
    else:
        folder = Path(str(importlib.resources.files("mathjax"))) / "static" / "mathjax"
    if not (folder / "es5" / "tex-mml-chtml.js").is_file():
        raise FileNotFoundError(f"no MathJax 3 in {folder}: pip install -e '.[dev]' (django-static-mathjax) "
                                "or set GAN_TUTORIAL_MATHJAX to a folder with es5/tex-mml-chtml.js")
    return folder


@contextmanager
def chromium():
    """Headless Chromium (the system's, never a downloaded one) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # launch() gives every run a fresh temporary profile (user-data-dir) of its own
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


# --- checking one page ------------------------------------------------------------------------

@dataclass
class PageReport:
    url: str
    problems: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    math: int = 0             # math elements in the page (span.math, div.math)
    typeset: int = 0          # mjx-container elements after MathJax finished
    images: int = 0
    launch_links: list[str] = field(default_factory=list)
    seconds: float = 0.0
    column: float = 0.0        # width of the article column (its content box), pixels
    widest_display: float = 0.0  # the widest display equation, pixels
    widest_table: float = 0.0
    smallest_text: float = float("inf")  # pixels at which the smallest figure shows 10-point text
    height: int = 0            # the page's height, pixels

    def summary(self) -> str:
        state = "ok" if not self.problems else f"{len(self.problems)} problem(s)"
        page = urlsplit(self.url).path.lstrip("/")
        text = f"{self.smallest_text:.1f}" if self.smallest_text != float("inf") else "-"
        return (f"{page}: {state}; math {self.math} -> {self.typeset} typeset; {self.images} images; "
                f"launch {self.launch_links or '-'}; {len(self.ignored)} ignored; {self.seconds:.1f} s; "
                f"column {self.column:.0f} px, widest display {self.widest_display:.0f} px, widest table "
                f"{self.widest_table:.0f} px, smallest 10-pt text {text} px, height {self.height:,} px")


_SCROLL_AND_LOAD_IMAGES = """async () => {
  for (const img of document.images) img.loading = 'eager';   // lazy or hidden: load them all
  for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
    window.scrollTo(0, y);
    await new Promise(r => requestAnimationFrame(r));
  }
  window.scrollTo(0, 0);
  await Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); })));
  return [...document.images].map(img => ({src: img.getAttribute('src') || '', complete: img.complete,
                                           width: img.naturalWidth}));
}"""

_WAIT_FOR_MATHJAX = """async () => {
  const t0 = Date.now();
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (Date.now() - t0 > 20000) return 'MathJax did not start within 20 s';
    await new Promise(r => setTimeout(r, 50));
  }
  try { await MathJax.startup.promise; } catch (e) { return 'MathJax failed: ' + e; }
  return '';
}"""

_MATH_STATE = """() => {
  const math = [...document.querySelectorAll('.math')];
  const containers = [...document.querySelectorAll('mjx-container')];
  const bad = 'mjx-merror, [data-mjx-error], mjx-assistive-mml [mathcolor="red"]';   // TeX error, unknown macro
  return {math: math.length,
          untypeset: math.filter(el => !el.querySelector('mjx-container'))
                         .map(el => el.textContent.trim().slice(0, 80)),
          typeset: containers.length,
          errors: containers.filter(c => c.querySelector(bad)).map(c => {
            const el = c.querySelector(bad);
            return el.getAttribute('data-mjx-error') || el.textContent.trim().slice(0, 80);
          })};
}"""


# Text that the reader sees as text: code (cell inputs, code blocks, inline literals), scripts
# and typeset math are skipped; text in cell outputs and in collapsed solutions is kept.
_RAW_TEX = r"""([markers, commands]) => {
  const skip = 'script, style, noscript, textarea, code, kbd, samp, mjx-container, .cell_input, '
             + 'div.highlight:not(.cell_output div.highlight)';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const command = commands.length ? new RegExp('\\\\(' + commands.join('|') + ')(?![A-Za-z])', 'g') : null;
  const dollars = /\$[^\s$][^$]*\$/g;   // a stray $...$ that MathJax did not typeset
  const found = [];
  const near = (text, i) => '"' + text.slice(Math.max(0, i - 30), i + 50).trim() + '"';
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(skip)) continue;
    const text = node.textContent;
    const seen = new Set();
    for (const m of markers) {
      const i = text.indexOf(m);
      if (i >= 0) { found.push(m + ' in ' + near(text, i)); seen.add(m); }
    }
    if (command) for (const m of text.matchAll(command)) {
      if (!seen.has(m[0])) { found.push(m[0] + ' in ' + near(text, m.index)); seen.add(m[0]); }
    }
    for (const m of text.replaceAll('$$', '  ').matchAll(dollars)) found.push('$...$ in ' + near(text, m.index));
  }
  return found;
}"""

# Markdown table text that was not parsed into a <table>: a separator |---| (or |—|, once a
# paragraph turned the dashes into dashes of typography), or a line that starts and ends with |
_PIPE_TABLES = r"""() => {
  const skip = 'script, style, noscript, textarea, code, kbd, samp, mjx-container, .cell_input, table';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const separator = /\|\s*:?[-\u2012-\u2015]+:?\s*\|/, row = /^[ \t]*\|(?:[^|\n]*\|){2,}[ \t]*$/m;
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(skip)) continue;
    const m = node.textContent.match(separator) || node.textContent.match(row);
    if (m) found.push(node.textContent.slice(Math.max(0, m.index - 30), m.index + 60).trim());
  }
  return found;
}"""

# images of the article (the page's content) as laid out, their figures and captions
_CONTENT = """(figureCells) => {
  const root = document.querySelector('article') || document.querySelector('#main-content') || document.body;
  const images = [...root.querySelectorAll('img')].map(img => {
    const box = img.getBoundingClientRect();
    return {src: img.getAttribute('src') || '', alt: img.getAttribute('alt'), width: img.naturalWidth,
            height: img.naturalHeight, shownHeight: box.height, shown: box.width > 0 && box.height > 0,
            inFigure: !!img.closest('figure'), inOutput: !!img.closest('.cell_output'),
            animation: !!img.closest('.animation')};
  });
  const uncaptioned = [...root.querySelectorAll('figure')].filter(f => {
    const cap = f.querySelector('figcaption');
    const text = cap ? (cap.querySelector('.caption-text') || cap).textContent.trim() : '';
    return !text;
  }).map(f => f.id || (f.querySelector('img') || {}).src || 'figure');
  const cells = [...root.querySelectorAll('div.cell')];
  const missing = figureCells.filter(([pos, what]) => !(cells[pos] && cells[pos].querySelector('.cell_output img')))
                             .map(([pos, what]) => what);
  return {images, uncaptioned, missing, cells: cells.length};
}"""

_FILE_NAME = re.compile(r"^\S+\.(png|jpe?g|gif|svg|webp|pdf)$|^[0-9a-f]{16,}$", re.I)


def image_problems(images: list[dict]) -> list[str]:
    """What is wrong with each content image (as _CONTENT describes them): see the module's docstring."""
    problems = []
    for img in images:
        src = img["src"][:100]
        if img["shown"] and img["shownHeight"] < MIN_IMAGE_HEIGHT:
            problems.append(f"image {img['shownHeight']:.0f} px tall as laid out (at least {MIN_IMAGE_HEIGHT}): {src}")
        if img["width"] and img["height"] and img["width"] / img["height"] > MAX_ASPECT:
            problems.append(f"image wider than {MAX_ASPECT}:1 ({img['width']}x{img['height']}): {src}")
        alt = (img["alt"] or "").strip()
        if not img["animation"] and (not alt or _FILE_NAME.match(alt) or alt == src.rsplit("/", 1)[-1]):
            problems.append(f"image without alt text that describes it (alt={alt!r}): {src}")
        if img["inOutput"] and not img["inFigure"]:
            problems.append(f"output image not in a numbered, captioned figure: {src}")
    return problems


# the article column (the content box of <article>) and what is laid out in it: display math,
# tables and their short cells that wrap, images; and the page's height
_LAYOUT = r"""(shortCell) => {
  const root = document.querySelector('article.bd-article') || document.querySelector('article')
               || document.querySelector('#main-content') || document.body;
  const cs = getComputedStyle(root);
  const column = root.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const texOf = new Map();
  try {
    for (const item of MathJax.startup.document.math) if (item.typesetRoot) texOf.set(item.typesetRoot, item.math);
  } catch (e) {}   // no MathJax on the page
  const displays = [...root.querySelectorAll('mjx-container[display="true"]')].map(c => {
    const math = c.querySelector('mjx-math') || c;   // the typeset equation itself, not its full-width box
    return {width: math.getBoundingClientRect().width,
            tex: (texOf.get(c) || c.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 90)};
  });
  const tables = [...root.querySelectorAll('table')].map(t => ({
    width: Math.max(t.getBoundingClientRect().width, t.scrollWidth),
    text: t.innerText.replace(/\s+/g, ' ').trim().slice(0, 60)}));
  const wrapped = [];
  for (const cell of root.querySelectorAll('td, th')) {
    const text = cell.innerText.replace(/\s+/g, ' ').trim();
    // a number, with its unit or its spread: '8.0 ± 0.0', '56 s', '5 (0) / 5' (labels may wrap)
    const number = /^[^A-Za-z]*\d[^A-Za-z]*(\s?(s|x|%|px|min))?$/;
    if (text.length > shortCell || !/\s/.test(text) || !number.test(text)) continue;
    if (cell.querySelector('mjx-container')) continue;   // typeset math: its own layout
    const tops = new Set();   // the lines of the cell's text: one top per line box of its text nodes
    const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
    }
    if (tops.size > 1) wrapped.push(text);
  }
  const images = [...root.querySelectorAll('img')].filter(img => !img.closest('.animation')).map(img => ({
    src: img.currentSrc || img.src, attr: img.getAttribute('src') || '', shownWidth: img.getBoundingClientRect().width,
    width: img.naturalWidth, figure: (img.closest('figure') || {}).id || ''}));
  return {column, displays, tables, wrapped, images, height: document.documentElement.scrollHeight};
}"""


def png_dpi(data: bytes) -> float | None:
    """The dpi stored in a PNG's pHYs chunk (pixels per metre), or None."""
    import struct

    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    i = 8
    while i + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        if kind == b"pHYs" and length >= 9:
            x, _y, unit = struct.unpack(">IIB", data[i + 8:i + 17])
            return x * 0.0254 if unit == 1 and x else None
        if kind in (b"IDAT", b"IEND"):
            return None
        i += 12 + length
    return None


def text_px(shown_width: float, natural_width: float, dpi: float | None) -> float:
    """Pixels at which TEXT_PT-point text of an image saved at `dpi` is shown `shown_width` wide."""
    return TEXT_PT / 72 * (dpi or DEFAULT_DPI) * shown_width / natural_width


def layout_problems(layout: dict, dpi_of) -> tuple[list[str], dict]:
    """What does not fit the column (see the module's docstring), and the extremes measured.
    `dpi_of(url)` returns the dpi stored in that image file (None: not stored)."""
    problems, column = [], layout["column"]
    for d in layout["displays"]:
        if d["width"] > column + 0.5:
            problems.append(f"display math {d['width']:.0f} px wide, wider than the article column "
                            f"({column:.0f} px): {d['tex']}")
    for t in layout["tables"]:
        if t["width"] > column + 0.5:
            problems.append(f"table {t['width']:.0f} px wide, wider than the article column ({column:.0f} px): "
                            f"{t['text']}")
    for text in layout["wrapped"]:
        problems.append(f"table cell of at most {SHORT_CELL} characters wraps onto two lines: {text!r}")
    smallest = float("inf")
    for img in layout["images"]:
        if not (img["width"] and img["shownWidth"]):
            continue
        px = text_px(img["shownWidth"], img["width"], dpi_of(img["src"]))
        smallest = min(smallest, px)
        if px < MIN_TEXT_PX:
            where = img["figure"] or img["attr"][:100]
            problems.append(f"figure shows {TEXT_PT}-pt text {px:.1f} px high (at least {MIN_TEXT_PX:g}): "
                            f"{img['width']} px drawn, {img['shownWidth']:.0f} px shown: {where}")
    if layout["height"] > MAX_PAGE_HEIGHT:
        problems.append(f"page {layout['height']:,} px tall (at most {MAX_PAGE_HEIGHT:,} in a 1280-px window)")
    extremes = {"column": column, "height": layout["height"], "smallest_text": smallest,
                "widest_display": max([d["width"] for d in layout["displays"]] or [0.0]),
                "widest_table": max([t["width"] for t in layout["tables"]] or [0.0])}
    return problems, extremes


_LINKS = """() => ({
  launch: [...document.querySelectorAll('.dropdown-launch-buttons a')].map(a => a.href),
  repository: [...document.querySelectorAll('a.btn-source-repository-button')].map(a => a.href),
})"""


def _read_url(url: str) -> bytes:
    """The bytes behind an image's URL: a data: URI, or a file from the local server."""
    import base64
    import urllib.request

    if url.startswith("data:"):
        head, _, body = url.partition(",")
        return base64.b64decode(body) if head.endswith(";base64") else body.encode()
    if not url.startswith("http://127.0.0.1"):
        raise OSError(f"not a local image: {url}")
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def check_page(browser, url: str, screenshot: Path | None = None, launch_url: str | None = None,
               repository_url: str | None = None, tex_commands=TEX_COMMANDS,
               figure_cells: list[tuple[int, str]] = ()) -> PageReport:
    """Open `url` in a fresh browser context and check it (see the module's docstring).

    `launch_url`: the Colab link the launch dropdown must hold (None: not checked);
    `repository_url`: the repository button's link (None: not checked);
    `tex_commands`: TeX command names (without the backslash) that must not appear as text;
    `figure_cells`: (position among the page's code cells, description) of each cell that
    must show an image (toc.figure_cells reads them from a notebook).
    """
    import time

    t0 = time.perf_counter()
    report = PageReport(url)
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
    blocked: set[str] = set()
    local_mathjax = mathjax_dir()

    def route(r):  # sees only requests that do not go to the page's own server (see below)
        req_url = r.request.url
        if req_url.startswith(MATHJAX_CDN):
            rel = urlsplit(req_url).path[len(urlsplit(MATHJAX_CDN).path):]
            path = (local_mathjax / rel).resolve()
            if path.is_file() and path.is_relative_to(local_mathjax.resolve()):
                r.fulfill(path=path, content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                          headers={"Access-Control-Allow-Origin": "*"})
            else:
                r.fulfill(status=404, body="not in the local MathJax copy")
        else:
            blocked.add(req_url)
            report.ignored.append(f"aborted request to an external host (offline): {req_url}")
            r.abort("internetdisconnected")

    console: list[tuple[str, str]] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    try:
        context.route(re.compile(f"^(?!{re.escape(origin)}|data:)"), route)  # local requests pass untouched
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda m: console.append((m.text, m.location.get("url", ""))) if m.type == "error" else None)
        page.on("pageerror", lambda e: report.problems.append(f"uncaught script error: {e}"))
        page.on("response", lambda r: report.problems.append(f"HTTP {r.status} for {r.url}")
                if r.status >= 400 and r.url.startswith(origin) else None)
        response = page.goto(url, wait_until="load")
        if response is None or not response.ok:
            report.problems.append(f"page did not load: {response.status if response else 'no response'}")

        # math: MathJax finished, every math element typeset, no TeX errors, no raw TeX left
        state = page.evaluate(_MATH_STATE)
        report.math = state["math"]
        if page.evaluate("() => !!document.querySelector('script[src*=\"mathjax\" i]')"):
            failure = page.evaluate(_WAIT_FOR_MATHJAX)
            if failure:
                report.problems.append(failure)
            state = page.evaluate(_MATH_STATE)
        elif report.math:
            report.problems.append("page has math but loads no MathJax")
        report.typeset = state["typeset"]
        for text in state["untypeset"]:
            report.problems.append(f"math not typeset by MathJax: {text}")
        for text in state["errors"]:
            report.problems.append(f"MathJax error in math: {text}")
        if report.math and not report.typeset:
            report.problems.append("page has math but no mjx-container")
        for hit in page.evaluate(_RAW_TEX, [list(RAW_TEX), list(tex_commands)]):
            report.problems.append(f"raw TeX in the page's text: {hit}")
        for hit in page.evaluate(_PIPE_TABLES):
            report.problems.append(f"pipe-table text outside a <table>: {hit}")

        # images: every one loaded
        images = page.evaluate(_SCROLL_AND_LOAD_IMAGES)
        report.images = len(images)
        for img in images:
            if not (img["complete"] and img["width"] > 0):
                report.problems.append(f"image did not load: {img['src'][:100]}")
        content = page.evaluate(_CONTENT, [list(c) for c in figure_cells])
        report.problems += image_problems(content["images"])
        for what in content["uncaptioned"]:
            report.problems.append(f"figure without a caption: {what}")
        for what in content["missing"]:
            report.problems.append(f"figure cell without its image in the page: {what}")

        # layout: display math, tables and figures' text fit the column; the page's height
        layout = page.evaluate(_LAYOUT, SHORT_CELL)
        dpis: dict[str, float | None] = {}

        def dpi_of(src: str) -> float | None:
            if src not in dpis:
                try:
                    dpis[src] = png_dpi(_read_url(src))
                except OSError:
                    dpis[src] = None
            return dpis[src]

        problems, extremes = layout_problems(layout, dpi_of)
        report.problems += problems
        report.column, report.height = extremes["column"], extremes["height"]
        report.widest_display, report.widest_table = extremes["widest_display"], extremes["widest_table"]
        report.smallest_text = extremes["smallest_text"]

        # launch and repository buttons
        links = page.evaluate(_LINKS)
        report.launch_links = links["launch"]
        if launch_url is not None and launch_url not in links["launch"]:
            report.problems.append(f"launch dropdown lacks {launch_url}; it has {links['launch']}")
        if repository_url is not None and repository_url.rstrip("/") not in [u.rstrip("/") for u in
                                                                             links["repository"]]:
            report.problems.append(f"repository button lacks {repository_url}; it has {links['repository']}")

        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()

    # console errors: only the line that each aborted external request causes is ignored
    for text, where in console:
        if text.startswith("Failed to load resource") and where in blocked:
            report.ignored.append(f"console: {text} ({where})")
        else:
            report.problems.append(f"console error: {text}" + (f" ({where})" if where else ""))
    report.seconds = time.perf_counter() - t0
    return report
