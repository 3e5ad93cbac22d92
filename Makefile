# StrideLab: `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install models frontend browser services run test lint typecheck clean

install: $(STAMP) models frontend ## Virtualenv, Python packages, the pose model and the built web app

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "StrideLab needs Python 3.11+"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

models: $(STAMP) ## Provision the pose model: fetch, verify and convert to ONNX (cached)
	$(PY) -m ml_models.provision

frontend: ## The web app (Node.js 20+): npm ci, then the build into frontend/dist
	@command -v npm >/dev/null || { echo "The web app needs Node.js 20+ and npm" >&2; exit 1; }
	cd frontend && npm ci --no-audit --no-fund && npm run build

browser: ## Debian's Chromium for the browser tests (tests/web), installed when missing
	scripts/browser.sh

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

test: install services browser lint typecheck ## The whole suite, on SQLite and PostgreSQL
	eval "$$(scripts/services.sh env)" && $(VENV)/bin/pytest -ra --durations=15

clean:
	rm -rf $(VENV) var .services .pytest_cache .mypy_cache .ruff_cache frontend/node_modules frontend/dist
