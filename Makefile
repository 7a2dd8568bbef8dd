# photosearch: `make run` serves the app, `make test` runs every test. Both set up what is missing first.
#
#   make setup   venv with pinned Python deps (pip), npm ci, frontend build   (idempotent; fast when done)
#   make run     the app on http://127.0.0.1:5000 with a demo profile of bundled photos (PORT=8080 for another
#                port, PROCESSES=2 for two server processes); Ctrl+C stops it
#   make test    ruff, pytest (unit, api, browser e2e in Debian chromium), vitest
#   make test-distributed   several processes on PostgreSQL + Redis (tests/distributed, a few minutes)
#   make lint | stress | eval   (eval needs ../shared/flickr8k or FLICKR8K=path)

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
FLICKR8K ?= ../shared/flickr8k
PORT    ?= 5000
PROCESSES ?= 1
FRONTEND_SOURCES := $(shell find frontend/src frontend/index.html frontend/vite.config.ts -type f 2>/dev/null)

.PHONY: setup run test test-distributed lint chromium servers stress eval clean

setup: $(VENV)/.installed node_modules/.installed frontend/dist/index.html

# torch==2.14.1 / torchvision==0.29.1 come from this machine's local wheel store through pip (see README).
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

frontend/dist/index.html: node_modules/.installed $(FRONTEND_SOURCES)
	npm run build

run: setup
	$(BIN)/photosearch serve --port $(PORT) --processes $(PROCESSES)

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# PostgreSQL 15 and Redis servers for the tests that start their own (tests/servers.py); Debian packages.
servers:
	@test -x "$$(pg_config --bindir 2>/dev/null)/initdb" || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)
	@command -v redis-server >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null)

lint: $(VENV)/.installed
	$(BIN)/ruff check backend tests scripts

test: setup chromium servers lint
	$(BIN)/pytest -q
	npm test

# Two API processes + two workers + PostgreSQL + Redis on loopback, 1,000 photos, a worker killed midway
# (tests/distributed; a few minutes on 2 cores). Not part of `make test`'s pytest run (marker).
test-distributed: setup servers
	$(BIN)/pytest -q -s -m distributed tests/distributed

stress: setup
	$(PY) scripts/stress.py

eval: setup
	$(BIN)/photosearch eval-captioner --data $(FLICKR8K) --split test --beam 1,3,5
	$(BIN)/photosearch eval-search --data $(FLICKR8K) --split test

clean:
	rm -rf frontend/dist node_modules $(VENV)
