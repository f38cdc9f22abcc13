# The two commands of the README:
#   make up    set everything up, then run the service on embedded defaults
#   make test  set everything up, then run every test (Python and Solidity)
# Everything else here is what those two need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./ledger-data

.PHONY: up test lint setup postgres chromium go

up: setup
	$(BIN)/mledger up --data-dir $(DATA_DIR)

# Lint and Hardhat first, so pytest's summary is the run's closing line.
test: setup postgres chromium go lint
	npx hardhat test
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

# Style, types and the rooms' import rules (pyproject.toml): part of `make test`.
lint: setup
	$(BIN)/ruff check ledger tests scripts
	$(BIN)/ruff format --check ledger tests scripts
	$(BIN)/mypy ledger
	$(BIN)/lint-imports

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[server,test,bench]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

postgres:
	@scripts/ensure-postgres.sh

chromium:
	@scripts/ensure-chromium.sh

go:
	@scripts/ensure-go.sh
