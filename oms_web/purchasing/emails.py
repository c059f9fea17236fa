"""The task queue's "po_email" job: a purchase order to its supplier, its PDF attached, through the mail
module's SMTP sender (oms_web/mail.py). The email is rendered when it is sent, so its PDF is the PO as it
is then (a drop-ship PO's lines so far, the units taken off, a signed link per order still to ship).
A failed attempt is recorded on the email's row (the PO page shows it) and the job is retried with the
queue's back-off; after the last attempt the row says failed. A sent email is never sent again."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, render_template

from ..documents.purchase_orders import purchase_order_pdf
from ..domain.drop_ship import supplier_links
from ..extensions import db
from ..mail import send_recorded
from ..models import Job, Order, PurchaseOrderEmail
from ..tasks import Outcome, Progress


def message_for(email: PurchaseOrderEmail) -> EmailMessage:
    po = email.purchase_order
    links = [(Order.number_of(order_id), url) for order_id, url in supplier_links(po).items()]
    message = EmailMessage()
    message["Subject"] = (f"Purchase order {po.number} from {current_app.config['OMS_SELLER']['name']}"
                          if email.kind == "sent" else f"Change to purchase order {po.number}")
    message["From"] = current_app.config["OMS_MAIL_FROM"]
    message["To"] = email.to_address
    message["Message-ID"] = make_msgid(idstring=f"oms-po-{email.id}")
    message.set_content(render_template("email/purchase_order.txt", po=po, email=email, links=links,
                                        seller=current_app.config["OMS_SELLER"]))
    message.add_attachment(purchase_order_pdf(po), maintype="application", subtype="pdf",
                           filename=f"{po.number}.pdf")
    return message


def send_po_email(job: Job, progress: Progress) -> Outcome:
    """The queue's job: send one purchase order email, unless it was sent before."""
    return send_recorded(job, PurchaseOrderEmail, message_for)
