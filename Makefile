# p2p-energy: two commands do everything on a fresh clone.
#   make run    set up, then run the main job
#   make test   set up, then lint and run the whole test suite
# Set-up is incremental: a second run only checks stamps.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# brownie starts `anvil` from PATH; make targets see the venv's tools first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup run test lint format clean

setup: $(VENV)/.installed node_modules/.installed $(BIN)/anvil
	@$(BIN)/python -c "from p2p_energy.toolchain import find_toolchain, install_solc_wrapper; install_solc_wrapper(find_toolchain())"

$(VENV)/.installed: requirements.lock pyproject.toml
	@toolchain/require-tools python "$(PYTHON)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

node_modules/.installed: package-lock.json package.json
	@toolchain/require-tools node
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The real anvil binary from npm, where brownie (and anyone with the venv
# active) finds it.
$(BIN)/anvil: node_modules/.installed $(VENV)/.installed
	@ln -sf "$$(ls -d $(CURDIR)/node_modules/@foundry-rs/anvil-*/bin/anvil | head -1)" $@

run: setup
	$(BIN)/p2p-energy demo

lint: setup
	$(BIN)/ruff check p2p_energy tests scripts
	$(BIN)/ruff format --check p2p_energy tests scripts
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format p2p_energy tests scripts
	$(BIN)/ruff check --fix p2p_energy tests scripts

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf build .pytest_cache .hypothesis reports
