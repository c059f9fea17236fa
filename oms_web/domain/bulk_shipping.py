"""Shipping many orders at once, from the board: pack each order's allocated units into one shipment,
hand the packed parcels to the carrier, see the parcels delivered.

Every order is its own all-or-nothing action in a transaction of its own, made by the single-order
services of domain.shipping (their rules, their events, their locks: the order's products, then the
order), so a refusal of one order leaves the others going ahead and rolls back only that order. The
orders are taken in ascending id, the order domain.locking takes them in. The result says, per order,
what was done or why it was refused, in the words the order page uses.

Free of request code: the board's routes and the task queue's worker (board/jobs.py) both call these.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import WITH_CARRIER, Order, OrderStatus, PaymentStatus, Shipment, ShipmentStatus, User
from . import shipping, stock
from .errors import DomainError, InvalidInput, InvalidState
from .locking import lock_order

# The most orders one bulk action takes: the board refuses a larger selection with this number.
MAX_ORDERS = 5_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class OrderOutcome:
    """One order's part of a bulk action: done (with the shipments it made or moved) or refused."""

    order_id: int
    number: str
    reason: str | None = None  # why it was refused, None when done
    shipment_ids: tuple[int, ...] = ()

    @property
    def done(self) -> bool:
        return self.reason is None

    def as_json(self) -> list:
        return [self.order_id, self.reason, list(self.shipment_ids)]

    @classmethod
    def from_json(cls, row: Sequence) -> OrderOutcome:
        order_id, reason, shipment_ids = row
        return cls(order_id, Order.number_of(order_id), reason, tuple(shipment_ids))


@dataclass
class BulkResult:
    action: str  # a key of ACTIONS
    outcomes: list[OrderOutcome] = field(default_factory=list)

    @property
    def done(self) -> list[OrderOutcome]:
        return [o for o in self.outcomes if o.done]

    @property
    def refused(self) -> list[OrderOutcome]:
        return [o for o in self.outcomes if not o.done]

    @property
    def shipment_ids(self) -> list[int]:
        return [s for o in self.done for s in o.shipment_ids]


def check_order_ids(order_ids: Iterable[int]) -> list[int]:
    """The distinct ids in ascending order (the lock order). Raises InvalidInput for none or too many."""
    ids = sorted(set(order_ids))
    if not ids:
        raise InvalidInput("Select at least one order first.", field="order_ids")
    if len(ids) > MAX_ORDERS:
        raise InvalidInput(f"{len(ids):,} orders are selected: a bulk action takes at most {MAX_ORDERS:,}. "
                           "Narrow the filter (a channel, a date range) and run it in parts.", field="order_ids")
    return ids


# ---------------------------------------------------------------- one order each

def _why_nothing_to_pack(order: Order) -> str:
    """Why an order has no unit to pack now, in the order page's words (the state refusals first, as
    ship_lines gives them when there is something to pack)."""
    if order.status is not OrderStatus.FINALIZED:
        return f"{order.number} is {order.status.value}: only a finalized order ships"
    if order.hold_reason:
        return f"{order.number} is on hold: {order.hold_reason}"
    if order.payment_status is PaymentStatus.PENDING:
        return f"{order.number} is awaiting payment and cannot ship yet"
    packed = [s.number for s in order.shipments if s.status is ShipmentStatus.PACKED]
    if packed:
        return f"{order.number} is already packed ({', '.join(packed)} awaits the carrier)"
    if order.lines and all(line.shipped >= line.ordered for line in order.lines):
        return f"{order.number} has shipped every unit"
    return f"{order.number} has nothing allocated to pack: it is waiting for stock"


def units_to_pack(order: Order, location_id: int | None = None) -> tuple[dict[int, int], int | None]:
    """(units per line, location) of one parcel of every allocated, unpacked unit of the order: those at
    `location_id` (the packer's), or at every location when None (ship_lines then refuses an order
    whose units are at two). Raises InvalidState with the reason when there are none, naming where
    they are when they are at another location."""
    if location_id is None:
        quantities = {line.id: line.to_ship for line in order.lines if line.to_ship > 0}
    else:
        quantities = {line.id: units for line in order.lines
                      if (units := stock.shippable_from(line).get(location_id, 0)) > 0}
    if quantities:
        return quantities, location_id
    elsewhere: dict[int, int] = {}
    for line in order.lines:
        for site, units in stock.shippable_from(line).items():
            if stock.kind_of(site).holds_our_stock:
                elsewhere[site] = elsewhere.get(site, 0) + units
    if location_id is not None and elsewhere and order.status is OrderStatus.FINALIZED:
        from .allocations import location_names

        names = location_names([*elsewhere, location_id])
        at = " · ".join(f"{names[site]} {units}" for site, units in sorted(elsewhere.items(), key=lambda i: names[i[0]]))
        raise InvalidState(f"{order.number} has no units to pack at {names[location_id]}: they are at {at}")
    raise InvalidState(_why_nothing_to_pack(order))


@service
def pack_allocated(actor: User, order_id: int, location_id: int | None = None) -> Shipment:
    """One shipment of every allocated, not yet packed unit of the order (at `location_id`, when given),
    with its channel's default carrier and service. Raises InvalidState (with the reason) when there is
    nothing to pack there, and what ship_lines raises for an order that cannot ship."""
    order = lock_order(order_id)
    quantities, location_id = units_to_pack(order, location_id)
    # With the channel's default carrier and service.
    return shipping.ship_lines(actor, order_id, quantities, location_id=location_id)


@service
def hand_over_order(actor: User, order_id: int) -> list[Shipment]:
    """Every packed parcel of the order goes to the carrier (each with the carrier and tracking number it
    was packed with); all of them or none. Raises InvalidState when none is packed."""
    order = lock_order(order_id)
    packed = [s for s in order.shipments if s.status is ShipmentStatus.PACKED]
    if not packed:
        away = [s for s in order.shipments if s.status.handed_over]
        raise InvalidState(f"{order.number} has no packed parcel to hand over"
                           + (": the carrier already has it" if away else ": create its shipment first"))
    return [shipping.mark_shipped(actor, s.id) for s in packed]


@service
def deliver_order(actor: User, order_id: int) -> list[Shipment]:
    """Every parcel of the order the carrier has is delivered; all of them or none. Raises InvalidState
    when the carrier has none."""
    order = lock_order(order_id)
    away = [s for s in order.shipments if s.status in WITH_CARRIER]
    if not away:
        packed = [s.number for s in order.shipments if s.status is ShipmentStatus.PACKED]
        raise InvalidState(f"{order.number} has no parcel with the carrier"
                           + (f": {', '.join(packed)} is packed, not yet handed over" if packed else ""))
    return [shipping.mark_delivered(actor, s.id) for s in away]


# ---------------------------------------------------------------- many orders

def _run(action: str, one: Callable[[User, int], Shipment | list[Shipment]], actor: User, order_ids: Iterable[int],
         progress: Progress | None, every: int) -> BulkResult:
    if db.session.info.get("oms_in_write_transaction"):
        raise RuntimeError("A bulk action commits order by order: call it outside a write transaction")
    ids = check_order_ids(order_ids)
    known = set(db.session.scalars(sa.select(Order.id).where(Order.id.in_(ids))))
    db.session.rollback()  # end the read: each order's own transaction starts from a fresh snapshot
    result = BulkResult(action)
    for index, order_id in enumerate(ids, start=1):
        number = Order.number_of(order_id)
        if order_id not in known:
            result.outcomes.append(OrderOutcome(order_id, number, f"There is no order {number}"))
        else:
            try:
                made = one(actor, order_id)
            except DomainError as refusal:
                result.outcomes.append(OrderOutcome(order_id, number, refusal.message))
            else:
                shipments = made if isinstance(made, list) else [made]
                result.outcomes.append(OrderOutcome(order_id, number, None, tuple(s.id for s in shipments)))
        if progress and (index % every == 0 or index == len(ids)):
            progress(index, len(ids))
    return result


def create_shipments(actor: User, order_ids: Iterable[int], progress: Progress | None = None,
                     every: int = 10, location_id: int | None = None) -> BulkResult:
    """Pack each order's allocated units (at `location_id`, the packer's, when given: an order with none
    there is refused saying where they are) into one shipment (pack_allocated), order by order; with a
    carrier account, through domain.labels (each channel's rate rule), the orders' labels bought in
    parallel within the service's rate limit."""
    from .labels import active_account, pack_many

    if active_account() is None:
        return _run("create", partial(pack_allocated, location_id=location_id), actor, order_ids, progress, every)
    ids = check_order_ids(order_ids)
    made = pack_many(actor, ids, progress, location_id)
    return BulkResult("create", [OrderOutcome(i, Order.number_of(i), reason, (sid,) if sid else ())
                                 for i, (sid, reason) in sorted(made.items())])


def hand_over(actor: User, order_ids: Iterable[int], progress: Progress | None = None, every: int = 10,
              location_id: int | None = None) -> BulkResult:
    """Hand each order's packed parcels to the carrier (hand_over_order), order by order."""
    return _run("hand_over", hand_over_order, actor, order_ids, progress, every)


def mark_delivered(actor: User, order_ids: Iterable[int], progress: Progress | None = None,
                   every: int = 10, location_id: int | None = None) -> BulkResult:
    """Mark each order's parcels with the carrier delivered (deliver_order), order by order."""
    return _run("deliver", deliver_order, actor, order_ids, progress, every)


ACTIONS: dict[str, Callable[..., BulkResult]] = {"create": create_shipments, "hand_over": hand_over,
                                                 "deliver": mark_delivered}
# What each action is called on the board and in its result.
ACTION_NAMES = {"create": "Create shipments", "hand_over": "Mark handed to carrier", "deliver": "Mark delivered"}
DONE_WORDS = {"create": "packed", "hand_over": "handed to the carrier", "deliver": "delivered"}
