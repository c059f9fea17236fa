"""Benchmark of bulk shipping: Create shipments for 500 ready orders and their labels and packing slips as
one PDF, as the board's job does it (target ≤ 15 s).

    .venv/bin/python bench/bulk_ship.py [--orders 500] [--repeat 3]

Makes its own SQLite database under a temporary folder for each run, with ready orders made through the
services; only the bulk action and the PDF are timed.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from oms_web import create_app  # noqa: E402
from oms_web.database import write_transaction  # noqa: E402
from oms_web.documents.render import build_labels_and_slips  # noqa: E402
from oms_web.domain import bulk_shipping, inventory, orders  # noqa: E402
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder  # noqa: E402
from oms_web.extensions import db  # noqa: E402
from oms_web.models import ChannelKind, Product, Role, SalesChannel, User  # noqa: E402


def one_run(count: int) -> tuple[float, float, float, int, int]:
    folder = Path(tempfile.mkdtemp(prefix="oms-bench-bulk-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bulk.sqlite3'}", "SECRET_KEY": "bench",
                      "OMS_DEFAULT_TAX_RATE_BP": 2000, "OMS_QUEUE_PATH": str(folder / "queue.sqlite3")})
    with app.app_context():
        upgrade()
        user = User(email="bench@example.com", name="Bench", role=Role.ADMIN, password_hash="-")
        channel = SalesChannel(name="Web", kind=ChannelKind.API)
        products = [Product(sku=f"SKU-{i:03d}", name=f"Product {i}", price_cents=1000 + i * 37, weight_grams=250 + i,
                            bin_location=f"{'ABCDE'[i % 5]}-{i:02d}") for i in range(20)]
        db.session.add_all([user, channel, *products])
        db.session.commit()
        for product in products:
            inventory.receive_stock(user, product.id, 10_000)
        with write_transaction():  # the ready orders: not what is timed
            order_ids = [orders.create_order(None, NewOrder(
                channel_id=channel.id, channel_order_id=f"B{i}",
                customer=CustomerDetails(name=f"Customer {i}", email=f"c{i}@example.com",
                                         ship_to={"name": f"Customer {i}", "line1": f"{i} Market Street", "city": "Leeds",
                                                  "postal_code": "LS1 4AP", "country": "GB"}),
                lines=[LineRequest(f"SKU-{i % 20:03d}", 1 + i % 3), LineRequest(f"SKU-{(i + 7) % 20:03d}", 1)])).id
                for i in range(count)]
        user = db.session.get(User, user.id)
        db.session.rollback()

        started, cpu_started = time.perf_counter(), time.process_time()
        result = bulk_shipping.create_shipments(user, order_ids)
        shipped = time.perf_counter() - started
        printed = build_labels_and_slips([o.order_id for o in result.done], result.shipment_ids)
        total = time.perf_counter() - started
        cpu = time.process_time() - cpu_started  # this process's own time: what a shared machine's load leaves out
        pages = len(PdfReader(io.BytesIO(printed.pdf)).pages)
        db.session.remove()
    return total, shipped, cpu, len(result.done), pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    totals, cpus = [], []
    for run in range(args.repeat):
        total, shipped, cpu, done, pages = one_run(args.orders)
        totals.append(total)
        cpus.append(cpu)
        print(f"run {run + 1}: {done} shipments created in {shipped:.2f} s, with their PDF ({pages} pages) "
              f"{total:.2f} s ({cpu:.2f} s of CPU)")
    median = statistics.median(totals)
    print(f"bulk create {args.orders} shipments with their PDF: median {median:.2f} s "
          f"({statistics.median(cpus):.2f} s of CPU) over {args.repeat} run(s)"
          f"   target ≤ 15 s: {'met' if median <= 15 else 'MISSED'}; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
