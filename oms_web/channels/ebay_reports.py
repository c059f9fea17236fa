"""eBay's Seller Hub orders report (CSV).

Reading of the format, where CHANNELS.md leaves it open: `Sold For` is the unit price; `Paid On Date`
empty means not paid yet; a row with a `Tracking Number` was shipped already. `Item Number` and
`Transaction ID` are kept as the line's channel id ("csv:ITEM:TRANSACTION"); a shipment confirmation
matches them to the API's lineItemId.
"""
from __future__ import annotations

import csv
import re
from datetime import datetime
from typing import TextIO

from ..domain.orders import CustomerDetails, LineRequest, NewOrder
from ..models import PaymentStatus
from .addresses import clean, ship_to
from .amounts import MoneyError, cents
from .ebay import csv_line_id
from .importing import Skip
from .report_reading import MAX_ORDER_ID, ParsedFile, Row, RowError, checked_sku, require, table, whole_quantity
from .times import parse_time


# Header names seen in Seller Hub files, by the meaning we take from them (translated ones included).
EBAY_HEADERS: dict[str, tuple[str, ...]] = {
    "order": ("order number", "order no.", "order id"),
    "record": ("sales record number", "sales record no."),
    "username": ("buyer username", "user id", "buyer user id"),
    "buyer_name": ("buyer name", "buyer full name", "buyer fullname"),
    "email": ("buyer email", "buyer e-mail"),
    "ship_name": ("ship to name", "post to name", "deliver to name"),
    "ship_phone": ("ship to phone", "post to phone", "deliver to phone"),
    "address1": ("ship to address 1", "post to address 1", "deliver to address 1"),
    "address2": ("ship to address 2", "post to address 2", "deliver to address 2"),
    "city": ("ship to city", "post to city", "deliver to city"),
    "state": ("ship to state", "post to county", "ship to province", "deliver to state", "ship to county"),
    "zip": ("ship to zip", "post to postcode", "ship to postcode", "ship to postal code", "deliver to zip"),
    "country": ("ship to country", "post to country", "deliver to country"),
    "item_number": ("item number", "item no.", "item id"),
    "title": ("item title", "title"),
    "sku": ("custom label", "custom label (sku)", "sku"),
    "quantity": ("quantity",),
    "sold_for": ("sold for", "sale price", "price"),
    "shipping": ("shipping and handling", "postage and handling", "shipping & handling", "postage & handling",
                 "shipping"),
    "total": ("total price", "total"),
    "sale_date": ("sale date",),
    "paid_on": ("paid on date", "paid on", "payment date"),
    "tracking": ("tracking number",),
    "transaction": ("transaction id",),
}
_CURRENCY_MARKS = (("AU $", "AUD"), ("AU$", "AUD"), ("C $", "CAD"), ("CA $", "CAD"), ("C$", "CAD"),
                   ("US $", "USD"), ("US$", "USD"), ("£", "GBP"), ("GBP", "GBP"), ("€", "EUR"), ("EUR", "EUR"),
                   ("$", "USD"))


# Seller Hub's lines about the file: "3 record(s) downloaded, from Nov-01-26 to Nov-03-26", "Seller ID : shop".
_EBAY_NOTE = re.compile(r"\s*(\d[\d,.]*\s+record\(s\)\s+downloaded\b|seller\s+id\s*:)", re.IGNORECASE)


def _ebay_currency(*amounts: str) -> str | None:
    for amount in amounts:
        text = (amount or "").strip().upper()
        for mark, code in _CURRENCY_MARKS:
            if text.startswith(mark.upper()):
                return code
    return None


class _EbayRow:
    """A row of the eBay file, its cells reached by meaning (`row.sku`), whatever the header's wording."""

    def __init__(self, row: Row, names: dict[str, tuple[str, ...]]):
        self.row = row
        self.names = names
        self.line = row.line

    def __getattr__(self, meaning: str) -> str:
        return self.row.first(*self.names[meaning])


def orders(channel_id: int, text: TextIO) -> ParsedFile:
    """The Seller Hub orders CSV: a blank first line, a header, a summary row ahead of a multi-item
    order's item rows, and a trailing "N record(s) downloaded" line."""
    columns, raw_rows = table(text, ",", header_marks=EBAY_HEADERS["order"] + EBAY_HEADERS["record"],
                               quoting=csv.QUOTE_MINIMAL)
    require(columns, EBAY_HEADERS["order"] + EBAY_HEADERS["record"], EBAY_HEADERS["quantity"], EBAY_HEADERS["sku"])
    names = {meaning: tuple(name for name in aliases if name in columns) for meaning, aliases in EBAY_HEADERS.items()}
    rows = [_EbayRow(row, names) for row in raw_rows]
    parsed = ParsedFile()
    by_record: dict[str, str] = {}
    current = ""
    keyed: list[tuple[str, _EbayRow]] = []
    for row in rows:
        if _EBAY_NOTE.match(", ".join(value for value in row.row.values() if value)):
            continue  # the file's own notes, whichever column they land in: never an order, never a skip
        order_id = row.order or by_record.get(row.record, "")
        is_item = bool(row.item_number or row.sku)
        if not order_id and not is_item:
            continue  # a line of the file's own notes that we do not know by its words
        if not order_id and is_item:
            order_id = current  # an item row under its order's summary row
        if not order_id:
            parsed.errors.append(RowError(row.line, "an item row with no order number"))
            continue
        if len(order_id) > MAX_ORDER_ID:
            parsed.errors.append(RowError(row.line, f"order number {order_id[:20]!r}… is longer than "
                                                    f"{MAX_ORDER_ID} characters"))
            continue
        if row.record:
            by_record.setdefault(row.record, order_id)
        current = order_id
        keyed.append((order_id, row))
    groups: dict[str, list[_EbayRow]] = {}
    for order_id, row in keyed:
        groups.setdefault(order_id, []).append(row)
    for order_id, group_rows in groups.items():
        items = [row for row in group_rows if row.item_number or row.sku]
        summaries = [row for row in group_rows if not (row.item_number or row.sku)]
        parsed.rows += len(items)
        order_rows = summaries + items

        def first(meaning: str) -> str:
            for row in order_rows:
                value = getattr(row, meaning)
                if value:
                    return value
            return ""

        if first("tracking"):
            parsed.skips.append(Skip(order_id, "shipped already (it has a tracking number)"))
            continue
        lines, shipping, bad = [], 0, False
        try:
            for row in items:
                line_row = row
                quantity = whole_quantity(row.quantity, "Quantity")
                if quantity == 0:
                    continue
                sku = row.sku or (f"EBAY-{row.item_number}" if row.item_number else "")
                lines.append(LineRequest(sku=checked_sku(sku), quantity=quantity, unit_price_cents=cents(row.sold_for, default=None),
                                         name=clean(row.title), channel_line_id=csv_line_id(clean(row.item_number, 20),
                                                                                             clean(row.transaction, 40))))
                if not summaries:
                    shipping += cents(row.shipping) or 0
            for row in summaries[:1]:
                line_row = row
                shipping = cents(row.shipping) or 0
        except (ValueError, MoneyError) as error:
            parsed.errors.append(RowError(line_row.line, f"order {order_id}: {error}; the order is left out"))
            bad = True
        if bad:
            continue
        if not lines:
            parsed.skips.append(Skip(order_id, "no items"))
            continue
        name = first("ship_name") or first("buyer_name") or first("username") or "eBay buyer"
        parsed.orders.append(NewOrder(
            channel_id=channel_id, channel_order_id=order_id, lines=lines,
            customer=CustomerDetails(name=clean(first("buyer_name") or name) or "eBay buyer", email=clean(first("email"), 254),
                                     phone=clean(first("ship_phone"), 40),
                                     ship_to=ship_to(name=name, line1=first("address1"), line2=first("address2"),
                                                     city=first("city"), region=first("state"), postal_code=first("zip"),
                                                     country=first("country"), phone=first("ship_phone"))),
            payment_status=PaymentStatus.PAID if first("paid_on") else PaymentStatus.PENDING,
            currency=_ebay_currency(first("sold_for"), first("total")) or "USD", shipping_cents=max(shipping, 0),
            placed_at=_ebay_date(first("sale_date"))))
    return parsed


def _ebay_date(text: str) -> datetime | None:
    """Seller Hub writes dates like "Mar-05-26" or "05-Mar-26" or ISO; anything unreadable is left out."""
    moment = parse_time(text)
    if moment is not None:
        return moment
    for fmt in ("%b-%d-%y", "%d-%b-%y", "%b %d, %Y", "%d %b %Y", "%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None
