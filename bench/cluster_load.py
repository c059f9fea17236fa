"""The cluster of bench/cluster.py under a mixed load (bench/locustfile.py), with one app node and one
worker killed (SIGKILL) and restarted midway; then every accepted order is counted in the database.

    .venv/bin/python bench/cluster_load.py [--seconds 60] [--api-users 48] [--processes 1]   # `make cluster-bench`

Starts the cluster on a fresh database (oms_cluster), the demo catalogue with plenty of stock, an API
channel and a Shopify channel, runs Locust headless through HAProxy for --seconds, and prints:
orders accepted per second (sustained, and its worst 5 s), p50/p95/p99 of each page and API call, the
errors (and how many the clients' retries cured), the kills and restarts, the load average and how
much of the CPU the load generator itself took; then the checks: every accepted order exists exactly
once (lost 0, doubled 0), check-stock finds 0 violations, the print batches were all done.
Exits 1 when a check fails (the throughput and latency targets are printed against what was reached:
on two cores shared with the load generator, those are the machine's, not the code's, limits). The
cluster is stopped at the end (--keep leaves it running; `make cluster-stop` then).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import cluster as cluster_control  # noqa: E402
from bench import gunicorn_server  # noqa: E402

TARGET_ORDERS_PER_SECOND = 1_000
TARGET_STAFF_P95_MS = 100
STAFF_PAGES = ("staff: board", "staff: order page")
WORK = cluster_control.STATE_DIR / "load"
IDLE_ORDERS = 30  # posted one at a time before the load, with a staff page after each (the idle times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--api-users", type=int, default=48, help="concurrent API clients (plus 2 webhook, 4 staff)")
    parser.add_argument("--processes", type=int, default=1, help="Locust processes (each takes a core's share)")
    parser.add_argument("--threads", type=int, default=16, help="threads of each node")
    parser.add_argument("--db", default=os.environ.get("OMS_CLUSTER_DATABASE_URL", cluster_control.DEFAULT_DB))
    parser.add_argument("--keep", action="store_true", help="leave the cluster running afterwards")
    args = parser.parse_args()
    if not 10 <= args.seconds <= 600 or not 1 <= args.api_users <= 500 or not 1 <= args.processes <= 8:
        raise SystemExit("--seconds 10..600, --api-users 1..500, --processes 1..8")

    cluster = cluster_control.start(args.db, fresh=True, threads=args.threads)
    try:
        config = _shop(cluster)
        return _run(cluster, config, args)
    finally:
        if not args.keep:
            cluster_control.stop()


def _app(cluster):
    from oms_web import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": cluster.db, "SECRET_KEY": "bench", "TESTING": False,
                       "OMS_REDIS_URL": cluster.redis, "OMS_QUEUE_NAME": "oms_cluster"})


def _shop(cluster) -> dict:
    """The demo catalogue with plenty of stock, an API channel's key, a Shopify channel, a staff login."""
    from oms_web.channels.manage import create_channel
    from oms_web.domain import inventory
    from oms_web.extensions import db
    from oms_web.models import ChannelKind, Product, SalesChannel
    from oms_web.seed import catalogue, ensure_demo_shop

    app = _app(cluster)
    with app.app_context():
        users, _channels = ensure_demo_shop(0)
        # The demo's marketplaces would be pulled from the internet by the schedule: not in a benchmark.
        db.session.execute(sa.update(SalesChannel).where(SalesChannel.kind.in_((ChannelKind.AMAZON, ChannelKind.EBAY)))
                           .values(active=False))
        db.session.commit()
        skus = []
        for product in db.session.scalars(sa.select(Product).order_by(Product.id)).all():
            inventory.receive_stock(users["manager"], product.id, 5_000_000, "Benchmark stock")
            skus.append(product.sku)
        key = create_channel("Benchmark store", ChannelKind.API).api_key
        shopify = create_channel("Benchmark Shopify", ChannelKind.SHOPIFY, "bench-shopify-secret").channel.id
        staff = next((email, password) for email, _n, role, password in catalogue.DEMO_USERS if role.value == "staff")
        db.session.remove()
        db.engine.dispose()
    return {"api_key": key, "skus": skus, "shopify_channel": shopify, "shopify_secret": "bench-shopify-secret",
            "staff_email": staff[0], "staff_password": staff[1]}


class Machine(threading.Thread):
    """The load average and the CPU's busy share, every second."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.loads: list[float] = []
        self.stop = threading.Event()
        self.busy_start = self.busy_end = self._cpu()

    @staticmethod
    def _cpu() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)

    def run(self) -> None:
        while not self.stop.wait(1):
            self.loads.append(os.getloadavg()[0])
        self.busy_end = self._cpu()

    def busy_share(self) -> float:
        busy = self.busy_end[0] - self.busy_start[0]
        total = self.busy_end[1] - self.busy_start[1]
        return busy / total if total else 0.0


def _chaos(cluster, seconds: int, happened: list[str], started: float) -> None:
    """At 40% of the run SIGKILL node1 (master and workers) and start it again 5 s later; at 55% the same
    for worker1 (3 s later)."""

    def at(share: float) -> None:
        time.sleep(max(0.0, started + seconds * share - time.monotonic()))

    def note(what: str) -> None:
        happened.append(f"{time.monotonic() - started:5.1f} s  {what}")

    at(0.4)
    cluster_control.kill(cluster, "node1")
    note("node1 (gunicorn master and its workers) killed with SIGKILL")
    time.sleep(5)
    cluster_control.restart(cluster, "node1")
    note("node1 started again")
    gunicorn_server.wait_until_up(cluster.processes["node1"].port, "/readyz")
    note("node1 ready (/readyz 200); HAProxy takes it back after 2 good checks")
    at(0.55)
    cluster_control.kill(cluster, "worker1")
    note("worker1 killed with SIGKILL")
    time.sleep(3)
    cluster_control.restart(cluster, "worker1")
    note("worker1 started again")


def _run(cluster, config: dict, args) -> int:
    shutil.rmtree(WORK, ignore_errors=True)  # the last run's results
    WORK.mkdir(parents=True)
    config_file = WORK / "config.json"
    config_file.write_text(json.dumps(config))
    results = WORK / "results"
    users = args.api_users + 6  # + 2 webhook clients + 4 staff (their fixed_count)
    command = [str(Path(sys.executable).with_name("locust")), "-f", str(ROOT / "bench/locustfile.py"), "--headless",
               "--host", cluster.url, "-u", str(users), "-r", str(users), "-t", f"{args.seconds}s",
               "--stop-timeout", "15", "--csv", str(WORK / "locust"), "--only-summary", "--loglevel", "ERROR"]
    if args.processes > 1:
        command += ["--processes", str(args.processes)]
    env = dict(os.environ, OMS_LOAD_CONFIG=str(config_file), OMS_LOAD_RESULTS=str(results))

    idle = _idle_baseline(cluster, config)
    load_before = os.getloadavg()[0]
    machine = Machine()
    machine.start()
    happened: list[str] = []
    started = time.monotonic()
    wall_started = time.time()
    with (WORK / "locust.log").open("wb") as log:
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        chaos = threading.Thread(target=_chaos, args=(cluster, args.seconds, happened, started), daemon=True)
        chaos.start()
        _pid, status, usage = os.wait4(locust.pid, 0)
        locust.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    cpu = {name: _session_cpu(process.pid) for name, process in cluster.processes.items()}
    cpu["PostgreSQL"] = _backends_cpu(sa.make_url(cluster.db).database)
    machine.stop.set()
    machine.join()
    chaos.join(timeout=30)
    locust_cpu = usage.ru_utime + usage.ru_stime

    accepted, troubles, jobs = [], Counter(), []
    for file in sorted(results.glob("*.json")):
        data = json.loads(file.read_text())
        accepted += data["accepted"]
        troubles.update(data["troubles"])
        jobs += data["jobs"]
    checks = _database_checks(cluster, accepted, jobs)
    stats = _locust_stats(WORK / "locust_stats.csv")
    return _report(args, seconds, wall_started, accepted, troubles, checks, stats, happened, machine,
                   locust_cpu, locust.returncode, cpu, idle, load_before)


def _idle_baseline(cluster, config: dict, count: int = IDLE_ORDERS) -> dict[str, tuple[float, float]]:
    """p50 and p95 (ms) of a staff page and an API post, one at a time through HAProxy before the load:
    the code's own time on this machine, to hold the times under load against."""
    import re

    import requests

    session = requests.Session()
    page = session.get(f"{cluster.url}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    session.post(f"{cluster.url}/login", data={"email": config["staff_email"], "password": config["staff_password"],
                                              "csrf_token": token}, timeout=30)
    api = requests.Session()
    headers = {"Authorization": f"Bearer {config['api_key']}"}
    times: dict[str, list[float]] = {"API POST /api/v1/orders": [], "staff: board": [], "staff: order page": []}
    order = None
    for number in range(count):
        body = {"order_id": f"IDLE-{number}", "customer": {"name": "Idle"}, "lines": [
            {"sku": config["skus"][number % len(config["skus"])], "quantity": 1, "unit_price": "9.00"}]}
        started = time.perf_counter()
        order = api.post(f"{cluster.url}/api/v1/orders", json=body, headers=headers, timeout=30).json()["id"]
        times["API POST /api/v1/orders"].append(time.perf_counter() - started)
        for name, path in (("staff: board", "/orders"), ("staff: order page", f"/orders/{order}")):
            started = time.perf_counter()
            assert session.get(f"{cluster.url}{path}", timeout=30).status_code == 200
            times[name].append(time.perf_counter() - started)
    return {name: (1000 * _pct(values, 50), 1000 * _pct(values, 95)) for name, values in times.items()}


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def _backends_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends serving `database` (those still connected)."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for process in Path("/proc").glob("[0-9]*"):
        try:
            title = (process / "cmdline").read_bytes()  # "postgres: [cluster: ]user database host(port) state"
            if not (title.startswith(b"postgres: ") and f" {database} ".encode() in title):
                continue
            fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _session_cpu(session: int) -> float:
    """CPU seconds used so far by every process of a session (a node: gunicorn's master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # after the command: state, ppid, pgrp, session, ...
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _database_checks(cluster, accepted: list[dict], jobs: list[int]) -> dict:
    """Every accepted order exactly once; check-stock; the print batches (waited for, up to 90 s)."""
    from oms_web.domain.invariants import check_invariants
    from oms_web.extensions import db
    from oms_web.models import Job, Order

    app = _app(cluster)
    with app.app_context():
        told = {(a["kind"], a["id"]): a["order"] for a in accepted}
        order_ids = sorted({order for order in told.values() if order is not None})
        found: dict[int, tuple[int, str]] = {}
        for start in range(0, len(order_ids), 5_000):
            chunk = order_ids[start:start + 5_000]
            found.update({row.id: (row.channel_id, row.channel_order_id) for row in db.session.execute(
                sa.select(Order.id, Order.channel_id, Order.channel_order_id).where(Order.id.in_(chunk)))})
        lost = [key for key, order in told.items() if order not in found or found[order][1] not in (key[1], f"#S{key[1]}")]
        doubled = db.session.scalar(sa.select(sa.func.count()).select_from(
            sa.select(Order.channel_id, Order.channel_order_id).where(Order.channel_order_id.is_not(None))
            .group_by(Order.channel_id, Order.channel_order_id).having(sa.func.count() > 1).subquery()))
        # Two channel ids told the same order: a repeat answered with another order than the first.
        by_order = Counter(told.values())
        shared = sum(1 for count in by_order.values() if count > 1)
        violations = check_invariants()
        deadline = time.monotonic() + 90
        while True:
            states = Counter(db.session.scalars(sa.select(Job.status).where(Job.id.in_(jobs or [0]))))
            db.session.rollback()
            if not (states.get("queued") or states.get("running")) or time.monotonic() > deadline:
                break
            time.sleep(2)
        total_orders = db.session.scalar(sa.select(sa.func.count()).select_from(Order))
        db.session.remove()
        db.engine.dispose()
    return {"accepted": len(told), "lost": len(lost), "lost_examples": lost[:5], "doubled": doubled,
            "shared": shared, "violations": violations, "jobs": dict(states), "orders_in_db": total_orders}


def _locust_stats(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _report(args, seconds, wall_started, accepted, troubles, checks, stats, happened, machine, locust_cpu,
            locust_status, cpu, idle, load_before) -> int:
    created = sorted(a["t"] - wall_started for a in accepted if a["kind"] == "api" and a["status"] == 201)
    run = args.seconds
    rate = len([t for t in created if t <= run]) / run
    windows = [sum(1 for t in created if w <= t < w + 5) / 5 for w in range(5, run - 5, 5)]
    cores = os.cpu_count() or 1
    print(f"\noms_web cluster under mixed load: 2 nodes (1 gunicorn process x {args.threads} threads each) behind "
          f"HAProxy, 2 workers, Redis, PostgreSQL; Locust ({args.processes} process, {args.api_users} API clients, "
          f"2 webhook clients, 4 staff) for {run} s on this {cores}-core machine")
    print(f"  API orders accepted (new): {len(created):,} = {rate:,.0f} orders/s sustained "
          f"(worst 5 s: {min(windows, default=0):,.0f}/s, best: {max(windows, default=0):,.0f}/s); "
          f"target {TARGET_ORDERS_PER_SECOND:,}/s: {'reached' if rate >= TARGET_ORDERS_PER_SECOND else 'NOT reached'}")
    webhooks = sum(1 for a in accepted if a["kind"] == "shopify")
    repeats = sum(1 for a in accepted if a["kind"] == "api" and a["status"] == 200)
    print(f"  also: {repeats:,} repeats answered with their first order, {webhooks:,} webhook orders")
    print(f"  {'request':<40} {'count':>8} {'errors':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    staff_ok = True
    for row in stats:
        if row["Name"] == "Aggregated":
            continue
        print(f"  {row['Name']:<40} {int(row['Request Count']):>8,} {int(row['Failure Count']):>7,} "
              f"{row['50%']:>7} {row['95%']:>7} {row['99%']:>7}")
        if row["Name"] in STAFF_PAGES and row["95%"] not in ("", "N/A") and float(row["95%"]) > TARGET_STAFF_P95_MS:
            staff_ok = False
    print(f"  staff pages p95 target {TARGET_STAFF_P95_MS} ms: {'reached' if staff_ok else 'NOT reached'}; "
          "the same requests one at a time before the load (p50/p95 ms): "
          + ", ".join(f"{name} {p50:.0f}/{p95:.0f}" for name, (p50, p95) in idle.items()))
    print(f"  errors seen by clients: {sum(int(r['Failure Count']) for r in stats if r['Name'] != 'Aggregated'):,}; "
          f"posts that needed a retry and then got through: {troubles['retried']:,}; given up: {troubles['given_up']:,}; "
          f"refused: {troubles['refused']:,}; staff conflicts (order shipped by another a moment before): "
          f"{troubles['staff_conflicts']:,}; staff retries: {troubles['staff_retries']:,}")
    for line in happened:
        print(f"  {line}")
    loads = machine.loads or [0.0]
    print(f"  load average (1 min) before the run {load_before:.1f} (other users of the machine), during it: "
          f"max {max(loads):.1f}, at the end {loads[-1]:.1f} ({cores} cores); "
          f"CPU busy {100 * machine.busy_share():.0f}%; the load generator alone used {locust_cpu:.0f} CPU-s of "
          f"{seconds * cores:.0f} ({100 * locust_cpu / (seconds * cores):.0f}% of the machine)")
    busy = machine.busy_share() * seconds * cores
    ours = sum(cpu.values()) + locust_cpu
    print("  CPU-s by part: " + ", ".join(f"{name} {value:.0f}" for name, value in cpu.items())
          + f" (node1 since its restart; PostgreSQL: the backends still connected), Locust {locust_cpu:.0f}; "
          f"every other process on the machine (other users' work) {max(0.0, busy - ours):.0f}")
    print(f"  checks: {checks['accepted']:,} accepted orders, lost {checks['lost']}, doubled {checks['doubled']}, "
          f"told another's order {checks['shared']}, repeat answered with another order {troubles['repeat_mismatch']}, "
          f"check-stock violations {len(checks['violations'])}; orders in the database {checks['orders_in_db']:,} "
          f"(with the {IDLE_ORDERS} posted one at a time before the load); "
          f"print batches {checks['jobs'] or 'none started'}")
    if checks["lost_examples"]:
        print(f"  lost, e.g.: {checks['lost_examples']}")
    correct = (checks["lost"] == 0 and checks["doubled"] == 0 and checks["shared"] == 0 and not checks["violations"]
               and troubles["repeat_mismatch"] == 0 and troubles["given_up"] == 0
               and not checks["jobs"].get("failed") and not checks["jobs"].get("queued")
               and not checks["jobs"].get("running"))
    print("  ok: nothing lost, nothing doubled, stock consistent" if correct else "  FAILED a check")
    if locust_status not in (0, 1):  # Locust exits 1 when a request failed (the retried ones did)
        print(f"  Locust exited with {locust_status}: see {WORK / 'locust.log'}")
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
