"""Return rates for the overview: units received back on returns over units shipped, by channel and by
product, over the orders placed in the last RATE_DAYS days (an index range on orders.created_at, so the
figure stays a bounded read however many orders the shop has kept)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Order, OrderLine, Product, SalesChannel, utcnow

RATE_DAYS = 90
TOP_PRODUCTS = 10


@dataclass(frozen=True)
class ReturnRate:
    name: str
    returned: int
    shipped: int

    @property
    def percent(self) -> float:
        return 100.0 * self.returned / self.shipped if self.shipped else 0.0


def _recent() -> sa.ColumnElement[bool]:
    return sa.and_(Order.created_at >= utcnow() - timedelta(days=RATE_DAYS), OrderLine.shipped > 0)


def by_channel() -> list[ReturnRate]:
    rows = db.session.execute(
        sa.select(SalesChannel.name, sa.func.sum(OrderLine.returned), sa.func.sum(OrderLine.shipped))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .join(SalesChannel, SalesChannel.id == Order.channel_id).where(_recent())
        .group_by(SalesChannel.name).order_by(SalesChannel.name))
    return [ReturnRate(name, int(returned or 0), int(shipped or 0)) for name, returned, shipped in rows]


def by_product(limit: int = TOP_PRODUCTS) -> list[ReturnRate]:
    """The products most returned (units), with their rate; products with no return are left out."""
    returned = sa.func.sum(OrderLine.returned)
    rows = db.session.execute(
        sa.select(Product.sku, returned, sa.func.sum(OrderLine.shipped))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id).where(_recent())
        .group_by(Product.sku).having(returned > 0).order_by(returned.desc(), Product.sku).limit(limit))
    return [ReturnRate(sku, int(units or 0), int(shipped or 0)) for sku, units, shipped in rows]
