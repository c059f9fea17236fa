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

from collections.abc import Callable
from typing import Any

from ..columns import column_length
from ..domain import money as order_money
from ..domain.orders import CustomerDetails, LineRequest, NewOrder
from ..models import Address, Customer, Order, OrderLine, PaymentStatus, SalesChannel
from .importing import Skip
from .payloads import PayloadError, Problem, Reader, read_object, to_cents

__all__ = ["PayloadError", "Problem", "from_json_api", "from_shopify", "from_woocommerce", "to_cents"]


def _placeholder_sku(store: str, line: Reader, ids: tuple[tuple[str, str], ...], *, digits_too: bool = False
                     ) -> str | None:
    """The first of the line's ids the store gave, as a SKU: ("variant_id", "VARIANT") → STORE-VARIANT-<id>."""
    for key, label in ids:
        found = line.store_id(key, digits_too=digits_too)
        if found:
            return f"{store}-{label}-{found}"
    return None


LineMoney = Callable[[Reader, int, int], dict[str, Any]]


def _lines(order: Reader, key: str, places: int, *, sku: str, quantity: str, price: str, name: str, line_id: str,
           numeric_ids: bool = True, price_rounded: bool = False,
           placeholder: Callable[[Reader], str | None] | None = None, money: LineMoney | None = None
           ) -> list[LineRequest]:
    """The order's lines (named lines[i] in problems, whatever the store calls them). `placeholder(line)`
    names a line the store sent without a SKU (None: refused); `money(line, places, quantity)` gives the
    line's discount and tax (and may set its unit price)."""
    if order.data.get(key) in (None, []):
        order.problem("lines", "at least one line is required")
    lines = []
    for item in order.objects(key, called="lines") or []:
        known = len(item.problems)
        line_sku = item.text(sku, OrderLine.sku)
        if line_sku is None and len(item.problems) == known:  # none given (a SKU of a wrong kind is refused)
            line_sku = placeholder(item) if placeholder else None
            if not line_sku:
                item.problem(sku, "is required" + (" (or the line's id)" if placeholder else ""))
        qty = item.quantity(quantity)
        line = dict(sku=line_sku or "", quantity=qty, unit_price_cents=item.money(price, places, rounded=price_rounded),
                    name=item.text(name, OrderLine.name),
                    channel_line_id=(item.store_id(line_id) if numeric_ids
                                     else item.text(line_id, OrderLine.channel_line_id)))
        if money is not None:
            line.update(money(item, places, qty))
        lines.append(LineRequest(**line))
    return lines


def _sum_of(data: Reader, key: str, amount: str, places: int) -> int | None:
    """The sum of `amount` over a list of objects (Shopify's discount_allocations, tax_lines); None when
    the list is absent, so that "no figure" and "zero" stay apart."""
    entries = data.objects(key)
    if entries is None:
        return None
    return sum(entry.money(amount, places, default=0) for entry in entries)


# Where each part of an address is kept: the Address model's columns (the ship-to JSON has the same parts).
ADDRESS_COLUMNS = {"name": Address.name, "line1": Address.line1, "line2": Address.line2, "city": Address.city,
                   "region": Address.region, "postal_code": Address.postal_code, "country": Address.country}


def _address(data: Reader | None, keys: dict[str, str]) -> dict[str, Any] | None:
    if data is None:
        return None
    address = {ours: (data.country(theirs, ADDRESS_COLUMNS[ours]) if ours == "country"
                      else data.text(theirs, ADDRESS_COLUMNS[ours])) for ours, theirs in keys.items()}
    return address if any(address.values()) else None


def _fits(text: str | None, column: Any) -> str | None:
    """`text` when it fits `column` (an email address stands in for a missing name only if it fits)."""
    return text if text and len(text) <= column_length(column) else None


def _full_name(data: Reader | None, first: str, last: str, column: Any) -> str | None:
    """"First Last" from two fields, refused when together they do not fit `column`."""
    if data is None:
        return None
    name = " ".join(filter(None, [data.text(first, column), data.text(last, column)])) or None
    if name and len(name) > column_length(column):
        data.problem(last, f"with {first}, must be at most {column_length(column)} characters")
        return None
    return name


OUR_ADDRESS = {"name": "name", "line1": "line1", "line2": "line2", "city": "city", "region": "region",
               "postal_code": "postal_code", "country": "country"}


def from_json_api(channel_id: int, payload: Any) -> NewOrder:
    """The documented JSON order (see the OpenAPI document served at /api/v1/openapi.json)."""
    order = read_object(payload)
    order_id = order.text("order_id", Order.channel_order_id, required="is required: your store's order id")
    customer = order.object("customer", required=True)
    name = customer.text("name", Customer.name, required=True) if customer else None
    email = customer.text("email", Customer.email) if customer else None
    phone = customer.text("phone", Customer.phone) if customer else None
    payment = order.one_of("payment_status", ("paid", "pending"), "paid")
    currency, places = order.currency("currency")
    lines = _lines(order, "lines", places, sku="sku", quantity="quantity", price="unit_price", name="name",
                   line_id="line_id", numeric_ids=False, money=_api_line_money)
    shipping = order.money("shipping", places, default=0)
    charges = dict(shipping_tax_cents=order.money("shipping_tax", places, default=0),
                   discount_cents=order.money("discount", places, default=0),
                   tax_cents=None if order.data.get("tax") is None else order.money("tax", places))
    tax_included = order.flag("prices_include_tax")
    ship_to = _address(order.object("ship_to"), OUR_ADDRESS)
    bill_to = _address(order.object("bill_to"), OUR_ADDRESS)
    service_level = order.text("service_level", Order.service_level)
    ship_by = order.ship_by("ship_by")
    order.check()
    return NewOrder(channel_id=channel_id, channel_order_id=order_id, lines=lines, currency=currency,
                    customer=CustomerDetails(name=name or "", email=email, phone=phone, ship_to=ship_to,
                                             bill_to=bill_to or ship_to),
                    payment_status=PaymentStatus(payment), shipping_cents=shipping, service_level=service_level,
                    tax_included=tax_included, ship_by=ship_by, **charges)


def _api_line_money(line: Reader, places: int, quantity: int) -> dict[str, Any]:
    """A line's optional `discount` (for all its units) and `tax` (without it: the product's rate)."""
    return {"discount_cents": line.money("discount", places, default=0),
            "tax_cents": None if line.data.get("tax") is None else line.money("tax", places)}


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
    order = read_object(payload)
    order_id = order.store_id("id", required=True)
    status = order.word("financial_status")
    cancelled = order.time("cancelled_at")
    order.check()
    if cancelled or status in SHOPIFY_NOT_TO_SHIP:
        return Skip(order_id or "", f"{'cancelled' if cancelled else status} on {channel.name}", canceled=True)
    currency, places = order.currency("currency")
    lines = _lines(order, "line_items", places, sku="sku", quantity="quantity", price="price", name="title",
                   line_id="id", placeholder=lambda line: _placeholder_sku("SHOPIFY", line, SHOPIFY_LINE_IDS),
                   money=_shopify_line_money)
    charges = _shopify_charges(order, places, lines)
    customer = order.object("customer")
    ship_to_data = order.object("shipping_address")
    ship_to = _address(ship_to_data, SHOPIFY_ADDRESS)
    bill_to = _address(order.object("billing_address"), SHOPIFY_ADDRESS)
    email = order.text("email", Customer.email)
    name = (_full_name(customer, "first_name", "last_name", Customer.name)
            or (ship_to or {}).get("name") or _fits(email, Customer.name) or "Shopify customer")
    phone = ship_to_data.text("phone", Customer.phone) if ship_to_data else None
    email = email or (customer.text("email", Customer.email) if customer else None)
    placed_at = order.time("created_at")
    number = order.text("name", Order.channel_order_id)
    order.check()
    return NewOrder(channel_id=channel.id, channel_order_id=order_id, lines=lines, currency=currency,
                    customer=CustomerDetails(name=name, email=email, phone=phone, ship_to=ship_to,
                                             bill_to=bill_to or ship_to),
                    payment_status=PaymentStatus.PAID if status in SHOPIFY_PAID else PaymentStatus.PENDING,
                    placed_at=placed_at, extra={"name": number}, **charges)


def _shopify_line_money(line: Reader, places: int, quantity: int) -> dict[str, Any]:
    """A line's discounts (its discount_allocations: its own and its share of the order's) and its
    tax_lines, each for all its units."""
    return {"discount_cents": _sum_of(line, "discount_allocations", "amount", places) or 0,
            "tax_cents": _sum_of(line, "tax_lines", "price", places)}


def _shopify_charges(order: Reader, places: int, lines: list[LineRequest]) -> dict[str, Any]:
    """The order's shipping (each shipping line's discounted_price), the shipping's tax, and what the
    lines do not carry: total_discounts of an order whose lines have no discount_allocations, the
    total_tax (less the shipping's) of an order whose lines have no tax_lines. `taxes_included`: the
    prices include their tax, so total_price does not add it."""
    shipping = shipping_tax = 0
    for entry in order.objects("shipping_lines") or []:
        charged = "price" if entry.data.get("discounted_price") in (None, "") else "discounted_price"
        shipping += entry.money(charged, places, default=0)
        shipping_tax += _sum_of(entry, "tax_lines", "price", places) or 0
    items = order.data.get("line_items") if isinstance(order.data.get("line_items"), list) else []
    charges: dict[str, Any] = {"shipping_cents": shipping, "shipping_tax_cents": shipping_tax,
                               "tax_included": order.flag("taxes_included")}
    if not any(isinstance(item, dict) and item.get("discount_allocations") for item in items):
        charges["discount_cents"] = order.money("total_discounts", places, default=0)
    if order.data.get("total_tax") not in (None, "") and all(line.tax_cents is None for line in lines):
        charges["tax_cents"] = max(order.money("total_tax", places) - shipping_tax, 0)
    if order.data.get("total_price") not in (None, ""):
        charges["channel_total_cents"] = order.money("total_price", places)
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


def _woo_address(data: Reader | None) -> dict[str, Any] | None:
    address = _address(data, WOO_ADDRESS)
    if address is not None and data is not None:
        address["name"] = _full_name(data, "first_name", "last_name", Address.name)
    return address


def from_woocommerce(channel: SalesChannel, payload: Any) -> NewOrder | Skip:
    """A WooCommerce order body (order.created, order.updated). A Skip for an order that must not be
    fulfilled (cancelled, refunded, deleted: `canceled`; payment failed)."""
    order = read_object(payload)
    order_id = order.store_id("id", required=True)
    status = order.word("status")
    order.check()
    if status in WOO_NOT_TO_SHIP:
        return Skip(order_id or "", f"{status} on {channel.name}", canceled=status in WOO_CANCELLED)
    currency, places = order.currency("currency")
    # Woo's `price` is its line total divided by the quantity, sent as a float (10.833333...): rounded
    # to the currency's decimals, not refused. Its totals are exact strings and are held to them.
    lines = _lines(order, "line_items", places, sku="sku", quantity="quantity", price="price", name="name",
                   line_id="id", price_rounded=True,
                   placeholder=lambda line: _placeholder_sku("WOO", line, WOO_LINE_IDS, digits_too=True),
                   money=_woo_line_money)
    shipping = order.money("shipping_total", places, default=0)
    charges = _woo_charges(order, places, lines)
    billing = order.object("billing")
    ship_to = _woo_address(order.object("shipping")) or _woo_address(billing)
    bill_to = _woo_address(billing)
    email = billing.text("email", Customer.email) if billing else None
    phone = billing.text("phone", Customer.phone) if billing else None
    placed_at = order.time("date_created_gmt")
    order.check()
    name = (ship_to or {}).get("name") or _fits(email, Customer.name) or "WooCommerce customer"
    return NewOrder(channel_id=channel.id, channel_order_id=order_id, lines=lines, currency=currency,
                    customer=CustomerDetails(name=name, email=email, phone=phone, ship_to=ship_to,
                                             bill_to=bill_to or ship_to),
                    payment_status=PaymentStatus.PAID if status in WOO_PAID else PaymentStatus.PENDING,
                    shipping_cents=shipping, placed_at=placed_at, **charges)


def _woo_line_money(line: Reader, places: int, quantity: int) -> dict[str, Any]:
    """A line priced as WooCommerce prices it: `subtotal` before discounts and `total` after, both for
    all its units and before tax (Woo keeps line totals net even when prices are entered with tax),
    and its `total_tax`. Without a subtotal the line's `price` stands, with no discount."""
    figures: dict[str, Any] = {}
    if line.data.get("subtotal") not in (None, ""):
        subtotal = line.money("subtotal", places)
        total = line.money("total", places, default=subtotal)
        unit, rounding = order_money.unit_of_total(subtotal, quantity)
        figures.update(unit_price_cents=unit, discount_cents=max(subtotal - total, 0) + rounding)
    if line.data.get("total_tax") not in (None, ""):
        figures["tax_cents"] = line.money("total_tax", places)
    return figures


def _woo_charges(order: Reader, places: int, lines: list[LineRequest]) -> dict[str, Any]:
    """The shipping's tax, and what the lines do not carry: discount_total when no line has a subtotal,
    total_tax (less the shipping's) when no line has a total_tax."""
    items = order.data.get("line_items") if isinstance(order.data.get("line_items"), list) else []
    charges: dict[str, Any] = {"shipping_tax_cents": order.money("shipping_tax", places, default=0)}
    if not any(isinstance(item, dict) and item.get("subtotal") not in (None, "") for item in items):
        charges["discount_cents"] = order.money("discount_total", places, default=0)
    if order.data.get("total_tax") not in (None, "") and all(line.tax_cents is None for line in lines):
        charges["tax_cents"] = max(order.money("total_tax", places) - charges["shipping_tax_cents"], 0)
    if order.data.get("total") not in (None, ""):
        charges["channel_total_cents"] = order.money("total", places)
    return charges
