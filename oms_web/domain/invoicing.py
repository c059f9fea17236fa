"""Invoicing: one invoice per shipment (a partial invoice), or for the shipped-not-invoiced rest of an order.

Each invoice records what it covers: a per-shipment invoice its shipment, a rest-of-order invoice the
shipment units it charges for (oldest shipment first), so no unit is ever charged for twice.

Invoice numbers come from a counter row bumped inside the issuing transaction: a rolled-back invoice
gives its number back, and two issued at once queue on the row, so numbers stay unique and gapless.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import (Counter, Invoice, InvoicedShipmentUnits, InvoiceLine, Order, OrderStatus, Shipment,
                      ShipmentLine, ShipmentStatus, User)
from . import events, money
from .errors import InvalidInput, InvalidState
from .locking import lock_order

INVOICE_COUNTER = "invoice_number"


def next_invoice_number() -> int:
    return db.session.execute(
        sa.update(Counter).where(Counter.name == INVOICE_COUNTER).values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one()


def invoiced_money(order_id: int) -> dict[int, tuple[int, int]]:
    """(discount, tax) the order's invoices have charged so far, by order line."""
    rows = db.session.execute(
        sa.select(InvoiceLine.order_line_id, sa.func.sum(InvoiceLine.discount_cents), sa.func.sum(InvoiceLine.tax_cents))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id).where(Invoice.order_id == order_id)
        .group_by(InvoiceLine.order_line_id))
    return {line_id: (int(discount), int(tax)) for line_id, discount, tax in rows}


def units_not_invoiced(order: Order) -> list[tuple[ShipmentLine, int]]:
    """Each shipment line of the order with units no invoice covers yet, and how many, oldest shipment first."""
    invoiced_shipments = {invoice.shipment_id for invoice in order.invoices if invoice.shipment_id is not None}
    covered = dict(db.session.execute(
        sa.select(InvoicedShipmentUnits.shipment_line_id, sa.func.sum(InvoicedShipmentUnits.quantity))
        .join(Invoice).where(Invoice.order_id == order.id).group_by(InvoicedShipmentUnits.shipment_line_id)).all())
    return [(line, line.quantity - int(covered.get(line.id) or 0))
            for shipment in sorted(order.shipments, key=lambda s: s.id)
            if shipment.id not in invoiced_shipments and shipment.status is not ShipmentStatus.CANCELLED
            for line in shipment.lines if line.quantity > int(covered.get(line.id) or 0)]


def _invoices_covering(shipment: Shipment) -> list[Invoice]:
    """The rest-of-order invoices that charged for some of the shipment's units."""
    return db.session.scalars(
        sa.select(Invoice).join(InvoicedShipmentUnits).join(ShipmentLine)
        .where(ShipmentLine.shipment_id == shipment.id).distinct().order_by(Invoice.number)).all()


@service
def issue_invoice(actor: User, order_id: int, shipment_id: int | None = None) -> Invoice:
    """Invoice a shipment's units, or (without a shipment) every shipped unit not yet invoiced.

    Each line's discount and tax are invoiced in proportion to its units, the last invoice of a line
    taking the remainder; the order's shipping charge and shipping tax go on its first invoice. So an
    order's invoices add up to its total and tax to the cent. Raises InvalidState when there is nothing
    to invoice or the shipment was invoiced already, on its own or by a rest-of-order invoice; InvalidInput for
    a shipment of another order. A rest-of-order invoice records the shipment units it covers.
    """
    order = lock_order(order_id)
    if order.status not in (OrderStatus.FINALIZED, OrderStatus.FULFILLED):
        raise InvalidState(f"{order.number} is {order.status.value}: nothing to invoice")
    lines = {line.id: line for line in order.lines}
    if shipment_id is not None:
        shipment = db.session.get(Shipment, shipment_id)
        if shipment is None or shipment.order_id != order.id:
            raise InvalidInput(f"That shipment is not part of {order.number}", field="shipment")
        if shipment.status is ShipmentStatus.CANCELLED:
            raise InvalidState(f"{shipment.number} was cancelled: there is nothing in it to invoice")
        if db.session.scalar(sa.select(Invoice.id).where(Invoice.shipment_id == shipment_id)) is not None:
            raise InvalidState(f"{shipment.number} has been invoiced already")
        covering = _invoices_covering(shipment)
        if covering:
            raise InvalidState(f"The units of {shipment.number} were invoiced already on "
                               f"{', '.join(i.display_number for i in covering)} (shipped, not invoiced)")
        quantities = {sl.order_line_id: sl.quantity for sl in shipment.lines}
    else:
        quantities = {line.id: line.shipped - line.invoiced for line in order.lines if line.shipped > line.invoiced}
        if not quantities:
            raise InvalidState(f"{order.number} has no shipped units waiting to be invoiced")

    earlier = invoiced_money(order.id)
    # Read before the new invoice is made: it joins order.invoices at once, and a query would flush it half-built.
    open_units = units_not_invoiced(order) if shipment_id is None else []
    first = not order.invoices
    invoice = Invoice(number=next_invoice_number(), order=order, shipment_id=shipment_id, currency=order.currency,
                      shipping_cents=order.shipping_cents if first else 0, subtotal_cents=0, discount_cents=0,
                      tax_cents=0, total_cents=0, issued_by_id=actor.id if actor else None)
    if shipment_id is None:
        left = dict(quantities)
        for shipment_line, units in open_units:
            taken = min(units, left.get(shipment_line.order_line_id, 0))
            if taken:
                invoice.covered.append(InvoicedShipmentUnits(shipment_line_id=shipment_line.id, quantity=taken))
                left[shipment_line.order_line_id] -= taken
    for line_id in sorted(quantities):
        line, quantity = lines[line_id], quantities[line_id]
        # The line's discount and tax so far (its share of the units invoiced after this one), less what
        # earlier invoices took: the line's last invoice takes the remainder, so its invoices add up to
        # the line's figures to the cent.
        discount_before, tax_before = earlier.get(line.id, (0, 0))
        invoiced_after = line.invoiced + quantity
        invoice.lines.append(InvoiceLine(
            order_line_id=line.id, sku=line.sku, name=line.name, quantity=quantity,
            unit_price_cents=line.unit_price_cents, tax_rate_bp=money.stated_rate_bp(line, order.tax_included),
            line_total_cents=quantity * line.unit_price_cents,
            discount_cents=money.share(line.discount_cents, invoiced_after, line.ordered) - discount_before,
            tax_cents=money.share(money.line_tax(line), invoiced_after, line.ordered) - tax_before))
        line.invoiced = invoiced_after
    figures = money.totals(
        sum(l.line_total_cents for l in invoice.lines), sum(l.discount_cents for l in invoice.lines),
        sum(l.tax_cents for l in invoice.lines) + (order.shipping_tax_cents if first else 0),
        invoice.shipping_cents, order.tax_included)
    invoice.subtotal_cents, invoice.discount_cents = figures.subtotal_cents, figures.discount_cents
    invoice.tax_cents, invoice.total_cents = figures.tax_cents, figures.total_cents
    db.session.add(invoice)
    db.session.flush()
    events.invoiced(order, actor, invoice.display_number, sum(quantities.values()), invoice.id)
    return invoice
