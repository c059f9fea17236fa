"""Channel orders in: created Finalized and allocated, or recognised as a repeat of one received before.

The translations on the way in have their own modules: money (amounts), addresses, times.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..domain import orders as order_services
from ..domain.orders import NewOrder
from ..extensions import db
from ..models import Order, OrderStatus, PaymentStatus, SalesChannel
from .arrivals import arrivals

IMPORTED, DUPLICATE, HELD, REFUSED = "imported", "duplicate", "held", "refused"
# Orders created per write transaction when many arrive at once (a report file, a sync page):
# large enough that the commit costs little per order, small enough that a writer never waits long.
CHUNK_ORDERS = 1000


# ---------------------------------------------------------------- orders in

@dataclass(frozen=True)
class Skip:
    """A channel order deliberately not imported: shipped by the marketplace, cancelled, already shipped."""

    channel_order_id: str
    reason: str
    canceled: bool = False


@dataclass(frozen=True)
class Outcome:
    channel_order_id: str
    order_id: int | None
    outcome: str  # imported | held | duplicate | refused
    error: str | None = None
    paid_now: bool = False  # a repeat that brought the payment of an order awaiting it


@dataclass
class Tally:
    """What a run brought in, in the words of a ChannelSync row."""

    imported: int = 0
    duplicates: int = 0
    held: int = 0
    skipped: int = 0
    updated: int = 0  # changes to orders imported before (paid, repriced, cancelled)
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        self.updated += outcome.paid_now
        if outcome.outcome == IMPORTED:
            self.imported += 1
        elif outcome.outcome == HELD:
            self.held += 1
        elif outcome.outcome == DUPLICATE:
            self.duplicates += 1
        else:
            self.error(f"{outcome.channel_order_id}: {outcome.error}")

    def changed(self, message: str) -> None:
        """An order imported before was changed (held as cancelled on the channel): counted, and said
        with the run's messages, where a person reads it."""
        self.updated += 1
        self.error(message)

    def error(self, message: str, limit: int = 200) -> None:
        if len(self.errors) < limit:
            self.errors.append(message[:500])
        elif len(self.errors) == limit:
            self.errors.append("… and more errors not listed")


class Imported(NamedTuple):
    order_id: int
    outcome: str  # imported | held | duplicate
    order: dict[str, Any]  # the order's row as committed: id, channel_order_id, status, segment, hold_reason,
    #                        total_cents, currency
    paid_now: bool = False  # a repeat that brought the payment of an order awaiting it


def import_order(channel_id: int, new_order: NewOrder) -> Imported:
    """One channel order in (actor: the channel, no user), from a request of the order API or a
    webhook: written with the orders other requests of this process bring in at the same moment (see
    arrivals). The outcome is "imported", "held" (an unknown SKU: Needs attention) or "duplicate" (the
    order received before).

    A repeat that says paid, of an order still awaiting payment here, marks it paid (record_channel_payment,
    once however many such repeats arrive together) and answers with the order as it is now.
    Raises the DomainError of create_orders for an order it refuses (no lines, bad quantity, ...).
    """
    new_order = _for_channel(channel_id, new_order)
    created = arrivals().create(new_order)
    if created.error is not None:
        raise created.error
    assert created.order_id is not None and created.headline is not None
    outcome = DUPLICATE if created.duplicate else HELD if created.held else IMPORTED
    if created.duplicate and new_order.payment_status is PaymentStatus.PAID \
            and _settle_payments([new_order], [created]):
        return Imported(created.order_id, outcome, _headline(created.order_id), paid_now=True)
    return Imported(created.order_id, outcome, created.headline)


def _headline(order_id: int) -> dict[str, Any]:
    headline = dict(db.session.execute(order_services.ORDER_HEADLINE, {"ids": [order_id]}).mappings().one())
    db.session.rollback()  # end the read
    return headline


def import_orders(channel: SalesChannel, new_orders: Sequence[NewOrder], *,
                  progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """Many channel orders in, CHUNK_ORDERS per write transaction; a refused order refuses alone.

    A repeat that the channel now reports paid, of an order still awaiting payment here, is marked paid
    (with the ship-to address the channel withholds until then). `progress(n)` is told of each chunk.
    """
    outcomes: list[Outcome] = []
    for start in range(0, len(new_orders), CHUNK_ORDERS):
        chunk = [_for_channel(channel.id, new) for new in new_orders[start:start + CHUNK_ORDERS]]
        created = order_services.create_orders(None, chunk)
        outcomes.extend(_outcome(new, result) for new, result in zip(chunk, created))
        paid = set(_settle_payments(chunk, created))
        outcomes[-len(chunk):] = [replace(o, paid_now=o.order_id in paid) if o.order_id in paid else o
                                  for o in outcomes[-len(chunk):]]
        if progress:
            progress(len(chunk))
    return outcomes


def _for_channel(channel_id: int, new_order: NewOrder) -> NewOrder:
    return new_order if new_order.channel_id == channel_id else replace(new_order, channel_id=channel_id)


def _outcome(new: NewOrder, result: order_services.Created) -> Outcome:
    channel_order_id = new.channel_order_id or ""
    if result.error is not None:
        return Outcome(channel_order_id, None, REFUSED, result.error.message)
    if result.duplicate:
        return Outcome(channel_order_id, result.order_id, DUPLICATE)
    return Outcome(channel_order_id, result.order_id, HELD if result.held else IMPORTED)


def _settle_payments(chunk: Sequence[NewOrder], created: Sequence[order_services.Created]) -> list[int]:
    """Mark paid the repeats that say paid, of orders awaiting payment here. Returns the orders marked."""
    paid_now = {result.order_id: new for new, result in zip(chunk, created)
                if result.duplicate and new.payment_status is PaymentStatus.PAID}
    if not paid_now:
        return []
    # A read first: a store repeats paid orders often, and most are paid here already (no write then).
    waiting = _awaiting_payment(sorted(paid_now))
    marked = []
    for order_id in waiting:
        details = paid_now[order_id].customer
        # Checked again under the order's lock: of repeats arriving together, one marks it.
        if order_services.record_channel_payment(None, order_id, details.ship_to if details else None):
            marked.append(order_id)
    return marked


def _awaiting_payment(order_ids: list[int]) -> list[int]:
    """Those of the orders that are finalized and await payment (a read; nothing is locked)."""
    waiting = list(db.session.scalars(sa.select(Order.id).where(
        Order.id.in_(order_ids), Order.payment_status == PaymentStatus.PENDING,
        Order.status == OrderStatus.FINALIZED)))
    db.session.rollback()  # end the read before the writes
    return waiting


def existing_orders(channel_id: int, channel_order_ids: Iterable[str], *, with_lines: bool = False) -> dict[str, Order]:
    """The channel's orders already here, by channel order id (a read; nothing is locked); `with_lines`
    loads their lines too, in one query per 500 orders."""
    ids = sorted({i for i in channel_order_ids if i})
    found: dict[str, Order] = {}
    options = (selectinload(Order.lines),) if with_lines else ()
    for start in range(0, len(ids), 500):
        for order in db.session.scalars(sa.select(Order).options(*options).where(
                Order.channel_id == channel_id, Order.channel_order_id.in_(ids[start:start + 500]))):
            found[order.channel_order_id] = order
    return found


def canceled_after_import(channel: SalesChannel, skips: Iterable[Skip]) -> list[str]:
    """Messages for orders the channel cancelled after we imported them, each put on hold for a person
    (order_services.record_channel_cancellation: not voided, not shipped), once."""
    return [f"{channel_order_id}: {message}" for channel_order_id, _, message in _hold_canceled(channel, skips)]


def cancellation_delivered(channel: SalesChannel, skip: Skip) -> tuple[int, str] | None:
    """A store's delivery says an order imported here was cancelled (or refunded): as for the channels
    that are pulled (canceled_after_import). Returns (order id, message), or None when no open order
    here is that one."""
    held = _hold_canceled(channel, [skip])
    return (held[0][1], held[0][2]) if held else None


def _hold_canceled(channel: SalesChannel, skips: Iterable[Skip]) -> list[tuple[str, int, str]]:
    """(channel order id, order id, message) of each open order here that the channel has cancelled,
    each put on hold with the message as its reason."""
    canceled = {skip.channel_order_id for skip in skips if skip.canceled}
    found = [(channel_order_id, order.id, f"Cancelled on {channel.name} after it was imported as "
                                          f"{order.number}; void it here unless it has shipped")
             for channel_order_id, order in sorted(existing_orders(channel.id, canceled).items())
             if order.status in (OrderStatus.DRAFT, OrderStatus.FINALIZED)]
    db.session.rollback()  # end the read before the writes
    for _, order_id, message in found:
        order_services.record_channel_cancellation(None, order_id, message)
    return found
