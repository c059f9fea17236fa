"""Benchmark of buying labels in bulk: Create shipments for 200 ready orders whose channel buys its labels
by the cheapest rate, against the fake EasyPost on loopback answering every API call in 200 ms and
refusing (429) more calls a second than its rate limit (target ≤ 15 s).

    .venv/bin/python bench/buy_labels.py [--orders 200] [--delay 0.2] [--limit 100]

Each label takes three calls (address verification, the shipment's rates, the purchase) and the label
file; they run OMS_CARRIER_CONCURRENCY at once, at most OMS_CARRIER_CALLS_PER_SECOND a second. Makes
its own SQLite database; only the bulk action is timed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from oms_web import create_app  # noqa: E402
from oms_web.database import write_transaction  # noqa: E402
from oms_web.domain import bulk_shipping, inventory, orders  # noqa: E402
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder  # noqa: E402
from oms_web.extensions import db  # noqa: E402
from oms_web.models import CarrierAccount, ChannelKind, LabelPurchase, Product, Role, SalesChannel, User  # noqa: E402
from tests.helpers.easypost_fake import API_KEY, FakeEasyPost  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--limit", type=float, default=100, help="the fake service's calls a second")
    args = parser.parse_args()
    fake = FakeEasyPost(delay=args.delay, calls_per_second=args.limit)
    folder = Path(tempfile.mkdtemp(prefix="oms-bench-labels-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'labels.sqlite3'}", "SECRET_KEY": "bench",
                      "OMS_QUEUE_PATH": str(folder / "queue.sqlite3"),
                      "OMS_CARRIER_CALLS_PER_SECOND": args.limit * 0.8, "OMS_CARRIER_CONCURRENCY": 24})
    with app.app_context():
        upgrade()
        user = User(email="bench@example.com", name="Bench", role=Role.ADMIN, password_hash="-")
        channel = SalesChannel(name="Web", kind=ChannelKind.API, rate_rule="cheapest")
        products = [Product(sku=f"SKU-{i:02d}", name=f"Product {i}", price_cents=1000, weight_grams=300 + i,
                            length_mm=200, width_mm=150, height_mm=50) for i in range(10)]
        db.session.add_all([user, channel, *products, CarrierAccount(service="easypost", api_key=API_KEY,
                                                                   base_url=fake.url, label_format="PDF")])
        db.session.commit()
        for product in products:
            inventory.receive_stock(user, product.id, 10_000)
        with write_transaction():
            order_ids = [orders.create_order(None, NewOrder(
                channel_id=channel.id, channel_order_id=f"L{i}",
                customer=CustomerDetails(name=f"Customer {i}", email=f"c{i}@example.com",
                                         ship_to={"name": f"Customer {i}", "line1": f"{i} Market Street",
                                                  "city": "Leeds", "postal_code": "LS1 4AP", "country": "GB"}),
                lines=[LineRequest(f"SKU-{i % 10:02d}", 1)])).id for i in range(args.orders)]
        user = db.session.get(User, user.id)
        db.session.rollback()
        started = time.perf_counter()
        result = bulk_shipping.create_shipments(user, order_ids)
        took = time.perf_counter() - started
        bought = db.session.query(LabelPurchase).filter(LabelPurchase.status == "recorded").count()
    fake.close()
    print(f"{bought} labels bought, {len(result.refused)} refused, in {took:.2f} s "
          f"({len(fake.requests)} calls answered, {fake.throttled} throttled); target <= 15 s")
    for outcome in result.refused[:5]:
        print("  refused:", outcome.number, outcome.reason)
    return 0 if took <= 15 and bought == args.orders else 1


if __name__ == "__main__":
    sys.exit(main())
