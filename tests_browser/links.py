"""Internal links of a built HTML folder: every relative href/src must name an existing file,
and every #fragment an id (or a name) in the target page. External links are not followed."""

from __future__ import annotations

import html.parser
from pathlib import Path
from urllib.parse import unquote, urlsplit

_URL_ATTRIBUTES = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src", "iframe": "src"}


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.anchors.add(attrs[key])
        url = attrs.get(_URL_ATTRIBUTES.get(tag, ""))
        if url:
            self.urls.append(url)


def _parse(path: Path, cache: dict[Path, _Page]) -> _Page:
    if path not in cache:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = page
    return cache[path]


def broken_internal_links(html_dir: Path) -> list[str]:
    """'page: url (why)' for each relative URL of every page under `html_dir` that does not resolve."""
    html_dir = html_dir.resolve()
    cache: dict[Path, _Page] = {}
    broken = []
    for page_path in sorted(html_dir.rglob("*.html")):
        if "_static" in page_path.relative_to(html_dir).parts:
            continue
        for url in _parse(page_path, cache).urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith("#") and len(url) == 1:
                continue  # external (http, mailto, data, javascript, //host) or a bare '#'
            target = (page_path.parent / unquote(parts.path)).resolve() if parts.path else page_path
            if target.is_dir():
                target = target / "index.html"
            where = f"{page_path.relative_to(html_dir)}: {url}"
            if not target.is_relative_to(html_dir):
                broken.append(f"{where} (points outside the book)")
            elif not target.is_file():
                broken.append(f"{where} (no file {target.relative_to(html_dir)})")
            elif parts.fragment and target.suffix == ".html" and \
                    unquote(parts.fragment) not in _parse(target, cache).anchors:
                broken.append(f"{where} (no anchor #{parts.fragment} in {target.relative_to(html_dir)})")
    return broken
