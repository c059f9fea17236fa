"""The rules every order action shares: the limits of a line, who may act, the checks of a
quantity and a price, an order's figures after a change, and allocating with its timeline entry.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import Order, OrderStatus, Product, Role, SalesChannel, User, utcnow
from . import events, money, stock
from .errors import InvalidInput, NotAllowed, NotFound
from .segments import is_complete, segment_of, set_segment

# The most units of one order line, on every form, feed and service (stock has its own: inventory.MAX_STOCK_QUANTITY).
MAX_LINE_QUANTITY = 100_000
MAX_NOTE_LENGTH = 2_000
# OrderLine.unit_price_cents is a 32-bit INTEGER on PostgreSQL; no real price or shipping charge comes
# near it, and a total of 100,000 units at it still fits the 64-bit totals.
MAX_PRICE_CENTS = 2**31 - 1


def require_role(actor: User | None, role: Role, action: str) -> None:
    if actor is None or not actor.has_role(role):
        raise NotAllowed(f"Only a{'n' if role is Role.ADMIN else ''} {role.value} may {action}")


def check_quantity(value: Any, *, field_name: str = "quantity", allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("Quantity must be a whole number", field=field_name)
    low = 0 if allow_zero else 1
    if value < low:
        raise InvalidInput(f"Quantity must be {'zero or more' if allow_zero else 'at least 1'}", field=field_name)
    if value > MAX_LINE_QUANTITY:
        raise InvalidInput(f"Quantity is too large: at most {MAX_LINE_QUANTITY:,}", field=field_name)
    return value


def check_price(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("Unit price must be zero or more, in cents", field="unit_price")
    if value > MAX_PRICE_CENTS:
        raise InvalidInput(f"Unit price must be at most {MAX_PRICE_CENTS:,} cents", field="unit_price")
    return value


def refresh_order(order: Order) -> None:
    """Recompute what follows from the lines: totals, Fulfilled once complete, and the board segment."""
    figures = money.order_totals(order)
    order.subtotal_cents, order.discount_cents = figures.subtotal_cents, figures.discount_cents
    order.tax_cents, order.total_cents = figures.tax_cents, figures.total_cents
    if is_complete(order):
        order.status = OrderStatus.FULFILLED
        order.fulfilled_at = utcnow()
    set_segment(order, segment_of(order))


def get_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    return order


def default_tax_rate_bp() -> int:
    from flask import current_app, has_app_context  # configuration only; no request state

    return int(current_app.config.get("OMS_DEFAULT_TAX_RATE_BP", 0)) if has_app_context() else 0


def tax_rate_of(product: Product | None) -> int:
    if product is not None and product.tax_rate_bp is not None:
        return product.tax_rate_bp
    return default_tax_rate_bp()


def products_by_sku(channel: SalesChannel | None, skus: set[str]) -> dict[str, Product]:
    """Resolve SKUs to products, through the channel's SKU mapping first."""
    sku_map: dict[str, str] = (channel.settings or {}).get("sku_map", {}) if channel else {}
    wanted = {sku: sku_map.get(sku, sku) for sku in skus}
    found = {p.sku: p for p in db.session.scalars(sa.select(Product).where(Product.sku.in_(set(wanted.values()))))}
    return {sku: found[ours] for sku, ours in wanted.items() if ours in found}


def allocate_and_describe(order: Order, actor: User | None) -> int:
    taken = stock.allocate_order(order, actor)
    backordered = sum(l.backordered for l in order.lines)
    if taken or backordered:
        events.allocated(order, actor, taken, backordered)
    if any(line.drop_ship for line in order.lines):
        from .purchasing import add_to_drop_ship_po  # purchasing builds on these rules

        add_to_drop_ship_po(order, actor)
    return taken


def fill_backorders_and_refresh(product_ids: set[int], actor: User | None) -> None:
    """Units were freed: give them to the oldest backorders, and refresh the orders that got some."""
    for product_id in sorted(product_ids):
        for line in stock.fill_backorders(product_id, actor):
            order = line.order
            events.allocated_from_freed(order, actor, line)
            refresh_order(order)
