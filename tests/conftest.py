"""Fixtures: an app on a migrated database (SQLite always; PostgreSQL when OMS_TEST_DATABASE_URL is set),
emptied between tests, and `shop`, a helper that makes users, products, channels and orders."""
from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade

from oms_web import create_app
from oms_web.extensions import db

from .shop import Shop

PG_URL = os.environ.get("OMS_TEST_DATABASE_URL")
PG_SKIP_REASON = "OMS_TEST_DATABASE_URL is not set: the PostgreSQL run of this test is skipped (CI sets it)"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON))]

_migrated: set[str] = set()


def run_database_url(url: str) -> str:
    """This test run's own PostgreSQL database on OMS_TEST_DATABASE_URL's server: its name with the run's
    process id (oms_test_4242), so that two runs at once never empty each other's tables. The name goes
    into the environment, where the processes a test starts find the same one."""
    base = sa.make_url(url)
    name = os.environ.setdefault("OMS_TEST_RUN_DATABASE", f"{base.database}_{os.getpid()}")
    return base.set(database=name).render_as_string(hide_password=False)


def drop_databases_of_finished_runs(url: str) -> None:
    """Drop the databases of earlier runs whose process is gone (a run drops its own at its end; a
    killed one cannot)."""
    base = sa.make_url(url).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        names = conn.scalars(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :pattern"),
                             {"pattern": f"{base.database}\\_%"}).all()
        for name in names:
            pid = name.rsplit("_", 1)[-1]
            if pid.isdigit() and (int(pid) == os.getpid() or not Path(f"/proc/{pid}").exists()):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def ensure_postgres_database(url: str) -> None:
    """Create the test database on the server when it is missing (CI points at a fresh server)."""
    target = sa.make_url(url).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def database_url(backend: str, tmp_root: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_root / 'oms-test.sqlite3'}"
    return run_database_url(PG_URL)  # type: ignore[arg-type]


@pytest.fixture(scope="session", autouse=True)
def _run_database():
    """A run's PostgreSQL database is dropped when it ends, with those of runs killed before."""
    if PG_URL and "OMS_TEST_RUN_DATABASE" not in os.environ:
        drop_databases_of_finished_runs(PG_URL)
    yield
    if PG_URL and os.environ.get("OMS_TEST_RUN_DATABASE", "").endswith(f"_{os.getpid()}"):
        drop_databases_of_finished_runs(PG_URL)  # FORCE: the apps' pools still hold connections


class OwnContextClient(FlaskClient):
    """Each request in an app context of its own, as in production.

    The fixtures keep an app context pushed (for the services), and Flask reuses a pushed context for a
    request, so `g` (where Flask-WTF caches the CSRF token) would otherwise carry over between requests.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


# Every app of a run gets its task queue in a file of its own here (tests/queue.py runs workers on it).
_QUEUES = Path(tempfile.mkdtemp(prefix="oms-queues-"))
atexit.register(shutil.rmtree, _QUEUES, ignore_errors=True)
_queue_numbers = itertools.count(1)


def test_config(url: str, **extra) -> dict:
    """An app's settings for a test, with a task queue of its own."""
    queue_path = _QUEUES / f"queue-{os.getpid()}-{next(_queue_numbers)}.sqlite3"
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret-key",
            "OMS_DEFAULT_TAX_RATE_BP": 2000, "OMS_QUEUE_PATH": str(queue_path), **extra}


# Rows the migration creates and the services update in place: kept, and set back to zero.
MIGRATED_ROWS = {"counters": "value", "segment_counts": "orders"}


def empty_database() -> None:
    """Remove every row but the migration's counter rows, which start again from zero: the rows every
    test sees are the ones a migrated database has (test_migrations checks a fresh one has them)."""
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in ("alembic_version", *MIGRATED_ROWS)]
    if db.engine.dialect.name == "postgresql":
        # DELETE, children first, then each emptied table's id sequence back to 1, in one round trip:
        # what TRUNCATE ... RESTART IDENTITY does, but TRUNCATE makes new files for every table and index
        # (about half a second for this schema), where a test's few rows take milliseconds to delete.
        db.session.execute(sa.text("; ".join(f"DELETE FROM {table.name}" for table in tables)))
        serial = ", ".join(f"('{table.name}', '{column.name}')" for table in tables for column in table.primary_key
                           if column.autoincrement is True or (column.autoincrement == "auto" and len(table.primary_key) == 1
                                                                and isinstance(column.type, sa.Integer)))
        db.session.execute(sa.text(
            "SELECT setval(sequence, 1, false) FROM (SELECT pg_get_serial_sequence(t, c) AS sequence"
            f" FROM (VALUES {serial}) AS pk(t, c)) AS found WHERE sequence IS NOT NULL"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    for table, column in MIGRATED_ROWS.items():
        db.session.execute(sa.text(f"UPDATE {table} SET {column} = 0"))
    # The one location a migrated database has, made again (it gets id 1: the tables were emptied), and
    # the location kinds the session knew forgotten (their ids are taken again).
    db.session.info.pop("oms_location_kinds", None)
    db.session.execute(sa.text("INSERT INTO locations (name, kind, priority, active, created_at)"
                               " VALUES ('Main warehouse', 'warehouse', 100, true, CURRENT_TIMESTAMP)"))
    db.session.commit()


def _share_compiled_url_builders() -> None:
    """Werkzeug compiles two URL-building functions for every route of every app it binds (about 0.1 s
    for this app's rules). The tests make a fresh app per test, from the same rules: the compiled
    function depends only on the rule's text, its parsed parts, its defaults and the flag, so an app
    reuses the one compiled for the same rule before. Nothing about routing changes; it is built once."""
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "shared", False):
        return
    compiled: dict = {}

    def shared_compile_builder(self, append_unknown: bool = True):
        key = (self.rule, self.subdomain, self.host, tuple(self._trace),
               tuple(sorted((str(k), repr(v)) for k, v in (self.defaults or {}).items())), append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    shared_compile_builder.shared = True
    Rule._compile_builder = shared_compile_builder


_share_compiled_url_builders()


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("oms")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(backend, tmp_root):
    url = database_url(backend, tmp_root)
    app = create_app(test_config(url))
    app.test_client_class = OwnContextClient
    with app.app_context():
        if url not in _migrated:
            if backend == "postgresql":
                ensure_postgres_database(url)
                db.session.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                db.session.commit()
            upgrade()
            _migrated.add(url)
        empty_database()
        yield app
        db.session.remove()


@pytest.fixture
def sqlite_app(tmp_root):
    """For tests that need no PostgreSQL twin (they check no stock rule)."""
    url = database_url("sqlite", tmp_root)
    app = create_app(test_config(url))
    app.test_client_class = OwnContextClient
    with app.app_context():
        if url not in _migrated:
            upgrade()
            _migrated.add(url)
        empty_database()
        yield app
        db.session.remove()


@pytest.fixture
def shop(app) -> Shop:
    return Shop()
