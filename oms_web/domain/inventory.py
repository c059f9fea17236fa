"""Stock-keeping services for managers: receive stock, adjust a count after a stocktake."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..database import service
from ..extensions import db
from ..models import Location, Product, Role, User
from . import events, stock
from .errors import DomainError, InvalidInput, NotFound
from .locking import lock_backorders_for, lock_orders_losing_units, lock_product
from .order_rules import fill_backorders_and_refresh, refresh_order, require_role

# The most units received or counted at once, on every stock form and service: more is a typing slip (and
# nears the limit of the in-hand integer column). A warehouse holds more of a product than one order asks
# for, so this is not the order lines' MAX_LINE_QUANTITY.
MAX_STOCK_QUANTITY = 10_000_000


def check_stock_quantity(value: object, *, label: str, field: str, minimum: int) -> int:
    """A number of units received, counted or ordered from a supplier: a whole number from `minimum` up to
    MAX_STOCK_QUANTITY; InvalidInput naming `field` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{label} must be a whole number", field=field)
    if value > MAX_STOCK_QUANTITY:
        raise InvalidInput(f"{label} is too large: at most {MAX_STOCK_QUANTITY:,}", field=field)
    if value < minimum:
        raise InvalidInput(f"{label} must be between {minimum:,} and {MAX_STOCK_QUANTITY:,}", field=field)
    return value


def check_location(location_id: object) -> int:
    """A location stock can be received at or counted in: one of ours (not a drop-ship supplier's)."""
    if location_id is None:
        return stock.default_location_id()
    if isinstance(location_id, bool) or not isinstance(location_id, int):
        raise InvalidInput("Choose a location", field="location")
    location = db.session.get(Location, location_id)
    if location is None:
        raise InvalidInput("That location does not exist", field="location")
    if not location.kind.holds_our_stock:
        raise InvalidInput(f"{location.name} is a drop-ship supplier: it holds none of our stock", field="location")
    return location.id


@service
def receive_stock(actor: User, product_id: int, quantity: int, note: str | None = None,
                  location_id: int | None = None) -> int:
    """Add received units to stock in hand at a location (the default one unless given); they go to
    backordered lines that may use it at once, oldest finalized first.

    Returns the new in-hand count. Raises NotAllowed below manager, InvalidInput for a bad quantity or location.
    """
    require_role(actor, Role.MANAGER, "receive stock")
    check_stock_quantity(quantity, label="Quantity received", field="quantity", minimum=1)
    location_id = check_location(location_id)
    product = lock_product(product_id)
    lock_backorders_for(product, quantity, location_id)
    stock.receive(product, quantity, actor, (note or "").strip()[:300] or None, location_id)
    fill_backorders_and_refresh({product.id}, actor)
    return product.stock_in_hand


@dataclass(frozen=True)
class UnitsTaken:
    """Committed units a count takes back from one order's line."""
    order_id: int
    order_number: str
    sku: str
    units: int


class CountTakesAllocations(DomainError):
    """A count below what is committed takes units from orders: the manager confirms it first.

    `taken` lists them, newest allocation first; the count goes through with `confirmed` naming them.
    """

    def __init__(self, sku: str, counted: int, taken: list[UnitsTaken]):
        self.taken = taken
        self.units = sum(t.units for t in taken)
        numbers = ", ".join(dict.fromkeys(t.order_number for t in taken))
        super().__init__(f"This count of {counted:,} takes {self.units:,} unit(s) of {sku} from "
                         f"{'orders' if len(taken) > 1 else 'order'} {numbers}: they go back to backorder. "
                         f"Confirm the count to go ahead.", field="counted")


def _check_count(counted: int) -> None:
    check_stock_quantity(counted, label="Counted quantity", field="counted", minimum=0)


def units_a_count_takes(product_id: int, counted: int, location_id: int | None = None) -> list[UnitsTaken]:
    """What a count at a location would take from which orders, were it applied now (a read, for the
    confirm step)."""
    _check_count(counted)
    location_id = check_location(location_id)
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"Product {product_id} does not exist")
    _, committed = stock.counts_at(product_id, location_id)
    return [UnitsTaken(line.order_id, line.order.number, line.sku, units)
            for line, units in stock.allocations_to_take(product_id, committed - counted, location_id)]


@service
def adjust_stock(actor: User, product_id: int, counted: int, note: str,
                 confirmed: bool | Collection[int] = True, location_id: int | None = None) -> int:
    """Set stock in hand to a counted figure, with a reason: the count is the truth. An upward count
    fills backorders; a count below what is committed takes the missing units from the newest
    allocations (back to backorder), with a ledger row and a timeline event for each order losing units.

    `confirmed` says which orders the manager agreed may lose units (True: any). Returns the change
    applied. Raises NotAllowed below manager, InvalidInput for a negative or implausibly large count or
    a missing reason, CountTakesAllocations when the count would take units from an order not confirmed.
    """
    require_role(actor, Role.MANAGER, "adjust stock")
    _check_count(counted)
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Give a reason for the adjustment", field="note")
    location_id = check_location(location_id)
    product = lock_product(product_id)
    in_hand, _ = stock.counts_at(product.id, location_id)
    # At most one of these locks any order (a count above in hand fills, one below committed takes), so
    # the orders are still locked in one id order.
    lock_backorders_for(product, counted - in_hand, location_id)
    lock_orders_losing_units(product, counted, location_id)
    if confirmed is not True:
        planned = units_a_count_takes(product.id, counted, location_id)
        if any(t.order_id not in confirmed for t in planned):
            raise CountTakesAllocations(product.sku, counted, planned)
    delta, taken = stock.adjust(product, counted, actor, note[:300], location_id)
    for line, units in taken:
        order = line.order
        events.stock_count(order, actor, line, counted, units)
        refresh_order(order)
    if taken:
        # The lines that lost units here may take them from another location at once. Which orders that
        # reaches is known only now; locking them now keeps to the lock order's purpose: every order with
        # a line of this product is changed only under the product's lock, which this transaction holds.
        db.session.flush()
        lock_backorders_for(product, 0, location_id)
    if delta > 0 or taken:
        fill_backorders_and_refresh({product.id}, actor)
    return delta
