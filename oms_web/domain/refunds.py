"""Refunds and their credit notes: money given back on an order, never more than its invoices charged
less what was refunded before, each refund issuing exactly one credit note in its transaction.

A refund is made of parts, each tax included: units of invoiced lines (their invoiced amount, from the
invoices' own lines so the cents match), shipping, and a free amount (goodwill, a price adjustment).
A part's tax is its share of the invoiced tax, reckoned as "the share so far, less what earlier credit
notes took", so a line refunded in several goes gives back exactly what it was invoiced.

Credit note numbers come from the counter row "credit_note", bumped in the issuing transaction after
the order's lock (domain.locking's order: the order, then the counter): a rolled-back refund gives its
number back, so the series stays unique and gapless, as the invoices' does.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import (CreditNote, CreditNoteLine, Counter, Invoice, InvoiceLine, Order, OrderLine, Refund,
                      RefundMethod, RefundReason, Return, ReturnState, Role, SalesChannel, User)
from . import events, money
from .errors import DomainError, InvalidInput, InvalidState, NotFound, QuantityTooLarge, Shortfall
from .locking import lock_for_channel_restock, lock_order
from .order_rules import MAX_LINE_QUANTITY, require_role

CREDIT_NOTE_COUNTER = "credit_note"
# No refund of one order comes near this (a million in the currency); past it, a slip of the keyboard.
MAX_REFUND_CENTS = 100_000_000
NOTE_LENGTH = 300  # Refund.note
REFERENCE_LENGTH = 64  # Refund.channel_reference


class DuplicateRefund(DomainError):
    """A refund with this channel reference is on the order already; `refund_id` is that one."""

    def __init__(self, reference: str, refund_id: int, credit_note: str):
        super().__init__(f"Refund {reference} is recorded already (credit note {credit_note})",
                         field="channel_reference")
        self.refund_id = refund_id


@dataclass(frozen=True)
class RefundRequest:
    """What to give back: `units` of invoiced order lines (order line id -> units), `shipping_cents` and a
    free `amount_cents`, each tax included. `fit_to_cents`: the refund's total is this (a channel's refund
    states what it paid back); the units' parts are then scaled down to it, or the rest is a free amount."""

    reason: RefundReason = RefundReason.OTHER
    method: RefundMethod = RefundMethod.ORIGINAL_PAYMENT
    units: Mapping[int, int] = field(default_factory=dict)
    shipping_cents: int = 0
    amount_cents: int = 0
    note: str | None = None
    channel_reference: str | None = None
    return_id: int | None = None
    fit_to_cents: int | None = None


@dataclass
class Part:
    kind: str  # units | shipping | amount
    gross: int  # tax included
    tax: int
    line: OrderLine | None = None
    quantity: int = 0


@dataclass(frozen=True)
class LineFigures:
    """An order line's invoiced and credited figures: units, gross (tax included) and tax."""

    invoiced_units: int
    invoiced_gross: int
    invoiced_tax: int
    credited_units: int
    credited_gross: int
    credited_tax: int
    invoice_ids: tuple[int, ...]

    @property
    def refundable_units(self) -> int:
        return self.invoiced_units - self.credited_units


def next_credit_note_number() -> int:
    return db.session.execute(
        sa.update(Counter).where(Counter.name == CREDIT_NOTE_COUNTER).values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one()


def line_figures(order: Order) -> dict[int, LineFigures]:
    """Each invoiced line of the order: what its invoices charged and what credit notes gave back."""
    gross = InvoiceLine.line_total_cents - InvoiceLine.discount_cents
    if not order.tax_included:
        gross = gross + InvoiceLine.tax_cents
    invoiced = db.session.execute(
        sa.select(InvoiceLine.order_line_id, InvoiceLine.invoice_id, InvoiceLine.quantity, gross, InvoiceLine.tax_cents)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id).where(Invoice.order_id == order.id)
        .order_by(Invoice.id)).all()
    credited = {line_id: (int(units or 0), -int(net or 0) - int(tax or 0), -int(tax or 0))
                for line_id, units, net, tax in db.session.execute(
                    sa.select(CreditNoteLine.order_line_id, sa.func.sum(CreditNoteLine.quantity),
                              sa.func.sum(CreditNoteLine.net_cents), sa.func.sum(CreditNoteLine.tax_cents))
                    .join(CreditNote, CreditNote.id == CreditNoteLine.credit_note_id)
                    .where(CreditNote.order_id == order.id, CreditNoteLine.order_line_id.is_not(None))
                    .group_by(CreditNoteLine.order_line_id))}
    sums: dict[int, list] = {}
    for line_id, invoice_id, quantity, line_gross, tax in invoiced:
        entry = sums.setdefault(line_id, [0, 0, 0, []])
        entry[0] += quantity
        entry[1] += int(line_gross)
        entry[2] += int(tax)
        if invoice_id not in entry[3]:
            entry[3].append(invoice_id)
    return {line_id: LineFigures(units, line_gross, tax, *credited.get(line_id, (0, 0, 0)), tuple(invoice_ids))
            for line_id, (units, line_gross, tax, invoice_ids) in sums.items()}


def _units_part(line: OrderLine, figures: LineFigures, units: int) -> Part:
    """`units` more of a line: the share of its invoiced gross and tax for the units credited so far and
    these, less what earlier credit notes took for it."""
    done = figures.credited_units + units
    gross = max(money.share(figures.invoiced_gross, done, figures.invoiced_units) - figures.credited_gross, 0)
    tax = min(max(money.share(figures.invoiced_tax, done, figures.invoiced_units) - figures.credited_tax, 0), gross)
    return Part("units", gross, tax, line, units)


def refund_proposal(order: Order, units: Mapping[int, int]) -> int:
    """What refunding these units (order line id -> units, e.g. a return's) gives back, tax included, in
    cents: their invoiced amount, computed from the invoices' lines as issue_refund computes it. Units
    beyond those invoiced and not yet refunded propose nothing: nothing was charged for them to give back."""
    figures = line_figures(order)
    lines = {line.id: line for line in order.lines}
    total = 0
    for line_id, wanted in units.items():
        if line_id not in lines or line_id not in figures or wanted <= 0:
            continue
        total += _units_part(lines[line_id], figures[line_id], min(wanted, figures[line_id].refundable_units)).gross
    return total


def line_proposals(order: Order, figures: Mapping[int, LineFigures]) -> dict[int, int]:
    """For each line with units still refundable: what refunding all of them gives back, tax included."""
    return {line.id: _units_part(line, figures[line.id], figures[line.id].refundable_units).gross
            for line in order.lines if line.id in figures and figures[line.id].refundable_units > 0}


@dataclass(frozen=True)
class Refundable:
    """What may still be refunded on an order: in all, of its shipping, and per line (units)."""

    invoiced_cents: int
    refunded_cents: int
    shipping_cents: int  # the shipping invoiced (tax included) not yet refunded
    lines: dict[int, LineFigures]

    @property
    def left_cents(self) -> int:
        return self.invoiced_cents - self.refunded_cents


def refundable(order: Order) -> Refundable:
    invoiced = int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Invoice.total_cents), 0))
                                     .where(Invoice.order_id == order.id)))
    refunded = int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_cents), 0))
                                     .where(Refund.order_id == order.id)))
    shipping_refunded = int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Refund.shipping_cents), 0))
                                              .where(Refund.order_id == order.id)))
    return Refundable(invoiced, refunded, max(_shipping_invoiced(order) - shipping_refunded, 0), line_figures(order))


def _shipping_invoiced(order: Order) -> int:
    """The shipping the order's first invoice charged, tax included."""
    charged = int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Invoice.shipping_cents), 0))
                                    .where(Invoice.order_id == order.id)))
    if charged and not order.tax_included:
        charged += order.shipping_tax_cents
    return charged


def _credited_tax(order_id: int, kind: str | None = None) -> int:
    query = (sa.select(sa.func.coalesce(sa.func.sum(CreditNoteLine.tax_cents), 0))
             .join(CreditNote, CreditNote.id == CreditNoteLine.credit_note_id).where(CreditNote.order_id == order_id))
    if kind is not None:
        query = query.where(CreditNoteLine.kind == kind)
    return -int(db.session.scalar(query))


def _checked_amount(cents: object, *, field_name: str, label: str) -> int:
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise InvalidInput(f"{label} must be a whole number of cents", field=field_name)
    if cents < 0 or cents > MAX_REFUND_CENTS:
        raise InvalidInput(f"{label} must be from 0 to {money.decimal_text(MAX_REFUND_CENTS)} (at most)",
                           field=field_name)
    return cents


def _checked_text(text: str | None, limit: int, *, field_name: str, label: str) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidInput(f"{label} must be text", field=field_name)
    text = text.strip()
    if "\x00" in text:
        raise InvalidInput(f"{label} must not contain a NUL character", field=field_name)
    if len(text) > limit:
        raise InvalidInput(f"{label} has at most {limit:,} characters ({len(text):,} given)", field=field_name)
    return text or None


def _checked(request: RefundRequest) -> RefundRequest:
    """The request's values typed and bounded before anything is read under a lock."""
    if not isinstance(request.reason, RefundReason):
        raise InvalidInput("Choose a reason", field="reason")
    if not isinstance(request.method, RefundMethod):
        raise InvalidInput("Choose how the money goes back", field="method")
    units: dict[int, int] = {}
    for line_id, quantity in dict(request.units).items():
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_LINE_QUANTITY:
            raise InvalidInput(f"Units must be a whole number from 0 to {MAX_LINE_QUANTITY:,}", field=f"units-{line_id}")
        if quantity:
            units[line_id] = quantity
    return RefundRequest(
        reason=request.reason, method=request.method, units=units,
        shipping_cents=_checked_amount(request.shipping_cents, field_name="shipping", label="Shipping"),
        amount_cents=_checked_amount(request.amount_cents, field_name="amount", label="The amount"),
        note=_checked_text(request.note, NOTE_LENGTH, field_name="note", label="The note"),
        channel_reference=_checked_text(request.channel_reference, REFERENCE_LENGTH, field_name="channel_reference",
                                        label="The channel's reference"),
        return_id=_checked_id(request.return_id),
        fit_to_cents=(None if request.fit_to_cents is None else
                      _checked_amount(request.fit_to_cents, field_name="amount", label="The refund")))


def _checked_id(return_id: object) -> int | None:
    if return_id is None:
        return None
    if isinstance(return_id, bool) or not isinstance(return_id, int) or not 0 < return_id < 2**31:
        raise InvalidInput("The return is not one of this order's: open the refund from the return's page",
                           field="return_id")
    return return_id


# ---------------------------------------------------------------- a refund for a return's units

def units_received(ret: Return) -> dict[int, int]:
    """The units a return got back, per order line (what "Refund these units" proposes)."""
    units: dict[int, int] = {}
    for line in ret.lines:
        if line.received:
            units[line.order_line_id] = units.get(line.order_line_id, 0) + line.received
    return units


def return_to_refund(order: Order, return_id: int) -> Return:
    """The return a refund of this order is for. Raises InvalidInput for another order's (or none),
    InvalidState for one whose units are not back yet: a refund for a return follows its receipt."""
    ret = db.session.get(Return, return_id) if 0 < return_id < 2**31 else None
    if ret is None or ret.order_id != order.id:
        raise InvalidInput(f"That return is not one of {order.number}'s", field="return_id")
    if ret.state not in (ReturnState.RECEIVED, ReturnState.CLOSED):
        raise InvalidState(f"{ret.number} is {ret.state.value}: refund its units once they are received",
                           field="return_id")
    return ret


def refunds_for_return(return_id: int) -> list[Refund]:
    return list(db.session.scalars(sa.select(Refund).where(Refund.return_id == return_id).order_by(Refund.id)))


def _parts(order: Order, request: RefundRequest, left: Refundable) -> list[Part]:
    lines = {line.id: line for line in order.lines}
    shortfalls = []
    parts: list[Part] = []
    for line_id in sorted(request.units):
        units = request.units[line_id]
        if line_id not in lines:
            raise InvalidInput(f"That line is not part of {order.number}", field=f"units-{line_id}")
        figures = left.lines.get(line_id)
        possible = figures.refundable_units if figures else 0
        if units > possible:
            shortfalls.append(Shortfall(lines[line_id].sku, units, possible))
            continue
        parts.append(_units_part(lines[line_id], figures, units))
    if shortfalls:
        field_name = f"units-{min(request.units)}" if len(request.units) == 1 else "units"
        raise QuantityTooLarge("Only invoiced units not yet refunded can be refunded", shortfalls, field=field_name)

    if request.fit_to_cents is not None:
        units_gross = sum(p.gross for p in parts)
        if units_gross > request.fit_to_cents:
            # The channel gave back less than the units' invoiced amount: the units share what it gave.
            for part, gross in zip(parts, money.spread(request.fit_to_cents, [p.gross for p in parts])):
                part.tax, part.gross = money.share(part.tax, gross, part.gross), gross
            extra = 0
        else:
            extra = request.fit_to_cents - units_gross
    else:
        extra = request.amount_cents

    if request.shipping_cents:
        if request.shipping_cents > left.shipping_cents:
            raise InvalidInput(f"At most {money.amount_text(left.shipping_cents, order.currency)} of shipping is "
                               "invoiced and not yet refunded", field="shipping")
        invoiced = _shipping_invoiced(order)
        already = invoiced - left.shipping_cents
        tax = (money.share(order.shipping_tax_cents, already + request.shipping_cents, invoiced)
               - _credited_tax(order.id, "shipping"))
        parts.append(Part("shipping", request.shipping_cents, min(max(tax, 0), request.shipping_cents)))
    if extra:
        invoiced_tax = int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Invoice.tax_cents), 0))
                                             .where(Invoice.order_id == order.id)))
        tax_left = invoiced_tax - _credited_tax(order.id) - sum(p.tax for p in parts)
        tax = min(money.share(invoiced_tax, extra, left.invoiced_cents), max(tax_left, 0), extra)
        parts.append(Part("amount", extra, tax))
    return [p for p in parts if p.gross or p.quantity]


def _issue(actor: User | None, order_id: int, request: RefundRequest) -> Refund:
    request = _checked(request)
    order = lock_order(order_id)
    if request.channel_reference is not None:
        earlier = db.session.scalar(sa.select(Refund).where(Refund.order_id == order.id,
                                                            Refund.channel_reference == request.channel_reference))
        if earlier is not None:
            raise DuplicateRefund(request.channel_reference, earlier.id, earlier.credit_note.display_number)
    if request.return_id is not None:
        return_to_refund(order, request.return_id)
    invoices = db.session.scalars(sa.select(Invoice).where(Invoice.order_id == order.id).order_by(Invoice.id)).all()
    if not invoices:
        raise InvalidState(f"{order.number} has no invoice: a credit note corrects an invoice, so invoice the "
                           "shipped units before refunding them")
    left = refundable(order)
    parts = _parts(order, request, left)
    total = sum(p.gross for p in parts)
    if total <= 0:
        raise InvalidInput("Nothing to refund: choose units, shipping or an amount", field="amount")
    if total > left.left_cents:
        raise InvalidInput(f"{money.amount_text(total, order.currency)} is more than was invoiced less what was "
                           f"refunded: at most {money.amount_text(left.left_cents, order.currency)}", field="amount")

    corrected = sorted({i for p in parts if p.line is not None for i in left.lines[p.line.id].invoice_ids}
                       | ({invoices[0].id} if any(p.kind == "shipping" for p in parts) else set()))
    refund = Refund(order=order, amount_cents=total, shipping_cents=sum(p.gross for p in parts if p.kind == "shipping"),
                    currency=order.currency, reason=request.reason, note=request.note, method=request.method,
                    channel_reference=request.channel_reference, return_id=request.return_id,
                    created_by_id=actor.id if actor else None)
    tax = sum(p.tax for p in parts)
    note = CreditNote(number=next_credit_note_number(), order=order, refund=refund,
                      invoice_ids=corrected or [invoice.id for invoice in invoices], currency=order.currency,
                      net_cents=-(total - tax), tax_cents=-tax, total_cents=-total,
                      issued_by_id=actor.id if actor else None)
    for part in parts:
        note.lines.append(CreditNoteLine(
            kind=part.kind, order_line_id=part.line.id if part.line else None,
            sku=part.line.sku if part.line else None, quantity=part.quantity,
            description=(part.line.name if part.line else "Shipping" if part.kind == "shipping" else
                         (request.note or request.reason.label))[:200],
            net_cents=-(part.gross - part.tax), tax_cents=-part.tax))
    db.session.add_all([refund, note])
    db.session.flush()
    events.refunded(order, actor, refund, note)
    return refund


@service
def issue_refund(actor: User, order_id: int, request: RefundRequest) -> Refund:
    """Record a refund on the order and issue its credit note (a manager's or an admin's action).

    Raises NotAllowed below manager; NotFound for no such order; InvalidState when the order has no
    invoice; QuantityTooLarge for units not invoiced or refunded already; InvalidInput for bad values,
    a refund of nothing, or more than was invoiced less what was refunded; DuplicateRefund when the
    channel reference is recorded on the order already. Nothing is written on a refusal.
    """
    require_role(actor, Role.MANAGER, "refund")
    return _issue(actor, order_id, request)


def order_of_channel(channel_id: int, channel_order_id: str) -> int | None:
    return db.session.scalar(sa.select(Order.id).where(Order.channel_id == channel_id,
                                                       Order.channel_order_id == channel_order_id))


@service
def record_channel_refund(channel: SalesChannel, channel_order_id: str, request: RefundRequest,
                          restock: Mapping[int, int] | None = None) -> Refund:
    """A refund the channel made (a webhook's), recorded with its credit note. Its channel reference is
    its identity: delivered again, or keyed in by staff at the same moment, it raises DuplicateRefund
    and records nothing more. `restock`: units the channel says went back to stock (order line id ->
    units), received here in the same transaction (restock_from_channel), so a refund delivered twice
    restocks once. Raises NotFound when the channel's order was never received here, and the refusals
    of issue_refund."""
    if request.channel_reference is None:
        raise InvalidInput("A channel's refund needs its id", field="id")
    order_id = order_of_channel(channel.id, channel_order_id)
    if order_id is None:
        raise NotFound(f"{channel.name} order {channel_order_id} was not received here")
    restock = {line_id: units for line_id, units in (restock or {}).items()
               if isinstance(units, int) and not isinstance(units, bool) and 0 < units <= MAX_LINE_QUANTITY}
    if restock:
        lock_for_channel_restock(order_id, restock)  # the products and the orders they fill, before the order
    refund = _issue(None, order_id, request)
    if restock:
        restock_from_channel(refund, restock)
    return refund


def restock_from_channel(refund: Refund, restock_units: Mapping[int, int]) -> None:
    """The units a channel's refund says went back to stock (order line id -> units), in the refund's
    transaction with the locks of locking.lock_for_channel_restock held: they come back on a return made
    received (returns.receive_from_channel: restocked at the default location, filling backorders), which
    the refund then names. Units already back or on an open return here are left out: those are restocked
    by that return's receipt, once."""
    from . import returns

    ret = returns.receive_from_channel(refund.order, restock_units,
                                       f"Restocked by {refund.order.channel.name} refund {refund.channel_reference}")
    if ret is not None:
        refund.return_id = ret.id
