# Every target installs into .venv first, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench mutate lock clean

# Installed from the hashed lock, then apiinv itself without dependencies: what runs is what was locked.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Simulated data, into demo-output/ (never output/, which is the real runs'); it prints the workbook's path.
demo: install
	$(BIN)/apiinv demo

# One worker per core (pytest-xdist), a test file per worker at a time: a file's module-scoped fixtures are
# built once, and the crontab tests (one user's crontab) never run side by side.
test: install
	$(BIN)/python -m pytest -q -n auto --dist loadfile

lint: install
	$(BIN)/ruff check apiinv tests bench
	$(BIN)/ruff format --check apiinv tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/collect.py
	$(BIN)/python bench/incremental.py
	$(BIN)/python bench/process.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/scale.py

# Mutation testing (not in CI; slow): what [tool.mutmut] in pyproject.toml names, or only the mutants
# matching MUTANTS, e.g. make mutate MUTANTS='apiinv.inventory.keys.* apiinv.http.origin.*'.
# Survivors: .venv/bin/mutmut show NAME, or .venv/bin/mutmut browse.
MUTANTS ?=
mutate: install
	$(BIN)/mutmut run $(foreach m,$(MUTANTS),'$(m)')
	$(BIN)/mutmut results

# After changing dependencies in pyproject.toml: new locks (uv resolves, pins and hashes every file).
lock: install
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --extra test --extra dev --generate-hashes \
		--quiet -o requirements-dev.lock

clean:
	rm -rf $(VENV) output demo-output build *.egg-info mutants
