"""Stock checks the concurrency and property tests share, beyond domain.invariants.check_invariants()."""
from __future__ import annotations

import sqlalchemy as sa

from oms_web.extensions import db
from oms_web.models import Order, OrderLine, OrderStatus, Product

_SHORT = (sa.select(OrderLine.product_id, sa.func.sum(OrderLine.ordered - OrderLine.allocated).label("units"))
          .join(Order, Order.id == OrderLine.order_id)
          .where(OrderLine.allocated < OrderLine.ordered, Order.status == OrderStatus.FINALIZED,
                 Order.hold_reason.is_(None))
          .group_by(OrderLine.product_id).subquery())
_STOCK = (sa.select(Product.sku, Product.stock_in_hand, Product.stock_in_hand - Product.stock_committed,
                    sa.func.coalesce(_SHORT.c.units, 0))
          .outerjoin(_SHORT, _SHORT.c.product_id == Product.id).order_by(Product.id))


def stock_by_sku() -> dict[str, tuple[int, int, int]]:
    """Each product's (in hand, available, backordered on finalized orders that are not held)."""
    return {sku: (in_hand, available, short) for sku, in_hand, available, short in db.session.execute(_STOCK)}


def idle_stock_beside_backorders(stock: dict[str, tuple[int, int, int]] | None = None) -> list[str]:
    """Backordered lines (finalized, not held) of a product with units available at a location their
    order's channel may take from.

    Receiving, an upward count, a void or a cut hand the freed units to the backorders at once, and an
    order takes what is available when it is finalized: available stock and a waiting line never meet.
    (`stock` is accepted for the callers that read stock_by_sku already; the check reads per location.)
    """
    from oms_web.domain import stock as stock_core

    short = db.session.execute(
        sa.select(OrderLine.product_id, Order.channel_id, sa.func.sum(OrderLine.ordered - OrderLine.allocated))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.allocated < OrderLine.ordered, OrderLine.product_id.is_not(None),
               Order.status == OrderStatus.FINALIZED, Order.hold_reason.is_(None))
        .group_by(OrderLine.product_id, Order.channel_id)).all()
    available = stock_core.available_at({product_id for product_id, _, _ in short})
    found = []
    for product_id, channel_id, units in short:
        for site in stock_core.sites_for(channel_id):
            if available.get((product_id, site), 0) > 0:
                found.append(f"product {product_id}: {available[(product_id, site)]} available at location {site} "
                             f"while {units} unit(s) of channel {channel_id} are backordered")
    return found
