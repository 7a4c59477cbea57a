# zeropools: `make run` and `make test` do all the set-up they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv browser run test lint typecheck unit audit lock bench bench-quick bench-tools soak clean

venv: $(STAMP)

# Every dependency (runtime and dev, pip itself included) at its locked version, checked against
# its locked hashes; then the project alone, built with the locked setuptools, fetching nothing
# else. `pip check` fails if pyproject.toml asks for something the lock lacks: run `make lock`.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Re-resolve requirements.lock from pyproject.toml (newest allowed versions, every file's hash).
lock:
	test -x $(BIN)/pip-compile || $(MAKE) venv
	$(BIN)/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras \
	  --extra dev --no-emit-index-url --no-emit-find-links \
	  --output-file requirements.lock pyproject.toml

# Known vulnerabilities in the locked dependencies (pip-audit; docs/supply-chain.md)
audit: venv
	$(BIN)/python tools/audit_lock.py requirements.lock

# make run PORT=8001 serves on another port; make run ARGS=--fresh starts from a new database
PORT ?=
ARGS ?=
run: venv
	$(BIN)/zeropools demo $(if $(PORT),--port $(PORT)) $(ARGS)

lint: venv
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

# Debian's Chromium for the browser tests (a browser cannot be downloaded here): from apt when
# missing; if that fails the browser tests fail and say how to install it
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will fail"

unit: venv browser
	$(BIN)/pytest -q -n 2

test: lint typecheck audit unit

# Benchmarks (bench/run_all.py): every bench, figures and same-run ratios printed, none asserted.
# A full run takes the better part of an hour; bench-quick runs the bulk ones at a tenth.
bench: venv bench-tools
	$(BIN)/python bench/run_all.py

bench-quick: venv bench-tools
	$(BIN)/python bench/run_all.py --quick

# What the benches run besides Python: wrk (HTTP load), sqlite3 and psql (the databases' own
# dumps the export is held against), GNU time (peak RSS); hyperfine is optional.
bench-tools:
	@command -v wrk >/dev/null && command -v sqlite3 >/dev/null && command -v psql >/dev/null \
	  && test -x /usr/bin/time || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq wrk sqlite3 postgresql-client time hyperfine >/dev/null)

# the long profile (docs/reliability.md): the reliability suites (crash safety, many processes,
# the HTTP model) and every test sized by the soak knob (fuzzing, properties, big imports) at
# full size; half an hour and more. -rP prints each passed suite's figures (under xdist, -s
# would not: the workers' output never reaches the terminal).
soak: venv browser
	ZEROPOOLS_SOAK=1 $(BIN)/pytest -q -rP -n 2 -m "reliability or soak"

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
