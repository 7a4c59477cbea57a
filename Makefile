# zeropools: `make run` and `make test` do all the set-up they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv browser run test lint typecheck unit clean

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

# Debian's Chromium for the browser tests (a browser cannot be downloaded here): from apt when
# missing; if that fails the browser tests fail and say how to install it
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will fail"

unit: venv browser
	$(BIN)/pytest -q -n 2

test: lint typecheck unit

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
