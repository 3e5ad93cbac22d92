# StrideLab: `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install models services run test lint typecheck clean

install: $(STAMP) models ## Virtualenv, Python packages and the provisioned pose model

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "StrideLab needs Python 3.11+"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

models: $(STAMP) ## Provision the pose model: fetch, verify and convert to ONNX (cached)
	$(PY) -m ml_models.provision

services: ## PostgreSQL and Redis for the test suite (Debian packages, private ports)
	scripts/services.sh start

run: install ## Start the app on the embedded default (SQLite, local files, demo data)
	$(VENV)/bin/stridelab db upgrade
	$(VENV)/bin/stridelab demo seed
	@echo "StrideLab: http://$(HOST):$(PORT)/  (API docs at http://$(HOST):$(PORT)/docs)"
	$(VENV)/bin/stridelab serve --host $(HOST) --port $(PORT)

lint: $(STAMP) ## ruff, and the layer contracts of docs/architecture.md (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: install services lint typecheck ## The whole suite, on SQLite and PostgreSQL
	eval "$$(scripts/services.sh env)" && $(VENV)/bin/pytest -ra --durations=15

clean:
	rm -rf $(VENV) var .services .pytest_cache .mypy_cache .ruff_cache
