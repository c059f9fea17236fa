"""Web store orders: the JSON order API's payload, Shopify's and WooCommerce's order webhooks → NewOrder.

Money arrives as strings (or numbers) and becomes integer cents through Decimal, never float.
Each mapper raises PayloadError listing every problem at once, with the field it concerns.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..domain.orders import CustomerDetails, LineRequest, NewOrder
from ..models import PaymentStatus, SalesChannel


MAX_AMOUNT = Decimal("1000000")  # a line's unit price or a charge above this is a mistake


@dataclass
class Problem:
    field: str
    message: str


class PayloadError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def to_cents(value: Any, field: str, problems: list[Problem], *, default: int | None = None) -> int:
    if value is None or value == "":
        if default is not None:
            return default
        problems.append(Problem(field, "is required"))
        return 0
    if isinstance(value, bool):
        problems.append(Problem(field, "must be an amount like \"12.50\""))
        return 0
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        problems.append(Problem(field, "must be an amount like \"12.50\""))
        return 0
    if not amount.is_finite() or amount < 0:
        problems.append(Problem(field, "must be zero or more"))
        return 0
    if amount > MAX_AMOUNT:
        problems.append(Problem(field, f"must be at most {MAX_AMOUNT:,}"))
        return 0
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _quantity(value: Any, field: str, problems: list[Problem]) -> int:
    # ASCII digits only: str.isdigit() admits "²", which int() refuses.
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"[0-9]{1,6}", text) or int(text) < 1:
        problems.append(Problem(field, "must be a whole number from 1 to 999,999"))
        return 1
    return int(text)


def _text(value: Any, limit: int = 200) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


def _address(data: Any, keys: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    address = {ours: _text(data.get(theirs)) for ours, theirs in keys.items()}
    if address.get("country"):
        address["country"] = address["country"].upper()[:2]
    return address if any(address.values()) else None


def _require_object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise PayloadError([Problem("body", "must be a JSON object")])
    return payload


def _lines(items: Any, problems: list[Problem], *, sku: str, quantity: str, price: str, name: str, line_id: str,
           price_is_total: bool = False) -> list[LineRequest]:
    if not isinstance(items, list) or not items:
        problems.append(Problem("lines", "at least one line is required"))
        return []
    lines = []
    for index, item in enumerate(items):
        where = f"lines[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(where, "must be an object"))
            continue
        line_sku = _text(item.get(sku), 64)
        if not line_sku:
            problems.append(Problem(f"{where}.{sku}", "is required"))
        qty = _quantity(item.get(quantity), f"{where}.{quantity}", problems)
        cents = to_cents(item.get(price), f"{where}.{price}", problems)
        if price_is_total:
            cents = int((Decimal(cents) / qty).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        lines.append(LineRequest(sku=line_sku or "", quantity=qty, unit_price_cents=cents,
                                 name=_text(item.get(name)), channel_line_id=_text(item.get(line_id), 64)))
    return lines


OUR_ADDRESS = {"name": "name", "line1": "line1", "line2": "line2", "city": "city", "region": "region",
               "postal_code": "postal_code", "country": "country"}


def from_json_api(channel_id: int, payload: Any) -> NewOrder:
    """The documented JSON order (see the OpenAPI document served at /api/v1/openapi.json)."""
    payload = _require_object(payload)
    problems: list[Problem] = []
    order_id = _text(payload.get("order_id"), 64)
    if not order_id:
        problems.append(Problem("order_id", "is required: your store's order id"))
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    if not _text(customer.get("name")):
        problems.append(Problem("customer.name", "is required"))
    payment = payload.get("payment_status", "paid")
    if payment not in ("paid", "pending"):
        problems.append(Problem("payment_status", "must be \"paid\" or \"pending\""))
    currency = _text(payload.get("currency"), 3) or "USD"
    lines = _lines(payload.get("lines"), problems, sku="sku", quantity="quantity", price="unit_price", name="name",
                   line_id="line_id")
    shipping = to_cents(payload.get("shipping"), "shipping", problems, default=0)
    if problems:
        raise PayloadError(problems)
    ship_to = _address(payload.get("ship_to"), OUR_ADDRESS)
    return NewOrder(channel_id=channel_id, channel_order_id=order_id, lines=lines, currency=currency.upper(),
                    customer=CustomerDetails(name=_text(customer.get("name")) or "", email=_text(customer.get("email"), 254),
                                             phone=_text(customer.get("phone"), 40), ship_to=ship_to,
                                             bill_to=_address(payload.get("bill_to"), OUR_ADDRESS) or ship_to),
                    payment_status=PaymentStatus(payment), shipping_cents=shipping,
                    service_level=_text(payload.get("service_level"), 40))


SHOPIFY_ADDRESS = {"name": "name", "line1": "address1", "line2": "address2", "city": "city", "region": "province",
                   "postal_code": "zip", "country": "country_code"}
SHOPIFY_PAID = {"paid", "partially_refunded"}


def from_shopify(channel: SalesChannel, payload: Any) -> NewOrder | None:
    """A Shopify orders/create body. None for an order that must not be fulfilled (cancelled, voided)."""
    payload = _require_object(payload)
    if payload.get("cancelled_at") or payload.get("financial_status") in ("voided", "refunded"):
        return None
    problems: list[Problem] = []
    if payload.get("id") in (None, ""):
        problems.append(Problem("id", "is required"))
    lines = _lines(payload.get("line_items"), problems, sku="sku", quantity="quantity", price="price", name="title",
                   line_id="id")
    shipping = sum(to_cents(s.get("price"), "shipping_lines.price", problems, default=0)
                   for s in payload.get("shipping_lines") or [] if isinstance(s, dict))
    if problems:
        raise PayloadError(problems)
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    ship_to = _address(payload.get("shipping_address"), SHOPIFY_ADDRESS)
    name = (" ".join(filter(None, [_text(customer.get("first_name")), _text(customer.get("last_name"))]))
            or (ship_to or {}).get("name") or _text(payload.get("email")) or "Shopify customer")
    return NewOrder(channel_id=channel.id, channel_order_id=str(payload["id"]), lines=lines,
                    currency=(_text(payload.get("currency"), 3) or "USD").upper(),
                    customer=CustomerDetails(name=name, email=_text(payload.get("email") or customer.get("email"), 254),
                                             phone=_text((payload.get("shipping_address") or {}).get("phone"), 40),
                                             ship_to=ship_to, bill_to=_address(payload.get("billing_address"), SHOPIFY_ADDRESS) or ship_to),
                    payment_status=PaymentStatus.PAID if payload.get("financial_status") in SHOPIFY_PAID else PaymentStatus.PENDING,
                    shipping_cents=shipping, placed_at=_when(payload.get("created_at")),
                    extra={"name": payload.get("name")})


WOO_ADDRESS = {"line1": "address_1", "line2": "address_2", "city": "city", "region": "state",
               "postal_code": "postcode", "country": "country"}
WOO_PAID = {"processing", "completed", "on-hold"}
WOO_NOT_TO_SHIP = {"cancelled", "refunded", "failed", "trash"}


def _woo_address(data: Any) -> dict[str, Any] | None:
    address = _address(data, WOO_ADDRESS)
    if address is not None and isinstance(data, dict):
        address["name"] = " ".join(filter(None, [_text(data.get("first_name")), _text(data.get("last_name"))])) or None
    return address


def from_woocommerce(channel: SalesChannel, payload: Any) -> NewOrder | None:
    """A WooCommerce order.created body. None for an order that must not be fulfilled."""
    payload = _require_object(payload)
    if payload.get("status") in WOO_NOT_TO_SHIP:
        return None
    problems: list[Problem] = []
    if payload.get("id") in (None, ""):
        problems.append(Problem("id", "is required"))
    lines = _lines(payload.get("line_items"), problems, sku="sku", quantity="quantity", price="price", name="name",
                   line_id="id")
    shipping = to_cents(payload.get("shipping_total"), "shipping_total", problems, default=0)
    if problems:
        raise PayloadError(problems)
    billing = payload.get("billing") if isinstance(payload.get("billing"), dict) else {}
    ship_to = _woo_address(payload.get("shipping")) or _woo_address(billing)
    name = (ship_to or {}).get("name") or _text(billing.get("email")) or "WooCommerce customer"
    return NewOrder(channel_id=channel.id, channel_order_id=str(payload["id"]), lines=lines,
                    currency=(_text(payload.get("currency"), 3) or "USD").upper(),
                    customer=CustomerDetails(name=name, email=_text(billing.get("email"), 254),
                                             phone=_text(billing.get("phone"), 40), ship_to=ship_to,
                                             bill_to=_woo_address(billing) or ship_to),
                    payment_status=PaymentStatus.PAID if payload.get("status") in WOO_PAID else PaymentStatus.PENDING,
                    shipping_cents=shipping, placed_at=_when(payload.get("date_created_gmt")))


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        from datetime import timezone

        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment
