"""A purchase order as the supplier reads it: our details (from configuration), the supplier, where to
deliver (the destination's ship-from address, else ours), the lines with their costs and the total, the
expected date; a drop-ship PO's lines each with the customer's address to ship to."""
from __future__ import annotations

from flask import current_app

from ..models import PurchaseOrder
from .render import render_pdf


def purchase_order_pdf(purchase_order: PurchaseOrder) -> bytes:
    deliver_to = purchase_order.location.ship_from() if not purchase_order.drop_ship else None
    return render_pdf("documents/purchase_order.html", po=purchase_order,
                      deliver_to=deliver_to or current_app.config["OMS_SHIP_FROM"])
