"""How the app talks to its database: SQLite's connection settings and the write transaction.

Every service runs inside `write_transaction()`. On SQLite that transaction begins IMMEDIATE, so
writers queue on the busy timeout instead of failing with "database is locked" when a read
transaction tries to upgrade; reads stay plain BEGIN and, with WAL, never wait for writers.
On PostgreSQL the services lock the rows they change (domain.locking) in a fixed order instead.
"""
from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 60_000
_WRITE = "oms_write"
_IN_WRITE = "oms_in_write_transaction"


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own would be DEFERRED).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(conn) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


class RetryTransaction(Exception):
    """Raised inside a write transaction when the rows it locked turned out not to be all it needs."""


MAX_ATTEMPTS = 5

P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def write_transaction() -> Iterator[None]:
    """One all-or-nothing write: commit at the end, roll everything back on any exception.

    A transaction the session already had open (a read made by the view) is closed first, so the
    write starts from a fresh snapshot with its write lock taken up front.
    """
    session = db.session()
    if session.in_transaction():
        session.rollback()
    session.info[_IN_WRITE] = True
    try:
        session.connection(execution_options={_WRITE: True})
        yield
        from .domain.hourly_counts import flush_hourly_counts
        from .domain.segments import flush_segment_counts

        # The counters are always written last, in this order.
        flush_segment_counts(session)
        flush_hourly_counts(session)
        session.commit()
    except BaseException:
        session.rollback()
        from .domain.segments import discard_pending_counts

        discard_pending_counts(session)
        raise
    finally:
        session.info.pop(_IN_WRITE, None)


def service(fn: Callable[P, T]) -> Callable[P, T]:
    """Run a domain service in its own write transaction (or in the caller's, when nested)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        if db.session.info.get(_IN_WRITE):
            return fn(*args, **kwargs)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with write_transaction():
                    db.session.info[_RETRYABLE] = fn
                    return fn(*args, **kwargs)
            except RetryTransaction:
                if attempt == MAX_ATTEMPTS:
                    raise
            finally:
                db.session.info.pop(_RETRYABLE, None)
        raise AssertionError("unreachable")

    return run


_RETRYABLE = "oms_retryable_service"


def may_retry(*services: Callable) -> bool:
    """Whether one of `services` began the current write transaction, so that raising RetryTransaction
    redoes it whole. (A service called by another runs in its caller's transaction: it must not.)"""
    return any(db.session.info.get(_RETRYABLE) is getattr(s, "__wrapped__", s) for s in services)
