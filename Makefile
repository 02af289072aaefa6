# Everything goes through .venv, which is created on first use: a fresh clone
# needs nothing but python3 (3.11+).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench soak generate clean lock chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@$(MAKE) --no-print-directory chromium
	@touch $(STAMP)

# The console's browser tests drive Debian's chromium (never a downloaded build).
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update && \
	    DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 install -y \
	      --no-install-recommends chromium; \
	  else echo "chromium missing: sudo apt-get install chromium (browser tests will skip)"; fi; }

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
	$(BIN)/python -m pytest -q tests/chaos --soak --all-servers

# The full run (~15 min): results files, the profile, then the README's table from them.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python -m bench
	$(BIN)/python -m bench.profile
	$(BIN)/python -m bench.docs_figures

# The image's pinned dependencies (with hashes) and their SBOM, resolved for any
# platform on Python 3.11: the [server] and [enrichment] extras, nothing else.
# uv and cyclonedx-bom are installed into .venv on demand (not test dependencies).
LOCK     := requirements/image.lock
SBOM     := requirements/image.cdx.json
EXTRAS   := --extra server --extra enrichment --extra console --extra otel

lock: $(STAMP)
	@test -x $(BIN)/uv -a -x $(BIN)/cyclonedx-py || \
	  $(BIN)/python -m pip install -q 'uv>=0.4' 'cyclonedx-bom>=4'
	$(BIN)/uv pip compile pyproject.toml $(EXTRAS) --generate-hashes --universal \
	  --python-version 3.11 --custom-compile-command 'make lock' --quiet -o $(LOCK)
	$(BIN)/cyclonedx-py requirements --pyproject pyproject.toml --output-reproducible \
	  --of JSON -o $(SBOM) $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
