"""Marketplace order report files in: what importing one would do (preview, nothing written), keeping an
upload until its preview is confirmed, and the import, recorded as a ChannelSync row.

Columns are found by their header names, never by position: real files add, drop and reorder columns,
and eBay translates some headers. Each file has one row per item; rows are grouped into orders by the
order id. An order any of whose rows cannot be read is left out whole (never imported short of a line)
and reported with the file's line numbers. The formats are read by amazon_reports.py and
ebay_reports.py, over report_reading.py.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import BinaryIO

import sqlalchemy as sa

from ..database import write_transaction
from ..domain import events, money
from ..domain.errors import InvalidState, NotFound
from ..domain.orders import NewOrder, _products_by_sku, channel_price_changes, record_channel_prices
from ..extensions import db
from ..models import (ChannelKind, ChannelSync, Order, OrderEvent, OrderStatus, PaymentStatus, Product, ReportUpload,
                      SalesChannel, utcnow)
from . import amazon_reports, ebay_reports
from ..tasks import LostJob
from .importing import (DUPLICATE, HELD, IMPORTED, Outcome, Skip, Tally, canceled_after_import, existing_orders,
                        import_orders)
from .report_reading import ParsedFile, ReportError, RowError, report_text

AMAZON_ALL_ORDERS = "amazon-all-orders"
AMAZON_UNSHIPPED = "amazon-unshipped"
EBAY_ORDERS = "ebay-orders"
KINDS_FOR: dict[ChannelKind, dict[str, str]] = {
    ChannelKind.AMAZON: {AMAZON_ALL_ORDERS: "Amazon All Orders report (tab-separated)",
                         AMAZON_UNSHIPPED: "Amazon Unshipped orders / order report (tab-separated)"},
    ChannelKind.EBAY: {EBAY_ORDERS: "eBay Seller Hub orders report (CSV)"},
}
READERS = {AMAZON_ALL_ORDERS: amazon_reports.all_orders, AMAZON_UNSHIPPED: amazon_reports.unshipped,
           EBAY_ORDERS: ebay_reports.orders}


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

def preview(channel: SalesChannel, kind: str, data: bytes | BinaryIO) -> Preview:
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
                f"{line.sku} ({money.decimal_text(price)} {order.currency} a unit)" for line, price in repriced)))
    canceled = existing_orders(channel.id, (skip.channel_order_id for skip in parsed.skips if skip.canceled))
    told = set(db.session.scalars(sa.select(OrderEvent.order_id).where(
        OrderEvent.order_id.in_([order.id for order in canceled.values()]), OrderEvent.kind == events.CHANNEL_CANCELLED)))
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


def claim_upload(channel: SalesChannel, upload_id: int) -> ReportUpload:
    """Mark the kept upload as being imported (its imported_at, when the import began), once: the
    confirmation pressed twice, or a page sent again, is refused.

    Raises NotFound when the channel has no such upload (or it was cleared out), InvalidState when its
    import was confirmed already.
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
    return upload


def import_upload(channel: SalesChannel, upload_id: int, *,
                  progress: Callable[[int, int | None], None] | None = None) -> ChannelSync:
    """Import a kept upload, once (a second confirmation is refused), then let go of its content.

    Raises NotFound when the channel has no such upload (or it was cleared out), InvalidState when it
    was imported already.
    """
    return import_claimed(channel, claim_upload(channel, upload_id), progress=progress)


def import_claimed(channel: SalesChannel, upload: ReportUpload, *,
                   progress: Callable[[int, int | None], None] | None = None) -> ChannelSync:
    """Import an upload claimed by claim_upload, within this request, then let go of its content."""
    channel_id, upload_id = channel.id, upload.id
    summary = import_file(db.session.get(SalesChannel, channel_id), upload.kind, upload.content or b"",
                          progress=progress)
    with write_transaction():
        db.session.execute(sa.update(ReportUpload).where(ReportUpload.id == upload_id)
                           .values(content=None, sync_id=summary.id).execution_options(synchronize_session=False))
    return db.session.get(ChannelSync, summary.id)


def import_file(channel: SalesChannel, kind: str, data: bytes | BinaryIO, *,
                progress: Callable[[int, int | None], None] | None = None,
                run_id: int | None = None, ours_after: int | None = None) -> ChannelSync:
    """Import the file's orders (a repeat is counted, not imported twice) and record the run.

    Returns the ChannelSync row: source = the kind, counts imported / duplicates / held / skipped, and
    the errors (bad rows by line number, refused orders). Status "failed" when the file cannot be read.

    A run again of an import that stopped part way (its worker killed: report_jobs) passes the first
    run's `run_id`, whose row it writes afresh, and `ours_after`, the last order id before the first run
    began: the orders that run made are repeats now, and are counted as this import's, not as imported
    before.
    """
    channel_id = channel.id
    with write_transaction():
        run = db.session.get(ChannelSync, run_id) if run_id is not None else None
        if run is None:
            run = ChannelSync(channel_id=channel_id, source=kind[:20], status="running", started_at=utcnow())
            db.session.add(run)
            db.session.flush()
        else:
            run.status, run.finished_at = "running", None
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
        if ours_after is not None:
            outcomes = _made_after(outcomes, ours_after)
        for outcome in outcomes:
            tally.count(outcome)
        tally.updated += _take_prices(db.session.get(SalesChannel, channel_id), parsed.orders, outcomes)
        tally.skipped = len(parsed.skips)
        for message in canceled_after_import(db.session.get(SalesChannel, channel_id), parsed.skips):
            tally.changed(message)
    except LostJob:
        raise  # another worker runs this import now, and writes its run: this one writes nothing more
    except BaseException as error:
        tally.error(f"Import stopped: {error}")
        _finish(run_id, "failed", tally)
        raise
    _finish(run_id, status, tally)
    return db.session.get(ChannelSync, run_id)


def _made_after(outcomes: list[Outcome], last_order_id: int) -> list[Outcome]:
    """The outcomes, with the repeats of orders made after `last_order_id` (by this import's stopped run:
    ids only grow) counted as imported (or held, as they were made) rather than as imported before."""
    repeats = [o.order_id for o in outcomes if o.outcome == DUPLICATE and o.order_id is not None]
    ours: dict[int, bool] = {}
    for start in range(0, len(repeats), 500):
        for order_id, held in db.session.execute(sa.select(Order.id, Order.hold_reason.is_not(None)).where(
                Order.id.in_(repeats[start:start + 500]), Order.id > last_order_id)):
            ours[order_id] = held
    db.session.rollback()  # a read only
    return [replace(o, outcome=HELD if ours[o.order_id] else IMPORTED) if o.order_id in ours else o for o in outcomes]


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


def parse(channel: SalesChannel, kind: str, source: bytes | BinaryIO) -> ParsedFile:
    """The file's orders, skips and bad rows, read as `kind` from its bytes or a binary stream (an
    upload spooled to disk: read from it as text, a megabyte at a time, never whole)."""
    if kind not in KINDS_FOR.get(channel.kind, {}):
        raise ReportError(f"A {channel.kind.value} channel takes no {kind} file")
    with report_text(source) as text:
        return READERS[kind](channel.id, text)
