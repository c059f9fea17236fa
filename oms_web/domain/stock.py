"""The stock rules, all of them: allocating, backordering, releasing, shipping, receiving, adjusting.

A product has `stock_in_hand` (physically there) and `stock_committed` (allocated to open orders, not
yet shipped); available = in hand - committed. Every change to either is one guarded UPDATE done by
the database's arithmetic (never read-modify-write in Python) and one row in the stock ledger.
The callers hold the row locks of domain.locking and run inside a write transaction.

Allocation has one rule, plan_allocation, pure so that every path applies it: an order or a line
(allocate_lines), a batch of new orders (domain.batch_intake, whose counts move through commit_many),
and the demo seed's simulation (seed.history).
"""
from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import datetime

import sqlalchemy as sa

from .. import metrics
from ..extensions import db
from ..models import Order, OrderLine, Product, StockMove, User
from . import bulk_rows
from .errors import InvalidInput
from .locking import allocations_newest_first, backordered_lines


class StockRaceLost(RuntimeError):
    """A guarded update found the counts changed under it: a locking bug, never a user error."""


def plan_allocation(needs: Iterable[tuple[int | None, int]], available_of: MutableMapping[int, int]) -> list[int]:
    """The allocation rule, the one every path applies (a single order, a batch, the demo seed's simulation).

    `needs` is, per line in the order they are served, its product (None: no product, nothing to take)
    and the units it still needs; `available_of` the units available per product. Each line takes
    min(still needed, available); what is short stays backordered. The units taken are subtracted from
    `available_of`, so the next call (the next order of a batch) sees what is left. Pure: no database.
    Returns the units each line takes.
    """
    takes = []
    for product_id, needed in needs:
        have = available_of.get(product_id, 0) if product_id is not None else 0
        take = min(needed, have) if needed > 0 and have > 0 else 0
        if take:
            available_of[product_id] = have - take
        takes.append(take)
    return takes


# The guarded update of every stock change, built once: in hand and committed move by the database's
# arithmetic, and only while 0 <= committed <= in hand afterwards.
_products = Product.__table__
_GUARDED_MOVE = (
    sa.update(_products)
    .where(_products.c.id == sa.bindparam("product_id"),
           _products.c.stock_committed + sa.bindparam("committed") >= 0,
           _products.c.stock_committed + sa.bindparam("committed")
           <= _products.c.stock_in_hand + sa.bindparam("in_hand"))
    .values(stock_in_hand=_products.c.stock_in_hand + sa.bindparam("in_hand"),
            stock_committed=_products.c.stock_committed + sa.bindparam("committed")))


def _expire_counts(product_ids: Iterable[int]) -> None:
    """A Product the session holds has stale counts after a guarded update: read them again on use."""
    for product_id in product_ids:
        loaded = db.session.identity_map.get(db.session.identity_key(Product, product_id))
        if loaded is not None:
            db.session.expire(loaded, ["stock_in_hand", "stock_committed"])


def _move(product_id: int, *, in_hand: int = 0, committed: int = 0, reason: str, actor: User | None,
          order_id: int | None = None, shipment_id: int | None = None, note: str | None = None,
          return_id: int | None = None) -> None:
    result = db.session.connection().execute(
        _GUARDED_MOVE, {"product_id": product_id, "in_hand": in_hand, "committed": committed})
    if result.rowcount != 1:
        raise StockRaceLost(f"stock of product {product_id} changed under a locked update ({reason})")
    db.session.add(StockMove(product_id=product_id, in_hand_delta=in_hand, committed_delta=committed,
                             reason=reason, note=note, order_id=order_id, shipment_id=shipment_id,
                             return_id=return_id, user_id=actor.id if actor else None))
    metrics.STOCK_MOVES.labels(reason).inc()
    _expire_counts([product_id])


def commit_many(allocations: Iterable[tuple[int, int, int]], *, actor_id: int | None, now: datetime) -> None:
    """Many allocations at once (a batch of new orders): a ledger row per (product id, units, order id),
    and each product's committed count moved once, by its total, through _move's own guarded update.

    The products must be locked (locking.lock_product_rows). Raises StockRaceLost if a guard fails.
    """
    rows, committed = [], {}
    for product_id, units, order_id in allocations:
        rows.append({"product_id": product_id, "in_hand_delta": 0, "committed_delta": units, "reason": "allocate",
                     "note": None, "order_id": order_id, "shipment_id": None, "user_id": actor_id,
                     "created_at": now})
        committed[product_id] = committed.get(product_id, 0) + units
    if not committed:
        return
    bulk_rows.insert_many(StockMove.__table__, rows)
    metrics.STOCK_MOVES.labels("allocate").inc(len(rows))
    moved = db.session.connection().execute(_GUARDED_MOVE, [
        {"product_id": product_id, "in_hand": 0, "committed": units}
        for product_id, units in sorted(committed.items())]).rowcount
    if moved != len(committed):
        raise StockRaceLost("the stock of a product changed under a locked batch allocation")
    _expire_counts(committed)


def available(product_id: int) -> int:
    return db.session.execute(
        sa.select(Product.stock_in_hand - Product.stock_committed).where(Product.id == product_id)).scalar_one()


def allocate_lines(lines: list[OrderLine], actor: User | None) -> int:
    """Commit to each line, in turn, min(still needed, available) units (plan_allocation); the rest stays
    backordered. The lines' products must be locked. Returns the units taken."""
    wanted = [line for line in lines if line.product_id is not None and line.ordered > line.allocated]
    available_of = {product_id: available(product_id) for product_id in {line.product_id for line in wanted}}
    takes = plan_allocation([(line.product_id, line.ordered - line.allocated) for line in wanted], available_of)
    for line, take in zip(wanted, takes):
        if take:
            _move(line.product_id, committed=take, reason="allocate", actor=actor, order_id=line.order_id)
            line.allocated = line.allocated + take
    return sum(takes)


def allocate_line(line: OrderLine, actor: User | None) -> int:
    """Commit min(still needed, available) units to the line; the rest stays backordered. Returns units taken."""
    return allocate_lines([line], actor)


def allocate_order(order: Order, actor: User | None) -> int:
    return allocate_lines(list(order.lines), actor)


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


# What happens to units a customer sends back, by their condition: the ledger reason of each, and its word.
RETURN_CONDITIONS = {"restock": ("return", "restocked"), "quarantine": ("quarantine", "quarantined"),
                     "write_off": ("write_off", "written off")}


def return_units(line: OrderLine, quantity: int, condition: str, actor: User | None, return_id: int) -> None:
    """Units of a shipped line come back on a return (domain.returns.receive_return): the line's returned
    count rises, and by their condition: restock puts them back in hand (available again: the caller then
    fills backorders, oldest first, with their orders locked); quarantine and write off keep them out of
    stock, a ledger row with no change to the counts saying so. Every row carries the return's reference.

    Every stock effect of a return is here, so that stock per location re-points this one function.
    """
    assert line.product_id is not None and 0 < quantity <= line.shipped - line.returned
    reason, done = RETURN_CONDITIONS[condition]
    # The note says the units: a quarantine or write-off row moves no count to read them from.
    _move(line.product_id, in_hand=quantity if condition == "restock" else 0, reason=reason, actor=actor,
          order_id=line.order_id, return_id=return_id, note=f"{quantity} unit(s) {done}")
    line.returned = line.returned + quantity


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
