# Two entry points (see README): `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB ?= demo.db
DEMO_CONTACTS ?= 5000

.PHONY: demo test lint typecheck unit snapshots-update bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Install into .venv, build a demo database (once) and open the app on it.
demo: $(STAMP)
	@test -s $(DEMO_DB) || $(BIN)/crm demo --db $(DEMO_DB) --contacts $(DEMO_CONTACTS)
	$(BIN)/crm --db $(DEMO_DB)

## The whole suite: lint, format check, types, tests.
test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check crmtui migrations tests bench
	$(BIN)/ruff format --check crmtui migrations tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

snapshots-update: $(STAMP)
	$(BIN)/python -m pytest tests/test_snapshots.py --snapshot-update

bench: $(STAMP)
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
