# System Design Playground: `make run` starts the site, `make test` runs every test.
# Both set up what they need first (a .venv, the pinned Python and npm packages), skipping
# whatever is already up to date.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup setup-dev engine-core collectstatic run test lint migrate clean

help:
	@echo "make run    start the site, its Celery workers and beat (http://127.0.0.1:$${PORT:-8000}/)"
	@echo "make test   lint and run every test, browser tests included"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 12)) else "Python 3.11 or 3.12 is needed; set PYTHON=/path/to/python3.12")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime-installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.runtime-installed node_modules/.installed

setup-dev: $(VENV)/.dev-installed node_modules/.installed

# The engine's compiled core (numba) compiles once into playground/engine/__pycache__ (about
# 100 s on first use: its plain and its full functions), so no run, worker or test pays for it;
# later this takes under a second. The caches of earlier versions of the core are removed.
engine-core: setup
	$(PY) -c 'from playground.engine import compiled; compiled.warm()'
	$(PY) scripts/prune_engine_cache.py

migrate: setup
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput

# The collected, hashed static files that WhiteNoise serves when DEBUG is off (DEBUG serves them
# from the sources). Collected again only when a file under static/, the npm packages or the Python
# packages (Django's admin, htmx) changed. The placeholder key is only for this command.
STATIC_SOURCES := $(shell find static)
staticfiles/.collected: $(STATIC_SOURCES) node_modules/.installed $(VENV)/.runtime-installed
	DEBUG=0 SECRET_KEY=collectstatic-only STATIC_FROM_FINDERS=0 $(PY) manage.py collectstatic --noinput -v 0
	@touch $@

collectstatic: setup staticfiles/.collected

run: setup migrate engine-core collectstatic
	DEBUG=$${DEBUG:-1} $(PY) manage.py loadtemplates
	DEBUG=$${DEBUG:-1} $(PY) scripts/devserver.py

lint: setup-dev
	$(PY) -m ruff check .

test: setup-dev engine-core
	@test -x $(CHROMIUM) || { echo "Chromium is needed for the browser tests and is not at $(CHROMIUM)."; \
	  echo "Install it with:  sudo apt-get install -y chromium   (or set CHROMIUM=/path/to/chromium)"; exit 1; }
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules staticfiles var
