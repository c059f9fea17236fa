"""The schema comes from migrations only; these tests fail when models and migrations disagree."""
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from oms_web import create_app
from oms_web.extensions import db
from oms_web.models import Counter, Segment, SegmentCount, in_schema

from .conftest import test_config as settings_for

from .conftest import BACKENDS


def test_migrations_match_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": in_schema(conn.dialect.name)})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "run `flask --app oms_web db migrate` and review the new migration"


def test_migration_creates_the_counter_rows_the_services_update(tmp_path):
    """On a database file made by the migrations alone (the test fixtures keep these rows between tests
    rather than make them, so only this shows that a new shop's database has them)."""
    fresh = create_app(settings_for(f"sqlite:///{tmp_path / 'fresh.sqlite3'}"))
    with fresh.app_context():
        upgrade()
        counts = dict(db.session.execute(sa.select(SegmentCount.segment, SegmentCount.orders)).all())
        counters = dict(db.session.execute(sa.select(Counter.name, Counter.value)).all())
        db.session.remove()
    assert counts == {segment: 0 for segment in Segment}
    assert counters == {"invoice_number": 0, "credit_note": 0}


@pytest.mark.parametrize("backend", BACKENDS)
def test_0018_merges_customers_of_one_email_into_the_first(backend, tmp_root):
    """Before the unique index, the same email could be on file twice (in other letter cases): the
    migration keeps the first customer, moves the others' addresses (and orders) to it."""
    from pathlib import Path

    from flask_migrate import upgrade

    from oms_web import create_app

    from . import conftest

    if backend == "sqlite":
        path = Path(tmp_root) / "migrate-0018.sqlite3"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = conftest.run_database_url(conftest.PG_URL)
    app = create_app(conftest.test_config(url))
    with app.app_context():
        if backend == "postgresql":
            conftest.ensure_postgres_database(url)
            db.session.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
            conftest._migrated.discard(url)
        upgrade(revision="0009")
        db.session.execute(sa.text(
            "INSERT INTO customers (id, name, email, created_at) VALUES (1, 'Ada', 'ada@example.com', :t), "
            "(2, 'Ada L', ' ADA@Example.com ', :t), (3, 'Grace', 'grace@example.com', :t), (4, 'Anon', '', :t)"),
            {"t": datetime(2026, 1, 1)})
        db.session.execute(sa.text(
            "INSERT INTO addresses (id, customer_id, kind, name, line1, city, postal_code, country) VALUES "
            "(1, 1, 'shipping', 'Ada', '1 A St', 'London', 'N1', 'GB'), (2, 2, 'shipping', 'Ada L', '2 B St', 'Leeds', 'L1', 'GB')"))
        db.session.commit()
        upgrade()
        rows = db.session.execute(sa.text("SELECT id, name, email FROM customers ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "Ada", "ada@example.com"), (3, "Grace", "grace@example.com"),
                                            (4, "Anon", None)]
        assert db.session.execute(sa.text("SELECT customer_id FROM addresses ORDER BY id")).scalars().all() == [1, 1]
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("INSERT INTO customers (name, email, created_at) VALUES ('X', 'grace@example.com', :t)"),
                               {"t": datetime(2026, 1, 1)})
        db.session.rollback()


def test_migration_0017_attributes_existing_rest_of_order_invoices_to_the_oldest_shipments(tmp_path):
    """Invoices issued before 0017 recorded no coverage: the migration gives each rest-of-order invoice the
    oldest shipments' units not yet invoiced, so check-stock's coverage rule holds on an upgraded database."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from oms_web import create_app
    from oms_web.domain import invoicing, shipping
    from oms_web.domain.invariants import check_invariants
    from oms_web.domain.orders import LineRequest
    from oms_web.models import InvoicedShipmentUnits

    from .conftest import empty_database, test_config
    from .shop import Shop

    app = create_app(test_config(f"sqlite:///{tmp_path / 'upgraded.sqlite3'}"))
    with app.app_context():
        upgrade()
        empty_database()
        shop = Shop()
        shop.product("A", in_hand=10)
        order = shop.channel_order(LineRequest("A", 5))
        line_id = shop.line(order.id, "A").id
        first = shipping.ship_lines(shop.staff, order.id, {line_id: 2})
        invoicing.issue_invoice(shop.staff, order.id)
        second = shipping.ship_lines(shop.staff, order.id, {line_id: 1})
        invoicing.issue_invoice(shop.staff, order.id, second.id)
        third = shipping.ship_lines(shop.staff, order.id, {line_id: 2})
        invoicing.issue_invoice(shop.staff, order.id)
        expected = sorted(db.session.execute(sa.select(InvoicedShipmentUnits.invoice_id,
                                                       InvoicedShipmentUnits.shipment_line_id,
                                                       InvoicedShipmentUnits.quantity)).all())
        assert {row[1] for row in expected} == {first.lines[0].id, third.lines[0].id}
        db.session.remove()

        downgrade(revision="0009")
        upgrade()

        assert sorted(db.session.execute(sa.select(InvoicedShipmentUnits.invoice_id,
                                                   InvoicedShipmentUnits.shipment_line_id,
                                                   InvoicedShipmentUnits.quantity)).all()) == expected
        assert check_invariants() == []
        db.session.remove()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0030_gives_every_order_its_placed_time_plus_two_days_as_ship_by_in_one_update(backend, tmp_root):
    """Existing orders ship by their placed time plus the channel's handling days (2, the new column's
    default), to the microsecond, in the text SQLAlchemy keeps on SQLite (so they compare as the app's
    do); the column is then NOT NULL, and channels take the default carrier and service empty."""
    from pathlib import Path

    from . import conftest

    if backend == "sqlite":
        path = Path(tmp_root) / "migrate-0030.sqlite3"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = conftest.run_database_url(conftest.PG_URL)
    app = create_app(conftest.test_config(url))
    with app.app_context():
        if backend == "postgresql":
            conftest.ensure_postgres_database(url)
            db.session.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
            conftest._migrated.discard(url)
        upgrade(revision="0019")
        db.session.execute(sa.text("INSERT INTO sales_channels (id, name, kind, settings, active, created_at) "
                                   "VALUES (1, 'Web', 'api', '{}', :yes, :t)"), {"yes": True, "t": datetime(2026, 1, 1)})
        placed = [datetime(2026, 3, 7, 23, 30, 15, 123456), datetime(2026, 12, 31, 0, 0), datetime(2026, 2, 27, 12)]
        for order_id, when in enumerate(placed, start=1):
            db.session.execute(sa.text(
                "INSERT INTO orders (id, channel_id, status, payment_status, segment, customer_name, currency, "
                "subtotal_cents, tax_cents, shipping_cents, total_cents, created_at, updated_at) VALUES "
                "(:id, 1, 'finalized', 'paid', 'ready_to_ship', 'Ada', 'USD', 0, 0, 0, 0, :t, :t)"),
                {"id": order_id, "t": when})
        db.session.commit()
        upgrade()
        from oms_web.models import Order, SalesChannel

        found = db.session.execute(sa.select(Order.id, Order.ship_by).order_by(Order.id)).all()
        assert [tuple(row) for row in found] == [(i, when + timedelta(days=2)) for i, when in enumerate(placed, start=1)]
        # Compared as the board's keyset compares them: equal to the app's own value of the same time.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(
            Order.ship_by == datetime(2026, 3, 9, 23, 30, 15, 123456))) == 1
        channel = db.session.get(SalesChannel, 1)
        assert (channel.handling_days, channel.default_carrier, channel.default_service) == (2, None, None)
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE orders SET ship_by = NULL WHERE id = 1"))
        db.session.rollback()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE sales_channels SET handling_days = 31"))
        db.session.rollback()
        db.session.remove()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0033_puts_every_figure_at_the_main_warehouse_unchanged(backend, tmp_root):
    """A shop from before locations (stock received, orders allocated, backordered, shipped): after the
    migration its stock and allocations are the Main warehouse's, every figure as it was, and check-stock
    holds (per product and per location). bench-sized: /tmp/mig100k in the closing note, 100,000 orders."""
    from pathlib import Path

    from flask_migrate import downgrade

    from oms_web.domain import shipping
    from oms_web.domain.invariants import check_invariants
    from oms_web.domain.orders import LineRequest
    from oms_web.models import LineAllocation, LocationStock, OrderLine, Product

    from . import conftest
    from .shop import Shop

    if backend == "sqlite":
        path = Path(tmp_root) / "migrate-0033.sqlite3"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = conftest.run_database_url(conftest.PG_URL)
    app = create_app(conftest.test_config(url))
    with app.app_context():
        if backend == "postgresql":
            conftest.ensure_postgres_database(url)
            db.session.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
            conftest._migrated.discard(url)
        upgrade()
        conftest.empty_database()
        shop = Shop()
        shop.product("A", in_hand=5)
        shop.product("B", in_hand=2)
        first = shop.channel_order(LineRequest("A", 3), LineRequest("B", 1))
        shop.channel_order(LineRequest("A", 4))  # 2 allocated, 2 backordered
        shipping.ship_lines(shop.staff, first.id, {line.id: line.allocated for line in first.lines})
        figures = sa.select(Product.sku, Product.stock_in_hand, Product.stock_committed).order_by(Product.sku)
        lines = sa.select(OrderLine.id, OrderLine.allocated, OrderLine.shipped).order_by(OrderLine.id)
        before = (db.session.execute(figures).all(), db.session.execute(lines).all())
        db.session.remove()

        downgrade(revision="0032_carriers16")
        upgrade()

        assert (db.session.execute(figures).all(), db.session.execute(lines).all()) == before
        at_main = db.session.execute(sa.select(Product.sku, LocationStock.in_hand, LocationStock.committed)
                                     .join(Product).where(LocationStock.location_id == 1).order_by(Product.sku)).all()
        assert at_main == before[0]
        placed = db.session.execute(sa.select(LineAllocation.order_line_id, LineAllocation.allocated,
                                              LineAllocation.shipped).where(LineAllocation.location_id == 1)
                                    .order_by(LineAllocation.order_line_id)).all()
        assert placed == [row for row in before[1] if row[1] > 0]
        assert check_invariants() == []
        db.session.remove()
        conftest._migrated.discard(url)
