"""The web store's JSON order API: POST /api/v1/orders with the channel's API key, and its OpenAPI document.

A repeat of an order already received answers 200 with the same order (the store may retry
freely); a new one 201. Bad input answers 422 listing every problem; nothing is written.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, request

from ..domain.money import decimal_text
from ..columns import column_length
from ..domain.deadlines import FIRST_SHIP_BY, LAST_SHIP_BY
from ..domain.errors import DomainError
from ..domain.orders import MAX_LINE_QUANTITY
from ..extensions import db
from ..models import ChannelKind, Customer, Order, OrderLine, SalesChannel
from ..web import PUBLIC, allow, csrf, json_error
from .amounts import CURRENCY_PLACES
from .importing import DUPLICATE, Imported, import_order
from .keys import channel_of_key
from .payloads import BodyError, load_json
from .webstore import ADDRESS_COLUMNS, PayloadError, from_json_api

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # machine clients authenticate with their API key, not a browser session

_error = json_error


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
            "total": decimal_text(order["total_cents"]), "currency": order["currency"],
            "duplicate": imported.outcome == DUPLICATE}


@bp.route("/orders", methods=["POST"])
@allow(PUBLIC)
def create_order():
    channel_id = _channel_for_key()
    if channel_id is None:
        return _error(401, "A valid API key is required (Authorization: Bearer <key>)")
    # An over-size body was refused before this view (web.bound_request), or is when its reading passes
    # MAX_CONTENT_LENGTH: a 413 in JSON like every error here.
    try:
        if not request.is_json:
            raise BodyError("The body must be JSON")
        payload = load_json(request.get_data())
    except BodyError as error:
        return _error(400, f"{error} (Content-Type: application/json)", [{"field": "body", "message": str(error)}])
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
    return jsonify(openapi_document())


def _text(column, **more) -> dict:
    """A string field of the document, as long as the column it is kept in."""
    return {"type": "string", "maxLength": column_length(column), **more}


def openapi_document() -> dict:
    """The order API's OpenAPI document. Its limits are the ones the order is read with (payloads,
    webstore); its server is relative, so the document names no host a request could have forged."""
    money = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$", "example": "12.50",
             "description": "ASCII digits, with no more decimals than the currency has (none for JPY)"}
    address = {"type": "object", "properties": {
        ours: ({"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "ISO 3166 two-letter code"}
               if ours == "country" else _text(column)) for ours, column in ADDRESS_COLUMNS.items()}}
    problem = {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}
    order_out = {"type": "object", "properties": {
        "id": {"type": "integer"}, "number": {"type": "string"}, "channel_order_id": {"type": "string"},
        "status": {"type": "string", "enum": ["draft", "finalized", "fulfilled", "void"]}, "stage": {"type": "string"},
        "hold_reason": {"type": "string", "nullable": True}, "total": money, "currency": {"type": "string"},
        "duplicate": {"type": "boolean"}}}
    error = {"type": "object", "properties": {"error": {"type": "string"},
                                             "problems": {"type": "array", "items": problem}}}

    def answer(description: str, schema: dict) -> dict:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    return {
        "openapi": "3.0.3",
        "info": {"title": "oms_web order API", "version": "1",
                 "description": "Send your web store's orders. Each arrives Finalized with stock allocated; "
                                "sending the same order_id again returns the order already received. "
                                "Every field must be of the type shown: nothing is converted or cut."},
        "servers": [{"url": bp.url_prefix}],
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
            "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                             "description": "the same key, for clients that cannot send Authorization"}}},
        "security": [{"bearer": []}, {"apiKeyHeader": []}],
        "paths": {"/orders": {"post": {
            "summary": "Receive an order",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["order_id", "customer", "lines"],
                "properties": {
                    "order_id": _text(Order.channel_order_id, description="Your store's order id"),
                    "currency": {"type": "string", "enum": sorted(c for c, p in CURRENCY_PLACES.items() if p <= 2),
                                 "default": "USD", "description": "ISO 4217 (either case)"},
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
                    "service_level": _text(Order.service_level),
                    "ship_by": {"type": "string", "format": "date-time", "example": "2026-01-02T17:00:00Z",
                                "description": "When the order must be handed to the carrier (ISO 8601, from "
                                               f"{FIRST_SHIP_BY:%Y} to {LAST_SHIP_BY.year - 1}); without it, "
                                               "the time it arrives plus the channel's handling days"},
                    "customer": {"type": "object", "required": ["name"], "properties": {
                        "name": _text(Customer.name), "email": _text(Customer.email, format="email"),
                        "phone": _text(Customer.phone)}},
                    "ship_to": address, "bill_to": address,
                    "lines": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "required": ["sku", "quantity", "unit_price"], "properties": {
                            "sku": _text(OrderLine.sku),
                            "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_LINE_QUANTITY},
                            "unit_price": money, "name": _text(OrderLine.name),
                            "line_id": _text(OrderLine.channel_line_id),
                            "discount": {**money, "description": "The line's discount, for all its units"},
                            "tax": {**money, "description": "The line's tax, for all its units"}}}}}}}}},
            "responses": {
                "201": answer("Received", order_out),
                "200": answer("Received before: the same order", order_out),
                "400": answer("The body is not JSON (or is nested too deeply to read); nothing saved", error),
                "401": answer("No valid API key", error),
                "413": answer("The body is too large; nothing saved", error),
                "422": answer("Problems with the order, each with its field; nothing saved", error),
            }}}},
    }
