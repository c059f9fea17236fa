"""Sign-in throttling under gunicorn: wrong passwords for one account arriving at the same moment.

    python bench/sign_in.py [--db URL] [--redis URL|none] [--workers 4] [--threads 16]

Makes a fresh database (a SQLite file by default), starts gunicorn (`--workers` gthread processes) on
a free loopback port, once counting in the database and once in Redis (when it answers), and for 16,
32 and 64 simultaneous wrong passwords to a fresh account (each on its own connection, released
together) prints how many password checks the workers performed. The workers count them through a
post_fork hook (bench/sign_in_gunicorn.py) around werkzeug's real check. Then the median answer to a
wrong password for a known and for an unknown email (production-strength hashes).

Exits 1 when a round got more checks than the limit per account and address, or when an unknown
email answers in under half the time of a known one.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from bench.gunicorn_server import Gunicorn  # noqa: E402
from bench.run import _fresh_database  # noqa: E402
from oms_web import create_app  # noqa: E402
from oms_web.auth.throttle import LIMITS  # noqa: E402
from oms_web.extensions import db  # noqa: E402
from oms_web.models import Role, User  # noqa: E402

ROUNDS = (16, 32, 64)
PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=f"sqlite:///{Path(tempfile.gettempdir()) / 'oms-bench-sign-in.sqlite3'}")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15", help="a Redis URL, or none")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()

    _fresh_database(args.db)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.db, "SECRET_KEY": "bench", "TESTING": False})
    with app.app_context():
        upgrade()
    stores = {"database": None}
    if args.redis != "none" and _redis_answers(args.redis):
        stores["Redis"] = args.redis
    failed = False
    for store, redis_url in stores.items():
        run = uuid.uuid4().hex[:8]  # Redis's counts outlive a run: fresh accounts and addresses
        emails = {n: f"bench-{run}-{n}@example.com" for n in ROUNDS}
        with app.app_context():
            for email in [*emails.values(), f"known-{run}@example.com"]:
                user = User(email=email, name="Bench", role=Role.STAFF)
                user.set_password(PASSWORD)
                db.session.add(user)
            db.session.commit()
            db.session.remove()
        with app.app_context():
            db.engine.dispose()  # the workers open their own connections
        with _gunicorn(args, redis_url) as (port, checks_file):
            for n in ROUNDS:
                before = checks_file.stat().st_size
                statuses = _at_once(port, emails[n], n, _address(run, ROUNDS.index(n) + 1))
                checks = checks_file.stat().st_size - before
                limit = LIMITS["account+address"]
                print(f"{store:>8}: {n:2} wrong passwords at once -> {checks} password checks (limit {limit}); "
                      f"answers {sorted(set(statuses))}")
                failed |= checks > limit or set(statuses) != {401}
            known = [_timed(port, f"known-{run}@example.com", _address(run, 10 + i)) for i in range(5)]
            unknown = [_timed(port, f"nobody-{run}-{i}@example.com", _address(run, 20 + i)) for i in range(5)]
            print(f"{store:>8}: a wrong password answers in {statistics.median(known) * 1000:.0f} ms for a known "
                  f"email, {statistics.median(unknown) * 1000:.0f} ms for an unknown one")
            failed |= statistics.median(unknown) < 0.5 * statistics.median(known)
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class _gunicorn:
    """gunicorn serving the app, its workers counting password checks into a file (one byte each)."""

    def __init__(self, args, redis_url: str | None) -> None:
        self.args, self.redis_url = args, redis_url

    def __enter__(self) -> tuple[int, Path]:
        self.checks = Path(tempfile.mkstemp(prefix="oms-bench-checks-")[1])
        env = dict(os.environ, OMS_DATABASE_URL=self.args.db, OMS_SECRET_KEY="bench-sign-in", OMS_PROXIES="1",
                   OMS_BENCH_CHECKS_FILE=str(self.checks))
        env.pop("OMS_REDIS_URL", None)
        if self.redis_url:
            env["OMS_REDIS_URL"] = self.redis_url
        self.server = Gunicorn(env, workers=self.args.workers, threads=self.args.threads,
                               config="python:bench.sign_in_gunicorn")
        return self.server.__enter__().port, self.checks

    def __exit__(self, *exc) -> None:
        self.server.__exit__(*exc)
        self.checks.unlink(missing_ok=True)


def _sign_in_page(port: int, address: str) -> tuple[http.client.HTTPConnection, dict[str, str], str]:
    """A connection with the sign-in page fetched: its session cookie and CSRF token."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", "/login", headers={"X-Forwarded-For": address})
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    return connection, {"Cookie": cookie, "X-Forwarded-For": address,
                        "Content-Type": "application/x-www-form-urlencoded"}, _TOKEN.search(page).group(1)


def _post(connection, headers: dict[str, str], token: str, email: str, password: str) -> int:
    connection.request("POST", "/login", body=urlencode({"csrf_token": token, "email": email, "password": password}),
                       headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status


def _address(run: str, n: int) -> str:
    """A client address of this run's own (Redis's counts per address outlive a run)."""
    number = int(run, 16)
    return f"10.{number % 250}.{(number >> 8) % 250}.{n}"


def _at_once(port: int, email: str, count: int, address: str) -> list[int]:
    pages = [_sign_in_page(port, address) for _ in range(count)]
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def attempt(n: int) -> None:
        connection, headers, token = pages[n]
        barrier.wait()
        statuses.append(_post(connection, headers, token, email, f"guess {n}"))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _timed(port: int, email: str, address: str) -> float:
    connection, headers, token = _sign_in_page(port, address)
    started = time.perf_counter()
    status = _post(connection, headers, token, email, "a wrong password")
    assert status == 401, status
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
