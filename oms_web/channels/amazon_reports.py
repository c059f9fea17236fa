"""Amazon's report files, tab-separated, one row per order item: All Orders
(GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL) and Unshipped / the classic order report
(GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING).

Reading of the format, where CHANNELS.md leaves it open:
- `item-price` is the line's price × quantity (as in the API); the unit price is divided out.
- `fulfillment-channel` "Amazon" (AFN) orders are skipped. What to import is decided per item row by
  its `item-status` (Unshipped items in, Shipped and Cancelled ones out), not by `order-status`.
- A `payments-date` column that is present but empty means the order is not paid yet.
"""
from __future__ import annotations

import csv
from datetime import datetime
from typing import TextIO

from ..domain.orders import CustomerDetails, NewOrder
from ..models import PaymentStatus
from .addresses import clean, ship_to
from .amounts import MoneyError, cents, charged_line, currency_code
from .importing import Skip
from .report_reading import (Group, ParsedFile, Row, checked_sku, fail, group_rows, require, table,
                             whole_quantity)
from .times import BadTime, parse_ship_by, parse_time


def _amazon_rows(text: TextIO, id_column: str, required: tuple[tuple[str, ...], ...]) -> tuple[set[str], list[Row]]:
    columns, rows = table(text, "\t", header_marks=(id_column,), quoting=csv.QUOTE_NONE)
    require(columns, *required)
    return columns, rows


def _add_amazon_line(group: Group, row: Row, quantity: int, *, priced_for: int) -> None:
    """An item row as an order line of `quantity` units; the row's money (`item-price`, `item-tax`,
    `item-promotion-discount`) is for `priced_for` units. Its shipping, less `ship-promotion-discount`,
    and its `shipping-tax` go to the order."""
    group.lines.append(charged_line(
        sku=checked_sku(row.get("sku", "")), quantity=quantity, line_total=row.get("item-price", ""), charged_for=priced_for,
        discount=row.get("item-promotion-discount", ""), tax=row.get("item-tax") or None,
        name=clean(row.get("product-name", "")), channel_line_id=clean(row.get("order-item-id", ""), 64)))
    group.shipping_cents += (cents(row.get("shipping-price", "")) or 0) - abs(cents(row.get("ship-promotion-discount", "")) or 0)
    group.shipping_tax_cents += cents(row.get("shipping-tax", "")) or 0


def all_orders(channel_id: int, text: TextIO) -> ParsedFile:
    """GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL: every order, AFN and shipped ones too."""
    _, rows = _amazon_rows(text, "amazon-order-id", (("amazon-order-id",), ("sku",), ("quantity",)))
    parsed = ParsedFile(rows=len(rows))
    for order_id, group in group_rows(rows, lambda r: r.get("amazon-order-id", ""), parsed, "amazon-order-id").items():
        first = group.rows[0]
        status = first.get("order-status", "").lower()
        if first.get("fulfillment-channel", "").lower() in ("amazon", "afn"):
            parsed.skips.append(Skip(order_id, "fulfilled by Amazon (AFN)"))
            continue
        states = [_item_state(row, status) for row in group.rows]
        if status in ("cancelled", "canceled") or all(state == "cancelled" for state in states):
            parsed.skips.append(Skip(order_id, "cancelled on Amazon", canceled=True))
            continue
        if all(state != "to ship" for state in states):
            parsed.skips.append(Skip(order_id, "shipped already"))
            continue
        currency = _currency(group, parsed, first, order_id)
        if currency is None:
            continue
        for row, state in zip(group.rows, states):
            if state != "to ship":  # units already sent (or cancelled) must not be allocated again
                continue
            try:
                quantity = whole_quantity(row.get("quantity", ""), "quantity")
                if quantity:
                    _add_amazon_line(group, row, quantity, priced_for=quantity)
            except (ValueError, MoneyError) as error:
                fail(group, parsed, row, order_id, str(error))
                break
        if group.bad:
            continue
        if not group.lines:
            parsed.skips.append(Skip(order_id, "no items left to ship"))
            continue
        ship_by = _ship_by(group, parsed, first, order_id)
        if group.bad:
            continue
        parsed.orders.append(NewOrder(
            channel_id=channel_id, channel_order_id=order_id, lines=group.lines,
            customer=CustomerDetails(name=clean(first.first("buyer-name", "recipient-name")) or "Amazon customer",
                                     email=clean(first.get("buyer-email", ""), 254) or None,
                                     ship_to=ship_to(name=first.get("recipient-name", ""),
                                                     city=first.get("ship-city", ""),
                                                     region=first.get("ship-state", ""),
                                                     postal_code=first.get("ship-postal-code", ""),
                                                     country=first.get("ship-country", ""))),
            payment_status=PaymentStatus.PENDING if status == "pending" else PaymentStatus.PAID,
            currency=currency, shipping_cents=max(group.shipping_cents, 0),
            shipping_tax_cents=max(group.shipping_tax_cents, 0),
            service_level=clean(first.get("ship-service-level", ""), 40),
            placed_at=parse_time(first.get("purchase-date", "")), ship_by=ship_by))
    return parsed


def _ship_by(group: Group, parsed: ParsedFile, first: Row, order_id: str) -> datetime | None:
    """The order's `latest-ship-date` (its first row's); None when the file has none. A date that cannot
    be read leaves the order out with a row error, as a bad amount does."""
    try:
        return parse_ship_by(first.get("latest-ship-date", ""), "latest-ship-date")
    except BadTime as error:
        fail(group, parsed, first, order_id, str(error))
        return None


def _currency(group: Group, parsed: ParsedFile, first: Row, order_id: str) -> str | None:
    """The order's currency (its first row's); None, the order left out with a row error, when it is no
    ISO 4217 code we keep amounts in: cut to three letters, "EURO" would pass for EUR."""
    try:
        return currency_code(first.get("currency", ""))
    except MoneyError as error:
        fail(group, parsed, first, order_id, str(error))
        return None


def _item_state(row: Row, order_status: str) -> str:
    """"to ship", "shipped" or "cancelled", from the row's own `item-status`: an order's status only
    summarises its items (a Shipped order may hold Unshipped seller-fulfilled items, a PartiallyShipped
    one holds both). A file without the column falls back on the order's status."""
    status = (row.get("item-status", "") or order_status).lower()
    if status in ("cancelled", "canceled"):
        return "cancelled"
    if status.startswith("shipped"):  # Shipped, "Shipped - Delivered to Buyer"
        return "shipped"
    return "to ship"


def unshipped(channel_id: int, text: TextIO) -> ParsedFile:
    """GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING and the classic order report: orders to ship."""
    columns, rows = _amazon_rows(text, "order-id", (("order-id",), ("sku",),
                                                    ("quantity-purchased", "quantity-to-ship")))
    parsed = ParsedFile(rows=len(rows))
    for order_id, group in group_rows(rows, lambda r: r.get("order-id", ""), parsed, "order-id").items():
        first = group.rows[0]
        currency = _currency(group, parsed, first, order_id)
        if currency is None:
            continue
        for row in group.rows:
            try:
                to_ship_text = row.get("quantity-to-ship", "")
                purchased = whole_quantity(row.get("quantity-purchased", "") or to_ship_text, "quantity-purchased")
                to_ship = whole_quantity(to_ship_text, "quantity-to-ship") if to_ship_text else purchased
                if to_ship:
                    _add_amazon_line(group, row, to_ship, priced_for=purchased)
            except (ValueError, MoneyError) as error:
                fail(group, parsed, row, order_id, str(error))
                break
        if group.bad:
            continue
        if not group.lines:
            parsed.skips.append(Skip(order_id, "nothing left to ship"))
            continue
        ship_by = _ship_by(group, parsed, first, order_id)
        if group.bad:
            continue
        unpaid = "payments-date" in columns and not first.get("payments-date", "")
        parsed.orders.append(NewOrder(
            channel_id=channel_id, channel_order_id=order_id, lines=group.lines,
            customer=CustomerDetails(
                name=clean(first.first("buyer-name", "recipient-name")) or "Amazon customer",
                email=clean(first.get("buyer-email", ""), 254),
                phone=clean(first.first("buyer-phone-number", "ship-phone-number"), 40),
                ship_to=ship_to(name=first.get("recipient-name", ""), line1=first.get("ship-address-1", ""),
                                line2=first.get("ship-address-2", ""), line3=first.get("ship-address-3", ""),
                                city=first.get("ship-city", ""), region=first.get("ship-state", ""),
                                postal_code=first.get("ship-postal-code", ""), country=first.get("ship-country", ""),
                                phone=first.get("ship-phone-number", ""))),
            payment_status=PaymentStatus.PENDING if unpaid else PaymentStatus.PAID,
            currency=currency, shipping_cents=max(group.shipping_cents, 0),
            shipping_tax_cents=max(group.shipping_tax_cents, 0),
            service_level=clean(first.get("ship-service-level", ""), 40),
            placed_at=parse_time(first.get("purchase-date", "")), ship_by=ship_by))
    return parsed
