"""Purchase orders emailed to their suppliers: a PO as it is sent ("sent"), and each change to a drop-ship PO
after that ("changed": an order's lines added to the day's PO, or units taken off because the order was cut
or voided). An email is a row written with the change that causes it and a queued job that sends it with
the PO's PDF attached (oms_web/purchasing/emails.py, through oms_web/mail.py), so it goes only if the change
commits, once, and is retried when the mail server fails. A supplier with no email gets none: the PO page
says to send the PDF by hand."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import PurchaseOrder, PurchaseOrderEmail

KINDS = {"sent": "purchase order", "changed": "change to a purchase order"}
NOTE_LENGTH = PurchaseOrderEmail.__table__.c.note.type.length


def queue_po_email(purchase_order: PurchaseOrder, kind: str, note: str | None = None) -> PurchaseOrderEmail | None:
    """Within the caller's transaction: email the PO to its supplier (`kind` "sent" or "changed", `note`
    saying what changed). None when the supplier has no email on file."""
    from ..tasks import enqueue_with_transaction

    assert kind in KINDS
    address = (purchase_order.supplier.email or "").strip()
    if not address:
        return None
    if note and len(note) > NOTE_LENGTH:
        note = note[:NOTE_LENGTH - 1] + "…"
    email = PurchaseOrderEmail(purchase_order_id=purchase_order.id, kind=kind, note=note, to_address=address)
    db.session.add(email)
    db.session.flush()
    enqueue_with_transaction("po_email", {"email_id": email.id})
    return email


def emails_of(purchase_order_id: int) -> list[PurchaseOrderEmail]:
    """The PO's emails, newest first (the PO page lists them)."""
    return list(db.session.scalars(sa.select(PurchaseOrderEmail)
                                   .where(PurchaseOrderEmail.purchase_order_id == purchase_order_id)
                                   .order_by(PurchaseOrderEmail.id.desc()).limit(50)))
