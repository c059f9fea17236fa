"""Figures for the manager's overview, read straight from the database (no Flask request code)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

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


def overview_figures(today: date | None = None) -> OverviewFigures:
    today = today or datetime.utcnow().date()
    segments = segment_counts()
    by_status = {"Draft": segments[Segment.DRAFT], "Finalized": sum(segments[s] for s in FINALIZED_SEGMENTS),
                 "Fulfilled": segments[Segment.FULFILLED], "Void": segments[Segment.VOID]}
    start_of_day = datetime.combine(today, time.min)
    parcels, units = db.session.execute(
        sa.select(sa.func.count(sa.distinct(Shipment.id)), sa.func.coalesce(sa.func.sum(ShipmentLine.quantity), 0))
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(Shipment.shipped_at >= start_of_day, Shipment.status != ShipmentStatus.CREATED)).one()
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
    day = sa.func.date(Order.created_at)
    counts = db.session.execute(
        sa.select(day, Order.channel_id, sa.func.count())
        .where(Order.created_at >= datetime.combine(days[0], time.min)).group_by(day, Order.channel_id)).all()
    index = {d.isoformat(): i for i, d in enumerate(days)}
    channels = []
    for channel in db.session.scalars(sa.select(SalesChannel).order_by(SalesChannel.id)):
        per_day = [0] * CHART_DAYS
        for when, channel_id, n in counts:
            key = when.isoformat() if isinstance(when, date) else str(when)[:10]
            if channel_id == channel.id and key in index:
                per_day[index[key]] = n
        channels.append(ChannelSeries(channel.name, per_day))
    return OverviewFigures(segments=segments, by_status=by_status, total=sum(segments.values()),
                           shipped_today_parcels=parcels, shipped_today_units=int(units),
                           backordered=[(r[0], r[1], int(r[2])) for r in backordered], low_stock=list(low_stock),
                           days=days, channels=channels)
