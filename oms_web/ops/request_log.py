"""One JSON line per request, with the request's id, its time and status; the id also travels with
the jobs the request queues (tasks._send) and is in their workers' log lines.

The id is the caller's X-Request-ID when it looks like one (HAProxy makes one per request, see
deploy/haproxy.cfg), else a new one; the response carries it back. The lines go to stderr through the
logger "oms_web.requests" (not through the app's logger, whose format is for people). Successful
health checks are not logged: the load balancer asks every node each few seconds.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from .. import metrics

log = logging.getLogger("oms_web.requests")
jobs_log = logging.getLogger("oms_web.jobs")

_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
QUIET_ENDPOINTS = ("ops.healthz", "ops.readyz")
# The id of the request a worker's job came from, while the job runs (tasks.run_job_task sets it).
job_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_request_id", default=None)


class JsonLines(logging.Formatter):
    """A record whose message is a dict (as these loggers write) as one JSON line; any other as a line
    with its message under "message"."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record.msg if isinstance(record.msg, dict) else {"message": record.getMessage()}
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, **fields}
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def init_app(app: Flask) -> None:
    for logger in (log, jobs_log):
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(JsonLines())
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # not again through the root logger in another format
    app.before_request(_start)
    app.after_request(_finish)


def current_request_id() -> str | None:
    """This request's id, or in a worker the id of the request that queued the job it runs."""
    if has_request_context():
        return g.get("request_id")
    return job_request_id.get()


def _start() -> None:
    g.request_started = time.perf_counter()
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _ID.fullmatch(given) else uuid.uuid4().hex


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a response made before _start ran (another before_request answered first)
        return response
    seconds = time.perf_counter() - started
    endpoint = request.endpoint or "(no route)"
    metrics.REQUEST_SECONDS.labels(endpoint, request.method).observe(seconds)
    metrics.RESPONSES.labels(endpoint, request.method, str(response.status_code)).inc()
    response.headers["X-Request-ID"] = g.request_id
    if endpoint in QUIET_ENDPOINTS and response.status_code < 400:
        return response
    log.info(_line(response, endpoint, seconds))
    return response


def _line(response: Response, endpoint: str, seconds: float) -> dict[str, Any]:
    # Only a user Flask-Login already loaded: reading one here would ask the database again.
    user = g.get("_login_user")
    return {"request_id": g.request_id, "method": request.method, "path": request.path, "endpoint": endpoint,
            "status": response.status_code, "ms": round(seconds * 1000, 1), "bytes": response.content_length,
            "remote": request.remote_addr,
            "user": user.get_id() if user is not None and getattr(user, "is_authenticated", False) else None}


def job_line(job_id: int, kind: str | None, outcome: str, seconds: float) -> None:
    jobs_log.info({"request_id": job_request_id.get(), "job": job_id, "kind": kind, "outcome": outcome,
                   "ms": round(seconds * 1000, 1)})
