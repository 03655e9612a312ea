# Two commands do everything on a fresh machine (Python >= 3.10 with venv):
#   make book   - virtual environment, install .[dev], train the default model, build the book
#   make test   - virtual environment, install .[dev], lint, unit tests, every chapter in
#                 quick mode under nbval, and the strict book build
VENV ?= .venv
PY := $(VENV)/bin/python
BUILD_BOOK := $(VENV)/bin/jupyter-book build . -W -n --keep-going

.PHONY: venv train book test unit notebooks book-strict clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

train: venv
	$(VENV)/bin/gan-tutorial train --out runs/default

book: train
	$(BUILD_BOOK)

unit: venv
	$(PY) -m ruff check .
	$(PY) -m pytest tests

notebooks: venv
	GAN_TUTORIAL_QUICK=1 $(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider book

book-strict: venv
	$(BUILD_BOOK) --all

test: unit notebooks book-strict

clean:
	rm -rf _build runs .pytest_cache
