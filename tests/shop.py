"""Test helper: makes the shop's things through the real services (or plain rows where no rule applies)."""
from __future__ import annotations

import itertools

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from oms_web.domain import inventory, orders
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import ChannelKind, Job, Order, PaymentStatus, Product, Role, SalesChannel, User

_numbers = itertools.count(1)


class Shop:
    def __init__(self) -> None:
        self.admin = self.user(Role.ADMIN)
        self.manager = self.user(Role.MANAGER)
        self.staff = self.user(Role.STAFF)
        self.manual = self.channel("Phone", ChannelKind.MANUAL)
        self.web = self.channel("Web store", ChannelKind.API)

    def user(self, role: Role, email: str | None = None) -> User:
        user = User(email=email or f"{role.value}{next(_numbers)}@example.com", name=role.value.title(), role=role)
        # A cheap hash: the real one (scrypt) costs 0.2 s a user, and every test makes three.
        user.password_hash = generate_password_hash("correct horse battery", method="pbkdf2:sha256:1000")
        db.session.add(user)
        db.session.commit()
        return user

    def channel(self, name: str, kind: ChannelKind) -> SalesChannel:
        channel = SalesChannel(name=name, kind=kind)
        db.session.add(channel)
        db.session.commit()
        return channel

    def product(self, sku: str, in_hand: int = 0, price_cents: int = 1000, tax_rate_bp: int | None = None) -> Product:
        product = Product(sku=sku, name=f"Product {sku}", price_cents=price_cents, tax_rate_bp=tax_rate_bp)
        db.session.add(product)
        db.session.commit()
        if in_hand:
            inventory.receive_stock(self.manager, product.id, in_hand, "opening stock")
        return product

    def web_order(self, *lines: tuple[str, int], channel_order_id: str | None = None,
                  payment: PaymentStatus = PaymentStatus.PAID) -> Order:
        return orders.create_order(None, NewOrder(
            channel_id=self.web.id, channel_order_id=channel_order_id or f"W{next(_numbers)}",
            customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com",
                                     ship_to={"name": "Ada Lovelace", "line1": "12 St James's Sq",
                                              "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}),
            lines=[LineRequest(sku, qty) for sku, qty in lines], payment_status=payment))

    def draft(self, *lines: tuple[str, int]) -> Order:
        return orders.create_order(self.staff, NewOrder(
            channel_id=self.manual.id, customer=CustomerDetails(name="Grace Hopper", email="grace@example.com"),
            lines=[LineRequest(sku, qty) for sku, qty in lines]))

    def product_row(self, sku: str) -> Product:
        product = db.session.scalar(sa.select(Product).where(Product.sku == sku))
        db.session.refresh(product)
        return product

    def order_row(self, order_id: int) -> Order:
        order = db.session.get(Order, order_id)
        db.session.refresh(order)
        for line in order.lines:
            db.session.refresh(line)
        return order

    # ------------------------------------------------------------ added for the domain service tests

    def channel_order(self, *lines: LineRequest, channel_order_id: str | None = None,
                      payment: PaymentStatus = PaymentStatus.PAID, shipping_cents: int = 0,
                      actor: User | None = None) -> Order:
        """A web store order with full line requests (own prices, names) and a shipping charge."""
        return orders.create_order(actor, NewOrder(
            channel_id=self.web.id, channel_order_id=channel_order_id or f"W{next(_numbers)}",
            customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com"),
            lines=list(lines), payment_status=payment, shipping_cents=shipping_cents))

    def line(self, order_id: int, sku: str):
        """The order's (only) line of that SKU, fresh from the database."""
        order = self.order_row(order_id)
        (line,) = [l for l in order.lines if l.sku == sku]
        return line

    def stock(self, sku: str) -> tuple[int, int]:
        """(in hand, committed) of the product, as stored."""
        product = self.product_row(sku)
        return product.stock_in_hand, product.stock_committed

    def events(self, order_id: int) -> list:
        from oms_web.models import OrderEvent

        return db.session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order_id)
                                  .order_by(OrderEvent.id).execution_options(populate_existing=True)).all()

    def event_kinds(self, order_id: int) -> list[str]:
        return [event.kind for event in self.events(order_id)]

    def ledger(self, sku: str | None = None) -> list:
        """Stock ledger rows (of one product's SKU, or all), oldest first."""
        from oms_web.models import StockMove

        query = sa.select(StockMove).order_by(StockMove.id).execution_options(populate_existing=True)
        if sku is not None:
            query = query.join(Product).where(Product.sku == sku)
        return db.session.scalars(query).all()

    def snapshot(self) -> dict:
        """Every number an action could change, read straight from the database: compare two snapshots
        to prove that a refused action changed nothing."""
        from oms_web.models import (Address, Counter, Customer, HourlyOrderCount, Invoice, OrderEvent, OrderLine,
                                    SegmentCount, Shipment, StockMove)

        def rows(query):
            return [tuple(row) for row in db.session.execute(query).all()]

        count = sa.func.count()
        snap = {
            "products": rows(sa.select(Product.sku, Product.stock_in_hand, Product.stock_committed).order_by(Product.id)),
            "lines": rows(sa.select(OrderLine.id, OrderLine.order_id, OrderLine.product_id, OrderLine.sku,
                                    OrderLine.ordered, OrderLine.allocated, OrderLine.shipped, OrderLine.invoiced,
                                    OrderLine.unit_price_cents, OrderLine.tax_rate_bp).order_by(OrderLine.id)),
            "orders": rows(sa.select(Order.id, Order.status, Order.segment, Order.payment_status, Order.hold_reason,
                                     Order.total_cents, Order.void_reason).order_by(Order.id)),
            "shipments": rows(sa.select(Shipment.id, Shipment.status, Shipment.carrier, Shipment.tracking_number)
                              .order_by(Shipment.id)),
            "ledger rows": db.session.scalar(sa.select(count).select_from(StockMove)),
            "events": db.session.scalar(sa.select(count).select_from(OrderEvent)),
            "jobs": rows(sa.select(Job.id, Job.status, Job.attempts, Job.error).order_by(Job.id)),
            "invoices": db.session.scalar(sa.select(count).select_from(Invoice)),
            "customers": rows(sa.select(Customer.id, Customer.name, Customer.email).order_by(Customer.id)),
            "addresses": db.session.scalar(sa.select(count).select_from(Address)),
            "counters": rows(sa.select(Counter.name, Counter.value).order_by(Counter.name)),
            "segment counts": rows(sa.select(SegmentCount.segment, SegmentCount.orders).order_by(SegmentCount.segment)),
            "orders per hour": rows(sa.select(HourlyOrderCount.utc_hour, HourlyOrderCount.channel_id,
                                              HourlyOrderCount.orders)
                                    .order_by(HourlyOrderCount.utc_hour, HourlyOrderCount.channel_id)),
            "users": rows(sa.select(User.id, User.email, User.name, User.role, User.active, User.session_version,
                                    User.password_hash).order_by(User.id)),
        }
        db.session.rollback()  # end the read, so the next service starts from a fresh snapshot
        return snap

    def refused(self, error: type[Exception], action, *args, match: str | None = None, **kwargs) -> Exception:
        """Call a service that must refuse with `error`, and prove that it changed nothing: every number
        of snapshot() is as before and the invariants hold. Returns the raised error."""
        import pytest

        from oms_web.domain.invariants import check_invariants

        before = self.snapshot()
        with pytest.raises(error, match=match) as raised:
            action(*args, **kwargs)
        assert self.snapshot() == before
        assert check_invariants() == []
        return raised.value
