"""The JSON order API under load: web-store orders POSTed to gunicorn, as a store would send them.

    .venv/bin/python bench/api.py [--db URL] [--orders N] [--clients C] [--workers 2] [--threads T]

Makes a fresh database (PostgreSQL by default, `oms_bench_api` on OMS_TEST_DATABASE_URL's server, or
127.0.0.1:5432), the demo catalogue with plenty of stock and an API channel with a new key; starts
gunicorn with `--workers` processes (`--threads` each, gthread; 1 means the sync worker) on a free
loopback port; then C client threads POST N orders of 1-3 lines (one order per request, each on its
own connection, as a store's webhook client does) and the figures are printed: orders per second
over the whole run, latency percentiles, every status other than 201 counted. Afterwards the
database must hold exactly N orders and pass check-stock.

The client runs on the same two cores as gunicorn and the database, so it takes a share of the CPU
the server would otherwise have: the figure is a floor. Exits 1 when a response was not 201, the
stored orders or check-stock disagree, or the rate is under the target of 300 orders/s.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from bench.gunicorn_server import Gunicorn  # noqa: E402
from bench.run import _fresh_database  # noqa: E402
from oms_web import create_app  # noqa: E402
from oms_web.channels.manage import create_channel  # noqa: E402
from oms_web.domain import inventory  # noqa: E402
from oms_web.domain.invariants import check_invariants  # noqa: E402
from oms_web.extensions import db  # noqa: E402
from oms_web.models import ChannelKind, Order, Product  # noqa: E402

TARGET_ORDERS_PER_SECOND = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    server = os.environ.get("OMS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/oms_test")
    default_db = str(sa.make_url(server).set(drivername="postgresql+psycopg", database="oms_bench_api")
                     .render_as_string(hide_password=False))
    parser.add_argument("--db", default=default_db, help="database URL (made afresh)")
    parser.add_argument("--orders", type=int, default=6_000)
    parser.add_argument("--clients", type=int, default=64, help="concurrent client connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=32, help="threads per worker (1: the sync worker)")
    args = parser.parse_args()

    _fresh_database(args.db)
    key, skus = _shop(args.db)
    env = dict(os.environ, OMS_DATABASE_URL=args.db, OMS_SECRET_KEY="bench-api")
    Path("/tmp/oms-bench").mkdir(exist_ok=True)
    log = open("/tmp/oms-bench/api-gunicorn.log", "w")  # a JSON line per request: not for the terminal
    with log, Gunicorn(env, workers=args.workers, threads=args.threads, output=log) as server:
        port = server.port
        _post_orders(port, key, skus, 50, args.clients, prefix="WARM")  # workers import, connect, compile
        load_before = os.getloadavg()
        started = time.perf_counter()
        latencies, statuses = _post_orders(port, key, skus, args.orders, args.clients, prefix="ORDER")
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.db, "SECRET_KEY": "bench", "TESTING": False})
    with app.app_context():
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(
            Order.channel_order_id.like("ORDER-%")))
        violations = check_invariants()
        db.session.remove()
        db.engine.dispose()

    rate = args.orders / seconds
    worker = f"{args.workers} workers x {args.threads} threads (gthread)" if args.threads > 1 else \
        f"{args.workers} sync workers"
    print(f"\nJSON order API, {sa.make_url(args.db).get_backend_name()}, gunicorn {worker}, {args.clients} clients; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"  {args.orders:,} orders in {seconds:.1f} s: {rate:,.0f} orders/s (target {TARGET_ORDERS_PER_SECOND}/s)")
    print(f"  latency ms: p50 {_pct(latencies, 50):.1f}, p95 {_pct(latencies, 95):.1f}, "
          f"p99 {_pct(latencies, 99):.1f}, max {max(latencies):.1f}")
    print(f"  responses: {dict(statuses)}; orders stored: {stored:,}; check-stock violations: {len(violations)}")
    ok = (statuses == Counter({201: args.orders}) and stored == args.orders and not violations
          and rate >= TARGET_ORDERS_PER_SECOND)
    return 0 if ok else 1


def _shop(url: str) -> tuple[str, list[str]]:
    """The demo catalogue with 100,000 units of everything, and an API channel's key."""
    from oms_web.seed import ensure_demo_shop

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False})
    with app.app_context():
        upgrade()
        users, _channels = ensure_demo_shop(0)
        skus = []
        for product in db.session.scalars(sa.select(Product).order_by(Product.id)).all():
            inventory.receive_stock(users["manager"], product.id, 100_000, "Benchmark stock")
            skus.append(product.sku)
        key = create_channel("Benchmark store", ChannelKind.API).api_key
        db.session.remove()
        db.engine.dispose()
    return key, skus


def _bodies(skus: list[str], count: int, prefix: str) -> list[bytes]:
    """The orders, encoded beforehand so that the clients spend their time sending."""
    rng = random.Random(prefix)
    bodies = []
    for number in range(1, count + 1):
        customer = rng.randrange(5_000)
        bodies.append(json.dumps({
            "order_id": f"{prefix}-{number}",
            "customer": {"name": f"Customer {customer}", "email": f"customer{customer}@example.com"},
            "ship_to": {"name": f"Customer {customer}", "line1": "1 Main St", "city": "Denver", "region": "CO",
                        "postal_code": "80202", "country": "US"},
            "lines": [{"sku": sku, "quantity": rng.randint(1, 3), "unit_price": "24.50"} for sku in rng.sample(skus, rng.randint(1, 3))],
            "shipping": "5.95",
        }).encode())
    return bodies


def _post_orders(port: int, key: str, skus: list[str], count: int, clients: int,
                 prefix: str) -> tuple[list[float], Counter]:
    bodies = _bodies(skus, count, prefix)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    next_body = iter(bodies)

    def client() -> None:
        while True:
            with lock:
                body = next(next_body, None)
            if body is None:
                return
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                connection.request("POST", "/api/v1/orders", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = "connection error"
            finally:
                connection.close()
            with lock:
                latencies.append(1000 * (time.perf_counter() - started))
                statuses[status] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if ordered else 0.0


if __name__ == "__main__":
    sys.exit(main())
