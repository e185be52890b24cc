# The few commands people type. Everything is installed into .venv from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: setup demo test lint ui bench bench-small bench-refresh browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

setup: $(STAMP) $(DAGSTER_HOME)/dagster.yaml

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: setup
	$(BIN)/pipeline demo

# The UI test drives Debian's chromium; this installs it when absent and we are root (else the test skips, saying why).
browser:
	sh scripts/ensure_browser.sh

test: setup lint browser
	env -u DAGSTER_HOME $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check pipeline assets schemas tests

ui: setup
	$(BIN)/dagster dev -m pipeline.definitions -h 127.0.0.1 -p $${PORT:-3000}

bench: setup
	$(BIN)/python -m pipeline.bench --scale 1.0

bench-small: setup
	$(BIN)/python -m pipeline.bench --scale 0.05

bench-refresh: setup
	$(BIN)/python -m pipeline.bench --scale 1.0 --refresh-only

clean:
	rm -rf $(VENV) $(DAGSTER_HOME) data/warehouse.duckdb data/warehouse.duckdb.raw data/marts/* data/exports
