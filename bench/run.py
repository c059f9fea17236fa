"""Benchmarks of the OMS: order intake through the services, demo seeding, and the board's queries.

    make bench                                    # SQLite; PostgreSQL too when OMS_TEST_DATABASE_URL is set
    .venv/bin/python bench/run.py --sizes 100000 --skip-pg
    .venv/bin/python bench/run.py --pg postgresql://postgres@127.0.0.1:5432/postgres --service-orders 5000

Measured:
  a. web-store orders created and allocated per second through `domain.orders.create_order`, one
     order per transaction, as the order API does; plus a cProfile of where that time goes;
  b. at each size (100,000 and 1,000,000 orders by default, seeded by `oms_web.seed`): the seeding
     time, and the median time of the board's queries (segment counts, first and next page of a large
     and of a small segment).
On PostgreSQL the benchmark makes its own databases (oms_bench, oms_bench_<size>) on the given
server and never touches the test database. SQLite files go to --workdir. A table is printed and
the figures are written as JSON to bench/results/.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from oms_web import create_app  # noqa: E402
from oms_web.domain import inventory, orders  # noqa: E402
from oms_web.domain.board import BoardFilter, board_page  # noqa: E402
from oms_web.domain.invariants import check_invariants  # noqa: E402
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder  # noqa: E402
from oms_web.domain.segments import segment_counts  # noqa: E402
from oms_web.extensions import db  # noqa: E402
from oms_web.models import ChannelKind, Order, Product, Segment  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGET_ORDERS_PER_SECOND = 2_000
TARGET_QUERY_MS = 20.0
BATCH_ORDERS = 1_000  # as channels.importing.CHUNK_ORDERS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="order counts for the board (comma-separated)")
    parser.add_argument("--service-orders", type=int, default=5_000, help="orders created through the services")
    parser.add_argument("--profile-orders", type=int, default=1_000, help="orders created under cProfile")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each board query (the median is shown)")
    parser.add_argument("--pg", help="PostgreSQL server URL (default: OMS_TEST_DATABASE_URL's server)")
    parser.add_argument("--skip-pg", action="store_true", help="SQLite only")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--skip-service", action="store_true", help="skip the order intake benchmark")
    parser.add_argument("--skip-board", action="store_true", help="skip seeding and the board queries")
    parser.add_argument("--no-check", action="store_true", help="skip check-stock after seeding (slow at 1M)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse a benchmark database that already holds the size's orders (no seeding)")
    parser.add_argument("--workdir", default="/tmp/oms-bench", help="where the SQLite files go")
    args = parser.parse_args()

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    backends = [] if args.skip_sqlite else [("sqlite", None)]
    pg_server = args.pg or os.environ.get("OMS_TEST_DATABASE_URL")
    if pg_server and not args.skip_pg:
        backends.append(("postgresql", pg_server))

    report: dict = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": _machine(),
                    "service": [], "seed": [], "board": []}
    for backend, server in backends:
        if not args.skip_service:
            url = _url(backend, server, workdir, "service")
            report["service"].append(bench_service(backend, url, args.service_orders, args.profile_orders))
        if not args.skip_board:
            for size in sizes:
                url = _url(backend, server, workdir, str(size))
                seeded, board = bench_board(backend, url, size, repeat=args.repeat, reuse=args.reuse,
                                            check=not args.no_check)
                report["seed"].append(seeded)
                report["board"].append(board)
    report["machine"]["load_average_after"] = os.getloadavg()
    print_report(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"bench-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nResults written to {path.relative_to(ROOT)}")
    return 0


# ---------------------------------------------------------------------------- databases

def _url(backend: str, server: str | None, workdir: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'oms-bench-{name}.sqlite3'}"
    database = "oms_bench" if name == "service" else f"oms_bench_{name}"
    return str(sa.make_url(server).set(drivername="postgresql+psycopg", database=database)
               .render_as_string(hide_password=False))


def _fresh_database(url: str) -> None:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def _database_exists(url: str) -> bool:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).exists()
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
    admin.dispose()
    return bool(found)


def _app(url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False})


def _close() -> None:
    db.session.remove()
    db.engine.dispose()


# ---------------------------------------------------------------------------- a. order intake

def bench_service(backend: str, url: str, count: int, profile_count: int) -> dict:
    """Create `count` web-store orders one by one through create_order, as the order API does."""
    print(f"[{backend}] order intake: {count:,} orders through create_order ...", flush=True)
    _fresh_database(url)
    app = _app(url)
    with app.app_context():
        upgrade()
        intake = _Intake(random.Random(7))
        intake.create(50)  # warm caches and compiled statements

        statements = _count_statements(lambda: intake.create(200)) / 200
        load_before = os.getloadavg()
        latencies = intake.create(count)
        seconds = sum(latencies)
        profile = _profile(lambda: intake.create(profile_count), profile_count)
        batch_orders = max(count, 10_000)
        batch_seconds = intake.create_in_batches(batch_orders)
        violations = [str(v) for v in check_invariants()]
        _close()
    result = {
        "backend": backend, "orders": count, "seconds": round(seconds, 3),
        "orders_per_second": round(count / seconds, 1),
        "mean_ms": round(1000 * statistics.fmean(latencies), 3),
        "p50_ms": round(1000 * statistics.median(latencies), 3),
        "p95_ms": round(1000 * _percentile(latencies, 95), 3),
        "sql_statements_per_order": round(statements, 1),
        "batch_orders": batch_orders, "batch_size": BATCH_ORDERS, "batch_seconds": round(batch_seconds, 3),
        "batch_orders_per_second": round(batch_orders / batch_seconds, 1),
        "load_average_before": load_before, "invariant_violations": violations, "profile": profile,
    }
    print(f"[{backend}]   {result['orders_per_second']:,.0f} orders/s "
          f"({result['mean_ms']:.2f} ms each, {statements:.0f} SQL statements per order); in batches of "
          f"{BATCH_ORDERS:,}: {result['batch_orders_per_second']:,.0f} orders/s", flush=True)
    return result


class _Intake:
    """A shop with plenty of stock, and a stream of web-store orders of 1-3 lines for repeat customers."""

    def __init__(self, rng: random.Random):
        from oms_web.seed import ensure_demo_shop

        self.rng = rng
        users, channels = ensure_demo_shop(100_000)
        self.channel_id = next(c.id for c in channels if c.kind is ChannelKind.API)
        manager = users["manager"]
        self.skus = []
        for product in db.session.scalars(sa.select(Product).order_by(Product.id)).all():
            inventory.receive_stock(manager, product.id, 100_000, "Benchmark stock")
            self.skus.append(product.sku)
        self.customers = [(f"Customer {i}", f"customer{i}@example.com") for i in range(1_000)]
        self.prefix = f"BENCH-{int(time.time())}-"  # a database used before keeps its orders
        self.number = 0
        db.session.rollback()

    def new_order(self) -> NewOrder:
        rng = self.rng
        self.number += 1
        name, email = rng.choice(self.customers)
        return NewOrder(
            channel_id=self.channel_id, channel_order_id=f"{self.prefix}{self.number}",
            customer=CustomerDetails(name=name, email=email, ship_to={
                "name": name, "line1": "1 Main St", "city": "Denver", "region": "CO",
                "postal_code": "80202", "country": "US"}),
            lines=[LineRequest(sku, rng.randint(1, 3)) for sku in rng.sample(self.skus, rng.randint(1, 3))],
            shipping_cents=595)

    def create(self, count: int) -> list[float]:
        latencies = []
        for _ in range(count):
            new = self.new_order()
            started = time.perf_counter()
            orders.create_order(None, new)
            latencies.append(time.perf_counter() - started)
            db.session.expunge_all()  # as each request starts with an empty session
        return latencies

    def create_in_batches(self, count: int) -> float:
        """Seconds to create `count` orders through create_orders, BATCH_ORDERS per transaction (as a
        marketplace sync page or a report file's chunk comes in)."""
        seconds = 0.0
        for start in range(0, count, BATCH_ORDERS):
            batch = [self.new_order() for _ in range(min(BATCH_ORDERS, count - start))]
            started = time.perf_counter()
            created = orders.create_orders(None, batch)
            seconds += time.perf_counter() - started
            assert all(c.order_id and not c.error for c in created)
            db.session.expunge_all()
        return seconds


def _count_statements(work) -> int:
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return counter["n"]


def _profile(work, count: int) -> dict:
    """Where the time of `count` orders goes (wall clock, so time waiting on the server counts)."""
    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    stats = pstats.Stats(profiler)
    groups = {"database driver and server": 0.0, "SQLAlchemy": 0.0, "oms_web": 0.0, "other Python": 0.0}
    inside_sqlalchemy = {area: 0.0 for area, _ in SQLALCHEMY_AREAS} | {"other SQLAlchemy": 0.0}
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore
        where = f"{filename} {function}"
        if "sqlite3" in where or "psycopg" in where:
            groups["database driver and server"] += tottime
        elif "/sqlalchemy/" in filename:
            groups["SQLAlchemy"] += tottime
            module = filename.split("/sqlalchemy/", 1)[1]
            area = next((a for a, modules in SQLALCHEMY_AREAS if module in modules), "other SQLAlchemy")
            inside_sqlalchemy[area] += tottime
        elif "/oms_web/" in filename:
            groups["oms_web"] += tottime
        else:
            groups["other Python"] += tottime
    total = sum(groups.values())
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(20)
    cumulative = io.StringIO()
    pstats.Stats(profiler, stream=cumulative).sort_stats("cumulative").print_stats(r"oms_web", 25)
    return {
        "orders": count, "profiled_seconds": round(total, 3), "ms_per_order": round(1000 * total / count, 3),
        "share": {k: round(v / total, 3) for k, v in groups.items()},
        "sqlalchemy_share": {k: round(v / total, 3) for k, v in inside_sqlalchemy.items()},
        "top_by_own_time": _trim(text.getvalue()), "oms_web_by_cumulative_time": _trim(cumulative.getvalue()),
    }


# Where SQLAlchemy's own time goes, by module.
SQLALCHEMY_AREAS = [
    ("ORM flush (unit of work)", {"orm/unitofwork.py", "orm/persistence.py", "orm/dependency.py",
                                  "util/topological.py", "orm/sync.py"}),
    ("building and caching statements", {"sql/coercions.py", "sql/cache_key.py", "sql/elements.py",
                                         "sql/selectable.py", "sql/dml.py", "sql/compiler.py", "sql/base.py",
                                         "sql/annotation.py", "sql/visitors.py", "sql/operators.py",
                                         "sql/traversals.py", "sql/roles.py", "sql/lambdas.py", "sql/functions.py",
                                         "sql/type_api.py", "sql/sqltypes.py", "orm/query.py", "orm/util.py",
                                         "orm/interfaces.py", "orm/strategy_options.py", "orm/relationships.py"}),
    ("Core execution", {"engine/base.py", "engine/default.py", "engine/cursor.py", "engine/interfaces.py",
                        "pool/base.py", "pool/impl.py", "engine/util.py", "dialects/sqlite/base.py",
                        "dialects/sqlite/pysqlite.py", "dialects/postgresql/base.py",
                        "dialects/postgresql/psycopg.py"}),
    ("loading rows into objects", {"orm/loading.py", "engine/result.py", "orm/context.py", "orm/strategies.py",
                                   "engine/row.py", "orm/path_registry.py"}),
    ("session and attribute bookkeeping", {"orm/session.py", "orm/state.py", "orm/state_changes.py",
                                           "orm/attributes.py", "orm/instrumentation.py", "orm/identity.py",
                                           "orm/events.py", "event/attr.py", "event/base.py", "orm/collections.py",
                                           "orm/base.py", "util/_collections.py", "util/langhelpers.py",
                                           "orm/mapper.py", "orm/scoping.py"}),
]


def _trim(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return lines[start:]


# ---------------------------------------------------------------------------- b. seeding and the board

def bench_board(backend: str, url: str, size: int, *, repeat: int, reuse: bool, check: bool) -> tuple[dict, dict]:
    seeded = {"backend": backend, "orders": size, "seconds": None, "orders_per_second": None, "reused": False}
    app = _app(url)
    if reuse and _database_exists(url):
        with app.app_context():
            have = db.session.scalar(sa.text("SELECT COUNT(*) FROM orders"))
            _close()
        seeded["reused"] = have == size
    if not seeded["reused"]:
        print(f"[{backend}] seeding {size:,} orders ...", flush=True)
        _fresh_database(url)
        with app.app_context():
            upgrade()
            from oms_web.seed import seed_demo_data

            started = time.perf_counter()
            seed_demo_data(size, if_empty=False, echo=lambda line: print(f"[{backend}]   {line}", flush=True))
            seeded["seconds"] = round(time.perf_counter() - started, 1)
            seeded["orders_per_second"] = round(size / seeded["seconds"])
            _close()
        print(f"[{backend}]   seeded in {seeded['seconds']} s", flush=True)
    with app.app_context():
        if check:
            seeded.update(_check_stock_in_a_process_of_its_own(url))
            print(f"[{backend}]   check-stock: {len(seeded['check_stock_violations'])} violation(s) "
                  f"({seeded['check_stock_seconds']} s, peak memory {seeded['check_stock_peak_mib']} MiB, "
                  f"{seeded['check_stock_added_mib']} MiB over the app's own)", flush=True)
        board = {"backend": backend, "orders": db.session.scalar(sa.text("SELECT COUNT(*) FROM orders")),
                 "queries": _board_queries(repeat), "plans": _plans(backend)}
        db.session.rollback()
        _close()
    for name, timing in board["queries"].items():
        print(f"[{backend}]   {name}: {timing['median_ms']:.2f} ms (median of {repeat})", flush=True)
    return seeded, board


_CHECK_STOCK = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from oms_web import create_app
from oms_web.domain.invariants import check_invariants
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "bench", "TESTING": False})
with app.app_context():
    from oms_web.extensions import db
    import sqlalchemy as sa
    db.session.execute(sa.text("SELECT 1")); db.session.rollback()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    violations = [str(v) for v in check_invariants()]
    seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"check_stock_violations": violations[:20], "check_stock_seconds": round(seconds, 1),
                  "check_stock_peak_mib": round(peak / 1024), "check_stock_added_mib": round((peak - before) / 1024)}))
"""


def _check_stock_in_a_process_of_its_own(url: str) -> dict:
    """check-stock as `flask check-stock` runs it, in a fresh process, so that its peak memory is its own."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", _CHECK_STOCK, url, str(ROOT)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _board_queries(repeat: int) -> dict:
    def timed(work) -> dict:
        work()
        db.session.rollback()  # warm once; each timed run is its own read transaction, as a request is
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = work()
            db.session.rollback()
            runs.append(1000 * (time.perf_counter() - started))
        return {"median_ms": round(statistics.median(runs), 3), "max_ms": round(max(runs), 3),
                "rows": len(result.rows) if hasattr(result, "rows") else len(result)}

    results = {"segment counts": timed(segment_counts)}
    for segment in (Segment.FULFILLED, Segment.READY_TO_SHIP):
        first = board_page(BoardFilter(segment=segment))
        db.session.rollback()
        label = segment.label.lower()
        results[f"{label}, first page"] = timed(lambda s=segment: board_page(BoardFilter(segment=s)))
        if first.next_before_id:
            results[f"{label}, next page"] = timed(
                lambda s=segment, b=first.next_before_id: board_page(BoardFilter(segment=s), before_id=b))
    results["all orders, first page"] = timed(lambda: board_page(BoardFilter()))
    for name, term in _search_terms().items():
        results[f"search {name}"] = timed(lambda t=term: board_page(BoardFilter(search=t)))
    return results


def _search_terms() -> dict[str, str]:
    """A board search of each kind, with keys taken from the data: 1, 2 and 3+ characters, an email, an
    order number, a SKU."""
    middle = db.session.scalar(sa.select(sa.func.max(Order.id))) // 2
    email = db.session.scalar(sa.select(Order.email).where(Order.id >= middle, Order.email.is_not(None))
                              .order_by(Order.id).limit(1))
    sku = db.session.scalar(sa.select(Product.sku).order_by(Product.id).limit(1))
    db.session.rollback()
    return {"'a' (1 character)": "a", "'lo' (2)": "lo", "'garcia' (a name)": "garcia", "by email": email,
            "by number": Order.number_of(middle), "by SKU": sku}


def _plans(backend: str) -> dict:
    """The plan of a segment's page, so that a slow figure can be explained."""
    query = ("SELECT orders.id, orders.created_at, sales_channels.name, orders.customer_name, orders.total_cents "
             "FROM orders JOIN sales_channels ON sales_channels.id = orders.channel_id "
             "WHERE orders.segment = 'ready_to_ship' AND orders.id < 100000000 ORDER BY orders.id DESC LIMIT 51")
    explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
    rows = db.session.execute(sa.text(explain + query)).all()
    return {"ready_to_ship page": [" | ".join(str(c) for c in row) for row in rows]}


# ---------------------------------------------------------------------------- report

def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def _machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average_before": os.getloadavg(), "sqlalchemy": sa.__version__,
            "python_speed_ms": _python_speed()}


def _python_speed() -> float:
    """Milliseconds for sum(range(10**6)): a yardstick for comparing runs on different (or busy) machines;
    an unloaded current laptop takes about 10 ms."""
    best = math.inf
    for _ in range(5):
        started = time.perf_counter()
        sum(range(10**6))
        best = min(best, time.perf_counter() - started)
    return round(1000 * best, 1)


def print_report(report: dict) -> None:
    print("\n" + "=" * 78)
    machine = report["machine"]
    print(f"oms_web benchmark, {report['started']}  ({machine['cpus']} CPUs, load average "
          f"{machine['load_average_before'][0]:.1f} before, {machine['load_average_after'][0]:.1f} after; "
          f"sum(range(10**6)) in {machine['python_speed_ms']} ms)")
    if report["service"]:
        print(f"\na. Order intake through create_order (web-store order, 1-3 lines, one transaction each); "
              f"target {TARGET_ORDERS_PER_SECOND:,}/s")
        print(f"   {'backend':<11}{'orders':>8}{'orders/s':>10}{'mean ms':>9}{'p50 ms':>8}{'p95 ms':>8}"
              f"{'SQL/order':>10}  {'driver+db':>9}{'SQLAlch.':>9}{'oms_web':>8}")
        for r in report["service"]:
            share = r["profile"]["share"]
            print(f"   {r['backend']:<11}{r['orders']:>8,}{r['orders_per_second']:>10,.0f}{r['mean_ms']:>9.2f}"
                  f"{r['p50_ms']:>8.2f}{r['p95_ms']:>8.2f}{r['sql_statements_per_order']:>10.0f}  "
                  f"{share['database driver and server']:>9.0%}{share['SQLAlchemy']:>9.0%}{share['oms_web']:>8.0%}"
                  + ("" if not r["invariant_violations"] else f"  {len(r['invariant_violations'])} VIOLATIONS"))
        for r in report["service"]:
            print(f"   {r['backend']:<11}{r['batch_orders']:>8,}{r['batch_orders_per_second']:>10,.0f}  through "
                  f"create_orders, {r['batch_size']:,} orders a transaction (a sync page, a report file's chunk)")
    if report["seed"]:
        print("\nb. Seeding (oms_web.seed, as `flask seed-demo --orders N`)")
        print(f"   {'backend':<11}{'orders':>11}{'seconds':>9}{'orders/s':>10}  check-stock")
        for r in report["seed"]:
            checked = ("not run" if "check_stock_violations" not in r else
                       "ok" if not r["check_stock_violations"] else f"{len(r['check_stock_violations'])} violations")
            seconds = "reused" if r["reused"] else f"{r['seconds']:.1f}"
            rate = "" if r["reused"] else f"{r['orders_per_second']:,}"
            memory = (f" ({r['check_stock_seconds']} s, peak {r['check_stock_peak_mib']} MiB)"
                      if "check_stock_peak_mib" in r else "")
            print(f"   {r['backend']:<11}{r['orders']:>11,}{seconds:>9}{rate:>10}  {checked}{memory}")
    if report["board"]:
        print(f"\n   Board queries, median ms (target {TARGET_QUERY_MS:.0f} ms at 1,000,000 orders)")
        names = list(report["board"][0]["queries"])
        columns = [(b["backend"], b["orders"]) for b in report["board"]]
        print(f"   {'query':<30}" + "".join(f"{f'{be[:6]} {n:,}':>19}" for be, n in columns))
        for name in names:
            cells = []
            for b in report["board"]:
                timing = b["queries"].get(name)
                cells.append(f"{timing['median_ms']:>19.2f}" if timing else f"{'-':>19}")
            print(f"   {name:<30}" + "".join(cells))
    print("=" * 78)


if __name__ == "__main__":
    sys.exit(main())
