"""Sign-in throttling under real concurrency: wrong passwords for one account arriving all at once, in
several OS processes (as gunicorn workers) of several threads each, with and without Redis, on SQLite
and PostgreSQL. Each process counts the password checks it actually performs: together they must not
pass the limit, however many attempts arrive at once.

The children are spawned processes, each with its own app on the test database's URL, released
together by one barrier (as in test_concurrency.py). The account's hash is a slow one (~0.2 s), as a
real one is: the window in which a check-then-count throttle let attempts through.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import traceback
import uuid
from concurrent.futures import ProcessPoolExecutor

import pytest
import redis as redis_client
from werkzeug.security import generate_password_hash

from oms_web.auth import throttle
from oms_web.extensions import db

from . import conftest

PROCESSES = 4
THREADS = 8  # per process: 32 attempts at once
TIMEOUT_S = 300
PASSWORD = "correct horse battery"
REDIS_URL = "redis://127.0.0.1:6379/15"


def _exit_without_teardown() -> None:
    atexit.register(os._exit, 0)


def _started(barrier) -> int:
    barrier.wait()
    return os.getpid()


def _guess_at_once(url: str, redis_url: str | None, email: str, address: str, barrier) -> dict:
    """In a child: THREADS browsers each fetch the sign-in page, then all (in every child) post a wrong
    password at the same moment. Returns this process's password checks and the answers."""
    import oms_web.models
    from oms_web import create_app

    from .web.conftest import WebClient, csrf_from

    report: dict = {"pid": os.getpid(), "checks": 0, "statuses": [], "errors": []}
    try:
        app = create_app(conftest.test_config(url, OMS_REDIS_URL=redis_url))
        app.test_client_class = WebClient
        lock, real_check = threading.Lock(), oms_web.models.check_password_hash

        def check_and_count(password_hash: str, password: str) -> bool:
            with lock:
                report["checks"] += 1
            return real_check(password_hash, password)

        # Instrumentation, not a stand-in: every check still runs werkzeug's real one.
        oms_web.models.check_password_hash = check_and_count

        def browser(n: int) -> None:
            try:
                client = app.test_client()
                client.environ_base["REMOTE_ADDR"] = address
                token = csrf_from(client.get("/login").get_data(as_text=True))
                barrier.wait()
                response = client.post("/login", data={"email": email, "password": f"guess {n}", "csrf_token": token})
                with lock:
                    report["statuses"].append(response.status_code)
            except BaseException:
                report["errors"].append(traceback.format_exc())

        threads = [threading.Thread(target=browser, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    except BaseException:
        report["errors"].append(traceback.format_exc())
    return report


@pytest.fixture(scope="module")
def children():
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(PROCESSES, mp_context=context,
                                                           initializer=_exit_without_teardown) as executor:
        barrier = manager.Barrier(PROCESSES, timeout=TIMEOUT_S)
        for future in [executor.submit(_started, barrier) for _ in range(PROCESSES)]:
            future.result(timeout=TIMEOUT_S)
        yield executor, manager


@pytest.mark.parametrize("counts_in", ["the database", "Redis"])
def test_wrong_passwords_arriving_at_once_get_no_more_checks_than_the_limit(app, shop, children, counts_in):
    executor, manager = children
    redis_url = None
    if counts_in == "Redis":
        redis_url = REDIS_URL
        try:
            redis_client.Redis.from_url(redis_url).ping()
        except redis_client.exceptions.ConnectionError:
            pytest.skip("Redis is not running on 127.0.0.1:6379 (the machine starts it; CI has it)")
    shop.staff.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:200000")
    shop.staff.email = email = f"{uuid.uuid4().hex}@example.com"  # Redis outlives test runs
    db.session.commit()
    address = "203.0.113.5"
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    db.engine.dispose()  # the children open their own connections

    barrier = manager.Barrier(PROCESSES * THREADS, timeout=TIMEOUT_S)
    futures = [executor.submit(_guess_at_once, url, redis_url, email, address, barrier) for _ in range(PROCESSES)]
    reports = [future.result(timeout=TIMEOUT_S) for future in futures]

    assert [error for report in reports for error in report["errors"]] == []
    assert len({report["pid"] for report in reports}) == PROCESSES
    statuses = [status for report in reports for status in report["statuses"]]
    assert statuses == [401] * (PROCESSES * THREADS)
    checks = sum(report["checks"] for report in reports)
    assert checks == throttle.LIMITS["account+address"], \
        f"{PROCESSES * THREADS} wrong passwords at once got {checks} password checks"
