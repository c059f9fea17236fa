"""Web store orders: the JSON order API's payload, Shopify's and WooCommerce's order webhooks → NewOrder.

Money arrives as strings (or numbers) and becomes integer cents through Decimal, never float.
Each mapper raises PayloadError listing every problem at once, with the field it concerns.

A store's line without a SKU (a Shopify custom item, a WooCommerce product nobody gave a SKU) is not a
refusal: the store would retry it for hours, then switch the webhook off. It gets a placeholder SKU
made of the store's own ids (SHOPIFY-VARIANT-<id>, WOO-PRODUCT-<id>, ...), which matches no product,
so the order waits under Needs attention until that placeholder is mapped in the channel's SKU map.
Our own JSON API keeps sku required, as its OpenAPI document says.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..domain import money as order_money
from ..domain.orders import CustomerDetails, LineRequest, NewOrder
from ..models import PaymentStatus, SalesChannel
from .importing import Skip


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


def _status(value: Any) -> str | None:
    """A store's order status word; None for anything else (a list or an object is no status)."""
    return _text(value, 40) if isinstance(value, str) else None


def _address(data: Any, keys: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    address = {ours: _text(data.get(theirs)) for ours, theirs in keys.items()}
    if address.get("country"):
        address["country"] = address["country"].upper()[:2]
    return address if any(address.values()) else None


def _store_id(value: Any) -> str | None:
    """A store's numeric id as text; None for none (WooCommerce writes 0 for "no variation")."""
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    return text if re.fullmatch(r"[0-9]{1,30}", text) and int(text) > 0 else None


def _placeholder_sku(store: str, item: dict[str, Any], ids: tuple[tuple[str, str], ...]) -> str | None:
    """The first of the line's ids the store gave, as a SKU: ("variant_id", "VARIANT") → STORE-VARIANT-<id>."""
    for key, label in ids:
        found = _store_id(item.get(key))
        if found:
            return f"{store}-{label}-{found}"[:64]
    return None


def _require_object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise PayloadError([Problem("body", "must be a JSON object")])
    return payload


def _lines(items: Any, problems: list[Problem], *, sku: str, quantity: str, price: str, name: str, line_id: str,
           price_is_total: bool = False, placeholder: Callable[[dict[str, Any]], str | None] | None = None,
           money: Callable[[dict[str, Any], str, int, list[Problem]], dict[str, Any]] | None = None
           ) -> list[LineRequest]:
    """The order's lines. `placeholder(item)` names a line the store sent without a SKU (None: refused);
    `money(item, where, quantity, problems)` gives the line's discount and tax (and may set its unit price)."""
    if not isinstance(items, list) or not items:
        problems.append(Problem("lines", "at least one line is required"))
        return []
    lines = []
    for index, item in enumerate(items):
        where = f"lines[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(where, "must be an object"))
            continue
        line_sku = _text(item.get(sku), 64) or (placeholder(item) if placeholder else None)
        if not line_sku:
            problems.append(Problem(f"{where}.{sku}", "is required" + (" (or the line's id)" if placeholder else "")))
        qty = _quantity(item.get(quantity), f"{where}.{quantity}", problems)
        cents = to_cents(item.get(price), f"{where}.{price}", problems)
        if price_is_total:
            cents = int((Decimal(cents) / qty).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        line = dict(sku=line_sku or "", quantity=qty, unit_price_cents=cents, name=_text(item.get(name)),
                    channel_line_id=_text(item.get(line_id), 64))
        if money is not None:
            line.update(money(item, where, qty, problems))
        lines.append(LineRequest(**line))
    return lines


def _sum_of(entries: Any, key: str, field: str, problems: list[Problem]) -> int | None:
    """The sum of `key` over a list of objects (Shopify's discount_allocations, tax_lines); None when the
    list is absent, so that "no figure" and "zero" stay apart."""
    if entries is None:
        return None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.append(Problem(field, "must be a list of objects"))
        return 0
    return sum(to_cents(e.get(key), f"{field}[{i}].{key}", problems, default=0) for i, e in enumerate(entries))


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
                   line_id="line_id", money=_api_line_money)
    shipping = to_cents(payload.get("shipping"), "shipping", problems, default=0)
    charges = dict(shipping_tax_cents=to_cents(payload.get("shipping_tax"), "shipping_tax", problems, default=0),
                   discount_cents=to_cents(payload.get("discount"), "discount", problems, default=0),
                   tax_cents=None if payload.get("tax") is None else to_cents(payload.get("tax"), "tax", problems))
    tax_included = payload.get("prices_include_tax", False)
    if not isinstance(tax_included, bool):
        problems.append(Problem("prices_include_tax", "must be true or false"))
    if problems:
        raise PayloadError(problems)
    ship_to = _address(payload.get("ship_to"), OUR_ADDRESS)
    return NewOrder(channel_id=channel_id, channel_order_id=order_id, lines=lines, currency=currency.upper(),
                    customer=CustomerDetails(name=_text(customer.get("name")) or "", email=_text(customer.get("email"), 254),
                                             phone=_text(customer.get("phone"), 40), ship_to=ship_to,
                                             bill_to=_address(payload.get("bill_to"), OUR_ADDRESS) or ship_to),
                    payment_status=PaymentStatus(payment), shipping_cents=shipping, tax_included=tax_included,
                    service_level=_text(payload.get("service_level"), 40), **charges)


def _api_line_money(item: dict[str, Any], where: str, quantity: int, problems: list[Problem]) -> dict[str, Any]:
    """A line's optional `discount` (for all its units) and `tax` (without it: the product's rate)."""
    tax = item.get("tax")
    return {"discount_cents": to_cents(item.get("discount"), f"{where}.discount", problems, default=0),
            "tax_cents": None if tax is None else to_cents(tax, f"{where}.tax", problems)}


SHOPIFY_ADDRESS = {"name": "name", "line1": "address1", "line2": "address2", "city": "city", "region": "province",
                   "postal_code": "zip", "country": "country_code"}
# "authorized": the payment is secured and captured at or before shipping (shops that capture by hand
# do so when they fulfil), so the order is clear to ship; holding it would wait for a capture that
# waits for the shipment.
SHOPIFY_PAID = {"paid", "partially_refunded", "authorized"}
SHOPIFY_NOT_TO_SHIP = {"voided", "refunded"}
SHOPIFY_LINE_IDS = (("variant_id", "VARIANT"), ("product_id", "PRODUCT"), ("id", "LINE"))


def from_shopify(channel: SalesChannel, payload: Any) -> NewOrder | Skip:
    """A Shopify order body (orders/create, orders/paid, orders/updated, orders/cancelled). A Skip for
    an order that must not be fulfilled (cancelled, voided, refunded)."""
    payload = _require_object(payload)
    status = _status(payload.get("financial_status"))
    if payload.get("cancelled_at") or status in SHOPIFY_NOT_TO_SHIP:
        reason = "cancelled" if payload.get("cancelled_at") else status
        return Skip(str(payload.get("id") or ""), f"{reason} on {channel.name}", canceled=True)
    problems: list[Problem] = []
    if payload.get("id") in (None, ""):
        problems.append(Problem("id", "is required"))
    lines = _lines(payload.get("line_items"), problems, sku="sku", quantity="quantity", price="price", name="title",
                   line_id="id", placeholder=lambda item: _placeholder_sku("SHOPIFY", item, SHOPIFY_LINE_IDS),
                   money=_shopify_line_money)
    charges = _shopify_charges(payload, lines, problems)
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
                    payment_status=PaymentStatus.PAID if status in SHOPIFY_PAID else PaymentStatus.PENDING,
                    placed_at=_when(payload.get("created_at")), **charges,
                    extra={"name": payload.get("name")})


def _shopify_line_money(item: dict[str, Any], where: str, quantity: int, problems: list[Problem]) -> dict[str, Any]:
    """A line's discounts (its discount_allocations: its own and its share of the order's) and its
    tax_lines, each for all its units."""
    return {"discount_cents": _sum_of(item.get("discount_allocations"), "amount", f"{where}.discount_allocations",
                                      problems) or 0,
            "tax_cents": _sum_of(item.get("tax_lines"), "price", f"{where}.tax_lines", problems)}


def _shopify_charges(payload: dict[str, Any], lines: list[LineRequest], problems: list[Problem]) -> dict[str, Any]:
    """The order's shipping (each shipping line's discounted_price), the shipping's tax, and what the
    lines do not carry: total_discounts of an order whose lines have no discount_allocations, the
    total_tax (less the shipping's) of an order whose lines have no tax_lines. `taxes_included`: the
    prices include their tax, so total_price does not add it."""
    shipping_lines = payload.get("shipping_lines") or []
    if not isinstance(shipping_lines, list) or not all(isinstance(s, dict) for s in shipping_lines):
        problems.append(Problem("shipping_lines", "must be a list of objects"))
        shipping_lines = []
    shipping = shipping_tax = 0
    for index, entry in enumerate(shipping_lines):
        where = f"shipping_lines[{index}]"
        charged = entry.get("discounted_price")
        shipping += to_cents(entry.get("price") if charged in (None, "") else charged,
                             f"{where}.{'price' if charged in (None, '') else 'discounted_price'}", problems, default=0)
        shipping_tax += _sum_of(entry.get("tax_lines"), "price", f"{where}.tax_lines", problems) or 0
    items = payload.get("line_items") if isinstance(payload.get("line_items"), list) else []
    charges: dict[str, Any] = {"shipping_cents": shipping, "shipping_tax_cents": shipping_tax}
    if not any(isinstance(i, dict) and i.get("discount_allocations") for i in items):
        charges["discount_cents"] = to_cents(payload.get("total_discounts"), "total_discounts", problems, default=0)
    if payload.get("total_tax") not in (None, "") and all(line.tax_cents is None for line in lines):
        charges["tax_cents"] = max(to_cents(payload.get("total_tax"), "total_tax", problems) - shipping_tax, 0)
    taxes_included = payload.get("taxes_included", False)
    if not isinstance(taxes_included, bool):
        problems.append(Problem("taxes_included", "must be true or false"))
    charges["tax_included"] = taxes_included is True
    if payload.get("total_price") not in (None, ""):
        charges["channel_total_cents"] = to_cents(payload.get("total_price"), "total_price", problems)
    return charges


WOO_ADDRESS = {"line1": "address_1", "line2": "address_2", "city": "city", "region": "state",
               "postal_code": "postcode", "country": "country"}
# "on-hold" is Woo's "awaiting payment" of a bank transfer or a cheque: stock is reduced, payment not
# confirmed. Woo sends the order again as "processing" once it is paid.
WOO_PAID = {"processing", "completed"}
WOO_TO_FULFIL = {"pending", "on-hold", "processing"}  # not yet completed, cancelled, refunded or failed
WOO_CANCELLED = {"cancelled", "refunded", "trash"}
WOO_NOT_TO_SHIP = WOO_CANCELLED | {"failed"}
WOO_LINE_IDS = (("variation_id", "VARIATION"), ("product_id", "PRODUCT"), ("id", "LINE"))


def _woo_address(data: Any) -> dict[str, Any] | None:
    address = _address(data, WOO_ADDRESS)
    if address is not None and isinstance(data, dict):
        address["name"] = " ".join(filter(None, [_text(data.get("first_name")), _text(data.get("last_name"))])) or None
    return address


def from_woocommerce(channel: SalesChannel, payload: Any) -> NewOrder | Skip:
    """A WooCommerce order body (order.created, order.updated). A Skip for an order that must not be
    fulfilled (cancelled, refunded, deleted: `canceled`; payment failed)."""
    payload = _require_object(payload)
    status = _status(payload.get("status"))
    if status in WOO_NOT_TO_SHIP:
        return Skip(str(payload.get("id") or ""), f"{status} on {channel.name}", canceled=status in WOO_CANCELLED)
    problems: list[Problem] = []
    if payload.get("id") in (None, ""):
        problems.append(Problem("id", "is required"))
    lines = _lines(payload.get("line_items"), problems, sku="sku", quantity="quantity", price="price", name="name",
                   line_id="id", placeholder=lambda item: _placeholder_sku("WOO", item, WOO_LINE_IDS),
                   money=_woo_line_money)
    shipping = to_cents(payload.get("shipping_total"), "shipping_total", problems, default=0)
    charges = _woo_charges(payload, lines, problems)
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
                    payment_status=PaymentStatus.PAID if status in WOO_PAID else PaymentStatus.PENDING,
                    shipping_cents=shipping, placed_at=_when(payload.get("date_created_gmt")), **charges)


def _woo_line_money(item: dict[str, Any], where: str, quantity: int, problems: list[Problem]) -> dict[str, Any]:
    """A line priced as WooCommerce prices it: `subtotal` before discounts and `total` after, both for
    all its units and before tax (Woo keeps line totals net even when prices are entered with tax),
    and its `total_tax`. Without a subtotal the line's `price` stands, with no discount."""
    figures: dict[str, Any] = {}
    if item.get("subtotal") not in (None, ""):
        subtotal = to_cents(item.get("subtotal"), f"{where}.subtotal", problems)
        total = to_cents(item.get("total"), f"{where}.total", problems, default=subtotal)
        unit, rounding = order_money.unit_of_total(subtotal, quantity)
        figures.update(unit_price_cents=unit, discount_cents=max(subtotal - total, 0) + rounding)
    if item.get("total_tax") not in (None, ""):
        figures["tax_cents"] = to_cents(item.get("total_tax"), f"{where}.total_tax", problems)
    return figures


def _woo_charges(payload: dict[str, Any], lines: list[LineRequest], problems: list[Problem]) -> dict[str, Any]:
    """The shipping's tax, and what the lines do not carry: discount_total when no line has a subtotal,
    total_tax (less the shipping's) when no line has a total_tax."""
    items = payload.get("line_items") if isinstance(payload.get("line_items"), list) else []
    charges: dict[str, Any] = {
        "shipping_tax_cents": to_cents(payload.get("shipping_tax"), "shipping_tax", problems, default=0)}
    if not any(isinstance(i, dict) and i.get("subtotal") not in (None, "") for i in items):
        charges["discount_cents"] = to_cents(payload.get("discount_total"), "discount_total", problems, default=0)
    if payload.get("total_tax") not in (None, "") and all(line.tax_cents is None for line in lines):
        charges["tax_cents"] = max(to_cents(payload.get("total_tax"), "total_tax", problems)
                                   - charges["shipping_tax_cents"], 0)
    if payload.get("total") not in (None, ""):
        charges["channel_total_cents"] = to_cents(payload.get("total"), "total", problems)
    return charges


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
