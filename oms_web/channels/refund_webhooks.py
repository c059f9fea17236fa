"""Refunds the web stores tell of: Shopify's `refunds/create` deliveries and the `refunds` WooCommerce's
`order.updated` deliveries carry, each recorded with its credit note (domain.refunds).

A refund's identity is (order, the store's refund id): delivered twice, or keyed in by staff at the same
moment, it is recorded once. Read strictly (payloads.Reader: wrong JSON types refused, never coerced).
A refund of an order never received here is answered 2xx and ignored, as an update of such an order is.
A refund the order's invoices cannot cover (more than invoiced less refunded, or no invoice yet) is
recorded nowhere, logged, and answered as refused.

The units a Shopify refund restocks (restock_type "return", or "legacy_restock") are received back in the
refund's own transaction (refunds.record_channel_refund → restock_from_channel): a return, received and
restocked at the default location, so the same refund delivered twice restocks once. Units of restock_type
"cancel" were never shipped: nothing comes back, the order line keeps them (staff cut it if it is not to
ship); "no_restock" units stay out of stock.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..domain import refunds
from ..domain.errors import DomainError, NotFound
from ..domain.refunds import DuplicateRefund, RefundRequest
from ..extensions import db
from ..models import Order, Refund, RefundMethod, RefundReason, SalesChannel
from .amounts import currency_places
from .payloads import PayloadError, Problem, Reader, money_problem, read_object

log = logging.getLogger(__name__)

# Shopify's restock types that put units back on the shelf (cancel: never shipped; no_restock: kept out).
SHOPIFY_RESTOCKS = {"return", "legacy_restock"}


@dataclass
class Taken:
    """What became of one refund of a delivery: recorded, duplicate, ignored or refused."""

    reference: str
    result: str
    refund_id: int | None = None
    message: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in {"id": self.reference, "result": self.result, "refund_id": self.refund_id,
                                  "message": self.message}.items() if v is not None}


def _order(channel: SalesChannel, channel_order_id: str) -> Order | None:
    return db.session.scalar(sa.select(Order).where(Order.channel_id == channel.id,
                                                    Order.channel_order_id == channel_order_id))


def _record(channel: SalesChannel, channel_order_id: str, request: RefundRequest,
            restock: dict[int, int] | None = None) -> Taken:
    reference = request.channel_reference or ""
    db.session.rollback()  # end the reads: the service starts from a fresh snapshot
    try:
        refund = refunds.record_channel_refund(channel, channel_order_id, request, restock)
    except DuplicateRefund as duplicate:
        return Taken(reference, "duplicate", duplicate.refund_id)
    except NotFound:
        return Taken(reference, "ignored", message="a refund of an order not received here")
    except DomainError as refusal:
        log.warning("%s refund %s of order %s not recorded: %s", channel.name, reference, channel_order_id,
                    refusal.message)
        return Taken(reference, "refused", message=refusal.message)
    return Taken(reference, "recorded", refund.id)


# ---------------------------------------------------------------- Shopify refunds/create

def shopify_refund(channel: SalesChannel, payload: Any) -> Taken:
    """A Shopify refund body. Raises PayloadError for a body of the wrong shape or types."""
    body = read_object(payload)
    reference = body.store_id("id", required=True)
    channel_order_id = body.store_id("order_id", required=True)
    note = body.text("note", Refund.note)
    items = body.objects("refund_line_items") or []
    transactions = body.objects("transactions") or []
    body.check()
    order = _order(channel, channel_order_id or "")
    if order is None:
        return Taken(reference or "", "ignored", message="a refund of an order not received here")
    places = currency_places(order.currency)
    paid_back = 0
    for transaction in transactions:
        kind, status = transaction.word("kind"), transaction.word("status")
        amount = transaction.money("amount", places, default=0)
        if kind == "refund" and status in (None, "success"):
            paid_back += amount
    lines = {line.channel_line_id: line for line in order.lines if line.channel_line_id}
    units: dict[int, int] = {}
    restock: dict[int, int] = {}
    for item in items:
        line_item_id = item.store_id("line_item_id", required=True)
        quantity = item.quantity("quantity")
        restock_type = item.word("restock_type")
        line = lines.get(line_item_id or "")
        if line is not None:
            units[line.id] = units.get(line.id, 0) + quantity
            if restock_type in SHOPIFY_RESTOCKS:
                restock[line.id] = restock.get(line.id, 0) + quantity
    body.check()
    if paid_back <= 0:
        return Taken(reference or "", "ignored", message="no money was refunded")
    return _record(channel, channel_order_id or "", RefundRequest(
        reason=RefundReason.RETURNED if restock else RefundReason.OTHER, method=RefundMethod.ORIGINAL_PAYMENT,
        units=_invoiced_units(order, units), fit_to_cents=paid_back, note=note,
        channel_reference=reference), restock)


def _invoiced_units(order: Order, units: dict[int, int]) -> dict[int, int]:
    """The units a store refunded that were invoiced here and not yet credited: the others (cancelled
    before shipping) were never charged on an invoice, so their money is credited as an amount."""
    left = refunds.refundable(order).lines
    return {line_id: min(n, left[line_id].refundable_units) for line_id, n in units.items()
            if line_id in left and left[line_id].refundable_units > 0}


# ---------------------------------------------------------------- WooCommerce order.updated

def woo_refunds(channel: SalesChannel, payload: Any) -> list[Taken]:
    """The refunds an order.updated body carries (`refunds[{id, reason, total}]`, total negative), each
    recorded once. Raises PayloadError for refunds of the wrong shape or types; none for a body without any."""
    if not isinstance(payload, dict) or payload.get("refunds") in (None, []):
        return []
    body = Reader(payload)
    channel_order_id = body.store_id("id", required=True, digits_too=True)
    entries = body.objects("refunds") or []
    body.check()
    order = _order(channel, channel_order_id or "")
    if order is None:
        return []  # the order's own handling answers for an order not received here
    places = currency_places(order.currency)
    requests = []
    for entry in entries:
        reference = entry.store_id("id", required=True, digits_too=True)
        reason = entry.text("reason", Refund.note)
        total = _woo_total(entry, places)
        requests.append(RefundRequest(reason=RefundReason.OTHER, method=RefundMethod.ORIGINAL_PAYMENT,
                                      amount_cents=total, note=reason, channel_reference=reference))
    body.check()
    return [_record(channel, channel_order_id or "", request) for request in requests]


def _woo_total(entry: Reader, places: int) -> int:
    """Woo states a refund's total as a negative amount ("-5.00"): its size in cents."""
    value = entry.data.get("total")
    if isinstance(value, str) and value.strip().startswith("-"):
        value = value.strip()[1:]
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        value = -value
    cents, why = money_problem(value, places)
    if why or not cents:
        entry.problems.append(Problem(entry.name("total"), why or "must not be zero"))
        return 0
    return cents


__all__ = ["PayloadError", "Taken", "shopify_refund", "woo_refunds"]
