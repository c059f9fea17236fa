# The two commands: `make run` (set up and serve the demo) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app oms_web

.PHONY: run test bench install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# htmx for offline sites and the tests: the same pinned file the pages load from the CDN, checked
# against the integrity hash in oms_web/web.py; fetched from the npm registry, never committed.
HTMX_VERSION := $(shell sed -n 's/^HTMX_VERSION = "\(.*\)"/\1/p' oms_web/web.py)
HTMX_INTEGRITY := $(shell sed -n 's/^HTMX_INTEGRITY = "sha384-\(.*\)"/\1/p' oms_web/web.py)
static/vendor/htmx.min.js: oms_web/web.py
	mkdir -p static/vendor $(VENV)/npm
	cd $(VENV)/npm && npm pack --silent htmx.org@$(HTMX_VERSION) >/dev/null && tar -xzf htmx.org-$(HTMX_VERSION).tgz package/dist/htmx.min.js
	test "$$(openssl dgst -sha384 -binary $(VENV)/npm/package/dist/htmx.min.js | openssl base64 -A)" = "$(HTMX_INTEGRITY)"
	cp $(VENV)/npm/package/dist/htmx.min.js $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed static/vendor/htmx.min.js
install-test: $(VENV)/.installed-test static/vendor/htmx.min.js

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo "oms_web is at http://127.0.0.1:5000/"
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install-test
	$(BIN)/pytest

bench: install-test
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
