"""The overview at scale: orders per hour and channel kept as counters by every path that makes orders
(checked against a recount by check-stock), the chart's figures as grouping the orders gives them, the
migration's back-fill, and check-stock walking open orders in batches."""
from __future__ import annotations

from collections import Counter as Tally
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from oms_web import create_app
from oms_web.database import write_transaction
from oms_web.domain import inventory, invariants, orders, shipping
from oms_web.domain.errors import InvalidInput
from oms_web.domain.hourly_counts import miscounted_hours
from oms_web.domain.invariants import check_invariants
from oms_web.domain.locking import backordered_lines
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.domain.overview_figures import CHART_DAYS, orders_per_day, overview_figures
from oms_web.extensions import db
from oms_web.models import (HANDED_OVER, HourlyOrderCount, Order, OrderLine, Segment, Shipment, ShipmentLine,
                            utcnow)

from .conftest import PG_SKIP_REASON, PG_URL, run_database_url
from .conftest import test_config as app_settings

ZONES = [timezone.utc, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Auckland")]


def channel_order(shop, ref: str, *lines: tuple[str, int], placed_at: datetime | None = None) -> NewOrder:
    return NewOrder(channel_id=shop.web.id, channel_order_id=ref, placed_at=placed_at,
                    customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com"),
                    lines=[LineRequest(sku, qty) for sku, qty in lines])


def stored_counts() -> dict[tuple[int, int], int]:
    return {(h, c): n for h, c, n in db.session.execute(
        sa.select(HourlyOrderCount.utc_hour, HourlyOrderCount.channel_id, HourlyOrderCount.orders)
        .where(HourlyOrderCount.orders > 0))}


def test_every_way_of_making_an_order_counts_it_in_its_hour_and_channel(shop):
    shop.product("A", in_hand=3)
    two_days_ago = utcnow().replace(microsecond=0) - timedelta(days=2)
    shop.web_order(("A", 1))  # one order through create_order
    shop.draft(("A", 2))  # a manual draft, row by row
    made = orders.create_orders(None, [  # a batch: new orders, a repeat inside it, one placed earlier
        channel_order(shop, "B1", ("A", 1)), channel_order(shop, "B1", ("A", 1)),
        channel_order(shop, "B2", ("A", 5), placed_at=two_days_ago), channel_order(shop, "B3", ("NOPE", 1))])
    assert sum(1 for m in made if m.duplicate) == 1
    orders.create_orders(None, [channel_order(shop, "B1", ("A", 1)), channel_order(shop, "B4", ("A", 1))])
    shop.refused(InvalidInput, orders.create_order, shop.staff, NewOrder(
        channel_id=shop.manual.id, customer=CustomerDetails(name="Grace Hopper"), lines=[LineRequest("NOPE", 1)]))

    assert miscounted_hours() == [] and check_invariants() == []
    counts = stored_counts()
    assert sum(counts.values()) == db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 6
    earlier = (two_days_ago - datetime(1970, 1, 1)) // timedelta(hours=1)
    assert counts[earlier, shop.web.id] == 1


def test_a_parcel_handed_to_the_carrier_counts_in_its_hour_with_its_units(shop):
    shop.product("A", in_hand=10)
    order = shop.web_order(("A", 5)).id
    line = shop.line(order, "A").id
    first = shipping.ship_lines(shop.staff, order, {line: 2}).id
    second = shipping.ship_lines(shop.staff, order, {line: 3}).id
    shipping.mark_shipped(shop.staff, first, "UPS", "1Z1")
    assert check_invariants() == []
    shipping.mark_shipped(shop.staff, second, "UPS", "1Z2")
    shipping.mark_delivered(shop.staff, first)
    assert check_invariants() == []
    figures = overview_figures()
    assert (figures.shipped_today_parcels, figures.shipped_today_units) == (2, 5)
    assert db.session.scalar(sa.select(sa.func.sum(HourlyOrderCount.units_shipped))) == 5


def test_check_stock_reports_an_hour_whose_count_is_wrong(shop):
    shop.product("A", in_hand=3)
    shop.web_order(("A", 1))
    with write_transaction():
        db.session.execute(sa.update(HourlyOrderCount).values(orders=HourlyOrderCount.orders + 1))
    (violation,) = check_invariants()
    assert violation.rule == "orders per hour" and (violation.expected, violation.found) == (1, 2)


def test_check_stock_walks_open_orders_in_batches_and_finds_a_wrong_segment_deep_in(shop, monkeypatch):
    monkeypatch.setattr(invariants, "SEGMENT_BATCH", 3)
    shop.product("A", in_hand=100)
    made = [shop.web_order(("A", 1)).id for _ in range(10)]
    with write_transaction():
        db.session.execute(sa.update(Order).where(Order.id == made[-2]).values(segment=Segment.AWAITING_STOCK))
    found = [v for v in check_invariants() if v.rule == "segment"]
    assert [(v.where, v.expected, v.found) for v in found] == [
        (f"order {Order.number_of(made[-2])}", "ready_to_ship", "awaiting_stock")]


def reference_per_day(days: list[date], zone) -> dict[int, list[int]]:
    """The chart's figures as the overview grouped the orders before it kept counters: each order on
    the shop's day its UTC hour begins on."""
    index = {d: i for i, d in enumerate(days)}
    per_channel: dict[int, list[int]] = {}
    for created_at, channel_id in db.session.execute(sa.select(Order.created_at, Order.channel_id)):
        hour = created_at.replace(minute=0, second=0, microsecond=0, tzinfo=timezone.utc)
        day = hour.astimezone(zone).date()
        if day in index:
            per_channel.setdefault(channel_id, [0] * len(days))[index[day]] += 1
    return per_channel


def reference_shipped_today(today: date, zone) -> tuple[int, int]:
    """Parcels and units shipped since the shop's midnight, as the overview read them from the shipments."""
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
    parcels, units = db.session.execute(
        sa.select(sa.func.count(sa.distinct(Shipment.id)), sa.func.coalesce(sa.func.sum(ShipmentLine.quantity), 0))
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(Shipment.shipped_at >= midnight, Shipment.status.in_(HANDED_OVER))).one()
    db.session.rollback()
    return parcels, int(units)


def test_the_chart_shows_what_grouping_the_seeded_orders_shows_in_any_zone(shop):
    from oms_web.seed import seed_demo_data

    seed_demo_data(600, if_empty=False, echo=lambda _: None)
    db.session.rollback()
    assert check_invariants() == []
    for zone in ZONES:
        today = datetime.now(zone).date()
        days = [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
        expected = reference_per_day(days, zone)
        assert sum(map(sum, expected.values())) > 100
        assert orders_per_day(days, zone) == expected, zone
        figures = overview_figures(zone=zone)
        assert (figures.shipped_today_parcels, figures.shipped_today_units) == reference_shipped_today(today, zone)
    assert sum(reference_shipped_today(datetime.now(zone).date(), zone)) > 0


# ------------------------------------------------------------------ the migration's back-fill

MIGRATION_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON))]


@pytest.fixture(params=MIGRATION_BACKENDS)
def database_at_0007(request, tmp_path):
    """A database of its own, migrated up to the revision before the counters."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrating.sqlite3'}"
    else:
        url = str(sa.make_url(run_database_url(PG_URL)).set(drivername="postgresql+psycopg")
                  .render_as_string(hide_password=False))
        url = url.rsplit("/", 1)[0] + "/" + sa.make_url(url).database + "_migrating"
        admin = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{sa.make_url(url).database}"'))
    app = create_app(app_settings(url))
    with app.app_context():
        upgrade(revision="0007")
        yield app
        db.session.remove()
        db.engine.dispose()
    if request.param == "postgresql":
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


def test_the_migration_back_fills_the_counts_from_the_orders(database_at_0007):
    times = [datetime(2026, 11, 29, 23, 59, 59, 999_999), datetime(2026, 11, 30, 0, 0), datetime(2026, 11, 30, 0, 30, 5),
             datetime(2026, 11, 30, 0, 59, 59), datetime(2026, 11, 30, 1, 0, 0, 1), datetime(1999, 12, 31, 23, 0)]
    db.session.execute(sa.text("INSERT INTO sales_channels (id, name, kind, settings, active, created_at) VALUES "
                               "(1, 'Web', 'api', '{}', true, :t), (2, 'Phone', 'manual', '{}', true, :t)"), {"t": times[0]})
    rows = [(n, 1 + n % 2, moment) for n, moment in enumerate(times * 2, start=1)]
    db.session.execute(sa.text(
        "INSERT INTO orders (id, channel_id, status, payment_status, segment, customer_name, currency, subtotal_cents, "
        "tax_cents, shipping_cents, total_cents, created_at, updated_at) VALUES "
        "(:id, :channel, 'draft', 'paid', 'draft', 'X', 'USD', 0, 0, 0, 0, :at, :at)"),
        [{"id": n, "channel": channel, "at": moment} for n, channel, moment in rows])
    # Order 1 (channel 2) shipped two parcels at 10:59:59.999999 and 11:00, the second one delivered since;
    # order 2's parcel was only packed.
    db.session.execute(sa.text(
        "INSERT INTO order_lines (id, order_id, sku, name, ordered, allocated, shipped, invoiced, unit_price_cents, "
        "tax_rate_bp) VALUES (1, 1, 'A', 'A', 9, 9, 5, 0, 100, 0), (2, 2, 'A', 'A', 1, 1, 0, 0, 100, 0)"))
    db.session.execute(sa.text(
        "INSERT INTO shipments (id, order_id, status, created_at, shipped_at) VALUES "
        "(1, 1, 'shipped', :a, :a), (2, 1, 'delivered', :b, :b), (3, 2, 'created', :b, NULL)"),
        {"a": datetime(2026, 11, 30, 10, 59, 59, 999_999), "b": datetime(2026, 11, 30, 11, 0)})
    db.session.execute(sa.text("INSERT INTO shipment_lines (id, shipment_id, order_line_id, quantity) VALUES "
                               "(1, 1, 1, 2), (2, 2, 1, 1), (3, 2, 1, 2), (4, 3, 2, 1)"))
    db.session.commit()

    upgrade()

    expected = Tally(((moment.replace(tzinfo=timezone.utc).timestamp() // 3600), channel) for _, channel, moment in rows)
    assert stored_counts() == {(int(h), c): n for (h, c), n in expected.items()}
    ten = (datetime(2026, 11, 30, 10) - datetime(1970, 1, 1)) // timedelta(hours=1)
    eleven = ten + 1
    shipped = {h: (p, u) for h, p, u in db.session.execute(
        sa.select(HourlyOrderCount.utc_hour, HourlyOrderCount.parcels_shipped, HourlyOrderCount.units_shipped)
        .where(HourlyOrderCount.parcels_shipped > 0))}
    assert shipped == {ten: (1, 2), eleven: (1, 3)}
    assert miscounted_hours() == []


# ------------------------------------------------------------------ the backorder index: open orders' lines only

def flags() -> dict[int, list[bool]]:
    found: dict[int, list[bool]] = {}
    for order_id, flag in db.session.execute(sa.select(OrderLine.order_id, OrderLine.order_open).order_by(OrderLine.id)):
        found.setdefault(order_id, []).append(flag)
    db.session.rollback()
    return found


def uses_backorder_index(query: sa.Select) -> bool:
    """Whether the database's plan for `query` reads ix_order_lines_backordered (PostgreSQL told to
    prefer an index where one serves: on a test's few rows it would rightly read the table)."""
    dialect = db.session.get_bind().dialect
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = db.session.execute(sa.text("EXPLAIN " + sql)).scalars().all()
    else:
        plan = [row[-1] for row in db.session.execute(sa.text("EXPLAIN QUERY PLAN " + sql))]
    db.session.rollback()
    return any("ix_order_lines_backordered" in step for step in plan)


def test_only_open_orders_lines_wait_for_stock_and_the_queries_walk_the_narrow_index(shop):
    shop.product("A")
    waiting = shop.web_order(("A", 2)).id
    draft = shop.draft(("A", 1)).id
    held = shop.web_order(("A", 1), ("NOPE", 1)).id
    voided = shop.web_order(("A", 3)).id
    orders.void_order(shop.admin, voided, "Customer changed their mind")
    assert flags() == {waiting: [True], draft: [False], held: [False, False], voided: [False]}

    orders.finalize_order(shop.staff, draft)
    shop.product("NOPE")
    orders.release_hold(shop.staff, held)
    assert flags() == {waiting: [True], draft: [True], held: [True, True], voided: [False]}
    assert check_invariants() == []

    product_id = shop.product_row("A").id
    assert uses_backorder_index(backordered_lines(product_id))
    overview_backorders = (sa.select(OrderLine.product_id, sa.func.sum(OrderLine.ordered - OrderLine.allocated))
                           .where(OrderLine.waits_for_stock()).group_by(OrderLine.product_id))
    assert uses_backorder_index(overview_backorders)

    inventory.receive_stock(shop.manager, product_id, 10, "delivery")
    assert check_invariants() == []
    assert [shop.line(o, "A").allocated for o in (waiting, draft, held, voided)] == [2, 1, 1, 0]


def test_check_stock_reports_a_line_whose_copy_of_its_orders_state_is_wrong(shop):
    shop.product("A")
    order = shop.web_order(("A", 2)).id
    with write_transaction():
        db.session.execute(sa.update(OrderLine).values(order_open=False))
    (violation,) = check_invariants()
    assert violation.where.startswith(f"order {order} line") and violation.found == "not open"


# ---------------------------------------------------------------- the figures kept while nothing changes

def test_the_figures_are_read_again_after_any_write_and_given_again_while_nothing_changed(app, shop):
    """On SQLite the figures are kept with the connection until a row changes: one written here (even
    before its commit), or a commit of any other connection, in this process or another."""
    import sqlite3

    shop.product("A", in_hand=1)
    shop.web_order(("A", 1))
    first = overview_figures()
    if db.engine.dialect.name != "sqlite":
        assert overview_figures() is not first  # no change stamp on PostgreSQL: read every time
        return
    assert overview_figures() is first and first.total == 1

    shop.web_order(("A", 1))  # written and committed here: backordered now
    written = overview_figures()
    assert written is not first and (written.total, written.backordered) == (2, [("A", "Product A", 1)])

    db.session.execute(sa.update(Order).where(Order.id == db.session.scalar(sa.select(sa.func.min(Order.id))))
                       .values(segment=Segment.VOID))  # not committed: the figures see this transaction's rows
    assert overview_figures() is not written
    db.session.rollback()

    again = overview_figures()
    assert overview_figures() is again
    other = sqlite3.connect(sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    try:  # another connection (a worker, another web process) commits a change
        other.execute("UPDATE segment_counts SET orders = orders + 5 WHERE segment = 'draft'")
        other.commit()
    finally:
        other.close()
    db.session.rollback()
    changed = overview_figures()
    assert changed is not again and changed.total == again.total + 5


def test_the_overview_poll_shows_an_order_placed_since_the_last_poll(app, shop):
    from tests.helpers.signing_in import signed_in

    shop.product("A", in_hand=5)
    shop.web_order(("A", 1))
    client = signed_in(app, shop.manager)
    before = client.get("/overview", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert client.get("/overview", headers={"HX-Request": "true"}).get_data(as_text=True) == before
    shop.web_order(("A", 1))
    after = client.get("/overview", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<span class="kpi">1</span> orders' in before and '<span class="kpi">2</span> orders' in after
