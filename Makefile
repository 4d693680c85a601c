# p2p-energy: two commands do everything on a fresh clone.
#   make run    set up, then run the main job
#   make test   set up, then lint and run the whole test suite
# Set-up is incremental: a second run only checks stamps.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SLITHER_VENV := .venv-slither
# plotly.js's basic bundle (npm, package-lock.json), inlined into every report page.
PLOTLY_JS := p2p_energy/output/assets/plotly-basic.min.js
# brownie starts `anvil` from PATH; make targets see the venv's tools first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# npm's "new version of npm available" notice is no news about this project:
# every npm this Makefile runs keeps quiet about it.
export npm_config_update_notifier := false

.PHONY: setup run run-qtum test test-fast older-targets lint lint-python slither format gas bench bench-scale bench-week bench-replay sweep-bench export clean

setup: $(VENV)/.installed node_modules/.installed $(BIN)/anvil $(SLITHER_VENV)/.installed $(PLOTLY_JS)
	@$(BIN)/python -c "from p2p_energy.solidity.toolchain import find_toolchain, install_solc_wrapper; install_solc_wrapper(find_toolchain())"

$(VENV)/.installed: requirements.lock pyproject.toml
	@toolchain/require-tools python "$(PYTHON)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

# slither (static analysis of the contracts) has a venv of its own, pinned by
# requirements-slither.lock: its dependency solc-select installs a `solc`
# command that tries to download a compiler (impossible here), which must not
# sit in .venv/bin, first on every target's PATH; and its pins need not agree
# with brownie's.
$(SLITHER_VENV)/.installed: requirements-slither.lock
	@toolchain/require-tools python "$(PYTHON)"
	@test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-slither.lock
	@touch $@

node_modules/.installed: package-lock.json package.json
	@toolchain/require-tools node
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The real anvil binary from npm, where brownie (and anyone with the venv
# active) finds it.
$(BIN)/anvil: node_modules/.installed $(VENV)/.installed
	@ln -sf "$$(ls -d $(CURDIR)/node_modules/@foundry-rs/anvil-*/bin/anvil | head -1)" $@

# The pages' plotly.js: copied from npm's package beside the pages' own scripts (package data).
$(PLOTLY_JS): node_modules/.installed
	@cp node_modules/plotly.js-basic-dist-min/plotly-basic.min.js $@

run: setup
	$(BIN)/p2p-energy simulate scenarios/demo.toml --png

# The demo on a real Qtum node: a qtumd regtest node started for the run
# (qtumd from $$QTUMD or PATH; about 25 s with node start and coin maturity).
run-qtum: setup
	$(BIN)/p2p-energy simulate scenarios/demo.toml --backend qtum --out reports/demo-qtum

# Artifacts for other tools (docs/artifacts.md): build/export/ (ABI, bytecode, solc
# metadata per contract; deployment-<chain id>.json per recorded deployment) and
# brownie's build/deployments/.
export: setup
	$(BIN)/p2p-energy export

gas: setup
	$(BIN)/p2p-energy gas --json build/gas.json

# Gas, throughput (batched vs one transaction per action), the city-scale day
# and compile times in one table; figures in bench/results.json.
bench: setup
	$(BIN)/p2p-energy bench

# The sweep study (scenarios/sweeps/neighbourhood.toml, 36 runs) on a local Dask cluster against the same
# runs one after another: wall times, their ratio, the engine's overhead per run (bench/sweep.json;
# docs/sweeps.md). Minutes, not seconds: not part of make test.
sweep-bench: setup
	$(BIN)/python -m p2p_energy.sweep.bench scenarios/sweeps/neighbourhood.toml --out bench/sweep

# city-day scaled to each size (p2p_energy/bench_scale.py), one process per size so that each peak
# memory is its own: wall time, time per settled trade, checks, peak RSS of Python and anvil.
# Not part of `make test`: 10,000 households take minutes. `make bench-scale SCALE_SIZES="100 1000"`.
SCALE_SIZES ?= 100 1000 2500 10000
bench-scale: setup
	@for n in $(SCALE_SIZES); do $(BIN)/python -m p2p_energy.bench_scale $$n || exit 1; done

# A week: 1,000 households x 672 slots of 15 minutes, every check (issue 22); minutes, not part of make test.
bench-week: setup
	$(BIN)/python -m p2p_energy.bench_scale 1000 --slots 672

# city-day, then its blocks (timestamps and signed transactions) replayed on a fresh anvil: the run's throughput
# as a share of the chain's own (issue 22; docs/performance.md). `make bench-replay REPLAY_HOUSEHOLDS=100`.
REPLAY_HOUSEHOLDS ?= 1000
bench-replay: setup
	$(BIN)/python -m p2p_energy.bench_replay $(REPLAY_HOUSEHOLDS)

lint: lint-python slither

lint-python: setup
	$(BIN)/ruff check p2p_energy tests scripts toolchain/run-slither
	$(BIN)/ruff format --check p2p_energy tests scripts toolchain/run-slither
	$(BIN)/mypy
	$(BIN)/mypy toolchain/run-slither
	$(BIN)/lint-imports --no-cache

# Every contract through slither and our solc wrapper; fails on a High or
# Medium finding (toolchain/run-slither says how to silence a false positive).
slither: $(SLITHER_VENV)/.installed node_modules/.installed
	$(SLITHER_VENV)/bin/python toolchain/run-slither

format: setup
	$(BIN)/ruff format p2p_energy tests scripts
	$(BIN)/ruff check --fix p2p_energy tests scripts

# The whole suite for the default target (cancun), then the contract suite for
# the older Qtum targets on chains of their hardfork, each on both cores
# (pytest-xdist). brownie does not notice an EVM target change by itself, hence
# toolchain/brownie-build before each target (each target's build kept apart);
# and its workers compare their contract hashes with the main process's at the
# end, so the build exists before they start.
# The stateful model of the market runs once, on cancun: it tests the market's
# logic, which the other targets share; every behaviour and attack test runs on all three.
PYTEST_WORKERS ?= 2

# slither and brownie's compiles are single-threaded (solc-js), so lint and the
# older targets run side by side (-j2) before the whole suite takes both cores.
test: setup
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint older-targets
	@echo "== all tests for cancun"
	toolchain/brownie-build cancun
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

# The inner loop (docs/tests.md): no qtumd, no browser, no contract suite, nothing marked slow.
test-fast: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m "not qtum and not browser and not contracts and not slow"

older-targets: setup
	@for evm in shanghai london; do \
		echo "== contract tests for $$evm"; \
		toolchain/brownie-build $$evm || exit 1; \
		P2P_EVM=$$evm $(BIN)/python -m pytest tests/contracts -q -p no:cacheprovider -n $(PYTEST_WORKERS) \
			--deselect tests/contracts/test_escrow_invariants.py || exit 1; \
	done

clean:
	rm -rf build .pytest_cache .hypothesis reports
