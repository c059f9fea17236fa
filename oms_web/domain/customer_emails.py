"""Emails to an order's customer about its parcels: "on its way" when the carrier has it, "delivered"
when it arrives. Each channel turns them on or off (a marketplace emails its buyers itself). An email
is a row written with the change that causes it and a queued job that sends it (oms_web/mail.py), so
it is sent only if the change commits, once, and retried when the mail server fails."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import CustomerEmail, Shipment

KINDS = {"shipped": "shipping confirmation", "delivered": "delivery notice"}


def queue_email(shipment: Shipment, kind: str) -> CustomerEmail | None:
    """Within the caller's transaction: the email of `kind` about `shipment`, when its channel sends
    those and the order has an address; None otherwise, or when it was queued before."""
    from ..tasks import enqueue_with_transaction

    order = shipment.order
    channel = order.channel
    wanted = channel.ship_email if kind == "shipped" else channel.delivered_email
    if not wanted or not order.email:
        return None
    if db.session.scalar(sa.select(CustomerEmail.id).where(CustomerEmail.shipment_id == shipment.id,
                                                           CustomerEmail.kind == kind)):
        return None
    email = CustomerEmail(order_id=order.id, shipment_id=shipment.id, kind=kind, to_address=order.email)
    db.session.add(email)
    db.session.flush()
    enqueue_with_transaction("customer_email", {"email_id": email.id})
    return email
