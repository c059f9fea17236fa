"""Marketplace order report files in: Amazon's flat files (tab-separated) and eBay's Seller Hub CSV.

Columns are found by their header names, never by position: real files add, drop and reorder columns,
and eBay translates some headers. Each file has one row per item; rows are grouped into orders by the
order id. An order any of whose rows cannot be read is left out whole (never imported short of a line)
and reported with the file's line numbers. `preview` writes nothing; `import_file` imports and records
the run as a ChannelSync row.

Reading of the formats, where CHANNELS.md leaves it open:
- Amazon `item-price` is the line's price × quantity (as in the API); the unit price is divided out.
- Amazon `fulfillment-channel` "Amazon" (AFN) orders are skipped. What to import is decided per item
  row by its `item-status` (Unshipped items in, Shipped and Cancelled ones out), not by `order-status`.
  A `payments-date` column that is present but empty means the order is not paid yet.
- eBay `Sold For` is the unit price; `Paid On Date` empty means not paid yet; a row with a
  `Tracking Number` was shipped already. `Item Number` and `Transaction ID` are kept as the line's
  channel id ("csv:ITEM:TRANSACTION"); a shipment confirmation matches them to the API's lineItemId.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa


from ..database import write_transaction
from ..domain.orders import (CustomerDetails, LineRequest, NewOrder, _products_by_sku, channel_price_changes,
                             record_channel_prices)
from ..extensions import db
from ..domain.errors import InvalidInput, InvalidState, NotFound
from ..models import (ChannelKind, ChannelSync, Order, OrderEvent, OrderStatus, PaymentStatus, Product, ReportUpload,
                      SalesChannel, utcnow)
from .ebay import csv_line_id
from .addresses import clean, ship_to
from .amounts import MoneyError, cents, charged_line
from .importing import DUPLICATE, Outcome, Skip, Tally, canceled_after_import, existing_orders, import_orders
from .times import parse_time

AMAZON_ALL_ORDERS = "amazon-all-orders"
AMAZON_UNSHIPPED = "amazon-unshipped"
EBAY_ORDERS = "ebay-orders"
KINDS_FOR: dict[ChannelKind, dict[str, str]] = {
    ChannelKind.AMAZON: {AMAZON_ALL_ORDERS: "Amazon All Orders report (tab-separated)",
                         AMAZON_UNSHIPPED: "Amazon Unshipped orders / order report (tab-separated)"},
    ChannelKind.EBAY: {EBAY_ORDERS: "eBay Seller Hub orders report (CSV)"},
}
MAX_QUANTITY = 100_000
# A real report of a busy month is well under this; the limit keeps one upload from holding a worker
# for minutes (the byte limit alone lets through 50 MB of empty lines).
MAX_LINES = 300_000
MAX_ORDER_ID = 64  # Order.channel_order_id


class ReportError(InvalidInput):
    """The file as a whole cannot be read as the kind of report it was said to be (nothing is kept)."""

    def __init__(self, message: str):
        super().__init__(message, field="report")


@dataclass(frozen=True)
class RowError:
    line: int  # the line of the file, counting from 1
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ParsedFile:
    orders: list[NewOrder] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0  # item rows read

    @property
    def lines(self) -> int:
        return sum(len(order.lines) for order in self.orders)


@dataclass(frozen=True)
class PreviewOrder:
    channel_order_id: str
    customer: str
    lines: int
    units: int
    currency: str
    total_cents: int  # lines less their discounts, and shipping, before tax
    status: str  # new | held (an unknown SKU) | duplicate (imported before)
    awaiting_payment: bool


@dataclass(frozen=True)
class PreviewUpdate:
    """A change the file brings to an order imported before."""

    channel_order_id: str
    number: str  # the order's number here
    change: str  # what the import will do, in words


@dataclass
class Preview:
    """What importing the file would do; nothing written."""

    kind: str
    orders: list[PreviewOrder] = field(default_factory=list)
    updates: list[PreviewUpdate] = field(default_factory=list)
    lines: int = 0
    unknown_skus: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def new_orders(self) -> int:
        return sum(1 for order in self.orders if order.status != "duplicate")

    @property
    def to_import(self) -> bool:
        """Whether the Import button has anything to do: new orders, or changes to orders imported before."""
        return bool(self.new_orders or self.updates)

    @property
    def held_orders(self) -> int:
        return sum(1 for order in self.orders if order.status == "held")


# ---------------------------------------------------------------- the two public actions

def preview(channel: SalesChannel, kind: str, data: bytes) -> Preview:
    """Read the file and say what an import would do: orders, lines, unknown SKUs, repeats, bad rows.

    Raises ReportError when the file as a whole cannot be read (wrong kind, no header, binary, too long).
    """
    result = Preview(kind=kind)
    parsed = parse(channel, kind, data)
    result.errors, result.skipped, result.lines = parsed.errors, parsed.skips, parsed.lines
    seen = existing_orders(channel.id, (o.channel_order_id for o in parsed.orders), with_lines=True)
    skus = {line.sku for order in parsed.orders for line in order.lines}
    known = _products_by_sku(channel, skus)
    result.unknown_skus = sorted(skus - known.keys())
    for order in parsed.orders:
        unknown = any(line.sku not in known for line in order.lines)
        status = "duplicate" if order.channel_order_id in seen else "held" if unknown else "new"
        if status == "duplicate":
            result.duplicates.append(order.channel_order_id)
        result.orders.append(PreviewOrder(
            channel_order_id=order.channel_order_id, customer=order.customer.name if order.customer else "",
            lines=len(order.lines), units=sum(line.quantity for line in order.lines), currency=order.currency,
            total_cents=order.shipping_cents - order.discount_cents + sum(
                line.quantity * (line.unit_price_cents if line.unit_price_cents is not None
                                 else known[line.sku].price_cents if line.sku in known else 0) - line.discount_cents
                for line in order.lines),
            status=status, awaiting_payment=order.payment_status is PaymentStatus.PENDING))
    result.updates = _updates(channel, parsed, seen, known)
    db.session.rollback()  # a read only
    return result


def _updates(channel: SalesChannel, parsed: ParsedFile, seen: dict[str, Order],
             products: dict[str, Product]) -> list[PreviewUpdate]:
    """What the file changes in orders imported before, as import_file will apply it: payments
    (importing.import_orders), prices (record_channel_prices), cancellations (canceled_after_import)."""
    updates = []
    for new in parsed.orders:
        order = seen.get(new.channel_order_id)
        if order is None:
            continue
        if (new.payment_status is PaymentStatus.PAID and order.payment_status is PaymentStatus.PENDING
                and order.status is OrderStatus.FINALIZED):
            updates.append(PreviewUpdate(new.channel_order_id, order.number, "paid: clear to ship"))
        repriced = channel_price_changes(order, new.lines, products)
        if repriced:
            updates.append(PreviewUpdate(new.channel_order_id, order.number, "takes the channel's price of " + ", ".join(
                f"{line.sku} ({price / 100:.2f} {order.currency} a unit)" for line, price in repriced)))
    canceled = existing_orders(channel.id, (skip.channel_order_id for skip in parsed.skips if skip.canceled))
    told = set(db.session.scalars(sa.select(OrderEvent.order_id).where(
        OrderEvent.order_id.in_([order.id for order in canceled.values()]), OrderEvent.kind == "channel_cancelled")))
    for channel_order_id, order in sorted(canceled.items()):
        if order.status in (OrderStatus.DRAFT, OrderStatus.FINALIZED) and order.id not in told:
            updates.append(PreviewUpdate(channel_order_id, order.number,
                                         "cancelled on the channel: held under Needs attention for an admin to void"))
    return updates


UPLOAD_KEPT_FOR = timedelta(days=1)  # an upload nobody confirmed is cleared out after this


def keep_upload(channel: SalesChannel, kind: str, filename: str, data: bytes, user_id: int | None) -> int:
    """Keep an uploaded file for its import, once the admin has seen the preview. Returns its id.
    Clears out the uploads nobody confirmed within UPLOAD_KEPT_FOR."""
    with write_transaction():
        db.session.execute(sa.delete(ReportUpload).where(ReportUpload.imported_at.is_(None),
                                                         ReportUpload.created_at < utcnow() - UPLOAD_KEPT_FOR))
        # Only the name's printable characters: PostgreSQL refuses a NUL in text, and the name is shown.
        name = "".join(ch for ch in filename or "" if ch.isprintable())[:200].strip() or "report"
        upload = ReportUpload(channel_id=channel.id, kind=kind, filename=name, size=len(data),
                              content=data, uploaded_by=user_id)
        db.session.add(upload)
        db.session.flush()
        return upload.id


def import_upload(channel: SalesChannel, upload_id: int, *,
                  progress: Callable[[int, int | None], None] | None = None) -> ChannelSync:
    """Import a kept upload, once (a second confirmation is refused), then let go of its content.

    Raises NotFound when the channel has no such upload (or it was cleared out), InvalidState when it
    was imported already.
    """
    channel_id = channel.id
    with write_transaction():
        claimed = db.session.execute(
            sa.update(ReportUpload)
            .where(ReportUpload.id == upload_id, ReportUpload.channel_id == channel_id,
                   ReportUpload.imported_at.is_(None), ReportUpload.content.is_not(None))
            .values(imported_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    upload = db.session.get(ReportUpload, upload_id)
    if upload is None or upload.channel_id != channel_id:
        raise NotFound("That upload is no longer here (uploads are kept for a day): upload the file again")
    if not claimed:
        raise InvalidState(f"{upload.filename} was imported already: see Recent syncs")
    summary = import_file(db.session.get(SalesChannel, channel_id), upload.kind, upload.content or b"",
                          progress=progress)
    with write_transaction():
        db.session.execute(sa.update(ReportUpload).where(ReportUpload.id == upload_id)
                           .values(content=None, sync_id=summary.id).execution_options(synchronize_session=False))
    return db.session.get(ChannelSync, summary.id)


def import_file(channel: SalesChannel, kind: str, data: bytes, *,
                progress: Callable[[int, int | None], None] | None = None) -> ChannelSync:
    """Import the file's orders (a repeat is counted, not imported twice) and record the run.

    Returns the ChannelSync row: source = the kind, counts imported / duplicates / held / skipped, and
    the errors (bad rows by line number, refused orders). Status "failed" when the file cannot be read.
    """
    channel_id = channel.id
    with write_transaction():
        run = ChannelSync(channel_id=channel_id, source=kind[:20], status="running", started_at=utcnow())
        db.session.add(run)
        db.session.flush()
        run_id = run.id
    tally = Tally()
    status = "ok"
    try:
        parsed = parse(db.session.get(SalesChannel, channel_id), kind, data)
    except ReportError as error:
        parsed, status = ParsedFile(), "failed"
        tally.error(str(error))
    for row_error in parsed.errors:
        tally.error(str(row_error))
    total = len(parsed.orders)
    done = 0

    def advance(chunk: int) -> None:
        nonlocal done
        done += chunk
        if progress:
            progress(done, total)

    try:
        outcomes = import_orders(db.session.get(SalesChannel, channel_id), parsed.orders, progress=advance)
        for outcome in outcomes:
            tally.count(outcome)
        tally.updated += _take_prices(db.session.get(SalesChannel, channel_id), parsed.orders, outcomes)
        tally.skipped = len(parsed.skips)
        for message in canceled_after_import(db.session.get(SalesChannel, channel_id), parsed.skips):
            tally.changed(message)
    except BaseException as error:
        tally.error(f"Import stopped: {error}")
        _finish(run_id, "failed", tally)
        raise
    _finish(run_id, status, tally)
    return db.session.get(ChannelSync, run_id)


def _take_prices(channel: SalesChannel, new_orders: list[NewOrder], outcomes: list[Outcome]) -> int:
    """Orders imported before take the prices the file now gives (record_channel_prices). Returns how
    many changed. A read finds them first: most repeats change nothing, and need no lock."""
    repeats = {o.channel_order_id: new for new, o in zip(new_orders, outcomes) if o.outcome == DUPLICATE}
    found = existing_orders(channel.id, repeats, with_lines=True)
    products = _products_by_sku(channel, {line.sku for new in repeats.values() for line in new.lines})
    changed = [order.id for channel_order_id, order in found.items()
               if channel_price_changes(order, repeats[channel_order_id].lines, products)]
    by_id = {order.id: repeats[channel_order_id] for channel_order_id, order in found.items()}
    db.session.rollback()  # end the read before the writes
    return sum(1 for order_id in sorted(changed) if record_channel_prices(None, order_id, by_id[order_id].lines))


def _finish(run_id: int, status: str, tally: Tally) -> None:
    with write_transaction():
        run = db.session.get(ChannelSync, run_id)
        run.status = status
        run.imported, run.duplicates, run.held, run.skipped = tally.imported, tally.duplicates, tally.held, tally.skipped
        run.updated = tally.updated
        run.errors = list(tally.errors)
        run.finished_at = utcnow()


def parse(channel: SalesChannel, kind: str, data: bytes) -> ParsedFile:
    readers = {AMAZON_ALL_ORDERS: _amazon_all_orders, AMAZON_UNSHIPPED: _amazon_unshipped, EBAY_ORDERS: _ebay_orders}
    if kind not in KINDS_FOR.get(channel.kind, {}):
        raise ReportError(f"A {channel.kind.value} channel takes no {kind} file")
    return readers[kind](channel.id, decode(data))


# ---------------------------------------------------------------- reading files

def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte order mark), else Windows-1252 / Latin-1, as Amazon's EU files are;
    UTF-16 with its byte order mark, as Excel saves "Unicode text".

    Raises ReportError for a file that is not text (a NUL byte: a workbook, an image, a UTF-16 file
    without its mark) or has more than MAX_LINES lines.
    """
    if data.startswith(b"PK\x03\x04"):
        raise ReportError("This is a zip file or an Excel workbook, not a report: "
                          "upload the report as Amazon or eBay gives it (text), not opened and saved in Excel")
    text = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if text is None:
        for encoding in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    assert text is not None  # Latin-1 reads any byte
    if "\x00" in text:
        raise ReportError("The file holds binary data (NUL bytes), not the text of a report: is it the right file?")
    lines = max(text.count("\n"), text.count("\r"))
    if lines > MAX_LINES:
        raise ReportError(f"The file has {lines:,} lines; a report file may have at most {MAX_LINES:,}: "
                          f"split it by date and upload the parts")
    return text


def _header_key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().strip('"').lower().replace("_", "-").split())


class Row(dict):
    """One data row: header name → its cell, stripped; `line` is its line in the file."""

    __slots__ = ("line",)

    def first(self, *names: str) -> str:
        """The first of these columns that has a value, or ""."""
        for name in names:
            value = self.get(name)
            if value:
                return value
        return ""


def _table(text: str, delimiter: str, *, header_marks: tuple[str, ...], quoting: int) -> tuple[set[str], list[Row]]:
    """The header's names (from the first row naming one of `header_marks`) and the rows after it that
    hold anything. A name that repeats keeps its first column. Raises ReportError for a file that has
    no such header or that csv cannot read."""
    keys: list[str] | None = None
    rows: list[Row] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    try:
        for cells in reader:
            if keys is None:
                found = [_header_key(cell) for cell in cells]
                if any(mark in found for mark in header_marks):
                    seen: set[str] = set()
                    keys = []
                    for key in found:
                        keys.append(key if key not in seen else f"{key} (repeated)")
                        seen.add(key)
                    width = len(keys)
                continue
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            row = Row(zip(keys, map(str.strip, cells)))
            if any(row.values()):
                row.line = reader.line_num
                rows.append(row)
    except csv.Error as error:  # a field over csv's limit (131,072 characters), an unclosed quote
        raise ReportError(f"Line {reader.line_num} cannot be read ({error}): is this the right kind of file?") from None
    if keys is None:
        raise ReportError(f"No header line naming {' or '.join(repr(m) for m in header_marks)}: "
                          f"is this the right kind of file?")
    return set(keys), rows


def _require(columns: set[str], *alternatives: tuple[str, ...]) -> None:
    missing = [" or ".join(names) for names in alternatives if not any(name in columns for name in names)]
    if missing:
        raise ReportError(f"The file has no {', '.join(repr(m) for m in missing)} column")


def _quantity(text: str, what: str) -> int:
    if not (text and text.isascii() and text.isdigit()):
        raise ValueError(f"{what} {text!r} is not a whole number")
    value = int(text)
    if value > MAX_QUANTITY:
        raise ValueError(f"{what} {value} is implausibly large")
    return value


@dataclass
class _Group:
    """The rows of one order while the file is read."""

    first_line: int
    rows: list[Row] = field(default_factory=list)
    lines: list[LineRequest] = field(default_factory=list)
    shipping_cents: int = 0
    shipping_tax_cents: int = 0
    bad: bool = False


def _group(rows: Iterable[Row], key: Callable[[Row], str], parsed: ParsedFile, what: str) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    for row in rows:
        order_id = key(row)
        if not order_id:
            parsed.errors.append(RowError(row.line, f"no {what}"))
            continue
        if len(order_id) > MAX_ORDER_ID:
            parsed.errors.append(RowError(row.line, f"{what} {order_id[:20]!r}… is longer than {MAX_ORDER_ID} characters"))
            continue
        group = groups.get(order_id)
        if group is None:
            group = groups[order_id] = _Group(row.line)
        group.rows.append(row)
    return groups


def _fail(group: _Group, parsed: ParsedFile, row: Row, order_id: str, message: str) -> None:
    group.bad = True
    parsed.errors.append(RowError(row.line, f"order {order_id}: {message}; the order is left out"))


# ---------------------------------------------------------------- Amazon

def _amazon_rows(text: str, id_column: str, required: tuple[tuple[str, ...], ...]) -> tuple[set[str], list[Row]]:
    columns, rows = _table(text, "\t", header_marks=(id_column,), quoting=csv.QUOTE_NONE)
    _require(columns, *required)
    return columns, rows


def _add_amazon_line(group: _Group, row: Row, quantity: int, *, priced_for: int) -> None:
    """An item row as an order line of `quantity` units; the row's money (`item-price`, `item-tax`,
    `item-promotion-discount`) is for `priced_for` units. Its shipping, less `ship-promotion-discount`,
    and its `shipping-tax` go to the order."""
    group.lines.append(charged_line(
        sku=_sku(row.get("sku", "")), quantity=quantity, line_total=row.get("item-price", ""), charged_for=priced_for,
        discount=row.get("item-promotion-discount", ""), tax=row.get("item-tax") or None,
        name=clean(row.get("product-name", "")), channel_line_id=clean(row.get("order-item-id", ""), 64)))
    group.shipping_cents += (cents(row.get("shipping-price", "")) or 0) - abs(cents(row.get("ship-promotion-discount", "")) or 0)
    group.shipping_tax_cents += cents(row.get("shipping-tax", "")) or 0


def _amazon_all_orders(channel_id: int, text: str) -> ParsedFile:
    """GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL: every order, AFN and shipped ones too."""
    _, rows = _amazon_rows(text, "amazon-order-id", (("amazon-order-id",), ("sku",), ("quantity",)))
    parsed = ParsedFile(rows=len(rows))
    for order_id, group in _group(rows, lambda r: r.get("amazon-order-id", ""), parsed, "amazon-order-id").items():
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
        for row, state in zip(group.rows, states):
            if state != "to ship":  # units already sent (or cancelled) must not be allocated again
                continue
            try:
                quantity = _quantity(row.get("quantity", ""), "quantity")
                if quantity:
                    _add_amazon_line(group, row, quantity, priced_for=quantity)
            except (ValueError, MoneyError) as error:
                _fail(group, parsed, row, order_id, str(error))
                break
        if group.bad:
            continue
        if not group.lines:
            parsed.skips.append(Skip(order_id, "no items left to ship"))
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
            currency=(first.get("currency", "") or "USD")[:3].upper(), shipping_cents=max(group.shipping_cents, 0),
            shipping_tax_cents=max(group.shipping_tax_cents, 0),
            service_level=clean(first.get("ship-service-level", ""), 40),
            placed_at=parse_time(first.get("purchase-date", ""))))
    return parsed


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


def _amazon_unshipped(channel_id: int, text: str) -> ParsedFile:
    """GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING and the classic order report: orders to ship."""
    columns, rows = _amazon_rows(text, "order-id", (("order-id",), ("sku",),
                                                    ("quantity-purchased", "quantity-to-ship")))
    parsed = ParsedFile(rows=len(rows))
    for order_id, group in _group(rows, lambda r: r.get("order-id", ""), parsed, "order-id").items():
        first = group.rows[0]
        for row in group.rows:
            try:
                to_ship_text = row.get("quantity-to-ship", "")
                purchased = _quantity(row.get("quantity-purchased", "") or to_ship_text, "quantity-purchased")
                to_ship = _quantity(to_ship_text, "quantity-to-ship") if to_ship_text else purchased
                if to_ship:
                    _add_amazon_line(group, row, to_ship, priced_for=purchased)
            except (ValueError, MoneyError) as error:
                _fail(group, parsed, row, order_id, str(error))
                break
        if group.bad:
            continue
        if not group.lines:
            parsed.skips.append(Skip(order_id, "nothing left to ship"))
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
            currency=(first.get("currency", "") or "USD")[:3].upper(), shipping_cents=max(group.shipping_cents, 0),
            shipping_tax_cents=max(group.shipping_tax_cents, 0),
            service_level=clean(first.get("ship-service-level", ""), 40),
            placed_at=parse_time(first.get("purchase-date", ""))))
    return parsed


def _sku(text: str) -> str:
    sku = (text or "").strip()
    if not sku:
        raise ValueError("no sku")
    if len(sku) > 64:
        raise ValueError(f"sku {sku[:20]!r}… is longer than 64 characters")
    return sku


# ---------------------------------------------------------------- eBay

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


def _ebay_orders(channel_id: int, text: str) -> ParsedFile:
    """The Seller Hub orders CSV: a blank first line, a header, a summary row ahead of a multi-item
    order's item rows, and a trailing "N record(s) downloaded" line."""
    columns, raw_rows = _table(text, ",", header_marks=EBAY_HEADERS["order"] + EBAY_HEADERS["record"],
                               quoting=csv.QUOTE_MINIMAL)
    _require(columns, EBAY_HEADERS["order"] + EBAY_HEADERS["record"], EBAY_HEADERS["quantity"], EBAY_HEADERS["sku"])
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
                quantity = _quantity(row.quantity, "Quantity")
                if quantity == 0:
                    continue
                sku = row.sku or (f"EBAY-{row.item_number}" if row.item_number else "")
                lines.append(LineRequest(sku=_sku(sku), quantity=quantity, unit_price_cents=cents(row.sold_for, default=None),
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
