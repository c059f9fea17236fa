"""Unexpected failures in the log: each kind once per few seconds, with a count of the ones not written.

Under load a failure repeats per request: a 12-second database outage once wrote 72 MB of identical
tracebacks. A kind is "the database is not answering" or "the task queue is not answering" (Redis;
one line, no traceback: there is no bug to read) or, for anything else, the exception's type and the
line that raised it (its traceback the first time in each window, so a bug can still be read). The
window is OMS_FAILURE_LOG_SECONDS. The same holds in a worker (a job failing the same way again and
again) and wherever the app could not queue a job. Each line names the request id
(oms_web/ops/request_log.py); the lines held back are counted in oms_log_lines_held_back_total.
"""
from __future__ import annotations

import threading
import time
import traceback
from types import TracebackType

import sqlalchemy.exc
from flask import Flask, has_request_context, request

ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


def is_queue_outage(error: BaseException | None) -> bool:
    """The task queue's Redis could not be reached or dropped the connection."""
    try:
        import redis.exceptions
    except ImportError:  # pragma: no cover - redis is a dependency
        return False
    return isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError))


def is_outage(error: BaseException | None) -> bool:
    """The database could not be reached or dropped the connection (not a bad statement of ours)."""
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError))


class FailureLog:
    """Writes the first failure of a kind in each window and counts the rest, per process."""

    def __init__(self, app: Flask, window_seconds: float) -> None:
        self.app, self.window = app, window_seconds
        self._lock = threading.Lock()
        self._windows: dict[tuple, tuple[float, int]] = {}  # kind -> (window start, failures not written)

    def record(self, exc_info: ExcInfo, doing: str | None = None) -> None:
        """Log the failure unless one of its kind was logged in this window; `doing` says what failed
        outside a request ("job 7 could not be queued")."""
        from . import metrics

        error = exc_info[1]
        kind = _kind(error)
        now = time.monotonic()
        with self._lock:
            started, unwritten = self._windows.get(kind, (None, 0))
            if started is not None and now - started < self.window:
                self._windows[kind] = (started, unwritten + 1)
                metrics.LOG_LINES_HELD_BACK.labels(kind[0]).inc()
                return
            self._windows[kind] = (now, 0)
        also = f" ({unwritten} more like it in the {self.window:g} s before, not written)" if unwritten else ""
        from .ops.request_log import current_request_id

        where = f" on {request.method} {request.path}" if has_request_context() else ""
        where += f" ({doing})" if doing else ""
        request_id = current_request_id()
        also += f" [request {request_id}]" if request_id else ""
        if is_outage(error) or is_queue_outage(error):
            # The driver's own first line ("connection to server at ... failed: Connection refused"),
            # not SQLAlchemy's copy of the statement and its parameters.
            reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__])[0]
            what = "database" if is_outage(error) else "task queue"
            self.app.logger.error("The %s is not answering%s: %s%s", what, where, reason, also)
        else:
            self.app.logger.error("Exception%s%s", where, also, exc_info=exc_info)


def _kind(error: BaseException | None) -> tuple:
    if is_outage(error):
        return ("database outage",)
    if is_queue_outage(error):
        return ("task queue outage",)
    frames = traceback.extract_tb(error.__traceback__) if error is not None else []
    last = frames[-1] if frames else None
    return (type(error).__name__, last.filename if last else "", last.lineno if last else 0)
