# The two contract commands: `make demo` and `make test` (each creates .venv with pip when missing).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast install lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml requirements-ci.txt
	$(BIN)/pip install -q -r requirements-ci.txt
	$(BIN)/pip install -q -c requirements-ci.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	OMP_NUM_THREADS=2 $(BIN)/python examples/01_digits.py --work-dir work_dirs/demo

test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest
	$(BIN)/mypy

# the inner loop (< 2 min): no subprocesses, no multi-process runs, no `slow` tests; `make test` is the contract
test-fast: $(STAMP)
	TE_TEST_FAST=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py

clean:
	rm -rf $(VENV) work_dirs .pytest_cache .mypy_cache
