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
    """Products with available units while a finalized, not-held line of theirs is still backordered.

    Receiving, an upward count, a void or a cut hand the freed units to the backorders at once, and an
    order takes what is available when it is finalized: available stock and a waiting line never meet.
    """
    stock = stock_by_sku() if stock is None else stock
    return [f"{sku}: {available} available while {short} unit(s) are backordered"
            for sku, (_, available, short) in stock.items() if available > 0 and short > 0]
