# The two commands: `make run` (the local stack) and `make test` (the whole suite).
# Both set everything up on a fresh machine: a .venv with the pinned tools, Azurite from npm.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
AZURITE := node_modules/azurite/package.json
PYTEST_WORKERS ?= 2
TYPED := shared indexer lifecycle query producer api dashboard ascend_cli function_app.py infra
# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint typecheck bench bench-peer infra install clean vendor

install: $(INSTALLED) $(AZURITE)

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found (need Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): $(BIN)/python requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

$(AZURITE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: install
	$(BIN)/python -m ascend_cli.stack

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

test: install $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/mypy $(TYPED)
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy $(TYPED)
	$(BIN)/lint-imports

bench: install
	$(BIN)/python -m bench

# Copy the dashboard's front-end files out of node_modules after a package.json change.
vendor: $(AZURITE)
	$(BIN)/python -m dashboard.assets

# MLflow for `python -m bench.peer`, in a virtual environment of its own: a benchmark-only
# dependency, kept out of .venv (its ~90 packages would otherwise meet the project's pins).
PEER_VENV := .venv-peer
bench-peer: install $(PEER_VENV)/.installed

$(PEER_VENV)/.installed: bench/requirements-peer.txt
	$(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install --quiet -r bench/requirements-peer.txt
	@touch $@

infra: install
	$(BIN)/python -m infra.generate

clean:
	rm -rf $(VENV) $(PEER_VENV) node_modules .ascend .pytest_cache .ruff_cache .mypy_cache build
