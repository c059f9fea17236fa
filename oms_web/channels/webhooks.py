"""Shopify and WooCommerce order webhooks, and the refunds they tell of (refund_webhooks).

The HMAC is checked over the raw body, in constant time, before anything is parsed or written; a
missing, wrong or stale signature (one made with a secret since replaced) gets 401 and no write.
A delivery of an order already received answers 200, so the store stops retrying; when it says the
order is now paid, an order awaiting payment here is marked paid. A delivery saying an order imported
here was cancelled puts it on hold under Needs attention for a person (importing.cancellation_delivered).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request

from ..domain.errors import DomainError
from ..domain.orders import NewOrder
from ..extensions import db
from ..models import ChannelKind, SalesChannel
from ..web import PUBLIC, allow, csrf
from .importing import Skip, cancellation_delivered, existing_orders, import_order
from .keys import signature_valid
from .payloads import BodyError, load_json
from .refund_webhooks import shopify_refund, woo_refunds
from .webstore import WOO_TO_FULFIL, PayloadError, from_shopify, from_woocommerce

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)  # authenticated by the HMAC signature

# orders/updated changes only orders received before: made into a new order, an update of an order the
# shop fulfilled before it was connected here would be shipped a second time.
SHOPIFY_TOPICS = {"orders/create": True, "orders/paid": True, "orders/updated": False, "orders/cancelled": False}

SHOPIFY_REFUND_TOPIC = "refunds/create"

Mapper = Callable[[SalesChannel, Any], NewOrder | Skip]


def _channel(channel_id: int, kind: ChannelKind) -> SalesChannel | None:
    channel = db.session.get(SalesChannel, channel_id)
    return channel if channel is not None and channel.kind is kind and channel.active else None


def _receive(channel: SalesChannel, mapper: Mapper, raw: bytes, *, creates: Callable[[Any], bool]):
    """The signed delivery `raw` read and taken in. `creates(payload)`: whether this topic may make a new order."""
    try:
        payload = load_json(raw)
    except BodyError as error:
        return jsonify({"result": "refused", "problems": [{"field": "body", "message": str(error)}]}), 400
    try:
        new = mapper(channel, payload)
        if isinstance(new, Skip):
            return _not_to_ship(channel, new)
        if not creates(payload) and not existing_orders(channel.id, [new.channel_order_id or ""]):
            db.session.rollback()
            return jsonify({"result": "ignored", "reason": "an update of an order not received here"}), 200
        imported = import_order(channel.id, new)
    except PayloadError as error:
        # 422 tells the store the body was understood and refused; a retry would not help.
        return jsonify({"result": "refused", "problems": [p.__dict__ for p in error.problems]}), 422
    except DomainError as error:
        return jsonify({"result": "refused", "problems": [{"field": error.field, "message": error.message}]}), 422
    return jsonify({"result": "paid" if imported.paid_now else imported.outcome, "order_id": imported.order_id}), 200


def _not_to_ship(channel: SalesChannel, skip: Skip):
    noted = cancellation_delivered(channel, skip) if skip.canceled else None
    if noted is None:
        return jsonify({"result": "ignored", "reason": f"{skip.reason}: not fulfilled"}), 200
    order_id, message = noted
    return jsonify({"result": "cancelled_after_import", "order_id": order_id, "reason": message}), 200


@bp.route("/shopify/<int:channel_id>", methods=["POST"])
@allow(PUBLIC)
def shopify(channel_id: int):
    channel = _channel(channel_id, ChannelKind.SHOPIFY)
    if channel is None:
        return jsonify({"result": "refused", "reason": "signature missing or wrong"}), 401
    # The body is read (at most MAX_CONTENT_LENGTH: web.bound_request) only when there is a secret to check it with.
    raw = request.get_data(cache=True)
    if not signature_valid(channel.secret, raw, request.headers.get("X-Shopify-Hmac-Sha256")):
        return jsonify({"result": "refused", "reason": "signature missing or wrong"}), 401
    topic = request.headers.get("X-Shopify-Topic", "orders/create")
    if topic == SHOPIFY_REFUND_TOPIC:
        return _refund(channel, raw)
    if topic not in SHOPIFY_TOPICS:
        return jsonify({"result": "ignored", "reason": f"only {', '.join(SHOPIFY_TOPICS)} are handled"}), 200
    return _receive(channel, from_shopify, raw, creates=lambda _payload: SHOPIFY_TOPICS[topic])


@bp.route("/woocommerce/<int:channel_id>", methods=["POST"])
@allow(PUBLIC)
def woocommerce(channel_id: int):
    channel = _channel(channel_id, ChannelKind.WOOCOMMERCE)
    if channel is None:
        return jsonify({"result": "refused", "reason": "signature missing or wrong"}), 401
    raw = request.get_data(cache=True)
    signature = request.headers.get("X-WC-Webhook-Signature")
    if signature is None and request.form.get("webhook_id") and len(raw) < 100:
        # WooCommerce's set-up ping: an unsigned form body "webhook_id=N" that must get a 200.
        return jsonify({"result": "pong"}), 200
    if not signature_valid(channel.secret, raw, signature):
        return jsonify({"result": "refused", "reason": "signature missing or wrong"}), 401
    response = _receive(channel, from_woocommerce, raw, creates=_woo_update_may_create)
    if request.headers.get("X-WC-Webhook-Topic") != "order.updated" or response[1] >= 400:
        return response
    # An order.updated delivery also carries the order's refunds: each recorded once (refund_webhooks).
    try:
        taken = woo_refunds(channel, load_json(raw))
    except PayloadError as error:
        return jsonify({"result": "refused", "problems": [p.__dict__ for p in error.problems]}), 422
    if not taken:
        return response
    answer = response[0].get_json()
    answer["refunds"] = [t.as_json() for t in taken]
    return jsonify(answer), response[1]


def _refund(channel: SalesChannel, raw: bytes):
    """A Shopify refunds/create delivery: the refund and its credit note, recorded once."""
    try:
        taken = shopify_refund(channel, load_json(raw))
    except BodyError as error:
        return jsonify({"result": "refused", "problems": [{"field": "body", "message": str(error)}]}), 400
    except PayloadError as error:
        return jsonify({"result": "refused", "problems": [p.__dict__ for p in error.problems]}), 422
    if taken.result == "refused":
        # Understood and refused (more than was invoiced less refunded, no invoice yet): a retry would not help.
        return jsonify({"result": "refused", "problems": [{"field": "refund", "message": taken.message}]}), 422
    return jsonify({"result": taken.result, "refund_id": taken.refund_id, **(
        {"reason": taken.message} if taken.message else {})}), 200


def _woo_update_may_create(payload: Any) -> bool:
    """order.created makes orders. An order.updated makes one only while the order is still to be
    fulfilled in Woo (its order.created was missed, or came as `failed` and the customer paid since);
    a `completed` one may be an order shipped before the store was connected, not to be shipped again."""
    if request.headers.get("X-WC-Webhook-Topic", "order.created") != "order.updated":
        return True
    # isinstance first: a list is no status, and `in` a set would raise on it
    return isinstance(payload, dict) and isinstance(payload.get("status"), str) and payload["status"] in WOO_TO_FULFIL
