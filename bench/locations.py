"""Issue 14's benchmark: order intake and the board's queries with five locations against one.

    .venv/bin/python bench/locations.py --orders 1000000                     # SQLite, in --workdir
    .venv/bin/python bench/locations.py --orders 1000000 --pg postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/locations.py --orders 1000000 --reuse             # the seeded database again

On one database seeded with `--orders` orders (oms_web.seed, as bench/run.py seeds it):
  1. one location ("Main warehouse", as every shop starts): web-store orders created one per transaction
     through create_order (as the order API does), and in batches of 1,000 through create_orders (as a
     marketplace page or a report chunk), then the board's queries (bench/run.py's set);
  2. four more locations: two warehouses and a 3PL holding stock of every product (the main warehouse
     short of a third of them, so orders choose and split), and a drop-ship supplier for one product;
     the web store limited to three of them. The same measurements again.
  3. step 1 again with the extra locations inactive, and step 2 again, so that a drift of the machine
     (shared, noisy) shows as a difference between the two runs of the same step.
The ratios five/one are printed (issue 14's target: at most 1.2) and written to bench/results/.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (bench/run.py: its databases, intake stream and board queries)
from run import ROOT, RESULTS  # noqa: E402

from oms_web.domain import inventory  # noqa: E402
from oms_web.domain.invariants import check_invariants  # noqa: E402
from oms_web.extensions import db  # noqa: E402
from oms_web.models import (ChannelKind, ChannelLocation, Location, LocationKind, Product, SalesChannel,  # noqa: E402
                            Supplier, User)

EXTRA = [("East warehouse", LocationKind.WAREHOUSE, 90), ("North warehouse", LocationKind.WAREHOUSE, 80),
         ("Fulfilment partner", LocationKind.THIRD_PARTY, 50)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders seeded before measuring")
    parser.add_argument("--single", type=int, default=2_000, help="orders created one per transaction, per step")
    parser.add_argument("--batched", type=int, default=10_000, help="orders created in batches of 1,000, per step")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each board query (the median is kept)")
    parser.add_argument("--pg", help="PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--reuse", action="store_true", help="reuse the seeded database (its locations are reset)")
    parser.add_argument("--workdir", default="/tmp/oms-bench", help="where the SQLite files go")
    args = parser.parse_args()

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    backend = "postgresql" if args.pg else "sqlite"
    url = run._url(backend, args.pg, workdir, f"locations-{args.orders}")
    seeded, _ = run.bench_board(backend, url, args.orders, repeat=1, reuse=args.reuse, check=False)
    app = run._app(url)
    steps = []
    with app.app_context():
        intake = run._Intake(__import__("random").Random(11))
        # The same stream in every step: products of our own stock (a drop-shipped product's orders also go
        # on its supplier's purchase order of the day, work that is not the locations' cost).
        drop_shipped = set(db.session.scalars(sa.select(Product.sku).where(Product.drop_ship_location_id.is_not(None))))
        intake.skus = [sku for sku in intake.skus if sku not in drop_shipped]
        _one_location()
        intake.create(100)  # warm caches and compiled statements
        for name, setup in [("one location", _one_location), ("five locations", _five_locations),
                            ("one location (again)", _one_location), ("five locations (again)", _five_locations)]:
            setup()
            steps.append(_measure(name, intake, args))
        # The board's queries once more, the two set-ups back to back with no orders written between (the
        # intake's writes above grew the database between steps, and the machine's load drifts).
        paired = {"one": [], "five": []}
        for _ in range(3):
            for name, setup in (("one", _one_location), ("five", _five_locations)):
                setup()
                paired[name].append(sum(q["median_ms"] for q in run._board_queries(args.repeat).values()))
                db.session.rollback()
        violations = [str(v) for v in check_invariants(segments=False)]
        run._close()

    one = [s for s in steps if s["step"].startswith("one")]
    five = [s for s in steps if s["step"].startswith("five")]
    ratios = {key: round(statistics.median(f[key] for f in five) / statistics.median(o[key] for o in one), 3)
              for key in steps[0] if key != "step"}
    report = {"started": datetime.now().isoformat(timespec="seconds"), "backend": backend, "orders": args.orders,
              "seeded": seeded, "steps": steps, "ratios_five_over_one": ratios, "board_paired_ms": paired,
              "board_paired_ratio": round(statistics.median(paired["five"]) / statistics.median(paired["one"]), 3),
              "invariant_violations": violations[:20], "machine": run._machine()}
    print()
    print(f"{'step':<26}" + "".join(f"{key:>20}" for key in steps[0] if key != "step"))
    for step in steps:
        print(f"{step['step']:<26}" + "".join(f"{step[key]:>20.3f}" for key in step if key != "step"))
    print(f"{'five / one (medians)':<26}" + "".join(f"{ratios[key]:>20.3f}" for key in ratios))
    print(f"board queries, the two set-ups back to back: one {paired['one']} ms, five {paired['five']} ms; "
          f"five / one {report['board_paired_ratio']}")
    print(f"check-stock after: {len(violations)} violation(s)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"locations-{backend}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"Results written to {path.relative_to(ROOT)}")
    return 0


def _measure(name: str, intake: run._Intake, args) -> dict:
    print(f"[{name}] {args.single:,} orders one by one, {args.batched:,} in batches, the board's queries ...",
          flush=True)
    latencies = intake.create(args.single)
    batch_seconds = intake.create_in_batches(args.batched)
    if db.engine.dialect.name == "sqlite":
        # The writes above grew the WAL, which every read then consults: fold it into the database first,
        # or each step's queries pay for all the steps' writes before it (seen: +25% a step).
        db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.commit()
    queries = run._board_queries(args.repeat)
    db.session.rollback()
    return {"step": name,
            "create_order ms": 1000 * statistics.median(latencies),
            "batch ms/order": 1000 * batch_seconds / args.batched,
            "board queries ms": sum(q["median_ms"] for q in queries.values())}


def _one_location() -> None:
    """Every location but the main warehouse inactive (on a fresh database there are none)."""
    db.session.execute(sa.update(Location).where(Location.name != "Main warehouse").values(active=False))
    db.session.execute(sa.delete(ChannelLocation))
    db.session.commit()


def _five_locations() -> None:
    """The extra locations made once (stock of every product at each, the main warehouse short of a third
    of the products), then made active, and the web store limited to three of them."""
    names = {name for name, in db.session.execute(sa.select(Location.name))}
    manager = db.session.scalar(sa.select(User).where(User.email.like("manager%")).limit(1))
    if "East warehouse" not in names:
        for name, kind, priority in EXTRA:
            db.session.add(Location(name=name, kind=kind, priority=priority))
        supplier = Supplier(name="Bench supplier")
        db.session.add(Location(name="Bench drop-ship", kind=LocationKind.DROP_SHIP, priority=0, supplier=supplier))
        db.session.commit()
        sites = {name: db.session.scalar(sa.select(Location.id).where(Location.name == name)) for name, *_ in EXTRA}
        main = db.session.scalar(sa.select(Location.id).where(Location.name == "Main warehouse"))
        products = db.session.scalars(sa.select(Product.id).order_by(Product.id)).all()
        for number, product_id in enumerate(products):
            for site in sites.values():
                inventory.receive_stock(manager, product_id, 50_000, "Benchmark stock", location_id=site)
            if number % 3 == 0:  # the main warehouse short of a third of the products
                _, committed = db.session.execute(sa.text(
                    "SELECT in_hand, committed FROM location_stock WHERE product_id = :p AND location_id = :l"),
                    {"p": product_id, "l": main}).one()
                inventory.adjust_stock(manager, product_id, committed, "Benchmark: short here", location_id=main)
    db.session.execute(sa.update(Location).values(active=True))
    web = db.session.scalar(sa.select(SalesChannel.id).where(SalesChannel.kind == ChannelKind.API).limit(1))
    allowed = db.session.scalars(sa.select(Location.id).where(Location.name.in_(
        ["Main warehouse", "East warehouse", "Fulfilment partner"]))).all()
    db.session.execute(sa.delete(ChannelLocation))
    db.session.add_all(ChannelLocation(channel_id=web, location_id=site) for site in allowed)
    db.session.commit()


if __name__ == "__main__":
    sys.exit(main())
