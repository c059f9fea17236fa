"""The order timeline: one event per transition or action, written in the action's transaction.

Every kind of event has its name here (the constants, stored as they are in `order_events.kind`) and
one constructor that writes it with its message and data, so a kind is never a free string at the
caller and each message is worded once. The set-based paths that write their rows themselves (a batch
of new orders, the demo seed) take the same constants, and the entries of `creation_entries` and
`allocation_entry`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ..extensions import db
from ..models import (CreditNote, Location, LocationKind, Order, OrderEvent, OrderLine, OrderStatus, Refund, SalesChannel,
                      Shipment, User)
from . import money

CREATED = "created"
HELD = "held"
TOTAL_DIFFERS = "total_differs"
FINALIZED = "finalized"
ALLOCATED = "allocated"
EDITED = "edited"
REPRICED = "repriced"
PAID = "paid"
RELEASED = "released"
NOTE = "note"
VOIDED = "voided"
CHANNEL_CANCELLED = "channel_cancelled"
STOCK_COUNT = "stock_count"
SHIPMENT_CREATED = "shipment_created"
SHIPMENT_SHIPPED = "shipment_shipped"
SHIPMENT_CANCELLED = "shipment_cancelled"
SHIPMENT_DELIVERED = "shipment_delivered"
SHIPMENT_CONFIRMED = "shipment_confirmed"
CONFIRMATION_RETRIED = "confirmation_retried"
FULFILLED = "fulfilled"
INVOICED = "invoiced"
PRINTED = "printed"
LABEL_BOUGHT = "label_bought"
LABEL_REFUND = "label_refund"
TRACKING = "tracking"
CARRIER_EXCEPTION = "carrier_exception"
EMAIL_SENT = "email_sent"
EMAIL_FAILED = "email_failed"
REFUNDED = "refunded"
RETURN_OPENED = "return_opened"
RETURN_AUTHORIZED = "return_authorized"
RETURN_REJECTED = "return_rejected"
RETURN_RECEIVED = "return_received"
RETURN_CLOSED = "return_closed"
RETURN_REOPENED = "return_reopened"
EXCHANGED = "exchanged"
ALLOCATION_MOVED = "allocation_moved"
DROP_SHIP_ORDERED = "drop_ship_ordered"
DROP_SHIP_CONFIRMED = "drop_ship_confirmed"
DROP_SHIP_CANCELLED = "drop_ship_cancelled"
KINDS = frozenset({
    CREATED, HELD, TOTAL_DIFFERS, FINALIZED, ALLOCATED, EDITED, REPRICED, PAID, RELEASED, NOTE, VOIDED,
    CHANNEL_CANCELLED, STOCK_COUNT, SHIPMENT_CREATED, SHIPMENT_SHIPPED, SHIPMENT_CANCELLED, SHIPMENT_DELIVERED,
    SHIPMENT_CONFIRMED, CONFIRMATION_RETRIED, FULFILLED, INVOICED, PRINTED, LABEL_BOUGHT, LABEL_REFUND, TRACKING,
    CARRIER_EXCEPTION, EMAIL_SENT, EMAIL_FAILED, REFUNDED, RETURN_OPENED, RETURN_AUTHORIZED, RETURN_REJECTED,
    RETURN_RECEIVED, RETURN_CLOSED, RETURN_REOPENED, EXCHANGED, ALLOCATION_MOVED, DROP_SHIP_ORDERED,
    DROP_SHIP_CONFIRMED, DROP_SHIP_CANCELLED})

# An event not yet written: (kind, message, data), for the paths that insert event rows in bulk.
Entry = tuple[str, str, dict[str, Any]]

FULFILLED_MESSAGE = "Fulfilled: every unit delivered"


def line_numbers(lines: list[OrderLine]) -> list[dict[str, Any]]:
    return [{"sku": l.sku, "ordered": l.ordered, "allocated": l.allocated, "shipped": l.shipped,
             "invoiced": l.invoiced} for l in lines]


def _record(order: Order, actor: User | None, kind: str, message: str, **data: Any) -> OrderEvent:
    event = OrderEvent(order=order, user_id=actor.id if actor else None, kind=kind, message=message,
                       data=data or None)
    db.session.add(event)
    return event


def record_entries(order: Order, actor: User | None, entries: list[Entry]) -> None:
    for kind, message, data in entries:
        _record(order, actor, kind, message, **data)


def entry_rows(order_id: int, user_id: int | None, entries: list[Entry], now: datetime) -> list[dict[str, Any]]:
    """The entries as order_events rows, for a batch that inserts its rows in bulk (domain.bulk_rows)."""
    return [{"order_id": order_id, "user_id": user_id, "kind": kind, "message": message, "data": data or None,
             "created_at": now} for kind, message, data in entries]


# ---------------------------------------------------------------- a new order

def creation_entries(channel: SalesChannel, order: Any, numbers: list[dict[str, Any]],
                     channel_total: int | None = None) -> list[Entry]:
    """The timeline of a new order (an Order, or a batch's draft of one): created (with its lines'
    numbers), held when it is, and a total that differs from the one its channel states."""
    made: list[Entry] = [(CREATED, f"Created from {channel.name}"
                          + (f" order {order.channel_order_id}" if order.channel_order_id else "")
                          + (" as a draft" if order.status is OrderStatus.DRAFT else ""), {"lines": numbers})]
    if order.hold_reason:
        made.append((HELD, order.hold_reason, {}))
    total = money.order_totals(order).total_cents
    if channel_total is not None and channel_total != total:
        made.append((TOTAL_DIFFERS, f"{channel.name} totals this order at "
                     f"{money.amount_text(channel_total, order.currency)}; its lines, discounts, shipping and tax "
                     f"come to {money.amount_text(total, order.currency)} here", {
                         "channel_total_cents": channel_total, "total_cents": total}))
    return made


def allocated_message(taken: int, backordered: int) -> str:
    return f"Allocated {taken} unit(s)" + (f"; {backordered} backordered" if backordered else "")


def allocation_entry(order: Any, taken: int, backordered: int) -> Entry:
    return ALLOCATED, allocated_message(taken, backordered), {"lines": line_numbers(order.lines)}


def allocated(order: Order, actor: User | None, taken: int, backordered: int) -> OrderEvent:
    kind, message, data = allocation_entry(order, taken, backordered)
    return _record(order, actor, kind, message, **data)


def allocated_from_freed(order: Order, actor: User | None, line: OrderLine) -> OrderEvent:
    return _record(order, actor, ALLOCATED, freed_stock_message(line.sku), lines=line_numbers(order.lines))


def freed_stock_message(sku: str) -> str:
    return f"Allocated {sku} from freed or received stock"


# ---------------------------------------------------------------- actions on an order

def finalized(order: Order, actor: User | None) -> OrderEvent:
    return _record(order, actor, FINALIZED, "Finalized", lines=line_numbers(order.lines))


def edited(order: Order, actor: User | None, message: str, *, before: list[dict[str, Any]],
           changes: list[dict[str, Any]], total_cents: list[int]) -> OrderEvent:
    return _record(order, actor, EDITED, message, before=before, after=line_numbers(order.lines), changes=changes,
                   total_cents=total_cents)


def voided(order: Order, actor: User | None, reason: str, before: list[dict[str, Any]]) -> OrderEvent:
    return _record(order, actor, VOIDED, f"Voided: {reason}", before=before, after=line_numbers(order.lines))


def paid(order: Order, actor: User | None) -> OrderEvent:
    return _record(order, actor, PAID, "Payment received")


def balance_paid(order: Order, actor: User | None, cents: int) -> OrderEvent:
    return _record(order, actor, PAID, "Balance received: " + money.amount_text(cents, order.currency),
                   paid_cents=cents)


def paid_on_channel(order: Order, actor: User | None) -> OrderEvent:
    return _record(order, actor, PAID, f"Payment received on {order.channel.name}")


def released(order: Order, actor: User | None) -> OrderEvent:
    return _record(order, actor, RELEASED, "Hold released")


def note(order: Order, actor: User | None, text: str) -> OrderEvent:
    return _record(order, actor, NOTE, text)


def repriced(order: Order, actor: User | None, moved: list[dict[str, Any]]) -> OrderEvent:
    return _record(order, actor, REPRICED, f"Prices from {order.channel.name} for "
                                           f"{', '.join(m['sku'] for m in moved)}", lines=moved)


def channel_cancelled(order: Order, actor: User | None, message: str) -> OrderEvent:
    return _record(order, actor, CHANNEL_CANCELLED, message)


def stock_count(order: Order, actor: User | None, line: OrderLine, counted: int, units: int) -> OrderEvent:
    return _record(order, actor, STOCK_COUNT, f"A stock count of {line.sku} ({counted:,} counted) took {units:,} "
                   f"committed unit(s) back: backordered again", sku=line.sku, units=units,
                   lines=line_numbers(order.lines))


def fulfilled(order: Order, actor: User | None) -> OrderEvent:
    return _record(order, actor, FULFILLED, FULFILLED_MESSAGE)


def invoiced(order: Order, actor: User | None, invoice_number: str, units: int, invoice_id: int) -> OrderEvent:
    return _record(order, actor, INVOICED, f"{invoice_number} issued for {units} unit(s)", invoice_id=invoice_id)


def printed(order: Order, actor: User | None, documents: list[str]) -> OrderEvent:
    return _record(order, actor, PRINTED, "Printed " + ", ".join(documents))


# ---------------------------------------------------------------- its shipments

def shipment_created(order: Order, actor: User | None, shipment: Shipment, units: int) -> OrderEvent:
    return _record(order, actor, SHIPMENT_CREATED, f"{shipment.number} packed: {units} unit(s)",
                   shipment_id=shipment.id, lines=line_numbers(order.lines), **_by_supplier(actor, shipment))


def shipment_shipped(order: Order, actor: User | None, shipment: Shipment) -> OrderEvent:
    tracking = f", tracking {shipment.tracking_number}" if shipment.tracking_number else ""
    return _record(order, actor, SHIPMENT_SHIPPED, f"{shipment.number} handed to {shipment.carrier}{tracking}",
                   shipment_id=shipment.id, **_by_supplier(actor, shipment))


def shipment_cancelled(order: Order, actor: User | None, shipment: Shipment, units: int) -> OrderEvent:
    return _record(order, actor, SHIPMENT_CANCELLED,
                   f"{shipment.number} cancelled: {units} unit(s) unpacked, back to allocated; its label is void",
                   shipment_id=shipment.id, lines=line_numbers(order.lines))


def shipment_delivered(order: Order, actor: User | None, shipment: Shipment) -> OrderEvent:
    return _record(order, actor, SHIPMENT_DELIVERED, f"{shipment.number} delivered", shipment_id=shipment.id)


def shipment_confirmed_by_file(shipment: Shipment, actor: User | None, channel_name: str) -> OrderEvent:
    return _record(shipment.order, actor, SHIPMENT_CONFIRMED,
                   f"{shipment.number} confirmed to {channel_name} by upload file", shipment_id=shipment.id)


def confirmation_retried(shipment: Shipment, actor: User | None, channel_name: str) -> OrderEvent:
    return _record(shipment.order, actor, CONFIRMATION_RETRIED,
                   f"Confirmation of {shipment.number} to {channel_name} queued again", shipment_id=shipment.id)


def label_bought(shipment: Shipment, actor: User | None, carrier: str, service: str, price: str,
                 tracking_code: str) -> OrderEvent:
    return _record(shipment.order, actor, LABEL_BOUGHT, f"{shipment.number}: {carrier} {service} label bought for "
                   f"{price}, tracking {tracking_code}", shipment_id=shipment.id)


def label_refund(shipment: Shipment, actor: User | None, carrier: str, price: str, outcome: str) -> OrderEvent:
    return _record(shipment.order, actor, LABEL_REFUND, f"{shipment.number}: refund of its {carrier} label "
                   f"({price}) {outcome}", shipment_id=shipment.id)


def tracking(order: Order, shipment: Shipment, status: str, said: str) -> OrderEvent:
    """The carrier's tracker moved the parcel on (`said`: ": its words", or empty)."""
    return _record(order, None, TRACKING, f"{shipment.number} {status}{said}", shipment_id=shipment.id)


def carrier_exception(order: Order, shipment: Shipment, said: str) -> OrderEvent:
    return _record(order, None, CARRIER_EXCEPTION, f"{shipment.number}: the carrier reports a problem{said}",
                   shipment_id=shipment.id)


# ---------------------------------------------------------------- the customer's emails

def email_sent(shipment: Shipment, what: str, to_address: str) -> OrderEvent:
    return _record(shipment.order, None, EMAIL_SENT, f"Sent the {what} to {to_address}", shipment_id=shipment.id)


def email_failed(shipment: Shipment, what: str, to_address: str, attempt: int, given_up: bool,
                 reason: str) -> OrderEvent:
    return _record(shipment.order, None, EMAIL_FAILED, f"The {what} to {to_address} failed (attempt {attempt}"
                   f"{', given up' if given_up else ', will retry'}): {reason}", shipment_id=shipment.id)


# ---------------------------------------------------------------- its refunds

def refunded(order: Order, actor: User | None, refund: Refund, credit_note: CreditNote) -> OrderEvent:
    by = f" on {order.channel.name} (refund {refund.channel_reference})" if actor is None else ""
    return _record(order, actor, REFUNDED, f"Refunded {money.amount_text(refund.amount_cents, refund.currency)}{by}: "
                   f"{refund.reason.label.lower()}, {refund.method.label.lower()}; {credit_note.display_number} issued",
                   refund_id=refund.id, credit_note_id=credit_note.id, amount_cents=refund.amount_cents)
# ---------------------------------------------------------------- its returns (issue 15)

def _return_lines(ret: Any) -> list[dict[str, Any]]:
    return [{"order_line_id": l.order_line_id, "sku": l.order_line.sku, "quantity": l.quantity, "reason": l.reason.value,
             "received": l.received, "restocked": l.restocked, "quarantined": l.quarantined,
             "written_off": l.written_off} for l in ret.lines]


def return_opened(order: Order, actor: User | None, ret: Any) -> OrderEvent:
    units = sum(l.quantity for l in ret.lines)
    return _record(order, actor, RETURN_OPENED, f"{ret.number} opened for {units} unit(s)"
                   + (f": {ret.note}" if ret.note else ""), return_id=ret.id, lines=_return_lines(ret))


def return_authorized(order: Order, actor: User | None, ret: Any) -> OrderEvent:
    return _record(order, actor, RETURN_AUTHORIZED, f"{ret.number} authorized: the customer may send it back",
                   return_id=ret.id)


def return_rejected(order: Order, actor: User | None, ret: Any) -> OrderEvent:
    return _record(order, actor, RETURN_REJECTED, f"{ret.number} rejected"
                   + (f": {ret.reject_reason}" if ret.reject_reason else ""), return_id=ret.id)


def return_received(order: Order, actor: User | None, ret: Any) -> OrderEvent:
    lines = ret.lines
    restocked, quarantined, written_off = (sum(getattr(l, name) for l in lines)
                                           for name in ("restocked", "quarantined", "written_off"))
    return _record(order, actor, RETURN_RECEIVED, f"{ret.number} received: {restocked} restocked, "
                   f"{quarantined} quarantined, {written_off} written off", return_id=ret.id,
                   lines=_return_lines(ret), order_lines=line_numbers(order.lines))


def return_closed(order: Order, actor: User | None, ret: Any) -> OrderEvent:
    return _record(order, actor, RETURN_CLOSED, f"{ret.number} closed", return_id=ret.id)


def return_reopened(order: Order, actor: User | None, ret: Any, was: str) -> OrderEvent:
    return _record(order, actor, RETURN_REOPENED, f"{ret.number} reopened ({was} → {ret.state.value})",
                   return_id=ret.id)


def exchanged(order: Order, actor: User | None, ret: Any, replacement: Order) -> OrderEvent:
    """On both orders: the returned one names its replacement, the replacement what it replaces."""
    _record(replacement, actor, EXCHANGED, f"Replacement for {ret.number} of {order.number}", return_id=ret.id,
            replaces_order_id=order.id)
    return _record(order, actor, EXCHANGED, f"{ret.number}: replacement order {replacement.number} sent",
                   return_id=ret.id, replacement_order_id=replacement.id)
# ---------------------------------------------------------------- where the units are (issue 14)


def allocation_moved(order: Order, actor: User | None, line: OrderLine, from_name: str, to_name: str,
                     units: int) -> OrderEvent:
    return _record(order, actor, ALLOCATION_MOVED, f"Moved {units:,} unit(s) of {line.sku} from {from_name} to {to_name}",
                   sku=line.sku, units=units, from_location=from_name, to_location=to_name,
                   lines=line_numbers(order.lines))
# ---------------------------------------------------------------- purchasing (issue 14)



def drop_ship_ordered(order: Order, actor: User | None, purchase_order_number: str, supplier_name: str,
                      lines: list[dict[str, Any]]) -> OrderEvent:
    """The order's drop-ship lines were put on the supplier's drop-ship purchase order of the day."""
    units = ", ".join(f"{line['units']} × {line['sku']}" for line in lines)
    return _record(order, actor, DROP_SHIP_ORDERED, f"Ordered from {supplier_name} on {purchase_order_number}: {units}",
                   purchase_order=purchase_order_number, lines=lines)
# ---------------------------------------------------------------- drop shipping (domain.drop_ship)

def _by_supplier(actor: User | None, shipment: Shipment) -> dict[str, Any]:
    """Who acted when nobody signed in made a drop-ship supplier's parcel: the supplier (through its link),
    named in the event's data for the timeline (which shows "System" for other events without a user)."""
    if actor is not None or shipment.location_id is None:
        return {}
    location = db.session.get(Location, shipment.location_id)
    if location is None or location.kind is not LocationKind.DROP_SHIP:
        return {}
    return {"supplier": location.supplier.name if location.supplier else location.name}


def drop_ship_confirmed(order: Order, actor: User | None, shipment: Shipment, supplier: str, how: str) -> OrderEvent:
    tracking = f", tracking {shipment.tracking_number}" if shipment.tracking_number else ""
    data = {"supplier": supplier} if actor is None else {}
    return _record(order, actor, DROP_SHIP_CONFIRMED,
                   f"{supplier} confirmed it shipped {shipment.number} ({shipment.carrier}{tracking}) {how}",
                   shipment_id=shipment.id, **data)
# ---------------------------------------------------------------- drop-ship POs after their orders change



def drop_ship_cancelled(order: Order, actor: User | None, purchase_order_number: str, supplier_name: str,
                        lines: list[dict[str, Any]]) -> OrderEvent:
    """Units of the order's drop-ship lines were taken off the supplier's PO (a cut, or the order voided)."""
    units = ", ".join(f"{line['units']} × {line['sku']}" for line in lines)
    return _record(order, actor, DROP_SHIP_CANCELLED,
                   f"Taken off {purchase_order_number} ({supplier_name}): {units}; the supplier is told not to ship them",
                   purchase_order=purchase_order_number, lines=lines)
