"""What a sales channel tells about an order it sent before: paid, cancelled, its lines' prices.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import Order, OrderEvent, OrderLine, OrderStatus, PaymentStatus, Product, User
from . import events
from .locking import lock_order, lock_orders
from .new_orders import LineRequest
from .order_rules import MAX_PRICE_CENTS, products_by_sku, refresh_order


@service
def record_channel_payment(actor: User | None, order_id: int, ship_to: dict[str, Any] | None = None) -> bool:
    """The channel reports paid an order that awaits payment here: mark it paid, and take the ship-to
    address the channel withholds until payment (when the order has none yet).

    Returns False, changing nothing, when the order is not a finalized order awaiting payment.
    """
    order = lock_order(order_id)
    if order.status is not OrderStatus.FINALIZED or order.payment_status is not PaymentStatus.PENDING:
        return False
    order.payment_status = PaymentStatus.PAID
    if ship_to and not order.ship_to:
        order.ship_to = ship_to
        order.bill_to = order.bill_to or ship_to
    events.paid_on_channel(order, actor)
    refresh_order(order)
    return True


@service
def record_channel_cancellation(actor: User | None, order_id: int, message: str) -> bool:
    """The channel reports cancelled an order imported here. Only an admin voids, with a reason, so the
    order is not voided: it is put on hold (Needs attention, with `message` as the reason), which stops
    it being shipped, and `message` goes on its timeline (event "channel_cancelled"). Its stock stays
    committed until it is voided; releasing the hold ships it after all.

    Returns False, changing nothing, when the order is no longer open or its timeline has that event already.
    """
    order = lock_orders([order_id]).get(order_id)
    if order is None or order.status not in (OrderStatus.DRAFT, OrderStatus.FINALIZED):
        return False
    if db.session.scalar(sa.select(OrderEvent.id).where(OrderEvent.order_id == order_id,
                                                        OrderEvent.kind == events.CHANNEL_CANCELLED).limit(1)):
        return False
    events.channel_cancelled(order, actor, message)
    if order.status is OrderStatus.FINALIZED and not order.hold_reason:
        order.hold_reason = message[:300]
        refresh_order(order)
    return True


def channel_price_changes(order: Order, requests: list[LineRequest],
                          products: dict[str, Product] | None = None) -> list[tuple[OrderLine, int]]:
    """The lines of a channel order whose unit price the channel now gives otherwise (an Amazon order
    still Pending comes without prices and took the catalogue's), each with the channel's price. A read.

    Empty once anything of the order is invoiced (an invoice's figures are final) or the order is
    closed. A line is matched by the channel's line id, else by its product (or unknown SKU) when that
    appears once in the order and once in what the channel sent. `products`: the channel's SKUs resolved
    already (products_by_sku), for a caller that looks at many orders.
    """
    if order.status not in (OrderStatus.DRAFT, OrderStatus.FINALIZED) or any(l.invoiced for l in order.lines):
        return []
    if all(r.unit_price_cents is None for r in requests):
        return []
    if products is None:
        products = products_by_sku(order.channel, {r.sku for r in requests})

    def sent_as(sku: str) -> tuple[str, Any]:
        product = products.get(sku)
        return ("product", product.id) if product else ("sku", sku)

    def held_as(line: OrderLine) -> tuple[str, Any]:
        return ("product", line.product_id) if line.product_id else ("sku", line.sku)

    by_line_id = {r.channel_line_id: r for r in requests if r.channel_line_id}
    sent = [sent_as(r.sku) for r in requests]
    by_product = {key: r for key, r in zip(sent, requests) if sent.count(key) == 1}
    held = [held_as(line) for line in order.lines]
    changes = []
    for line, key in zip(order.lines, held):
        request = by_line_id.get(line.channel_line_id) if line.channel_line_id in by_line_id \
            else by_product.get(key) if held.count(key) == 1 else None
        price = request.unit_price_cents if request else None
        if price is not None and 0 <= price <= MAX_PRICE_CENTS and price != line.unit_price_cents:
            changes.append((line, price))
    return changes


@service
def record_channel_prices(actor: User | None, order_id: int, requests: list[LineRequest]) -> bool:
    """A later delivery of a channel order gives its lines' prices (see channel_price_changes): the
    lines take them, the order's totals follow, and the timeline says what changed (event "repriced").

    Returns False, changing nothing, when no price changes (or the order is invoiced or closed).
    """
    order = lock_order(order_id)
    changes = channel_price_changes(order, requests)
    if not changes:
        return False
    moved = [{"sku": line.sku, "from_cents": line.unit_price_cents, "to_cents": price} for line, price in changes]
    for line, price in changes:
        line.unit_price_cents = price
    events.repriced(order, actor, moved)
    refresh_order(order)
    return True
