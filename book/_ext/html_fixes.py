"""Fixes to the HTML that Jupyter Book 1.x writes, for errors a reader's browser console shows.

tests_browser/ opens every page in Chromium and fails on console errors; these are the two
that the book's stack itself caused on every page:

- Sphinx 7.4 writes an inline script twice when an extension registers it after the builder
  has started (once kept with the file name None, once re-added from the registry with '').
  sphinx-thebe does so with `const THEBE_JS_URL = ...`, and the second copy throws
  "Identifier 'THEBE_JS_URL' has already been declared". We keep the first of equal scripts.
- pydata-sphinx-theme reads the default colour mode from `html_context["default_mode"]`;
  unset, it logs "Got invalid theme mode: . Resetting to auto." That one is set in
  _config.yml (sphinx.config.html_context), not here.

It also adds book_fixes.css (book/_ext/static/): long code and output lines wrap instead of
hiding behind horizontal scrollbars.
"""

from pathlib import Path

STATIC = Path(__file__).parent / "static"


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = (js.filename or "", js.priority, tuple(sorted(js.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique  # the builder restores its own list after each page


def _add_static_path(app, config):
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("config-inited", _add_static_path)
    app.add_css_file("book_fixes.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
