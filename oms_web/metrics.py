"""The process's Prometheus metrics (prometheus_client), counted where things happen; /metrics
(oms_web/ops) adds the figures read from the database at each scrape (queue depth, backlogs, lag).

Nothing here imports Flask: the services count with one line (`metrics.STOCK_MOVES...inc()`).
Under gunicorn with several worker processes, PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py
sets it) makes every process write its counts to files there, and a scrape adds them up.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# Staff pages answer in tens of milliseconds; a PDF of labels may take seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram("oms_http_request_duration_seconds", "Time to answer a request, by endpoint",
                            ["endpoint", "method"], buckets=LATENCY_BUCKETS)
RESPONSES = Counter("oms_http_responses_total", "Responses by endpoint and status", ["endpoint", "method", "status"])
ORDERS_CREATED = Counter("oms_orders_created_total", "Orders created (not repeats), by channel id", ["channel"])
STOCK_MOVES = Counter("oms_stock_moves_total", "Stock ledger moves written, by reason", ["reason"])
LOG_LINES_HELD_BACK = Counter("oms_log_lines_held_back_total",
                              "Failures not written to the log because one like it was written moments before",
                              ["kind"])


def count_orders(batch: Sequence, results: Iterable) -> None:
    """create_orders' new orders (a repeat or a refusal is not one), by their channel."""
    for new, created in zip(batch, results):
        if created is not None and created.error is None and not created.duplicate:
            ORDERS_CREATED.labels(str(new.channel_id)).inc()


def process_registry() -> CollectorRegistry:
    """What this process counted, or with PROMETHEUS_MULTIPROC_DIR every process's counts added up."""
    if not MULTIPROCESS:
        from prometheus_client import REGISTRY

        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
