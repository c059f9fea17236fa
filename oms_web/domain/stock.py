"""The stock rules, all of them: allocating, backordering, releasing, shipping, receiving, adjusting.

A product has `stock_in_hand` (physically there) and `stock_committed` (allocated to open orders, not
yet shipped); available = in hand - committed. Every change to either is one guarded UPDATE done by
the database's arithmetic (never read-modify-write in Python) and one row in the stock ledger.
The callers hold the row locks of domain.locking and run inside a write transaction.
"""
from __future__ import annotations

import sqlalchemy as sa

from .. import metrics
from ..extensions import db
from ..models import Order, OrderLine, Product, StockMove, User
from .errors import InvalidInput
from .locking import allocations_newest_first, backordered_lines


class StockRaceLost(RuntimeError):
    """A guarded update found the counts changed under it: a locking bug, never a user error."""


def _move(product_id: int, *, in_hand: int = 0, committed: int = 0, reason: str, actor: User | None,
          order_id: int | None = None, shipment_id: int | None = None, note: str | None = None) -> None:
    result = db.session.execute(
        sa.update(Product)
        .where(Product.id == product_id,
               Product.stock_committed + committed >= 0,
               Product.stock_committed + committed <= Product.stock_in_hand + in_hand)
        .values(stock_in_hand=Product.stock_in_hand + in_hand, stock_committed=Product.stock_committed + committed)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise StockRaceLost(f"stock of product {product_id} changed under a locked update ({reason})")
    db.session.add(StockMove(product_id=product_id, in_hand_delta=in_hand, committed_delta=committed,
                             reason=reason, note=note, order_id=order_id, shipment_id=shipment_id,
                             user_id=actor.id if actor else None))
    metrics.STOCK_MOVES.labels(reason).inc()
    product = db.session.get(Product, product_id)
    if product is not None:
        db.session.expire(product, ["stock_in_hand", "stock_committed"])


def available(product_id: int) -> int:
    return db.session.execute(
        sa.select(Product.stock_in_hand - Product.stock_committed).where(Product.id == product_id)).scalar_one()


def allocate_line(line: OrderLine, actor: User | None) -> int:
    """Commit min(still needed, available) units to the line; the rest stays backordered. Returns units taken."""
    if line.product_id is None:
        return 0
    take = min(line.ordered - line.allocated, available(line.product_id))
    if take <= 0:
        return 0
    _move(line.product_id, committed=take, reason="allocate", actor=actor, order_id=line.order_id)
    line.allocated = line.allocated + take
    return take


def allocate_order(order: Order, actor: User | None) -> int:
    return sum(allocate_line(line, actor) for line in order.lines)


def release_line(line: OrderLine, actor: User | None, *, keep: int = 0) -> int:
    """Give back the line's allocated-but-unshipped units beyond `keep`. Returns units released."""
    if line.product_id is None:
        return 0
    units = max(line.allocated - line.shipped - keep, 0)
    if units:
        _move(line.product_id, committed=-units, reason="release", actor=actor, order_id=line.order_id)
        line.allocated = line.allocated - units
    return units


def ship_units(line: OrderLine, quantity: int, actor: User | None, shipment_id: int) -> None:
    """Units leave the building: in hand and committed both drop, the line's shipped count rises."""
    assert line.product_id is not None and 0 < quantity <= line.allocated - line.shipped
    _move(line.product_id, in_hand=-quantity, committed=-quantity, reason="ship", actor=actor,
          order_id=line.order_id, shipment_id=shipment_id)
    line.shipped = line.shipped + quantity


def unship_units(line: OrderLine, quantity: int, actor: User | None, shipment_id: int) -> None:
    """A packed parcel is unpacked (its shipment cancelled): the units are back on the shelf, still
    allocated to the line; in hand and committed both rise, the line's shipped count drops."""
    assert line.product_id is not None and 0 < quantity <= line.shipped
    _move(line.product_id, in_hand=quantity, committed=quantity, reason="unpack", actor=actor,
          order_id=line.order_id, shipment_id=shipment_id)
    line.shipped = line.shipped - quantity


def fill_backorders(product_id: int, actor: User | None) -> list[OrderLine]:
    """Allocate what is available to the product's backordered lines, oldest finalized first.

    The orders touched must already be locked (locking.lock_for_stock_change / lock_order).
    Returns the lines that received units, for the callers to refresh their orders.
    """
    filled = []
    for line in db.session.scalars(backordered_lines(product_id)):
        if available(product_id) <= 0:
            break
        if allocate_line(line, actor):
            filled.append(line)
    return filled


def receive(product: Product, quantity: int, actor: User | None, note: str | None) -> None:
    if quantity <= 0:
        raise InvalidInput("Quantity received must be a whole number above zero", field="quantity")
    _move(product.id, in_hand=quantity, reason="receive", actor=actor, note=note)


def allocations_to_take(product_id: int, units: int) -> list[tuple[OrderLine, int]]:
    """Which lines give up how many committed units when `units` must be freed: newest allocations first.

    A read only: the confirm step of a count shows it, and release_newest() does it.
    """
    taken: list[tuple[OrderLine, int]] = []
    for line in db.session.scalars(allocations_newest_first(product_id)) if units > 0 else ():
        take = min(line.allocated - line.shipped, units)
        taken.append((line, take))
        units -= take
        if units <= 0:
            break
    return taken


def release_newest(product_id: int, units: int, actor: User | None, note: str | None) -> list[tuple[OrderLine, int]]:
    """Take `units` committed units back from the newest allocations; those lines are backordered again.

    The orders must be locked (locking.lock_orders_losing_units). Returns the lines and units taken.
    """
    taken = allocations_to_take(product_id, units)
    for line, take in taken:
        _move(product_id, committed=-take, reason="release", actor=actor, order_id=line.order_id, note=note)
        line.allocated = line.allocated - take
    return taken


def adjust(product: Product, counted: int, actor: User | None, note: str) -> tuple[int, list[tuple[OrderLine, int]]]:
    """Set in-hand to a counted figure: the count is the truth. Below what is committed, the missing
    units are taken from the newest allocations first (release_newest), so the product's committed
    stock never exceeds what is there. Returns the change to in hand and the lines that lost units.
    """
    if counted < 0:
        raise InvalidInput("The counted quantity cannot be negative", field="counted")
    db.session.refresh(product)
    taken = release_newest(product.id, product.stock_committed - counted, actor, note)
    delta = counted - product.stock_in_hand
    if delta:
        _move(product.id, in_hand=delta, reason="adjust", actor=actor, note=note)
    return delta, taken
