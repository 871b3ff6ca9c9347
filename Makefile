# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck rules bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m peps_onboarding demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

rules: $(STAMP)
	$(BIN)/python ../shared/tools/rule_coverage.py tests

test: lint typecheck
	$(BIN)/pytest --cov --cov-branch --cov-report=term --cov-fail-under=95
	$(BIN)/python ../shared/tools/rule_coverage.py tests

bench: $(STAMP)
	$(BIN)/python bench/core.py
	$(BIN)/python bench/stores.py
	$(BIN)/python bench/abuse.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
