# Two commands do everything on a fresh machine (Python >= 3.10 with venv):
#   make book   - virtual environment, install .[dev], train the default model, build the book
#   make test   - virtual environment, install .[dev], lint (code and workflows), unit tests
#                 (the wheel installed in a bare venv among them), every chapter in quick mode
#                 under nbval, the strict book build, and its pages in a browser
VENV ?= .venv
PY := $(VENV)/bin/python
BUILD_BOOK := $(VENV)/bin/jupyter-book build . -W -n --keep-going
CHROMIUM ?= /usr/bin/chromium
BOOK_HTML ?= _build/html
# pytest workers for the unit tests and the notebooks (pytest-xdist): one per core by default;
# each notebook stays in one worker (--dist loadfile), its cells in order in one kernel.
JOBS ?= auto

.PHONY: venv train book test lint-workflows unit kernels notebooks book-strict browser clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

train: venv
	$(VENV)/bin/gan-tutorial train --out runs/default

book: train
	$(BUILD_BOOK)

# The GitHub workflows (.github/workflows): their JSON schema (check-jsonschema's vendored copy),
# then what a schema cannot check (.github/lint_workflows.py); actionlint too where it is on the
# PATH (its PyPI wrapper downloads the binary from GitHub, which these machines cannot reach).
lint-workflows: venv
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(PY) .github/lint_workflows.py
	@if command -v actionlint >/dev/null; then actionlint; else echo "lint-workflows: actionlint not" \
	  "on the PATH: checked by schema and .github/lint_workflows.py only"; fi

unit: venv
	$(PY) -m ruff check .
	$(PY) -m pytest -n $(JOBS) tests

# The tests that touch committed results and the digit metric, again under another processor's
# kernels (AVX2 in ATen and oneDNN): a result that depends on the processor fails here, not on a
# reader's machine.
KERNEL_TESTS := tests/test_metrics.py tests/test_digit_results.py tests/test_mode_collapse.py \
  tests/test_paper_settings.py -k "committed or pinned or classifier or protocol or rescore or real_digits"
kernels: venv
	ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 $(PY) -m pytest -p no:cacheprovider $(KERNEL_TESTS)

notebooks: venv
	GAN_TUTORIAL_QUICK=1 $(PY) -m pytest -n $(JOBS) --dist loadfile --nbval-lax --nbval-current-env \
	  -p no:cacheprovider book

book-strict: venv
	$(BUILD_BOOK) --all

# Every page of the built book ($(BOOK_HTML)) in headless Chromium: math typeset, images loaded,
# the Colab launch link, no console errors; screenshots in _build/screenshots. Needs a build.
browser: venv
	@[ -x $(CHROMIUM) ] || echo "browser: SKIPPED - $(CHROMIUM) not found (apt-get install chromium):" \
	  "no page is opened in a browser; only the build's internal links and launch links are checked"
	GAN_TUTORIAL_HTML=$(BOOK_HTML) GAN_TUTORIAL_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -p no:cacheprovider tests_browser

test: lint-workflows unit kernels notebooks book-strict browser

clean:
	rm -rf _build runs .pytest_cache
