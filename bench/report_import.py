"""Time the import of a large Amazon Unshipped report (not a test: run it by hand).

    .venv/bin/python bench/report_import.py [DATABASE_URL] [LINES]

Makes a fresh database (SQLite file under /tmp by default; a PostgreSQL URL's schema is dropped and
remade), 200 products with stock, and a report of LINES item rows (100,000 by default) in about 57,000
orders of one to three lines, 1% of them with an unknown SKU; then imports it through
reports.import_file, allocation included, and checks the SPEC's invariants. Exits 1 when the import
took longer than the target (60 s for 100,000 lines, in proportion for other sizes), failed, or left
a violation.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from oms_web import create_app  # noqa: E402
from oms_web.channels import reports
from oms_web.domain import inventory
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import ChannelKind, Product, Role, SalesChannel, User

from tests.conftest import empty_database, ensure_postgres_database, test_config  # noqa: E402

COLUMNS = ["order-id", "order-item-id", "purchase-date", "payments-date", "buyer-email", "buyer-name", "sku",
           "product-name", "quantity-purchased", "quantity-to-ship", "currency", "item-price", "ship-service-level",
           "recipient-name", "ship-address-1", "ship-address-2", "ship-address-3", "ship-city", "ship-state",
           "ship-postal-code", "ship-country", "ship-phone-number"]
TARGET_SECONDS_PER_100K_LINES = 60.0


def report(lines: int) -> tuple[bytes, int]:
    rows = ["\t".join(COLUMNS)]
    rnd = random.Random(1)
    done = order = 0
    while done < lines:
        order += 1
        for item in range(rnd.choice([1, 1, 2, 3])):
            if done >= lines:
                break
            done += 1
            sku = f"SKU{rnd.randrange(200):04d}" if rnd.random() > 0.01 else "UNKNOWN-1"
            quantity = rnd.choice([1, 1, 2])
            rows.append("\t".join([
                f"111-{order:07d}-0000001", f"{order}{item:03d}", "2026-11-01T10:00:00+00:00",
                "2026-11-01T10:05:00+00:00", f"buyer{order % 5000}@marketplace.amazon.com", f"Buyer {order}", sku,
                "Widget", str(quantity), str(quantity), "GBP", f"{quantity * 12.5:.2f}", "Standard", f"Buyer {order}",
                "1 High St", "", "", "London", "", "SW1A 1AA", "GB", "0123"]))
    return ("\n".join(rows) + "\n").encode(), order


def main(url: str, lines: int) -> int:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    app = create_app(test_config(url))
    with app.app_context():
        if url.startswith("postgresql"):
            ensure_postgres_database(url)
            db.session.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        empty_database()
        manager = User(email="bench@example.com", name="Bench", role=Role.MANAGER)
        manager.set_password("bench bench bench")
        channel = SalesChannel(name="Amazon UK", kind=ChannelKind.AMAZON, settings={})
        db.session.add_all([manager, channel])
        db.session.add_all([Product(sku=f"SKU{n:04d}", name=f"Product {n}", price_cents=999) for n in range(200)])
        db.session.commit()
        for product_id in db.session.scalars(sa.select(Product.id)).all():
            inventory.receive_stock(manager, product_id, 600, "opening stock")
        data, orders = report(lines)
        started = time.perf_counter()
        run = reports.import_file(db.session.get(SalesChannel, channel.id), reports.AMAZON_UNSHIPPED, data)
        spent = time.perf_counter() - started
        print(f"{lines:,} lines in {orders:,} orders on {db.engine.dialect.name}: {spent:.1f} s "
              f"({run.status}: {run.imported:,} imported, {run.held:,} held, {run.duplicates:,} repeats)")
        violations = check_invariants()
        print("invariants:", "hold" if not violations else violations[:5])
    target = TARGET_SECONDS_PER_100K_LINES * lines / 100_000
    print(f"target: {target:.0f} s: {'met' if spent <= target else 'MISSED'}")
    return 0 if spent <= target and run.status == "ok" and not violations else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:////tmp/oms-bench-report.sqlite3",
         int(sys.argv[2]) if len(sys.argv) > 2 else 100_000))
