"""Figures for the manager's overview, read straight from the database (no Flask request code)."""
from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

import sqlalchemy as sa

from ..extensions import db
from ..models import (HANDED_OVER, HourlyOrderCount, Order, OrderLine, Product, SalesChannel, Segment, Shipment,
                      ShipmentLine)
from .hourly_counts import first_hour_from, start_of_hour
from .segments import segment_counts

FINALIZED_SEGMENTS = (Segment.NEEDS_ATTENTION, Segment.AWAITING_PAYMENT, Segment.AWAITING_STOCK,
                      Segment.READY_TO_SHIP, Segment.PACKED, Segment.PARTIALLY_SHIPPED, Segment.IN_TRANSIT)
CHART_DAYS = 30


@dataclass
class ChannelSeries:
    name: str
    per_day: list[int]

    @property
    def total(self) -> int:
        return sum(self.per_day)


@dataclass
class OverviewFigures:
    segments: dict[Segment, int]
    by_status: dict[str, int]
    total: int
    shipped_today_parcels: int
    shipped_today_units: int
    backordered: list[tuple[str, str, int]]  # sku, name, units
    low_stock: list[sa.Row]  # id, sku, name, stock_available
    days: list[date]
    channels: list[ChannelSeries]
    late: int = 0  # open orders whose ship-by day is over (at most DUE_COUNT_CAP: "or more" from there)
    due_today: int = 0  # open orders to ship by the end of the shop's day

    @property
    def busiest_day(self) -> int:
        return max([sum(c.per_day[i] for c in self.channels) for i in range(len(self.days))] or [0]) or 1


# The overview's statements, built once: it polls every 5 s, and building a statement costs SQLAlchemy
# more than SQLite takes to run these.
_SHIPPED_SINCE = (
    sa.select(sa.func.coalesce(sa.func.sum(HourlyOrderCount.parcels_shipped), 0),
              sa.func.coalesce(sa.func.sum(HourlyOrderCount.units_shipped), 0))
    .where(HourlyOrderCount.utc_hour >= sa.bindparam("since")))
# Summed per product in the backorder index alone (it holds the numbers), then named.
_SHORT = (sa.select(OrderLine.product_id, sa.func.sum(OrderLine.ordered - OrderLine.allocated).label("units"))
          .where(OrderLine.waits_for_stock()).group_by(OrderLine.product_id).subquery())
_BACKORDERED = (sa.select(Product.sku, Product.name, _SHORT.c.units).join(_SHORT, _SHORT.c.product_id == Product.id)
                .order_by(_SHORT.c.units.desc(), Product.sku).limit(10))
_SHIPPED_BETWEEN = (
    sa.select(sa.func.count(sa.distinct(Shipment.id)), sa.func.coalesce(sa.func.sum(ShipmentLine.quantity), 0))
    .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
    .where(Shipment.shipped_at >= sa.bindparam("since"), Shipment.shipped_at < sa.bindparam("until"),
           Shipment.status.in_(HANDED_OVER)))


def _shipped_since(connection: sa.Connection, since: datetime) -> tuple[int, int]:
    """Parcels and units shipped since `since` (naive UTC): the whole hours from the hourly counts; in a
    zone off UTC by a part of an hour, the part before the first whole hour from the shipments."""
    first_hour = first_hour_from(since)
    parcels, units = connection.execute(_SHIPPED_SINCE, {"since": first_hour}).one()
    if start_of_hour(first_hour) > since:
        more_parcels, more_units = connection.execute(
            _SHIPPED_BETWEEN, {"since": since, "until": start_of_hour(first_hour)}).one()
        parcels, units = parcels + more_parcels, units + more_units
    return int(parcels), int(units)


# Open orders late and due today: ranges of the (segment, ship_by, id) index, one per work segment, counted
# in the index alone, and no further than DUE_COUNT_CAP (a shop with more late orders than that needs
# the number less than the list): the count's cost stays bounded however many orders there are.
DUE_COUNT_CAP = 10_000


def _capped_count(*conditions: sa.ColumnElement[bool], cap: int = DUE_COUNT_CAP) -> sa.Select:
    from .deadlines import WORK_SEGMENTS

    found = sa.select(Order.id).where(Order.segment.in_(WORK_SEGMENTS), *conditions).limit(cap).subquery()
    return sa.select(sa.func.count()).select_from(found)


_LATE = _capped_count(Order.ship_by < sa.bindparam("starts", type_=sa.DateTime()))
_DUE_TODAY = _capped_count(Order.ship_by >= sa.bindparam("starts", type_=sa.DateTime()),
                           Order.ship_by < sa.bindparam("ends", type_=sa.DateTime()))


def due_counts(today: date | None = None, zone: tzinfo = timezone.utc) -> tuple[int, int]:
    """(late, due today) of the open orders on the shop's day, each at most DUE_COUNT_CAP."""
    from .deadlines import ShopDay

    day = ShopDay.of(today, zone)
    connection = db.session.connection()
    return (connection.execute(_LATE, {"starts": day.starts}).scalar_one(),
            connection.execute(_DUE_TODAY, {"starts": day.starts, "ends": day.ends}).scalar_one())


_AVAILABLE = Product.stock_in_hand - Product.stock_committed
_LOW_STOCK = (sa.select(Product.id, Product.sku, Product.name, _AVAILABLE.label("stock_available"))
              .where(Product.is_low_stock).order_by(_AVAILABLE, Product.sku).limit(10))
_CHANNELS = sa.select(SalesChannel.id, SalesChannel.name).order_by(SalesChannel.id)


def overview_figures(today: date | None = None, zone: tzinfo = timezone.utc) -> OverviewFigures:
    """The manager's figures; "today" and the chart's days are the shop's (`zone`), the database's times UTC.

    The figures are a function of the database and the shop's day alone. On SQLite they are kept with the
    connection and given again while nothing has been written since (see _unchanged_stamp): the overview
    polls every 5 s, and a shop's database is often still between two polls. Any write, by any process,
    is a new reading."""
    today = today or datetime.now(zone).date()
    db.session.flush()  # this session's own pending changes are rows written, as a read would see them
    connection = db.session.connection()
    stamp = _unchanged_stamp(connection)
    if stamp is None:
        return _read_figures(connection, today, zone)
    key = (stamp, today, zone)
    kept = connection.info.get(_KEPT)
    if kept is not None and kept[0] == key:
        return kept[1]
    figures = _read_figures(connection, today, zone)
    connection.info[_KEPT] = (key, figures)
    return figures


_KEPT = "oms_overview_figures"


def _unchanged_stamp(connection: sa.Connection) -> tuple[int, int] | None:
    """A value that stays the same while this connection's database is unchanged, or None where the
    database has none (PostgreSQL: the figures are read every time).

    SQLite's data_version moves with every commit of any other connection, in any process; the
    connection's total_changes with every row it wrote itself (committed or not, triggers included)."""
    raw = connection.connection.driver_connection
    if not isinstance(raw, sqlite3.Connection):
        return None
    return raw.execute("PRAGMA data_version").fetchone()[0], raw.total_changes


def _read_figures(connection: sa.Connection, today: date, zone: tzinfo) -> OverviewFigures:
    segments = segment_counts()
    by_status = {"Draft": segments[Segment.DRAFT], "Finalized": sum(segments[s] for s in FINALIZED_SEGMENTS),
                 "Fulfilled": segments[Segment.FULFILLED], "Void": segments[Segment.VOID]}
    # plain rows on `connection`: the ORM's layer would cost more than the queries
    parcels, units = _shipped_since(connection, utc_start_of(today, zone))
    backordered = connection.execute(_BACKORDERED).all()
    low_stock = connection.execute(_LOW_STOCK).all()
    days = [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
    per_channel = orders_per_day(days, zone)
    channels = [ChannelSeries(name, per_channel.get(channel_id, [0] * CHART_DAYS))
                for channel_id, name in connection.execute(_CHANNELS)]
    late, due_today = due_counts(today, zone)
    return OverviewFigures(segments=segments, by_status=by_status, total=sum(segments.values()),
                           shipped_today_parcels=parcels, shipped_today_units=units,
                           backordered=[(r[0], r[1], int(r[2])) for r in backordered], low_stock=list(low_stock),
                           days=days, channels=channels, late=late, due_today=due_today)


def utc_start_of(day: date, zone: tzinfo) -> datetime:
    """Midnight of the shop's `day`, as the database's naive UTC time."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


def _orders_per_day_statement(days: int) -> sa.TextClause:
    # The day of an hour is the number of the days' first hours it has reached; one statement text for
    # any zone, its first hours bound as values.
    day = ("CASE " + " ".join(f"WHEN utc_hour < :h{i} THEN {i - 1}" for i in range(1, days)) + f" ELSE {days - 1} END"
           if days > 1 else "0")
    return sa.text(f"SELECT channel_id, {day} AS day, SUM(orders) FROM {HourlyOrderCount.__tablename__} "
                   f"WHERE utc_hour >= :h0 AND utc_hour < :h{days} GROUP BY channel_id, day")


_ORDERS_PER_DAY = {CHART_DAYS: _orders_per_day_statement(CHART_DAYS)}


def orders_per_day(days: list[date], zone: tzinfo) -> dict[int, list[int]]:
    """Orders per channel on each of the shop's consecutive `days`, from the hourly counters.

    An hour counts on the shop's day its start falls on (a zone half an hour off UTC puts half an
    hour's orders on the neighbouring day). The database sums the hours between the days' first
    hours, so a month costs a few thousand counter rows read in SQLite, whatever the number of orders."""
    statement = _ORDERS_PER_DAY.get(len(days))
    if statement is None:
        statement = _orders_per_day_statement(len(days))
    per_channel: dict[int, list[int]] = {}
    for channel_id, index, n in db.session.connection().execute(statement, _first_hours(days[0], len(days), zone)):
        per_channel.setdefault(channel_id, [0] * len(days))[index] = int(n)
    return per_channel


@functools.lru_cache(maxsize=64)
def _first_hours(first_day: date, days: int, zone: tzinfo) -> dict[str, int]:
    """The first hour of each day and of the day after, as bound values (the same all day: remembered)."""
    return {f"h{i}": first_hour_from(utc_start_of(first_day + timedelta(days=i), zone)) for i in range(days + 1)}
