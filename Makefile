# zeropools: `make run` and `make test` do all the set-up they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint typecheck unit soak clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# make run PORT=8001 serves on another port; make run ARGS=--fresh starts from a new database
PORT ?=
ARGS ?=
run: venv
	$(BIN)/zeropools demo $(if $(PORT),--port $(PORT)) $(ARGS)

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q -n 2

test: lint typecheck unit

# the reliability suites (crash safety, many processes) with the long profile: minutes, not
# seconds; -s prints each suite's figures line (see docs/reliability.md)
soak: venv
	ZEROPOOLS_SOAK=1 $(BIN)/pytest -q -s -m reliability tests/reliability

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
