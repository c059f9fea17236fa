"""Returns (RMA): a customer sends shipped units back.

A return covers some shipped units of some lines of one order, with a reason per line:
requested → authorized → received → closed, or rejected (an admin may reopen a closed or rejected one).
Receiving records per line the units that came back and their condition (restock, quarantine, write
off) through stock.return_units, the one home of a return's stock effects; restocked units fill
backorders oldest first. An exchange makes a linked replacement order, Finalized and allocated.

The units a line may still be returned: shipped - returned (received back) - the units of its returns
still expected (requested or authorized). Opening and reopening lock the order, so two returns opened
at once count each other.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import (OPEN_RETURNS, RETURNS_EXPECTED, ChannelKind, Order, OrderLine, OrderStatus, PaymentStatus,
                      Return, ReturnLine, ReturnReason, ReturnState, Role, SalesChannel, User, utcnow)
from . import events, inventory, stock
from .errors import InvalidInput, InvalidState, NotFound, QuantityTooLarge, Shortfall
from .locking import lock_for_return, lock_order, lock_return
from .order_rules import MAX_LINE_QUANTITY, check_quantity, fill_backorders_and_refresh, require_role

MAX_NOTE = Return.__table__.c.note.type.length
MAX_REJECT_REASON = Return.__table__.c.reject_reason.type.length
CONDITIONS = tuple(stock.RETURN_CONDITIONS)  # restock, quarantine, write_off
REASONS = {reason.value: reason for reason in ReturnReason}


@dataclass(frozen=True)
class ReturnRequest:
    """Return `quantity` shipped units of an order line, for a reason (a ReturnReason value)."""

    order_line_id: int
    quantity: int
    reason: str


@dataclass(frozen=True)
class Receipt:
    """What came back of one return line, by condition."""

    restock: int = 0
    quarantine: int = 0
    write_off: int = 0

    @property
    def units(self) -> int:
        return self.restock + self.quarantine + self.write_off


def _clean_text(text: str | None, limit: int, what: str, field: str) -> str | None:
    if text is not None and not isinstance(text, str):
        raise InvalidInput(f"{what} must be text", field=field)
    text = (text or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"{what} has at most {limit:,} characters ({len(text):,} given)", field=field)
    return text or None


def units_expected(order_line_ids: Iterable[int]) -> dict[int, int]:
    """Units of each line on returns still expected back (requested or authorized)."""
    ids = list(order_line_ids)
    if not ids:
        return {}
    return {line_id: int(units) for line_id, units in db.session.execute(
        sa.select(ReturnLine.order_line_id, sa.func.sum(ReturnLine.quantity))
        .join(Return, Return.id == ReturnLine.return_id)
        .where(ReturnLine.order_line_id.in_(ids), Return.state.in_(RETURNS_EXPECTED))
        .group_by(ReturnLine.order_line_id))}


def returnable_units(order: Order) -> dict[int, int]:
    """Per line of the order, the shipped units that may still go on a return."""
    expected = units_expected(line.id for line in order.lines)
    return {line.id: max(line.shipped - line.returned - expected.get(line.id, 0), 0) for line in order.lines}


def stage_after_fulfilled(fulfilled: bool, shipped: int, returned: int) -> str | None:
    """The stage after Fulfilled, from the units (never stored): every shipped unit back is "Returned",
    some "Partly returned"."""
    if not fulfilled or not returned:
        return None
    return "Returned" if returned >= shipped else "Partly returned"


def return_stage(order: Order) -> str | None:
    return stage_after_fulfilled(order.status is OrderStatus.FULFILLED, sum(line.shipped for line in order.lines),
                                 sum(line.returned for line in order.lines))


@service
def open_return(actor: User, order_id: int, requests: list[ReturnRequest], note: str | None = None) -> Return:
    """Open a return (requested) for shipped units of an order, a reason per line.

    Raises NotAllowed for no user, InvalidInput for bad quantities, reasons or note, or no unit at all,
    InvalidState for an order with nothing shipped, QuantityTooLarge ("returning more than was shipped")
    for a line asked for more than it shipped less what is returned or on other returns.
    """
    require_role(actor, Role.STAFF, "open a return")
    note = _clean_text(note, MAX_NOTE, "The note", "note")
    wanted: dict[int, ReturnRequest] = {}
    for request in requests:
        check_quantity(request.quantity, allow_zero=True)
        if request.reason not in REASONS:
            raise InvalidInput("Choose a reason: " + ", ".join(r.label.lower() for r in ReturnReason), field="reason")
        if request.order_line_id in wanted:
            raise InvalidInput("A line is on the return twice: give one quantity", field="quantity")
        if request.quantity:
            wanted[request.order_line_id] = request
    if not wanted:
        raise InvalidInput("Return at least one unit", field="quantity")
    order = lock_order(order_id)
    if order.status not in (OrderStatus.FINALIZED, OrderStatus.FULFILLED) or not any(l.shipped for l in order.lines):
        raise InvalidState(f"{order.number} has shipped nothing: only shipped units can be returned")
    lines = {line.id: line for line in order.lines}
    unknown = sorted(set(wanted) - lines.keys())
    if unknown:
        raise InvalidInput(f"Line {', '.join(map(str, unknown))} is not on {order.number}", field="quantity")
    returnable = returnable_units(order)
    short = [Shortfall(lines[i].sku, r.quantity, returnable[i]) for i, r in wanted.items() if r.quantity > returnable[i]]
    if short:
        raise QuantityTooLarge("Returning more than was shipped (less what is returned or on other returns)", short,
                               field="quantity")
    ret = Return(order_id=order.id, note=note, requested_by_id=actor.id, state=ReturnState.REQUESTED,
                 lines=[ReturnLine(order_line=lines[i], quantity=r.quantity, reason=REASONS[r.reason])
                        for i, r in sorted(wanted.items())])
    db.session.add(ret)
    db.session.flush()
    events.return_opened(order, actor, ret)
    return ret


def _refuse_state(ret: Return, allowed: Iterable[ReturnState], action: str) -> None:
    if ret.state not in allowed:
        raise InvalidState(f"{ret.number} is {ret.state.value}: it cannot be {action}")


@service
def authorize_return(actor: User, return_id: int) -> Return:
    """requested → authorized: the customer may send the units back. Raises InvalidState otherwise."""
    require_role(actor, Role.STAFF, "authorize a return")
    ret = lock_return(return_id)
    _refuse_state(ret, {ReturnState.REQUESTED}, "authorized")
    ret.state, ret.authorized_by_id, ret.authorized_at = ReturnState.AUTHORIZED, actor.id, utcnow()
    events.return_authorized(ret.order, actor, ret)
    return ret


@service
def reject_return(actor: User, return_id: int, reason: str | None = None) -> Return:
    """requested or authorized → rejected: its units count against what shipped no more."""
    require_role(actor, Role.STAFF, "reject a return")
    reason = _clean_text(reason, MAX_REJECT_REASON, "The reason", "reason")
    ret = lock_return(return_id)
    _refuse_state(ret, RETURNS_EXPECTED, "rejected")
    ret.state, ret.rejected_by_id, ret.rejected_at, ret.reject_reason = ReturnState.REJECTED, actor.id, utcnow(), reason
    events.return_rejected(ret.order, actor, ret)
    return ret


def check_receipts(receipts: Mapping[int, Receipt]) -> None:
    for receipt in receipts.values():
        for condition in CONDITIONS:
            check_quantity(getattr(receipt, condition), field_name=condition, allow_zero=True)
    if not sum(r.units for r in receipts.values()):
        raise InvalidInput("Nothing received: enter the units that came back (or reject the return)", field="restock")


@service
def receive_return(actor: User, return_id: int, receipts: Mapping[int, Receipt],
                   location_id: int | None = None) -> Return:
    """authorized → received: per return line (by id) the units back and their condition. Restocked units
    are back in hand at `location_id` (the default location unless given) and fill backorders oldest
    first; quarantined units are held at the quarantine location, written-off ones stay out of stock;
    each is a ledger row with the return's reference. All or nothing.

    Raises InvalidInput for bad numbers or a line not on the return, QuantityTooLarge for more units
    than the line's quantity, InvalidState for a return not authorized ("receiving a return twice").
    """
    require_role(actor, Role.STAFF, "receive a return")
    check_receipts(receipts)
    location_id = inventory.check_location(location_id)
    if not stock.kind_of(location_id).sells_from:
        raise InvalidInput("Restock at a warehouse or 3PL (quarantined units go to quarantine by themselves)",
                           field="location")
    products = dict(db.session.execute(
        sa.select(ReturnLine.id, OrderLine.product_id).join(OrderLine, OrderLine.id == ReturnLine.order_line_id)
        .where(ReturnLine.return_id == return_id)).all())
    restock: dict[int, int] = {}
    for line_id, receipt in receipts.items():
        if line_id in products and receipt.restock:
            restock[products[line_id]] = restock.get(products[line_id], 0) + receipt.restock
    ret = lock_for_return(return_id, restock, location_id)
    if ret.state in (ReturnState.RECEIVED, ReturnState.CLOSED):
        raise InvalidState(f"{ret.number} was received already: a return is received once")
    if ret.state is ReturnState.REQUESTED:
        raise InvalidState(f"{ret.number} is not authorized yet: authorize it first")
    _refuse_state(ret, {ReturnState.AUTHORIZED}, "received")
    lines = {line.id: line for line in ret.lines}
    unknown = sorted(set(receipts) - lines.keys())
    if unknown:
        raise InvalidInput(f"Line {', '.join(map(str, unknown))} is not on {ret.number}", field="restock")
    short = [Shortfall(lines[i].order_line.sku, r.units, lines[i].quantity)
             for i, r in receipts.items() if r.units > lines[i].quantity]
    if short:
        raise QuantityTooLarge("More units received than the return holds", short, field="restock")
    for line_id, receipt in sorted(receipts.items()):
        line = lines[line_id]
        for condition in CONDITIONS:
            units = getattr(receipt, condition)
            if units:
                stock.return_units(line.order_line, units, condition, actor, ret.id, location_id)
        line.restocked, line.quarantined, line.written_off = receipt.restock, receipt.quarantine, receipt.write_off
        line.received = receipt.units
    ret.state, ret.received_by_id, ret.received_at = ReturnState.RECEIVED, actor.id, utcnow()
    events.return_received(ret.order, actor, ret)
    fill_backorders_and_refresh(set(restock), actor)
    return ret


@service
def close_return(actor: User, return_id: int) -> Return:
    """received → closed: nothing more to do on it."""
    require_role(actor, Role.STAFF, "close a return")
    ret = lock_return(return_id)
    _refuse_state(ret, {ReturnState.RECEIVED}, "closed")
    ret.state, ret.closed_by_id, ret.closed_at = ReturnState.CLOSED, actor.id, utcnow()
    events.return_closed(ret.order, actor, ret)
    return ret


@service
def reopen_return(actor: User, return_id: int) -> Return:
    """An admin reopens a return: closed → received; rejected → requested, if its units still fit what
    shipped. Raises NotAllowed below admin, InvalidState otherwise, QuantityTooLarge when they no longer fit."""
    require_role(actor, Role.ADMIN, "reopen a return")
    ret = lock_for_return(return_id)
    _refuse_state(ret, {ReturnState.CLOSED, ReturnState.REJECTED}, "reopened")
    was = ret.state.value
    if ret.state is ReturnState.CLOSED:
        ret.state, ret.closed_by_id, ret.closed_at = ReturnState.RECEIVED, None, None
    else:
        returnable = returnable_units(ret.order)
        short = [Shortfall(l.order_line.sku, l.quantity, returnable[l.order_line_id])
                 for l in ret.lines if l.quantity > returnable[l.order_line_id]]
        if short:
            raise QuantityTooLarge("Returning more than was shipped (less what is returned or on other returns)",
                                   short, field="quantity")
        ret.state, ret.rejected_by_id, ret.rejected_at, ret.reject_reason = ReturnState.REQUESTED, None, None, None
    events.return_reopened(ret.order, actor, ret, was)
    return ret


def _manual_channel() -> SalesChannel:
    channel = db.session.scalar(sa.select(SalesChannel).where(SalesChannel.kind == ChannelKind.MANUAL,
                                                              SalesChannel.active).order_by(SalesChannel.id))
    if channel is None:
        raise InvalidState("A replacement order is a manual order: an admin adds a manual sales channel first")
    return channel


@service
def exchange(actor: User, return_id: int, lines: list[tuple[str, int]] | None = None) -> Order:
    """Send a replacement for an authorized or received return: a manual order for the same customer and
    address, at no charge, made and finalized (allocated) by the order services, and linked to the return.
    `lines` are (SKU, units); none: the return's own products and quantities. One replacement per return.

    Raises InvalidState for a return not authorized or received or already exchanged, InvalidInput for
    an unknown SKU or a bad quantity.
    """
    from .intake import create_order
    from .new_orders import CustomerDetails, LineRequest, NewOrder
    from .order_actions import finalize_order

    require_role(actor, Role.STAFF, "exchange a return")
    found = db.session.get(Return, return_id)
    if found is None:
        raise NotFound(f"Return {return_id} does not exist")
    _check_exchangeable(found)
    if not lines:
        lines = [(line.order_line.sku, line.quantity) for line in found.lines]
    for sku, quantity in lines:
        check_quantity(quantity)
        if not isinstance(sku, str) or not sku.strip():
            raise InvalidInput("Give the SKU of the replacement", field="sku")
    order = found.order
    new = NewOrder(channel_id=_manual_channel().id, payment_status=PaymentStatus.PAID, currency=order.currency,
                   customer=CustomerDetails(name=order.customer_name or "Customer", email=order.email,
                                            ship_to=order.ship_to, bill_to=order.bill_to),
                   lines=[LineRequest(sku.strip(), quantity, unit_price_cents=0) for sku, quantity in lines],
                   service_level=order.service_level)
    replacement = create_order(actor, new)
    finalize_order(actor, replacement.id)
    ret = lock_return(return_id)  # after the orders: the lock order
    _check_exchangeable(ret)
    ret.replacement_order_id = replacement.id
    events.exchanged(ret.order, actor, ret, replacement)
    return replacement


def _check_exchangeable(ret: Return) -> None:
    if ret.replacement_order_id is not None:
        raise InvalidState(f"{ret.number} was exchanged already: replacement {Order.number_of(ret.replacement_order_id)}")
    _refuse_state(ret, {ReturnState.AUTHORIZED, ReturnState.RECEIVED}, "exchanged")


# ---------------------------------------------------------------- a channel's refund that restocks (issue 15)

def receive_from_channel(order: Order, restock: Mapping[int, int], note: str) -> Return | None:
    """Units a channel's refund put back in stock (order line id -> units) come back on a return made
    received at once: restocked at the default location, each a ledger row with the return's reference,
    filling backorders oldest first. Runs in the refund's transaction (refunds.record_channel_refund),
    its locks held (locking.lock_for_channel_restock).

    Only units shipped and not yet back come back, less those on an open return here (requested or
    authorized): that return's receipt restocks them, so a channel's refund racing a staff receipt
    restocks the units once. Units never shipped (Shopify's "cancel") have nothing to come back: the
    line keeps them, and staff cut the line if it is not to ship. Returns None when no unit came back."""
    lines = {line.id: line for line in order.lines}
    expected = units_expected(lines)
    back = {}
    for line_id, units in sorted(restock.items()):
        line = lines.get(line_id)
        if line is None or line.product_id is None:
            continue
        units = min(units, line.shipped - line.returned - expected.get(line_id, 0))
        if units > 0:
            back[line_id] = units
    if not back:
        return None
    now = utcnow()
    ret = Return(order_id=order.id, note=(note or "")[:MAX_NOTE] or None, state=ReturnState.RECEIVED,
                 requested_at=now, authorized_at=now, received_at=now,
                 lines=[ReturnLine(order_line=lines[i], quantity=units, reason=ReturnReason.OTHER, received=units,
                                   restocked=units) for i, units in back.items()])
    db.session.add(ret)
    db.session.flush()
    for line in ret.lines:
        stock.return_units(line.order_line, line.quantity, "restock", None, ret.id)
    events.return_opened(order, None, ret)
    events.return_received(order, None, ret)
    fill_backorders_and_refresh({lines[i].product_id for i in back}, None)
    return ret


# ---------------------------------------------------------------- reads for the screens

def get_return(return_id: int) -> Return:
    found = db.session.get(Return, return_id)
    if found is None:
        raise NotFound(f"Return {return_id} does not exist")
    return found


def find_by_number(text: str) -> Return:
    return_id = Return.id_from_number(text or "")
    found = db.session.get(Return, return_id) if return_id is not None else None
    if found is None:
        raise NotFound(f"No return {text.strip()[:30]!r}: scan the return slip's barcode (RMA-…)", field="code")
    return found


def returns_of(order_id: int) -> list[Return]:
    return list(db.session.scalars(sa.select(Return).where(Return.order_id == order_id).order_by(Return.id)))


def open_counts() -> dict[ReturnState, int]:
    """How many returns are in each open state (the board's Returns view)."""
    counts = {state: 0 for state in OPEN_RETURNS}
    for state, count in db.session.execute(sa.select(Return.state, sa.func.count()).where(
            Return.state.in_(OPEN_RETURNS)).group_by(Return.state)):
        counts[state] = count
    return counts


def returns_in(state: ReturnState, limit: int = 100) -> list[dict[str, Any]]:
    """The returns in one state, oldest first, with their order and units (the board's Returns view)."""
    units = (sa.select(ReturnLine.return_id, sa.func.sum(ReturnLine.quantity).label("units"))
             .group_by(ReturnLine.return_id).subquery())
    rows = db.session.execute(
        sa.select(Return.id, Return.order_id, Return.requested_at, Order.customer_name, units.c.units)
        .join(Order, Order.id == Return.order_id).join(units, units.c.return_id == Return.id)
        .where(Return.state == state).order_by(Return.id).limit(limit))
    return [{"id": r.id, "number": Return.number_of(r.id), "order_id": r.order_id,
             "order_number": Order.number_of(r.order_id), "customer": r.customer_name, "units": int(r.units),
             "requested_at": r.requested_at} for r in rows]


__all__ = ["CONDITIONS", "MAX_LINE_QUANTITY", "REASONS", "Receipt", "ReturnRequest", "authorize_return",
           "close_return", "exchange", "open_return", "receive_return", "reject_return", "reopen_return",
           "return_stage", "returnable_units"]
