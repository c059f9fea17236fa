"""Figures for the manager's overview, read straight from the database (no Flask request code)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from ..extensions import db
from ..models import (Order, OrderLine, OrderStatus, Product, SalesChannel, Segment, Shipment, ShipmentLine,
                      ShipmentStatus)
from .segments import segment_counts

FINALIZED_SEGMENTS = (Segment.NEEDS_ATTENTION, Segment.AWAITING_PAYMENT, Segment.AWAITING_STOCK,
                      Segment.READY_TO_SHIP, Segment.PARTIALLY_SHIPPED, Segment.IN_TRANSIT)
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
    low_stock: list[Product]
    days: list[date]
    channels: list[ChannelSeries]

    @property
    def busiest_day(self) -> int:
        return max([sum(c.per_day[i] for c in self.channels) for i in range(len(self.days))] or [0]) or 1


def overview_figures(today: date | None = None, zone: tzinfo = timezone.utc) -> OverviewFigures:
    """The manager's figures; "today" and the chart's days are the shop's (`zone`), the database's times UTC."""
    today = today or datetime.now(zone).date()
    segments = segment_counts()
    by_status = {"Draft": segments[Segment.DRAFT], "Finalized": sum(segments[s] for s in FINALIZED_SEGMENTS),
                 "Fulfilled": segments[Segment.FULFILLED], "Void": segments[Segment.VOID]}
    parcels, units = db.session.execute(
        sa.select(sa.func.count(sa.distinct(Shipment.id)), sa.func.coalesce(sa.func.sum(ShipmentLine.quantity), 0))
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(Shipment.shipped_at >= utc_start_of(today, zone), Shipment.status != ShipmentStatus.CREATED)).one()
    backordered = db.session.execute(
        sa.select(Product.sku, Product.name, sa.func.sum(OrderLine.ordered - OrderLine.allocated).label("units"))
        .join(OrderLine, OrderLine.product_id == Product.id).join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.allocated < OrderLine.ordered, Order.status == OrderStatus.FINALIZED,
               Order.hold_reason.is_(None))
        .group_by(Product.sku, Product.name).order_by(sa.desc("units")).limit(10)).all()
    low_stock = db.session.scalars(
        sa.select(Product).where(Product.active, Product.stock_in_hand - Product.stock_committed <= Product.reorder_point)
        .order_by(Product.stock_in_hand - Product.stock_committed, Product.sku).limit(10)).all()
    days = [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
    index = {d: i for i, d in enumerate(days)}
    per_channel: dict[int, list[int]] = {}
    # Counted per UTC hour by the database, then put on the shop's days here (a zone half an hour off
    # UTC puts half an hour's orders on the neighbouring day).
    for hour, channel_id, n in db.session.execute(
            sa.select(_utc_hour(Order.created_at).label("hour"), Order.channel_id, sa.func.count())
            .where(Order.created_at >= utc_start_of(days[0], zone)).group_by("hour", Order.channel_id)):
        local_day = datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=timezone.utc).astimezone(zone).date()
        if local_day in index:
            per_channel.setdefault(channel_id, [0] * CHART_DAYS)[index[local_day]] += n
    channels = [ChannelSeries(channel.name, per_channel.get(channel.id, [0] * CHART_DAYS))
                for channel in db.session.scalars(sa.select(SalesChannel).order_by(SalesChannel.id))]
    return OverviewFigures(segments=segments, by_status=by_status, total=sum(segments.values()),
                           shipped_today_parcels=parcels, shipped_today_units=int(units),
                           backordered=[(r[0], r[1], int(r[2])) for r in backordered], low_stock=list(low_stock),
                           days=days, channels=channels)


def utc_start_of(day: date, zone: tzinfo) -> datetime:
    """Midnight of the shop's `day`, as the database's naive UTC time."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


class _utc_hour(sa.sql.functions.FunctionElement):
    """'YYYY-MM-DD HH' of a timestamp column, in SQLite's words or PostgreSQL's."""

    type = sa.String()
    inherit_cache = True


@compiles(_utc_hour, "sqlite")
def _utc_hour_sqlite(element, compiler, **kw) -> str:
    return f"strftime('%Y-%m-%d %H', {compiler.process(element.clauses, **kw)})"


@compiles(_utc_hour, "postgresql")
def _utc_hour_postgresql(element, compiler, **kw) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD HH24')"
