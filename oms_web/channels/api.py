"""The web store's JSON order API: POST /api/v1/orders with the channel's API key, and its OpenAPI document.

A repeat of an order already received answers 200 with the same order (the store may retry
freely); a new one 201. Bad input answers 422 listing every problem; nothing is written.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, request, url_for

from ..domain.errors import DomainError
from ..extensions import db
from ..models import ChannelKind, Order, SalesChannel
from ..web import PUBLIC, allow, csrf
from .importing import DUPLICATE, Imported, import_order
from .keys import channel_of_key
from .webstore import PayloadError, from_json_api

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # machine clients authenticate with their API key, not a browser session

MAX_BODY = 1_000_000


def _error(status: int, message: str, problems: list[dict] | None = None):
    return jsonify({"error": message, "problems": problems or []}), status


def _channel_for_key() -> int | None:
    header = request.headers.get("Authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("X-API-Key", "").strip()
    return channel_of_key(key, _look_up_key) if key else None


_CHANNEL_BY_KEY = sa.select(SalesChannel.__table__.c.id).where(
    SalesChannel.__table__.c.kind == ChannelKind.API, SalesChannel.__table__.c.active,
    SalesChannel.__table__.c.secret == sa.bindparam("digest"))


def _look_up_key(digest: str) -> int | None:
    # By the key's SHA-256, as stored: a comparison's timing tells nothing of a key from its hash.
    return db.session.execute(_CHANNEL_BY_KEY, {"digest": digest}).scalar()


def _order_json(imported: Imported) -> dict:
    order = imported.order
    return {"id": order["id"], "number": Order.number_of(order["id"]), "channel_order_id": order["channel_order_id"],
            "status": order["status"].value, "stage": order["segment"].value, "hold_reason": order["hold_reason"],
            "total": f"{order['total_cents'] / 100:.2f}", "currency": order["currency"],
            "duplicate": imported.outcome == DUPLICATE}


@bp.route("/orders", methods=["POST"])
@allow(PUBLIC)
def create_order():
    channel_id = _channel_for_key()
    if channel_id is None:
        return _error(401, "A valid API key is required (Authorization: Bearer <key>)")
    if (request.content_length or 0) > MAX_BODY:
        return _error(413, "The order is too large")
    payload = request.get_json(silent=True)
    if payload is None:
        return _error(400, "The body must be JSON (Content-Type: application/json)")
    try:
        imported = import_order(channel_id, from_json_api(channel_id, payload))
    except PayloadError as error:
        return _error(422, "The order has problems; nothing was saved",
                      [{"field": p.field, "message": p.message} for p in error.problems])
    except DomainError as error:
        return _error(422, error.message, [{"field": error.field or "body", "message": error.message}])
    return jsonify(_order_json(imported)), (200 if imported.outcome == DUPLICATE else 201)


@bp.route("/openapi.json")
@allow(PUBLIC)
def openapi():
    return jsonify(openapi_document(url_for("api.create_order", _external=True).rsplit("/orders", 1)[0]))


def openapi_document(server: str) -> dict:
    money = {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "example": "12.50"}
    address = {"type": "object", "properties": {k: {"type": "string"} for k in
                                                ("name", "line1", "line2", "city", "region", "postal_code", "country")}}
    problem = {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}
    order_out = {"type": "object", "properties": {
        "id": {"type": "integer"}, "number": {"type": "string"}, "channel_order_id": {"type": "string"},
        "status": {"type": "string", "enum": ["draft", "finalized", "fulfilled", "void"]}, "stage": {"type": "string"},
        "hold_reason": {"type": "string", "nullable": True}, "total": money, "currency": {"type": "string"},
        "duplicate": {"type": "boolean"}}}
    error = {"type": "object", "properties": {"error": {"type": "string"},
                                             "problems": {"type": "array", "items": problem}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "oms_web order API", "version": "1",
                 "description": "Send your web store's orders. Each arrives Finalized with stock allocated; "
                                "sending the same order_id again returns the order already received."},
        "servers": [{"url": server}],
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "security": [{"apiKey": []}],
        "paths": {"/orders": {"post": {
            "summary": "Receive an order",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["order_id", "customer", "lines"],
                "properties": {
                    "order_id": {"type": "string", "maxLength": 64, "description": "Your store's order id"},
                    "currency": {"type": "string", "minLength": 3, "maxLength": 3, "default": "USD"},
                    "payment_status": {"type": "string", "enum": ["paid", "pending"], "default": "paid",
                                       "description": "pending: the order waits under Awaiting payment "
                                                      "with its stock set aside; send it again with paid "
                                                      "(or without this field) to release it for shipping"},
                    "shipping": money,
                    "shipping_tax": {**money, "description": "Tax on the shipping; on the order's first invoice"},
                    "discount": {**money, "description": "An order-wide discount (a coupon), spread over the "
                                                         "lines in proportion to their value"},
                    "tax": {**money, "description": "The tax of the lines that state none of their own, spread "
                                                    "over them; without it those lines are taxed at the product's rate"},
                    "prices_include_tax": {"type": "boolean", "default": False,
                                           "description": "true: prices and shipping include their tax, which the "
                                                          "total then does not add"},
                    "service_level": {"type": "string"},
                    "customer": {"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string"}, "email": {"type": "string", "format": "email"},
                        "phone": {"type": "string"}}},
                    "ship_to": address, "bill_to": address,
                    "lines": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "required": ["sku", "quantity", "unit_price"], "properties": {
                            "sku": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1},
                            "unit_price": money, "name": {"type": "string"}, "line_id": {"type": "string"},
                            "discount": {**money, "description": "The line's discount, for all its units"},
                            "tax": {**money, "description": "The line's tax, for all its units"}}}}}}}}},
            "responses": {
                "201": {"description": "Received", "content": {"application/json": {"schema": order_out}}},
                "200": {"description": "Received before: the same order", "content": {"application/json": {"schema": order_out}}},
                "401": {"description": "No valid API key", "content": {"application/json": {"schema": error}}},
                "422": {"description": "Problems with the order; nothing saved", "content": {"application/json": {"schema": error}}},
            }}}},
    }
