"""Which board segment an order is in, derived from its status and its lines' numbers.

`segment_of` is the only place the fulfilment stage is worked out. Services call `refresh_order`
after every change; it stores the segment on the order (for the board's index) and queues the change
of the per-segment counts, which `flush_segment_counts` writes last in the transaction, in a fixed
order, so two transactions never wait on each other's counter rows in opposite orders.
"""
from __future__ import annotations

from collections import Counter as Tally

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Order, OrderLine, OrderStatus, PaymentStatus, Segment, SegmentCount, ShipmentStatus
from . import hourly_counts

_PENDING = "oms_segment_deltas"


def segment_of(order: Order, handed_over: int | None = None) -> Segment:
    """The order's board segment. `handed_over` (units in parcels the carrier has) is read from the order's
    shipments unless given (the seed's simulated orders give it)."""
    if order.status is OrderStatus.DRAFT:
        return Segment.DRAFT
    if order.status is OrderStatus.VOID:
        return Segment.VOID
    if order.status is OrderStatus.FULFILLED:
        return Segment.FULFILLED
    if order.hold_reason:
        return Segment.NEEDS_ATTENTION
    if order.payment_status is PaymentStatus.PENDING:
        return Segment.AWAITING_PAYMENT
    ordered = sum(line.ordered for line in order.lines)
    packed = sum(line.shipped for line in order.lines)  # in parcels: on the bench or handed over
    if packed:
        if handed_over is None:
            handed_over = sum(sl.quantity for s in order.shipments if s.status.handed_over for sl in s.lines)
        if handed_over and handed_over == ordered:
            return Segment.IN_TRANSIT
        if handed_over:
            return Segment.PARTIALLY_SHIPPED
        if all(line.allocated == line.shipped for line in order.lines):
            return Segment.PACKED  # nothing more can be picked now: the parcels wait for the carrier
        # Some units packed, none handed over, more to pick: a picking stage, and the packed parcel waits
        # on the hand-over screen meanwhile.
    if any(line.allocated < line.ordered for line in order.lines):
        return Segment.AWAITING_STOCK
    waiting = [line for line in order.lines if line.allocated > line.shipped]
    if waiting and all(getattr(line, "drop_ship", False) for line in waiting):
        return Segment.WITH_SUPPLIER  # what is left is the suppliers' to ship: nothing for us to pick
    return Segment.READY_TO_SHIP


def is_complete(order: Order) -> bool:
    """Every unit not cancelled is in a delivered shipment."""
    return (order.status is OrderStatus.FINALIZED and bool(order.lines)
            and all(line.shipped == line.ordered for line in order.lines)
            and all(s.status in (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED) for s in order.shipments))


# The segments of Finalized orders that are not held: those whose lines stock is allocated to.
OPEN_SEGMENTS = frozenset({Segment.AWAITING_PAYMENT, Segment.AWAITING_STOCK, Segment.READY_TO_SHIP,
                           Segment.PACKED, Segment.WITH_SUPPLIER, Segment.PARTIALLY_SHIPPED, Segment.IN_TRANSIT})


def set_segment(order: Order, segment: Segment, *, is_new: bool = False) -> None:
    is_open = segment in OPEN_SEGMENTS
    for line in order.lines:  # including a line just added to an order whose segment stays
        if getattr(line, "order_open", None) is not is_open:  # (a batch's line draft has none yet)
            line.order_open = is_open
    deltas: Tally = db.session.info.setdefault(_PENDING, Tally())
    if is_new:  # every service that makes an order comes here once for it
        hourly_counts.count_new_order(order)
    else:
        if order.segment is segment:
            return
        deltas[order.segment] -= 1
    deltas[segment] += 1
    order.segment = segment


_COUNTS = SegmentCount.__table__
_ADD_TO_COUNT = (sa.update(_COUNTS).where(_COUNTS.c.segment == sa.bindparam("which"))
                 .values(orders=_COUNTS.c.orders + sa.bindparam("delta")))


def flush_segment_counts(session: Session) -> None:
    deltas: Tally = session.info.pop(_PENDING, Tally())
    changes = [{"which": segment, "delta": deltas[segment]}
               for segment in sorted(deltas, key=lambda s: s.value) if deltas[segment]]
    if changes:  # one statement, its rows in a fixed order
        session.connection().execute(_ADD_TO_COUNT, changes)


def discard_pending_counts(session: Session) -> None:
    session.info.pop(_PENDING, None)
    hourly_counts.discard_pending_hourly_counts(session)


def pending_counts() -> tuple[Tally, Tally]:
    """A copy of the count changes queued so far (segments, and orders per hour), to put back when a
    savepoint is rolled back."""
    return Tally(db.session.info.get(_PENDING, Tally())), hourly_counts.pending_hourly_counts()


def restore_pending_counts(saved: tuple[Tally, Tally]) -> None:
    segments, hours = saved
    db.session.info[_PENDING] = Tally(segments)
    hourly_counts.restore_pending_hourly_counts(hours)


def _of_open_orders() -> sa.ColumnElement[bool]:
    return OrderLine.order_id.in_(sa.select(Order.id).where(Order.status == OrderStatus.FINALIZED,
                                                             Order.hold_reason.is_(None)))


def lines_with_a_wrong_open_flag(limit: int = 20) -> list[tuple[int, int, bool]]:
    """(line, order, flag) of lines whose order_open is not their order's state, for check-stock."""
    return [tuple(row) for row in db.session.execute(
        sa.select(OrderLine.id, OrderLine.order_id, OrderLine.order_open)
        .where(OrderLine.order_open != _of_open_orders()).order_by(OrderLine.id).limit(limit))]


def set_open_flags() -> None:
    """Set every line's order_open from its order (after orders were written in bulk, without set_segment)."""
    db.session.execute(sa.update(OrderLine).where(sa.not_(OrderLine.order_open), _of_open_orders())
                       .values(order_open=True))
    db.session.execute(sa.update(OrderLine).where(OrderLine.order_open, sa.not_(_of_open_orders()))
                       .values(order_open=False))


def segment_counts() -> dict[Segment, int]:
    counts = {segment: 0 for segment in Segment}
    for segment, orders in db.session.execute(sa.select(SegmentCount.segment, SegmentCount.orders)):
        counts[segment] = orders
    return counts
