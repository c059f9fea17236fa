# The two commands: `make run` (set up and serve the demo) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app oms_web
# Where `make run` serves: `make run PORT=5001` when 5000 is taken.
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test bench screenshots install install-test clean cluster cluster-stop cluster-bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# What the tests run against, from Debian's packages: Chromium for the browser tests (Playwright's own
# browser download is not used), poppler-utils and zbar-tools to render PDFs and scan their barcodes.
TEST_TOOLS := chromium pdftoppm zbarimg
$(VENV)/.system-packages: | $(BIN)/python
	@missing=""; for tool in $(TEST_TOOLS); do command -v $$tool >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then apt-get update && apt-get install -y chromium poppler-utils zbar-tools; fi
	touch $@

# What `make cluster` runs besides PostgreSQL (the machine's), from Debian's packages: HAProxy in front of
# the nodes, and Redis for the task queue when none answers on 6379.
CLUSTER_TOOLS := haproxy redis-server
$(VENV)/.cluster-packages: | $(BIN)/python
	@missing=""; for tool in $(CLUSTER_TOOLS); do command -v $$tool >/dev/null || [ -x /usr/sbin/$$tool ] || missing=1; done; \
	if [ -n "$$missing" ]; then apt-get update && apt-get install -y haproxy redis-server; fi
	touch $@

# The load tool (Locust) for `make cluster-bench`, from pyproject's [load] extra.
$(VENV)/.installed-load: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[load]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test $(VENV)/.system-packages

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo "oms_web is at http://$(HOST):$(PORT)/"
	$(FLASK) worker & worker=$$!; trap 'kill -INT $$worker 2>/dev/null; wait $$worker' INT TERM EXIT; \
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/pytest

# The README's pictures, from the browser tests' screenshots.
screenshots: install-test
	$(BIN)/pytest -q tests/browser
	cp tests/screenshots/board.png docs/board.png
	cp tests/screenshots/order-partly-shipped.png docs/order.png

# Intake and board queries at 100,000 and 1,000,000 orders (the seeded files stay in /tmp/oms-bench),
# the screens' server time on the 1,000,000-order file, documents, bulk shipping 500 orders with their PDF,
# a 100,000-line report import, a
# gunicorn worker's memory while it refuses 300 MB unauthenticated POSTs, and (with
# OMS_TEST_DATABASE_URL set) the JSON order API under gunicorn on PostgreSQL.
bench: install-test
	$(BIN)/python bench/run.py
	$(BIN)/python bench/screens.py --db /tmp/oms-bench/oms-bench-1000000.sqlite3
	$(BIN)/python bench/pack_scan.py --db /tmp/oms-bench/oms-bench-1000000.sqlite3
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/bulk_ship.py
	$(BIN)/python bench/buy_labels.py
	$(BIN)/python bench/report_import.py sqlite:////tmp/oms-bench/report-import.sqlite3 100000
	$(BIN)/python bench/request_memory.py
	if [ -n "$$OMS_TEST_DATABASE_URL" ]; then $(BIN)/python bench/api.py; fi

# Two app nodes behind HAProxy, two task-queue workers, Redis and the machine's PostgreSQL (database
# oms_cluster), from the files of deploy/ (bench/cluster.py); `make cluster-stop` stops what it started.
cluster: install $(VENV)/.cluster-packages
	$(BIN)/python bench/cluster.py start

cluster-stop:
	$(BIN)/python bench/cluster.py stop

# 60 s of mixed load through HAProxy (API orders with repeats, webhooks, staff shipping and printing)
# with one node and one worker killed and restarted midway; prints the figures (bench/cluster_load.py).
cluster-bench: install $(VENV)/.installed-load $(VENV)/.cluster-packages
	$(BIN)/python bench/cluster_load.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
