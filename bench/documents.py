"""Benchmark of the documents: 500 shipping labels in one PDF (target ≤ 10 s), one invoice (target ≤ 150 ms).

    .venv/bin/python bench/documents.py [--labels 500] [--repeat 20]

Makes its own SQLite database under a temporary folder, with orders shipped through the services.
"""
from __future__ import annotations

import argparse
import io
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
from oms_web.documents.render import build, invoices_pdf  # noqa: E402
from oms_web.domain import inventory, invoicing, orders, shipping  # noqa: E402
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder  # noqa: E402
from oms_web.extensions import db  # noqa: E402
from oms_web.models import ChannelKind, Product, Role, SalesChannel, User  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="oms-bench-docs-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'docs.sqlite3'}", "SECRET_KEY": "bench",
                      "OMS_DEFAULT_TAX_RATE_BP": 2000})
    with app.app_context():
        upgrade()
        user = User(email="bench@example.com", name="Bench", role=Role.ADMIN, password_hash="-")
        channel = SalesChannel(name="Web", kind=ChannelKind.API)
        products = [Product(sku=f"SKU-{i:03d}", name=f"Product {i}", price_cents=1000 + i * 37, weight_grams=250 + i)
                    for i in range(5)]
        db.session.add_all([user, channel, *products])
        db.session.commit()
        for product in products:
            inventory.receive_stock(user, product.id, 10_000)
        order_ids = []
        for i in range(args.labels):
            order = orders.create_order(None, NewOrder(
                channel_id=channel.id, channel_order_id=f"B{i}",
                customer=CustomerDetails(name=f"Customer {i}", email=f"c{i}@example.com",
                                         ship_to={"name": f"Customer {i}", "line1": f"{i} Market Street", "city": "Leeds",
                                                  "postal_code": "LS1 4AP", "country": "GB"}),
                lines=[LineRequest(f"SKU-{i % 5:03d}", 1 + i % 3), LineRequest(f"SKU-{(i + 1) % 5:03d}", 1)]))
            shipping.ship_lines(user, order.id, {line.id: line.ordered for line in order.lines}, carrier="UPS",
                                tracking_number=f"1Z999AA1{i:010d}")
            order_ids.append(order.id)
        invoice = invoicing.issue_invoice(user, order_ids[0])

        started = time.perf_counter()
        printed = build("labels", order_ids)
        labels_s = time.perf_counter() - started
        pages = len(PdfReader(io.BytesIO(printed.pdf)).pages)

        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            invoices_pdf([invoice])
            times.append((time.perf_counter() - started) * 1000)
    print(f"{args.labels} labels in one PDF: {labels_s:.2f} s ({pages} pages, {len(printed.pdf) / 1e6:.1f} MB)"
          f"   target ≤ 10 s: {'met' if labels_s <= 10 else 'MISSED'}")
    print(f"one invoice: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms over {args.repeat}"
          f"   target ≤ 150 ms: {'met' if statistics.median(times) <= 150 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
