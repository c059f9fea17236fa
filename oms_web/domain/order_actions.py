"""The actions on an existing order: finalize, allocate now, edit its lines, void, take payment,
release a hold, add a note.

Each is one all-or-nothing action (`@service`): it takes the acting user and plain values, changes the
order and stock under the locks of domain.locking, writes the ledger rows and a timeline event, and
raises a DomainError (changing nothing) when it refuses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import Order, OrderLine, OrderStatus, PaymentStatus, Product, Role, ShipmentLine, User, utcnow
from . import deadlines, events, money, stock
from .drop_ship_changes import on_drop_ship_pos, take_off_drop_ship_pos
from .errors import InvalidInput, InvalidState, NotFound, Shortfall
from .invoicing import invoiced_money
from .locking import lock_order, lock_orders
from .order_rules import (MAX_NOTE_LENGTH, allocate_and_describe, check_price, check_quantity,
                          fill_backorders_and_refresh, get_order, products_by_sku, refresh_order,
                          require_role, tax_rate_of)
from .product_match import unknown_sku


@dataclass(frozen=True)
class LineChange:
    """Set an existing line's quantity (0 removes it), or add a line when `line_id` is None."""

    quantity: int
    line_id: int | None = None
    sku: str | None = None
    unit_price_cents: int | None = None


@service
def finalize_order(actor: User, order_id: int) -> Order:
    """Draft → Finalized, allocating stock (what cannot be covered is backordered).

    Raises InvalidState for a non-draft or empty order.
    """
    order = lock_order(order_id)
    if order.status is not OrderStatus.DRAFT:
        raise InvalidState(f"{order.number} is {order.status.value}, not a draft")
    if not any(line.ordered > 0 for line in order.lines):
        raise InvalidState("An empty order cannot be finalized: add a line first", field="lines")
    order.status = OrderStatus.FINALIZED
    order.finalized_at = utcnow()
    # A manual order is placed when the customer says yes: its handling time runs from here.
    order.ship_by = deadlines.ship_by_for(order.finalized_at, deadlines.handling_days_of(order.channel))
    events.finalized(order, actor)
    allocate_and_describe(order, actor)
    refresh_order(order)
    return order


@service
def allocate_now(actor: User, order_id: int) -> int:
    """Allocate available stock to the order's backordered lines. Returns the units allocated."""
    order = lock_order(order_id)
    if order.status is not OrderStatus.FINALIZED:
        raise InvalidState(f"Only a finalized order takes stock; {order.number} is {order.status.value}")
    if order.hold_reason:
        raise InvalidState(f"{order.number} is on hold: {order.hold_reason}")
    taken = allocate_and_describe(order, actor)
    refresh_order(order)
    return taken


@service
def edit_order(actor: User, order_id: int, changes: list[LineChange]) -> Order:
    """Add lines, change quantities, remove lines (quantity 0) of a draft or finalized order.

    On a finalized order a cut releases the line's allocated-but-unshipped units beyond the new
    quantity (freed units go to other orders' backorders) and a rise or a new line is allocated.
    Raises InvalidInput for a quantity below what was shipped, an unknown SKU or line, an order left empty.
    """
    if not changes:
        raise InvalidInput("Nothing to change", field="lines")
    for change in changes:
        check_quantity(change.quantity, allow_zero=change.line_id is not None)
        if change.unit_price_cents is not None:
            check_price(change.unit_price_cents)
    changed = [c.line_id for c in changes if c.line_id is not None]
    if len(changed) != len(set(changed)):
        twice = sorted({line_id for line_id in changed if changed.count(line_id) > 1})
        raise InvalidInput(f"Line {', '.join(map(str, twice))} is changed twice in one edit: give one quantity",
                           field="lines")
    new_skus = {c.sku.strip() for c in changes if c.line_id is None and c.sku}
    if any(c.line_id is None and not (c.sku or "").strip() for c in changes):
        raise InvalidInput("A new line needs a SKU", field="sku")
    products = {p.sku: p for p in db.session.scalars(sa.select(Product).where(Product.sku.in_(new_skus)))}
    unknown = sorted(new_skus - products.keys())
    if unknown:
        raise unknown_sku(unknown)

    order = lock_order(order_id, more_products=[p.id for p in products.values()], frees_stock=True)
    if order.status not in (OrderStatus.DRAFT, OrderStatus.FINALIZED):
        raise InvalidState(f"{order.number} is {order.status.value} and can no longer be edited")
    lines = {line.id: line for line in order.lines}
    before = events.line_numbers(order.lines)
    was = {line.id: (line.ordered, line.unit_price_cents) for line in order.lines}
    total_before = order.total_cents
    if order.payment_status is PaymentStatus.PAID and order.paid_cents is None:
        order.paid_cents = total_before  # what was paid stays put; a rise becomes the balance due
    below_shipped = []
    for change in changes:
        if change.line_id is None:
            continue
        line = lines.get(change.line_id)
        if line is None:
            raise InvalidInput(f"Line {change.line_id} is not on {order.number}", field="lines")
        if change.quantity < line.shipped:
            below_shipped.append(Shortfall(line.sku, change.quantity, line.shipped))
    if below_shipped:
        raise InvalidInput("A line cannot go below what has shipped: " + "; ".join(
            f"{s.what}: {s.possible} already shipped" for s in below_shipped), field="quantity")

    finalized = order.status is OrderStatus.FINALIZED
    in_cancelled_parcels = set(db.session.scalars(sa.select(ShipmentLine.order_line_id).where(
        ShipmentLine.order_line_id.in_(list(lines))))) if any(c.quantity == 0 for c in changes) else set()
    if any(c.quantity == 0 for c in changes) and any(line.drop_ship for line in lines.values()):
        in_cancelled_parcels |= on_drop_ship_pos(list(lines))  # kept at 0: the PO line shows its units cancelled
    freed: set[int] = set()
    invoiced_so_far = invoiced_money(order.id) if any(line.invoiced for line in order.lines) else {}
    for change in changes:
        if change.line_id is None:
            product = products[change.sku.strip()]
            line = OrderLine(product=product, sku=product.sku, name=product.name, ordered=change.quantity,
                             allocated=0, shipped=0, invoiced=0, tax_rate_bp=tax_rate_of(product), discount_cents=0,
                             unit_price_cents=change.unit_price_cents if change.unit_price_cents is not None
                             else product.price_cents)
            order.lines.append(line)
            continue
        line = lines[change.line_id]
        if change.unit_price_cents is not None:
            line.unit_price_cents = change.unit_price_cents
        if finalized and stock.release_line(line, actor, keep=max(change.quantity - line.shipped, 0)):
            freed.add(line.product_id)
        money.rescale_line(line, change.quantity, invoiced_so_far.get(line.id, (0, 0)))
        line.ordered = change.quantity
        if line.ordered == 0 and line.id not in in_cancelled_parcels:
            order.lines.remove(line)  # a line a cancelled parcel carried stays, at 0, for that parcel's record
    if not any(line.ordered > 0 for line in order.lines) and finalized:
        raise InvalidInput("A finalized order needs at least one unit: void it instead", field="lines")
    db.session.flush()
    if finalized and any(line.drop_ship for line in order.lines):
        take_off_drop_ship_pos(order, actor)
    # Each changed line, before -> after, so the timeline tells what the edit did without a diff.
    changed_lines = [{"sku": line.sku, "quantity": [ordered, line.ordered],
                      "unit_price_cents": [price, line.unit_price_cents]}
                     for line_id, (ordered, price) in was.items()
                     for line in (lines[line_id],) if (ordered, price) != (line.ordered, line.unit_price_cents)]
    changed_lines += [{"sku": line.sku, "quantity": [0, line.ordered], "unit_price_cents": [None, line.unit_price_cents]}
                      for line in order.lines if line.id not in was]
    total_after = money.order_totals(order).total_cents
    events.edited(order, actor, _edit_message(order, changed_lines, total_before, total_after),
                  before=before, changes=changed_lines, total_cents=[total_before, total_after])
    if finalized and not order.hold_reason:
        allocate_and_describe(order, actor)
    refresh_order(order)
    if order.status is OrderStatus.FULFILLED:  # a cut down to what was shipped, all of it delivered
        events.fulfilled(order, actor)
    fill_backorders_and_refresh(freed, actor)
    return order


def _edit_message(order: Order, changed_lines: list[dict[str, Any]], total_before: int, total_after: int) -> str:
    """"Lines edited: A: quantity 2 → 5; B removed (was 1). Total USD 20.00 → USD 50.00; balance due USD 30.00"."""
    def amount(cents: int) -> str:
        return money.amount_text(cents, order.currency)

    parts = []
    for entry in changed_lines:
        (q0, q1), (p0, p1) = entry["quantity"], entry["unit_price_cents"]
        if q0 == 0:
            parts.append(f"{entry['sku']} added: {q1} at {amount(p1)}")
        elif q1 == 0:
            parts.append(f"{entry['sku']} removed (was {q0})")
        else:
            part = f"{entry['sku']}: quantity {q0} → {q1}" if q0 != q1 else f"{entry['sku']}:"
            if p0 != p1:
                part += f"{',' if q0 != q1 else ''} price {amount(p0)} → {amount(p1)}"
            parts.append(part)
    message = "Lines edited: " + ("; ".join(parts) if parts else "no change")
    if total_after != total_before:
        message += f". Total {amount(total_before)} → {amount(total_after)}"
    if order.payment_status is PaymentStatus.PAID and total_after > order.amount_paid_cents:
        message += f"; balance due {amount(total_after - order.amount_paid_cents)}"
    return message


def why_not_voidable(order: Order) -> str | None:
    """Why the order cannot be voided, or None when it can: the one rule for void_order and the order page."""
    if order.status not in (OrderStatus.DRAFT, OrderStatus.FINALIZED):
        return f"{order.number} is {order.status.value} and cannot be voided"
    shipped = sum(line.shipped for line in order.lines)
    if shipped:
        return (f"{order.number} has {shipped} unit(s) shipped and cannot be voided; "
                f"remove the remaining units by editing the order instead")
    return None


@service
def void_order(actor: User, order_id: int, reason: str) -> Order:
    """Cancel a draft or finalized order (admin only, with a reason), releasing its committed stock.

    Raises NotAllowed for a non-admin, InvalidInput without a reason, InvalidState once anything shipped.
    """
    require_role(actor, Role.ADMIN, "void an order")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the order is voided", field="reason")
    if len(reason) > 500:
        raise InvalidInput("Keep the reason under 500 characters", field="reason")
    order = lock_order(order_id, frees_stock=True)
    refusal = why_not_voidable(order)
    if refusal:
        raise InvalidState(refusal)
    before = events.line_numbers(order.lines)
    freed = {line.product_id for line in order.lines if stock.release_line(line, actor)}
    order.status = OrderStatus.VOID
    order.voided_at = utcnow()
    order.void_reason = reason
    events.voided(order, actor, reason, before)
    if any(line.drop_ship for line in order.lines):
        take_off_drop_ship_pos(order, actor)
    refresh_order(order)
    fill_backorders_and_refresh(freed, actor)
    return order


@service
def mark_paid(actor: User, order_id: int) -> Order:
    """Record that an order awaiting payment has been paid."""
    order = lock_order(order_id)
    if order.payment_status is PaymentStatus.PAID and order.balance_due_cents:
        events.balance_paid(order, actor, order.balance_due_cents)
        order.paid_cents = order.total_cents
        refresh_order(order)
        return order
    if order.status is not OrderStatus.FINALIZED or order.payment_status is PaymentStatus.PAID:
        raise InvalidState(f"{order.number} is not awaiting payment")
    order.payment_status = PaymentStatus.PAID
    order.paid_cents = None  # paid in full: the total
    events.paid(order, actor)
    refresh_order(order)
    return order


@service
def release_hold(actor: User, order_id: int) -> Order:
    """Resolve the held order's unknown SKUs (by product SKU or the channel's SKU mapping) and allocate.

    Raises InvalidState when the order is not held or a SKU still matches no product.
    """
    order = get_order(order_id)
    unresolved = {line.sku for line in order.lines if line.product_id is None}
    products = products_by_sku(order.channel, unresolved)
    order = lock_order(order_id, more_products=[p.id for p in products.values()])
    if order.status is not OrderStatus.FINALIZED:
        raise InvalidState(f"{order.number} is {order.status.value}: only a finalized order is released")
    if not order.hold_reason:
        raise InvalidState(f"{order.number} is not on hold")
    still_unknown = sorted({l.sku for l in order.lines if l.product_id is None} - products.keys())
    if still_unknown:
        raise InvalidState(f"No product has the SKU {', '.join(still_unknown)} yet: add it or map it first",
                           field="sku")
    for line in order.lines:
        if line.product_id is None:
            product = products[line.sku]
            line.product = product
            line.product_id = product.id
            line.sku = product.sku
            # Created without a product, the line got the default rate; the product's own rate applies.
            line.tax_rate_bp = tax_rate_of(product)
    order.hold_reason = None
    db.session.flush()
    events.released(order, actor)
    allocate_and_describe(order, actor)
    refresh_order(order)
    return order


@service
def add_note(actor: User, order_id: int, text: str) -> None:
    """Add a note to the order's timeline."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write something first", field="note")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"Keep notes under {MAX_NOTE_LENGTH:,} characters", field="note")
    order = lock_orders([order_id]).get(order_id)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    events.note(order, actor, text)
