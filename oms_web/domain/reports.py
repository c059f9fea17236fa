"""Figures for the manager's overview, read straight from the database (no Flask request code)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

import sqlalchemy as sa

from ..extensions import db
from ..models import (HourlyOrderCount, OrderLine, Product, SalesChannel, Segment, Shipment, ShipmentLine,
                      ShipmentStatus)
from .hourly_counts import first_hour_from
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
        .join(OrderLine, OrderLine.product_id == Product.id).where(OrderLine.waits_for_stock())
        .group_by(Product.sku, Product.name).order_by(sa.desc("units")).limit(10)).all()
    low_stock = db.session.scalars(
        sa.select(Product).where(Product.active, Product.stock_in_hand - Product.stock_committed <= Product.reorder_point)
        .order_by(Product.stock_in_hand - Product.stock_committed, Product.sku).limit(10)).all()
    days = [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
    per_channel = orders_per_day(days, zone)
    channels = [ChannelSeries(channel.name, per_channel.get(channel.id, [0] * CHART_DAYS))
                for channel in db.session.scalars(sa.select(SalesChannel).order_by(SalesChannel.id))]
    return OverviewFigures(segments=segments, by_status=by_status, total=sum(segments.values()),
                           shipped_today_parcels=parcels, shipped_today_units=int(units),
                           backordered=[(r[0], r[1], int(r[2])) for r in backordered], low_stock=list(low_stock),
                           days=days, channels=channels)


def utc_start_of(day: date, zone: tzinfo) -> datetime:
    """Midnight of the shop's `day`, as the database's naive UTC time."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


def orders_per_day(days: list[date], zone: tzinfo) -> dict[int, list[int]]:
    """Orders per channel on each of the shop's consecutive `days`, from the hourly counters.

    An hour counts on the shop's day its start falls on (a zone half an hour off UTC puts half an
    hour's orders on the neighbouring day). The database sums the hours between the days' first
    hours, so a month costs a few hundred counter rows, whatever the number of orders."""
    first_hours = [first_hour_from(utc_start_of(day, zone)) for day in [*days, days[-1] + timedelta(days=1)]]
    hour = HourlyOrderCount.utc_hour
    day = sa.case(*[(hour < first, i) for i, first in enumerate(first_hours[1:-1])], else_=len(days) - 1)
    per_channel: dict[int, list[int]] = {}
    for channel_id, index, n in db.session.execute(
            sa.select(HourlyOrderCount.channel_id, day, sa.func.sum(HourlyOrderCount.orders))
            .where(hour >= first_hours[0], hour < first_hours[-1]).group_by(HourlyOrderCount.channel_id, day)):
        per_channel.setdefault(channel_id, [0] * len(days))[index] += int(n)
    return per_channel
