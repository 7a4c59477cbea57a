# zeropools: `make run` and `make test` do all the set-up they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint typecheck unit bench bench-quick bench-tools clean

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

# Benchmarks (bench/run_all.py): every bench, figures and same-run ratios printed, none asserted.
# A full run takes the better part of an hour; bench-quick runs the bulk ones at a tenth.
bench: venv bench-tools
	$(BIN)/python bench/run_all.py

bench-quick: venv bench-tools
	$(BIN)/python bench/run_all.py --quick

# What the benches run besides Python: wrk (HTTP load), sqlite3 and psql (the databases' own
# dumps the export is held against), GNU time (peak RSS); hyperfine is optional.
bench-tools:
	@for tool in wrk sqlite3 psql /usr/bin/time; do \
	  command -v $$tool >/dev/null || { echo "bench needs $$tool: apt-get install wrk sqlite3 postgresql-client time"; exit 1; }; \
	done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
