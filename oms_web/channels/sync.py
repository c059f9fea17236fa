"""A marketplace sync run: pull the orders changed since the cursor, import them, confirm shipments.

Safe to start from cron every few minutes and from the admin screen at once: a run holds its channel
(`sync_locked_until`, taken by one guarded UPDATE) so overlapping runs never pull the same pages, and
an order pulled twice is still one order (the order services deduplicate on the channel's order id).
The cursor moves only when a whole pull has succeeded; a failed run is pulled again from where the
last good one stopped, its orders arriving as repeats.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..database import write_transaction
from ..domain.errors import InvalidInput, InvalidState, NotFound
from ..extensions import db
from ..models import ChannelKind, ChannelSync, SalesChannel, Shipment, ShipmentConfirmation, ShipmentLine, utcnow
from . import amazon, ebay
from .importing import Skip, Tally, canceled_after_import, import_orders, parse_time
from .transport import ChannelError

LOCK_FOR = timedelta(minutes=10)
CLAIM_FOR = timedelta(minutes=10)  # a confirmation being sent is not sent again by another run meanwhile
MAX_CONFIRMATION_ATTEMPTS = 12
RETRY_CAP = timedelta(hours=6)

Progress = Callable[[int, "int | None"], None]


class SyncAlreadyRunning(InvalidState):
    """Another run holds the channel; `until` is when its hold lapses if it never lets go."""

    def __init__(self, channel_name: str, until: datetime | None):
        when = f" (its hold lapses at {until:%H:%M} UTC)" if until else ""
        super().__init__(f"{channel_name} is already being synced by another run{when}")
        self.until = until


@dataclass(frozen=True)
class Marketplace:
    client: Callable[..., Any]  # (channel, **transport options) -> a client with orders_pages, confirm_shipment
    new_order: Callable[[SalesChannel, Any], Any]  # -> NewOrder | Skip
    updated_at: Callable[[Any], str | None]  # the order's last-modified timestamp, as the channel wrote it
    first_cursor: Callable[[], str]


MARKETPLACES = {
    ChannelKind.AMAZON: Marketplace(amazon.AmazonClient, amazon.new_order, lambda o: o.last_update_date,
                                    amazon.first_cursor),
    ChannelKind.EBAY: Marketplace(ebay.EbayClient, ebay.new_order, lambda o: o.get("lastModifiedDate"),
                                  ebay.first_cursor),
}


def sync_channel(channel_id: int, *, progress: Progress | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> ChannelSync:
    """Pull the channel's new and changed orders, import them, then send its due shipment confirmations.

    Returns the run's ChannelSync row (status "ok" or "failed", with the counts and the errors; a
    failed confirmation is listed among the errors). `progress(done, total or None)` is called as orders
    are pulled. Raises SyncAlreadyRunning when another run holds the channel, NotFound / InvalidInput
    for a channel that does not exist or is no marketplace.
    """
    channel = db.session.get(SalesChannel, channel_id)
    if channel is None:
        raise NotFound(f"Channel {channel_id} does not exist")
    if channel.kind not in MARKETPLACES:
        raise InvalidInput(f"{channel.name} is not an Amazon or eBay channel: its orders are sent to us")
    if not channel.active:
        raise InvalidInput(f"{channel.name} is switched off")
    marketplace = MARKETPLACES[channel.kind]
    run_id, hold = _take_channel(channel_id)
    holds = [hold]  # the latest hold, renewed by a long pull
    tally = Tally()
    cursor_after = None
    try:
        cursor_after = _pull(channel_id, marketplace, tally, holds, progress, sleep)
        status = "ok"
    except Exception as error:  # recorded on the run; a bug still reaches the log through the caller's handler
        tally.error(f"Sync stopped: {error}")
        status = "failed"
        if not isinstance(error, ChannelError):
            _finish(run_id, channel_id, holds[-1], status, tally, None)
            raise
    _finish(run_id, channel_id, holds[-1], status, tally, cursor_after)
    sent = send_due_confirmations(channel_id, sleep=sleep)
    if sent.errors:
        with write_transaction():
            run = db.session.get(ChannelSync, run_id)
            run.errors = list(run.errors or []) + sent.errors
    return db.session.get(ChannelSync, run_id)


# ---------------------------------------------------------------- the channel's hold

def _take_channel(channel_id: int) -> tuple[int, datetime]:
    now = utcnow()
    hold = now + LOCK_FOR
    with write_transaction():
        taken = db.session.execute(
            sa.update(SalesChannel)
            .where(SalesChannel.id == channel_id,
                   sa.or_(SalesChannel.sync_locked_until.is_(None), SalesChannel.sync_locked_until < now))
            .values(sync_locked_until=hold).execution_options(synchronize_session=False)).rowcount
        channel = db.session.get(SalesChannel, channel_id)
        db.session.refresh(channel)
        if taken != 1:
            raise SyncAlreadyRunning(channel.name, channel.sync_locked_until)
        run = ChannelSync(channel_id=channel_id, source="api", status="running",
                          cursor_before=(channel.settings or {}).get("sync_cursor"), started_at=now)
        db.session.add(run)
        db.session.flush()
        run_id = run.id
    return run_id, hold


def _keep_channel(channel_id: int, hold: datetime) -> datetime:
    """Extend the hold of a long run before it lapses; ChannelError if another run took it meanwhile."""
    now = utcnow()
    if hold - now > LOCK_FOR / 2:
        return hold
    renewed = now + LOCK_FOR
    with write_transaction():
        kept = db.session.execute(
            sa.update(SalesChannel).where(SalesChannel.id == channel_id, SalesChannel.sync_locked_until == hold)
            .values(sync_locked_until=renewed).execution_options(synchronize_session=False)).rowcount
    if kept != 1:
        raise ChannelError("Another run took over the channel while this one was pulling")
    return renewed


def _finish(run_id: int, channel_id: int, hold: datetime, status: str, tally: Tally, cursor: str | None) -> None:
    with write_transaction():
        channel = db.session.scalars(sa.select(SalesChannel).where(SalesChannel.id == channel_id)
                                     .with_for_update(key_share=True).execution_options(populate_existing=True)).one()
        run = db.session.get(ChannelSync, run_id)
        run.status = status
        run.imported, run.duplicates, run.held, run.skipped = tally.imported, tally.duplicates, tally.held, tally.skipped
        run.errors = list(tally.errors)
        run.finished_at = utcnow()
        if status == "ok":
            run.cursor_after = cursor or run.cursor_before
            if cursor:
                channel.settings = {**(channel.settings or {}), "sync_cursor": cursor}
        if channel.sync_locked_until == hold:
            channel.sync_locked_until = None


# ---------------------------------------------------------------- the pull

def _pull(channel_id: int, marketplace: Marketplace, tally: Tally, holds: list[datetime], progress: Progress | None,
          sleep: Callable[[float], None]) -> str | None:
    """Import every page; returns the new cursor (the latest modification seen). A renewed hold is
    appended to `holds`."""
    channel = db.session.get(SalesChannel, channel_id)
    cursor_before = (channel.settings or {}).get("sync_cursor") or marketplace.first_cursor()
    client = marketplace.client(channel, sleep=sleep)
    newest: tuple[datetime, str] | None = None
    done = 0
    for page in _pages(client, cursor_before):
        channel = db.session.get(SalesChannel, channel_id)
        new_orders, skips = [], []
        for raw in page:
            stamp = marketplace.updated_at(raw)
            moment = parse_time(stamp)
            if moment is not None and (newest is None or moment > newest[0]):
                newest = (moment, stamp)
            try:
                mapped = marketplace.new_order(channel, raw)
            except (KeyError, TypeError, ValueError) as error:
                # Skipping it would move the cursor past it for good: stop, and pull it again next time.
                raise ChannelError(f"{channel.name} sent an order that cannot be read ({error!r})") from error
            (skips if isinstance(mapped, Skip) else new_orders).append(mapped)
        for outcome in import_orders(channel, new_orders):
            tally.count(outcome)
        tally.skipped += len(skips)
        for message in canceled_after_import(db.session.get(SalesChannel, channel_id), skips):
            tally.error(message)
        db.session.rollback()  # end the reads: no transaction stays open across the next calls to the channel
        done += len(page)
        if progress:
            progress(done, getattr(client, "total", None))
        holds.append(_keep_channel(channel_id, holds[-1]))
    return newest[1] if newest else None


def _pages(client: Any, cursor: str) -> Iterator[list[Any]]:
    db.session.rollback()
    yield from client.orders_pages(cursor)


# ---------------------------------------------------------------- shipment confirmations

@dataclass
class ConfirmationRun:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def send_due_confirmations(channel_id: int, *, now: datetime | None = None,
                           sleep: Callable[[float], None] = time.sleep) -> ConfirmationRun:
    """Send the channel's pending confirmations that are due (next_attempt_at <= now), oldest first.

    Accepted: status sent, sent_at, remote_id (eBay's fulfillment id). Refused for good (a 4xx other
    than throttling) or after MAX_CONFIRMATION_ATTEMPTS: status failed, for a person to look at.
    Otherwise attempts + 1 and the next attempt after an exponential pause; last_error says why.
    """
    now = now or utcnow()
    result = ConfirmationRun()
    due = db.session.scalars(sa.select(ShipmentConfirmation.id).where(
        ShipmentConfirmation.channel_id == channel_id, ShipmentConfirmation.status == "pending",
        ShipmentConfirmation.next_attempt_at <= now).order_by(ShipmentConfirmation.id)).all()
    if not due:
        db.session.rollback()
        return result
    channel = db.session.get(SalesChannel, channel_id)
    try:
        client = MARKETPLACES[channel.kind].client(channel, sleep=sleep)
    except ChannelError as error:
        client, setup_error = None, error
    db.session.rollback()
    for confirmation_id in due:
        if not _claim(confirmation_id, now):
            continue  # another run is sending it
        confirmation = db.session.scalars(sa.select(ShipmentConfirmation).where(
            ShipmentConfirmation.id == confirmation_id).options(
            selectinload(ShipmentConfirmation.shipment).selectinload(Shipment.lines)
            .selectinload(ShipmentLine.order_line))).one()
        number = confirmation.shipment.number
        try:
            if client is None:
                raise setup_error
            remote_id = client.confirm_shipment(confirmation)
        except ChannelError as error:
            db.session.rollback()
            final = _record_failure(confirmation_id, now, error)
            result.failed += 1
            result.errors.append(f"Confirmation of {number}: {error.message}"
                                 + (" (given up: see the channel's page)" if final else " (will retry)"))
            continue
        db.session.rollback()
        with write_transaction():
            row = db.session.get(ShipmentConfirmation, confirmation_id)
            row.status, row.sent_at, row.remote_id = "sent", utcnow(), remote_id
            row.attempts += 1
            row.last_error = None
        result.sent += 1
    return result


def _claim(confirmation_id: int, now: datetime) -> bool:
    with write_transaction():
        return db.session.execute(
            sa.update(ShipmentConfirmation)
            .where(ShipmentConfirmation.id == confirmation_id, ShipmentConfirmation.status == "pending",
                   ShipmentConfirmation.next_attempt_at <= now)
            .values(next_attempt_at=now + CLAIM_FOR).execution_options(synchronize_session=False)).rowcount == 1


def _record_failure(confirmation_id: int, now: datetime, error: ChannelError) -> bool:
    """Count a failed attempt; returns True when the confirmation is given up (status failed)."""
    permanent = error.status is not None and 400 <= error.status < 500 and not error.retryable
    with write_transaction():
        row = db.session.get(ShipmentConfirmation, confirmation_id)
        row.attempts += 1
        row.last_error = error.message[:500]
        if permanent or row.attempts >= MAX_CONFIRMATION_ATTEMPTS:
            row.status = "failed"
        else:
            row.next_attempt_at = now + retry_delay(row.attempts)
        return row.status == "failed"


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd, 4th … failure, at most RETRY_CAP."""
    return min(timedelta(minutes=2 ** (attempts - 1)), RETRY_CAP)
