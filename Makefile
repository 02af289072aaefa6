# Everything goes through .venv, which is created on first use: a fresh clone
# needs nothing but python3 (3.11+).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench soak generate clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/streams-worker demo

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check streams_worker producer

typecheck: $(STAMP)
	$(BIN)/mypy

# The generated files: k8s/monitoring/ from monitoring/, the alert tests, the docs'
# figures from bench/results (PyYAML comes with the test extra, which make installs).
generate: $(STAMP)
	$(BIN)/python k8s/generate.py
	$(BIN)/python monitoring/make_alerts_test.py
	$(BIN)/python -m bench.docs_figures

soak: $(STAMP)
	$(BIN)/python -m pytest -q tests/chaos --soak

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
