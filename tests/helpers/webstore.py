"""Web store orders as the tests send them: an API order, a Shopify and a WooCommerce webhook body, their
signature, and reads past the test's own snapshot (the requests commit in sessions of their own)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import threading

import sqlalchemy as sa

from oms_web.domain import orders as order_services
from oms_web.extensions import db
from oms_web.models import Order


ORDER = {"order_id": "W-1001", "currency": "EUR", "shipping": "4.50", "payment_status": "paid",
         "customer": {"name": "Zoe Martin", "email": "zoe@example.com"},
         "ship_to": {"name": "Zoe Martin", "line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "fr"},
         "lines": [{"sku": "MUG", "quantity": 2, "unit_price": "9.99", "line_id": "L1"}]}


def orders_count() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Order))


def fresh_order(shop, order_id: int) -> Order:
    db.session.rollback()  # the requests committed in sessions of their own: read past this one's snapshot
    return shop.order_row(order_id)


def committed(shop, sku: str) -> int:
    db.session.rollback()
    return shop.product_row(sku).stock_committed


class OrdersAtOnce:
    """Orders posted on threads of their own: the first one's write is held until all the others wait
    in line behind it, then let go. `write` is what create_orders is replaced with (it calls the real one)."""

    def __init__(self, app, api, monkeypatch):
        from oms_web.channels.arrivals import arrivals
        from oms_web.channels.keys import forget_known_keys

        with app.app_context():
            self.group = arrivals()
        self.app, self.api, self.forget_known_keys = app, api, forget_known_keys
        self.answers: dict[str, object] = {}
        self.errors: list[BaseException] = []
        self.connections_in_use_while_waiting: int | None = None
        self.go = threading.Event()
        self.real_create_orders = order_services.create_orders
        monkeypatch.setattr(order_services, "create_orders", lambda actor, batch: self.write(actor, batch))

    def write(self, actor, batch):
        if len(self.group.batches) == 1:  # the first order's transaction
            self.go.wait(30)
        return self.real_create_orders(actor, batch)

    def _deliver(self, body):
        try:
            with self.app.app_context():
                self.answers[body["order_id"]] = self.api(body)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            self.errors.append(error)

    def post(self, bodies: list[dict]) -> None:
        first = threading.Thread(target=self._deliver, args=(bodies[0],))
        first.start()
        while not self.group.batches:  # the first order is being written (and held)
            first.join(0.01)
        with self.app.app_context():
            self.forget_known_keys()  # the others look their key up: a connection each, for a moment
        others = [threading.Thread(target=self._deliver, args=(body,)) for body in bodies[1:]]
        for thread in others:
            thread.start()
        while self.group.in_line < len(others) and not self.errors:
            first.join(0.01)
        with self.app.app_context():
            self.connections_in_use_while_waiting = db.engine.pool.checkedout()
        self.go.set()
        for thread in [first, *others]:
            thread.join(60)


SHOPIFY = {"id": 820982911946154508, "name": "#1001", "email": "jon@example.com", "currency": "USD",
           "financial_status": "paid", "created_at": "2026-11-20T10:00:00-05:00", "cancelled_at": None,
           "line_items": [{"id": 866550311766439020, "sku": "MUG", "title": "Enamel mug", "quantity": 3, "price": "12.50"}],
           "shipping_address": {"name": "Jon Snow", "address1": "1 Wall St", "city": "Winterfell", "zip": "N1",
                                "province": "North", "country_code": "GB", "phone": "+44 1"},
           "shipping_lines": [{"price": "5.00"}], "customer": {"id": 1, "email": "jon@example.com",
                                                              "first_name": "Jon", "last_name": "Snow"}}


WOO = {"id": 727, "number": "727", "status": "processing", "currency": "USD", "date_created_gmt": "2026-11-20T15:00:00",
       "total": "29.99", "shipping_total": "5.00",
       "billing": {"first_name": "Ann", "last_name": "Lee", "address_1": "2 Elm", "city": "Austin", "state": "TX",
                   "postcode": "78701", "country": "US", "email": "ann@example.com", "phone": "555"},
       "shipping": {"first_name": "Ann", "last_name": "Lee", "address_1": "2 Elm", "city": "Austin", "state": "TX",
                    "postcode": "78701", "country": "US"},
       "line_items": [{"id": 315, "name": "Enamel mug", "sku": "MUG", "quantity": 2, "price": 12.5, "total": "25.00"}]}


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
