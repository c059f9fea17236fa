"""Demo data on request (`flask --app oms_web seed-demo`): logins, channels, a catalogue, customers, and
orders in every board segment, spread over the last 90 days.

The history (all but the last few orders) is simulated and written in bulk by `history`, fast enough
for a million orders; today's orders then go through the real services (`today`), so the newest
timelines are exactly what the app itself writes. Either way check-stock passes afterwards.
Running it again appends more orders.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable

import sqlalchemy as sa

from ..database import write_transaction
from ..domain import stock
from ..domain.catalog import ProductDetails, create_product, gtin_check_digit
from ..domain.invoicing import INVOICE_COUNTER
from ..domain.hourly_counts import recount_hourly_counts
from ..domain.orders import default_tax_rate_bp
from ..extensions import db
from ..models import Counter, LocationStock, Order, Product, SalesChannel, Segment, User, utcnow
from ..domain.segments import segment_counts, segment_of, set_open_flags
from . import catalogue
from .history import Actors, Channel, History, SimProduct, expected_daily_demand
from .back_office import seed_back_office
from .today import seed_today

Echo = Callable[[str], object]


def seed_demo_data(order_count: int, *, if_empty: bool, echo: Echo) -> None:
    """Create the demo logins, channels and products (those missing), then `order_count` orders.

    With `if_empty`, a database that already holds orders is left as it is.
    """
    if if_empty and db.session.scalar(sa.select(Order.id).limit(1)) is not None:
        echo("The database already holds orders: no demo data added.")
        _echo_logins(echo)
        return
    users, channels = ensure_demo_shop(order_count)
    today = todays_share(order_count)
    started = time.perf_counter()
    rows = seed_history(order_count - today, users=users, channels=channels)
    if order_count > today:
        echo(f"History: {order_count - today:,} orders over the last 90 days ({rows:,} rows) "
             f"in {time.perf_counter() - started:.1f} s.")
    if today:
        started = time.perf_counter()
        seed_today(today, users=users, channels=channels, rng=random.Random(order_count))
        echo(f"Today: {today:,} orders through the services in {time.perf_counter() - started:.1f} s.")
        for line in seed_back_office(users, random.Random(order_count)):
            echo(f"Back office: {line}.")
    counts = segment_counts()
    echo("Orders per segment: " + ", ".join(f"{s.label.lower()} {counts[s]:,}" for s in Segment))
    _echo_logins(echo)


def ensure_demo_shop(order_count: int) -> tuple[dict[str, User], list[SalesChannel]]:
    """The demo logins (by role), the four sales channels and the catalogue, each created if missing."""
    users = _ensure_users()
    channels = _ensure_channels()
    _ensure_products(order_count)
    return users, channels


def todays_share(order_count: int) -> int:
    """How many of the newest orders go through the services: at least one of each segment."""
    return min(order_count, max(30, min(60, order_count // 100)))


def seed_history(count: int, *, users: dict[str, User], channels: list[SalesChannel],
                 seed: int | None = None) -> int:
    """Simulate and write `count` orders over the last 90 days, in one transaction. Returns the rows written."""
    actors = Actors(admin=users["admin"].id, manager=users["manager"].id, staff=users["staff"].id)
    sim_channels = [Channel(c.id, c.name, c.kind, share, c.handling_days)
                    for c, (_, _, share) in zip(channels, catalogue.CHANNELS)]
    with write_transaction():
        connection = db.session.connection()
        dialect = connection.dialect.name
        if dialect == "postgresql":
            # Rows are written with explicit ids: keep other writers out until the sequences are moved on.
            connection.execute(sa.text(
                "LOCK TABLE products, customers, addresses, orders, order_lines, shipments, shipment_lines, "
                "invoices, invoice_lines, stock_ledger, order_events, counters, segment_counts, "
                "location_stock, line_allocations, "
                "hourly_order_counts IN EXCLUSIVE MODE"))
        else:
            # A big page cache while the indexes grow: fewer pages spill into the WAL mid-transaction.
            connection.exec_driver_sql("PRAGMA cache_size = -1048576")  # 1 GiB
        try:
            existing = connection.scalar(sa.select(sa.func.count()).select_from(Order)) or 0
            rng = random.Random(seed if seed is not None else 20_261_126 + existing)
            products = _sim_products(default_tax_rate_bp())
            invoice_number = db.session.scalar(
                sa.select(Counter.value).where(Counter.name == INVOICE_COUNTER)) or 0
            location_id = stock.default_location_id()
            history = History(connection, rng=rng, now=utcnow(), actors=actors, channels=sim_channels,
                              products=products, default_tax_bp=default_tax_rate_bp(), location_id=location_id)
            result = history.run(count, invoice_number=invoice_number)
            _place_at(location_id)
            db.session.execute(sa.update(Counter).where(Counter.name == INVOICE_COUNTER)
                               .values(value=result.invoices))
            _refresh_segments(result.legacy_orders)
            set_open_flags()
            _recount_segments()
            recount_hourly_counts()  # the history's orders bypassed the services that keep them
        finally:
            if dialect == "sqlite":
                connection.exec_driver_sql("PRAGMA cache_size = -2000")  # SQLite's default again
    # Fresh statistics, so that the planners see the new row counts. Not sampled (analysis_limit):
    # SQLite's sampled estimates made it sort the whole table for the board's all-orders page.
    if dialect == "postgresql":
        # VACUUM as well: it sets the rows' hint bits and the visibility map now, where otherwise the
        # first reads of each page would (writing as they read), and autovacuum would set upon the
        # new rows in the middle of the first users' work.
        db.session.commit()
        with db.engine.connect() as autocommit:
            autocommit.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM (ANALYZE)")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return result.rows


def _place_at(location_id: int) -> None:
    """The history's stock and allocations are the default location's (it simulates one): its stock
    is what its ledger rows add up to, and each line's allocation there what the line has beyond its
    allocations elsewhere."""
    params = {"site": location_id}
    db.session.execute(sa.text("DELETE FROM location_stock WHERE location_id = :site"), params)
    db.session.execute(sa.text(
        "INSERT INTO location_stock (product_id, location_id, in_hand, committed)"
        " SELECT product_id, :site, SUM(in_hand_delta), SUM(committed_delta) FROM stock_ledger"
        " WHERE location_id = :site GROUP BY product_id"), params)
    db.session.execute(sa.text("DELETE FROM line_allocations WHERE location_id = :site"), params)
    db.session.execute(sa.text(
        "INSERT INTO line_allocations (order_line_id, location_id, allocated, shipped)"
        " SELECT l.id, :site, l.allocated - COALESCE(o.allocated, 0), l.shipped - COALESCE(o.shipped, 0)"
        " FROM order_lines l LEFT JOIN (SELECT order_line_id, SUM(allocated) AS allocated, SUM(shipped) AS shipped"
        " FROM line_allocations GROUP BY order_line_id) o ON o.order_line_id = l.id"
        " WHERE l.allocated - COALESCE(o.allocated, 0) > 0"), params)


def _refresh_segments(order_ids: set[int]) -> None:
    """Older orders whose backorders the new stock filled: store their new segment."""
    ids = sorted(order_ids)
    for start in range(0, len(ids), 500):
        orders = db.session.scalars(
            sa.select(Order).where(Order.id.in_(ids[start:start + 500]))
            .options(sa.orm.selectinload(Order.lines), sa.orm.selectinload(Order.shipments))
            .execution_options(populate_existing=True)).all()
        for order in orders:
            order.segment = segment_of(order)
    db.session.flush()


def _recount_segments() -> None:
    db.session.execute(sa.text(
        "UPDATE segment_counts SET orders = "
        "(SELECT COUNT(*) FROM orders WHERE orders.segment = segment_counts.segment)"))


def _ensure_users() -> dict[str, User]:
    users = {}
    for email, name, role, password in catalogue.DEMO_USERS:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=name, role=role, active=True)
            user.set_password(password)
            db.session.add(user)
        users[role.value] = user
    db.session.commit()
    return users


def _ensure_channels() -> list[SalesChannel]:
    channels = []
    for name, kind, _share in catalogue.CHANNELS:
        channel = db.session.scalar(sa.select(SalesChannel).where(SalesChannel.name == name))
        if channel is None:
            days, carrier, service_level = catalogue.CHANNEL_SHIPPING.get(name, (2, None, None))
            channel = SalesChannel(name=name, kind=kind, settings={}, handling_days=days,
                                   default_carrier=carrier, default_service=service_level)
            db.session.add(channel)
        channels.append(channel)
    db.session.commit()
    return channels


def _ensure_products(order_count: int) -> None:
    """Add the catalogue's missing products, with no stock: the history receives their opening stock."""
    demand = expected_daily_demand(max(order_count - todays_share(order_count), 1))
    existing = set(db.session.scalars(sa.select(Product.sku)))
    for index, demo in enumerate(catalogue.PRODUCTS):
        if demo.sku in existing:
            continue
        create_product(None, demo.sku, ProductDetails(
            name=demo.name, price_cents=demo.price_cents, weight_grams=demo.weight_grams,
            tax_rate_bp=demo.tax_rate_bp, reorder_point=max(2, round(demand[demo.sku] * 7)),
            bin_location=f"{'ABCDEF'[index // 10]}-{index % 10 + 1:02d}-{index % 3 + 1}",
            barcode=demo_barcode(index)))


def demo_barcode(index: int) -> str:
    """An EAN-13 for the catalogue's product at `index`: prefix 200 is GS1's range for a shop's own
    numbering, so no real product carries it; the pack station scans it."""
    body = f"200{index:09d}"
    return body + str(gtin_check_digit(body))


def _sim_products(default_tax_bp: int) -> list[SimProduct]:
    demos = {d.sku: d for d in catalogue.PRODUCTS}
    rows = db.session.scalars(sa.select(Product).where(Product.sku.in_(demos)).order_by(Product.id)
                              .execution_options(populate_existing=True)).all()
    # The history simulates the default location: its stock there, whatever other locations hold.
    site = stock.default_location_id()
    at_site = {product_id: (in_hand, committed) for product_id, in_hand, committed in db.session.execute(
        sa.select(LocationStock.product_id, LocationStock.in_hand, LocationStock.committed)
        .where(LocationStock.location_id == site))}
    return [SimProduct(id=p.id, sku=p.sku, name=p.name, price_cents=p.price_cents,
                       tax_rate_bp=p.tax_rate_bp if p.tax_rate_bp is not None else default_tax_bp,
                       demo=demos[p.sku], in_hand=at_site.get(p.id, (0, 0))[0], committed=at_site.get(p.id, (0, 0))[1])
            for p in rows]


def _echo_logins(echo: Echo) -> None:
    echo(f"Demo logins (demo data only; change them before anyone else can reach this) at {catalogue.DEMO_URL}")
    for email, _name, role, password in catalogue.DEMO_USERS:
        echo(f"  {role.value:<8} {email:<22} password: {password}")

