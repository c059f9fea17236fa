"""The demo seeder: a few hundred orders in every segment that pass check-stock, on both databases,
again after a second run, and left alone with --if-empty."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from oms_web.domain.invariants import check_invariants
from oms_web.domain.invoicing import INVOICE_COUNTER
from oms_web.domain.orders import line_tax_cents
from oms_web.domain.segments import segment_counts
from oms_web.extensions import db
from oms_web.models import (HANDED_OVER, ChannelKind, Counter, Invoice, Order, OrderLine, OrderStatus, Product, SalesChannel,
                            Segment, Shipment, ShipmentStatus, User, utcnow)
from oms_web.seed import seed_demo_data
from oms_web.seed.catalogue import DEMO_URL, DEMO_USERS


def seed(order_count: int, *, if_empty: bool = False) -> list[str]:
    said: list[str] = []
    seed_demo_data(order_count, if_empty=if_empty, echo=said.append)
    db.session.rollback()
    return said


def order_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Order))


def assert_consistent(expected_orders: int) -> None:
    assert check_invariants() == []
    counts = segment_counts()
    assert sum(counts.values()) == expected_orders == order_count()
    empty = [s.value for s in Segment if counts[s] == 0]
    assert not empty, f"segments without orders: {empty}"

    invoices = db.session.scalar(sa.select(sa.func.count()).select_from(Invoice))
    assert db.session.scalar(sa.select(Counter.value).where(Counter.name == INVOICE_COUNTER)) == invoices > 0

    # A backorder only where the product has nothing left to give (received stock fills backorders first).
    short_products = db.session.scalars(
        sa.select(Product).join(OrderLine, OrderLine.product_id == Product.id).join(Order)
        .where(OrderLine.allocated < OrderLine.ordered, Order.status == OrderStatus.FINALIZED,
               Order.hold_reason.is_(None)).distinct()).all()
    assert short_products, "no order is waiting for stock"
    assert [p.sku for p in short_products if p.stock_available] == []

    orders = db.session.scalars(sa.select(Order).options(
        sa.orm.selectinload(Order.lines), sa.orm.selectinload(Order.shipments))).all()
    oldest = utcnow() - timedelta(days=91)
    for order in orders:
        assert oldest <= order.created_at <= utcnow(), order.number
        subtotal = sum(l.ordered * l.unit_price_cents for l in order.lines)
        tax = sum(line_tax_cents(l.ordered, l.unit_price_cents, l.tax_rate_bp) for l in order.lines)
        assert (order.subtotal_cents, order.tax_cents) == (subtotal, tax), order.number
        assert order.total_cents == subtotal + tax + order.shipping_cents, order.number
        if order.channel.kind is ChannelKind.MANUAL:
            assert order.channel_order_id is None, order.number
        else:
            assert order.channel_order_id, order.number
        if order.status is OrderStatus.FULFILLED:
            assert order.fulfilled_at is not None and order.finalized_at is not None, order.number
            assert all(l.shipped == l.ordered for l in order.lines), order.number
            assert order.shipments and all(s.status is ShipmentStatus.DELIVERED for s in order.shipments)
        if order.status is OrderStatus.DRAFT:
            assert order.finalized_at is None and not order.shipments, order.number
        if order.status is OrderStatus.VOID:
            assert order.void_reason and not order.shipments, order.number
            assert all(l.allocated == 0 for l in order.lines), order.number
        if order.segment is Segment.NEEDS_ATTENTION:
            assert any(l.product_id is None for l in order.lines), order.number

    shipped_without_tracking = db.session.scalar(
        sa.select(sa.func.count()).select_from(Shipment)
        .where(Shipment.status.in_(HANDED_OVER), Shipment.tracking_number.is_(None)))
    assert shipped_without_tracking == 0
    channels_used = db.session.scalars(sa.select(SalesChannel.kind).join(Order).distinct()).all()
    assert set(channels_used) == {ChannelKind.MANUAL, ChannelKind.API, ChannelKind.AMAZON, ChannelKind.EBAY}


def test_a_seeded_shop_passes_check_stock_with_orders_in_every_segment(app):
    said = seed(300)

    assert_consistent(300)
    assert any(DEMO_URL in line for line in said)
    for email, _name, role, password in DEMO_USERS:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert user.role is role and user.check_password(password)
        assert any(email in line and password in line for line in said)


def test_seeding_again_appends_orders_and_stays_consistent(app):
    seed(200)
    first_invoices = db.session.scalars(sa.select(Invoice.number).order_by(Invoice.id)).all()

    seed(200)

    assert_consistent(400)
    numbers = db.session.scalars(sa.select(Invoice.number).order_by(Invoice.id)).all()
    assert numbers[:len(first_invoices)] == first_invoices
    assert numbers == list(range(1, len(numbers) + 1))


def test_a_big_load_on_postgresql_checks_the_foreign_keys_at_the_end_and_puts_them_back(app, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("SQLite checks foreign keys row by row: nothing is set aside")
    from oms_web.seed import bulk

    def foreign_keys() -> list[tuple]:
        return db.session.execute(sa.text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' ORDER BY 1, 2")).all()

    before = foreign_keys()
    db.session.rollback()
    monkeypatch.setattr(bulk, "BULK_FOREIGN_KEY_CHECK_FROM", 0)

    seed(200)

    assert_consistent(200)
    assert foreign_keys() == before


def test_if_empty_leaves_a_shop_with_orders_alone_but_still_prints_the_logins(app):
    seed(60)
    before = order_count()

    said = seed(60, if_empty=True)

    assert order_count() == before
    assert any(DEMO_URL in line for line in said)
    assert any("admin@example.com" in line for line in said)
