"""Sending the customer emails (domain.customer_emails) over SMTP with the standard library's smtplib
and email packages: the task queue's "customer_email" job renders templates/email/<kind>.txt and .html
and hands the message to the server in OMS_SMTP_HOST. A failed attempt is written on the order's
timeline and the job is retried with the queue's back-off; a sent email is written there once."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Callable

from flask import current_app, render_template

from .database import write_transaction
from .domain import events
from .domain.customer_emails import KINDS
from .extensions import db
from .models import CustomerEmail, Job, Order, Shipment, utcnow
from .tasks import MAX_ATTEMPTS, Outcome, Progress


def message_for(email: CustomerEmail) -> EmailMessage:
    shipment = db.session.get(Shipment, email.shipment_id)
    order = db.session.get(Order, email.order_id)
    purchase = shipment.label
    context = {"order": order, "shipment": shipment, "seller": current_app.config["OMS_SELLER"],
               "tracking_url": (purchase.tracking_url if purchase else None)}
    message = EmailMessage()
    subject = {"shipped": f"Your order {order.number} is on its way",
               "delivered": f"Your order {order.number} has been delivered"}[email.kind]
    message["Subject"] = subject
    message["From"] = current_app.config["OMS_MAIL_FROM"]
    message["To"] = email.to_address
    message["Message-ID"] = make_msgid(idstring=f"oms-{email.id}")
    message.set_content(render_template(f"email/{email.kind}.txt", **context))
    message.add_alternative(render_template(f"email/{email.kind}.html", **context), subtype="html")
    return message


def send(message: EmailMessage) -> None:
    config = current_app.config
    with smtplib.SMTP(config["OMS_SMTP_HOST"], int(config["OMS_SMTP_PORT"]),
                      timeout=float(config["OMS_SMTP_TIMEOUT_SECONDS"])) as smtp:
        if config.get("OMS_SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("OMS_SMTP_USER"):
            smtp.login(config["OMS_SMTP_USER"], config.get("OMS_SMTP_PASSWORD") or "")
        smtp.send_message(message)


def send_recorded(job: Job, model: type, build: Callable[[Any], EmailMessage], *,
                  failed: Callable[[Any, bool, str], None] | None = None,
                  sent: Callable[[Any], None] | None = None) -> Outcome:
    """A queue job's sending of one email row (a `model` with status, attempts, last_error, sent_at;
    its id in the job's params), unless it was sent before. A failed attempt is counted on the row
    with its reason, the row says failed after the queue's last attempt, `failed(row, last, reason)`
    records it further in the same transaction, and RuntimeError makes the queue retry; a sent email
    is marked sent in the job's effects, with `sent(row)`."""
    email_id = job.params["email_id"]
    email = db.session.get(model, email_id)
    if email is None or email.status == "sent":
        return Outcome()
    try:
        send(build(email))
    except (OSError, smtplib.SMTPException) as error:
        reason = f"{type(error).__name__}: {error}"[:300]
        db.session.rollback()
        with write_transaction():
            email = db.session.get(model, email_id)
            email.attempts += 1
            email.last_error = reason
            last = job.attempts >= MAX_ATTEMPTS
            if last:
                email.status = "failed"
            if failed is not None:
                failed(email, last, reason)
        raise RuntimeError(reason) from None
    db.session.rollback()

    def effects() -> None:
        email = db.session.get(model, email_id)
        email.status, email.sent_at, email.attempts = "sent", utcnow(), email.attempts + 1
        if sent is not None:
            sent(email)

    return Outcome(effects=effects)


def send_customer_email(job: Job, progress: Progress) -> Outcome:
    """The queue's job: send one customer email, unless it was sent before; each attempt, failed or
    sent, is written on the order's timeline."""
    def failed(email: CustomerEmail, last: bool, reason: str) -> None:
        events.email_failed(email.shipment, KINDS[email.kind], email.to_address, job.attempts, last,
                            reason)

    def sent(email: CustomerEmail) -> None:
        events.email_sent(email.shipment, KINDS[email.kind], email.to_address)

    return send_recorded(job, CustomerEmail, message_for, failed=failed, sent=sent)
