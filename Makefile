# Two entry points (see README): `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
# The installer and lock tool: uv, pinned (in the lock too, via the dev extra), installed
# into .venv by pip from the lock's own hashed line, so it is as pinned as the rest.
UV := $(BIN)/uv
DEMO_DB ?= demo.db
DEMO_CONTACTS ?= 5000
# Two pytest workers: the machines this runs on have two cores. Work stealing evens out
# the end of the run (a few tests take half a minute).
PYTEST_WORKERS ?= 2

.PHONY: demo test test-full lint typecheck unit snapshots-update bench lock clean

# Every dependency, direct and transitive, at the lock's versions and hashes; then
# crmtui itself, editable, without build isolation (its build backend is in the lock).
# Compiled to bytecode at install, as pip and pipx do (uv does not by default): where
# PYTHONDONTWRITEBYTECODE is set (as on the project's CI machine) Python never caches it,
# and every `crm` spent ~3 s compiling SQLAlchemy, Textual and the rest from source
# (`crm find` compiled 47 modules: ~1x the floor).
$(STAMP): $(LOCK) pyproject.toml setup.py | $(UV)
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes $(LOCK)
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q crmtui
	$(UV) pip check --quiet --python $(BIN)/python
	touch $(STAMP)

# uv first, with pip, from the lock's own hashed `uv==` line.
$(UV):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	awk '/^uv==/{p=1} p{print} p&&!/\\$$/{exit}' $(LOCK) > $(VENV)/uv.req
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r $(VENV)/uv.req

## Install into .venv, build a demo database (once) and open the app on it.
demo: $(STAMP)
	@test -s $(DEMO_DB) || $(BIN)/crm demo --db $(DEMO_DB) --contacts $(DEMO_CONTACTS)
	$(BIN)/crm --db $(DEMO_DB)

## The whole suite: lint, format check, types, tests (Hypothesis and crash loops bounded).
# mypy runs beside the tests: in a fresh clone (no cache) it is a minute of one core,
# which the tests' waits on servers and subprocesses leave free. Its report is printed
# after the tests' own, and either failing fails the target.
# crmtui's own modules are compiled first, for the same reason as the dependencies
# (only what changed since the last run is compiled again).
test: $(STAMP) lint
	$(BIN)/python -m compileall -q -j 0 crmtui migrations tests
	$(BIN)/mypy > $(VENV)/mypy.log 2>&1 & types=$$!; \
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS); tests=$$?; \
	wait $$types; typed=$$?; echo "mypy (run beside the tests):"; cat $(VENV)/mypy.log; \
	test $$tests -eq 0 && test $$typed -eq 0

## The same with the long fuzz and crash loops (tests/budget.py); by hand, not in CI.
test-full: $(STAMP) lint typecheck
	$(BIN)/python -m compileall -q -j 0 crmtui migrations tests
	CRMTUI_TEST_BUDGET=full $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The layer contracts (import-linter) are checked once pyproject.toml has them.
lint: $(STAMP)
	$(BIN)/ruff check crmtui migrations tests bench scripts
	$(BIN)/ruff format --check crmtui migrations tests bench scripts
	if grep -q '^\[tool.importlinter\]' pyproject.toml; then $(BIN)/lint-imports; fi

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

snapshots-update: $(STAMP)
	$(BIN)/python -m pytest tests/test_snapshots.py --snapshot-update

bench: $(STAMP)
	$(BIN)/python bench/search.py

## Refresh requirements.lock from pyproject.toml, keeping the versions it has where they
## still fit; `make lock LOCK_ARGS=--upgrade` moves everything to the newest that fits.
lock: | $(UV)
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		--custom-compile-command 'make lock' --quiet $(LOCK_ARGS) -o $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
