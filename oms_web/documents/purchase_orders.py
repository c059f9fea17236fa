"""A purchase order as the supplier reads it: our details (from configuration), the supplier, where to
deliver (the destination's ship-from address, else ours), the lines with their costs and the total, the
expected date; a drop-ship PO's lines each with the customer's address to ship to, the units taken off since
it was sent (cancelled: not to be shipped), and for each order still to ship the signed link where the
supplier confirms what it shipped (drop_ship.supplier_links; rendered by a request or by the email job)."""
from __future__ import annotations

from flask import current_app

from ..domain.drop_ship import supplier_links
from ..models import Order, PurchaseOrder
from .render import render_pdf

URL_PIECE = 90  # a link printed in pieces of this many characters: a PDF table cell does not wrap a long word


def purchase_order_pdf(purchase_order: PurchaseOrder) -> bytes:
    deliver_to = purchase_order.location.ship_from() if not purchase_order.drop_ship else None
    links = [(Order.number_of(order_id), url, [url[i:i + URL_PIECE] for i in range(0, len(url), URL_PIECE)])
             for order_id, url in supplier_links(purchase_order).items()]
    return render_pdf("documents/purchase_order.html", po=purchase_order, links=links,
                      any_cancelled=any(line.cancelled for line in purchase_order.lines),
                      deliver_to=deliver_to or current_app.config["OMS_SHIP_FROM"])
