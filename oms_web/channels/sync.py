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
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..database import write_transaction
from ..domain.errors import InvalidInput, InvalidState, NotFound
from ..extensions import db
from ..models import ChannelSync, SalesChannel, utcnow
from .confirmations import send_due_confirmations
from .importing import Skip, Tally, canceled_after_import, import_orders
from .marketplaces import MARKETPLACES, Marketplace
from .times import parse_time
from .transport import ChannelError

LOCK_FOR = timedelta(minutes=10)

Progress = Callable[[int, "int | None"], None]


class SyncAlreadyRunning(InvalidState):
    """Another run holds the channel; `until` is when its hold lapses if it never lets go."""

    def __init__(self, channel_name: str, until: datetime | None):
        when = f" (its hold lapses at {until:%H:%M} UTC)" if until else ""
        super().__init__(f"{channel_name} is already being synced by another run{when}")
        self.until = until


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
        run.updated = tally.updated
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
            tally.changed(message)
        db.session.rollback()  # end the reads: no transaction stays open across the next calls to the channel
        done += len(page)
        if progress:
            progress(done, getattr(client, "total", None))
        holds.append(_keep_channel(channel_id, holds[-1]))
    return newest[1] if newest else None


def _pages(client: Any, cursor: str) -> Iterator[list[Any]]:
    db.session.rollback()
    yield from client.orders_pages(cursor)
