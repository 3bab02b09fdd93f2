# LogiFlow developer entry points. Every target installs what it needs by itself.
#   make run    the whole pipeline on this machine (local Kafka + Elasticsearch + Spark)
#   make test   every test: unit, integration against real local servers, and the chart proofs

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint unit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

run: install
	$(BIN)/logiflow run

lint: install
	$(BIN)/ruff check spark_apps tests

unit: install
	$(BIN)/pytest tests/unit

test: install lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
