"""Invoicing: one invoice per shipment (a partial invoice), or for the shipped-not-invoiced rest of an order.

Invoice numbers come from a counter row bumped inside the issuing transaction: a rolled-back invoice
gives its number back, and two issued at once queue on the row, so numbers stay unique and gapless.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import Counter, Invoice, InvoiceLine, OrderStatus, Shipment, User
from . import events
from .errors import InvalidInput, InvalidState
from .locking import lock_order
from .orders import line_tax_cents

INVOICE_COUNTER = "invoice_number"


def next_invoice_number() -> int:
    return db.session.execute(
        sa.update(Counter).where(Counter.name == INVOICE_COUNTER).values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one()


@service
def issue_invoice(actor: User, order_id: int, shipment_id: int | None = None) -> Invoice:
    """Invoice a shipment's units, or (without a shipment) every shipped unit not yet invoiced.

    The order's shipping charge goes on its first invoice. Raises InvalidState when there is nothing
    to invoice or the shipment was invoiced already; InvalidInput for a shipment of another order.
    """
    order = lock_order(order_id)
    if order.status not in (OrderStatus.FINALIZED, OrderStatus.FULFILLED):
        raise InvalidState(f"{order.number} is {order.status.value}: nothing to invoice")
    lines = {line.id: line for line in order.lines}
    if shipment_id is not None:
        shipment = db.session.get(Shipment, shipment_id)
        if shipment is None or shipment.order_id != order.id:
            raise InvalidInput(f"That shipment is not part of {order.number}", field="shipment")
        if db.session.scalar(sa.select(Invoice.id).where(Invoice.shipment_id == shipment_id)) is not None:
            raise InvalidState(f"{shipment.number} has been invoiced already")
        quantities = {sl.order_line_id: sl.quantity for sl in shipment.lines}
        over = [lines[i].sku for i, q in quantities.items() if lines[i].invoiced + q > lines[i].shipped]
        if over:
            raise InvalidState(f"Units of {shipment.number} were invoiced already ({', '.join(over)})")
    else:
        quantities = {line.id: line.shipped - line.invoiced for line in order.lines if line.shipped > line.invoiced}
        if not quantities:
            raise InvalidState(f"{order.number} has no shipped units waiting to be invoiced")

    first = not order.invoices
    invoice = Invoice(number=next_invoice_number(), order=order, shipment_id=shipment_id, currency=order.currency,
                      shipping_cents=order.shipping_cents if first else 0, subtotal_cents=0, tax_cents=0,
                      total_cents=0, issued_by_id=actor.id if actor else None)
    for line_id in sorted(quantities):
        line, quantity = lines[line_id], quantities[line_id]
        invoice.lines.append(InvoiceLine(
            order_line_id=line.id, sku=line.sku, name=line.name, quantity=quantity,
            unit_price_cents=line.unit_price_cents, tax_rate_bp=line.tax_rate_bp,
            line_total_cents=quantity * line.unit_price_cents,
            tax_cents=line_tax_cents(quantity, line.unit_price_cents, line.tax_rate_bp)))
        line.invoiced = line.invoiced + quantity
    invoice.subtotal_cents = sum(l.line_total_cents for l in invoice.lines)
    invoice.tax_cents = sum(l.tax_cents for l in invoice.lines)
    invoice.total_cents = invoice.subtotal_cents + invoice.tax_cents + invoice.shipping_cents
    db.session.add(invoice)
    db.session.flush()
    events.record(order, actor, "invoiced", f"{invoice.display_number} issued for "
                  f"{sum(quantities.values())} unit(s)", invoice_id=invoice.id)
    return invoice
