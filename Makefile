# Every target installs into .venv first, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/apiinv demo

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check apiinv tests bench
	$(BIN)/ruff format --check apiinv tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/collect.py
	$(BIN)/python bench/process.py
	$(BIN)/python bench/export.py

clean:
	rm -rf $(VENV) output build *.egg-info
