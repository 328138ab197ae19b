# The two commands: `make run` (the local stack) and `make test` (the whole suite).
# Both set everything up on a fresh machine: a .venv with the pinned tools, Azurite from npm.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
AZURITE := node_modules/azurite/package.json
PYTEST_WORKERS ?= 2
# tests/ too: a misspelled document field or a wrong builder argument fails `make lint`.
TYPED := shared indexer lifecycle query producer api dashboard web ascend_cli function_app.py infra tests
# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint typecheck bench bench-peer infra install clean vendor checkov

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

# checkov (infra/ policy checks) in its own venv: its many pins clash with the project's.
TOOLS := .venv-tools
CHECKOV := $(TOOLS)/bin/checkov
CHECKOV_SKIPS := $(shell grep -v '^\#' infra/checkov-skips.txt | cut -d' ' -f1 | paste -sd, -)

$(CHECKOV): requirements-tools.txt constraints-tools.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found (need Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet -r requirements-tools.txt -c constraints-tools.txt
	@touch $@

# Every skipped check is listed with its reason in infra/checkov-skips.txt; a file checkov cannot
# parse (a Bicep syntax error) fails too.
checkov: $(CHECKOV)
	@out=$$(BC_SKIP_MAPPING=TRUE $(CHECKOV) -d infra --framework bicep arm --skip-download \
	  --compact --quiet --skip-check $(CHECKOV_SKIPS) 2>&1); status=$$?; echo "$$out" | tail -n 40; \
	if echo "$$out" | grep -q 'Parsing errors: [1-9]'; then echo "checkov: infra/ has a file it cannot parse"; exit 1; fi; \
	exit $$status

test: install $(CHROMIUM) checkov
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(TYPED)
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -q

lint: install checkov
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
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
	rm -rf $(VENV) $(PEER_VENV) $(TOOLS) node_modules .ascend .pytest_cache .ruff_cache .mypy_cache build
