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

import requests
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..database import write_transaction
from ..domain import events
from ..domain.errors import InvalidInput, InvalidState, NotFound
from ..extensions import db
from ..models import (ChannelKind, ChannelSync, Order, SalesChannel, Shipment, ShipmentConfirmation, ShipmentLine,
                      User, utcnow)
from . import amazon, ebay
from .importing import Skip, Tally, canceled_after_import, import_orders, parse_time
from .transport import ChannelError

LOCK_FOR = timedelta(minutes=10)
CLAIM_FOR = timedelta(minutes=10)  # a confirmation being sent is not sent again by another run meanwhile
# A confirmation the channel could not take (throttled, down, unreachable, our credentials refused) is
# retried for as long as it takes, at most this long apart: Amazon and eBay count a late confirmation.
RETRY_CAP = timedelta(hours=1)
# The channel refused what the confirmation says (an order or line it does not know, a bad field):
# sending it again cannot help, a person must look. Any other refusal is about the call, not the content.
CONTENT_REFUSALS = frozenset({400, 404, 422})
CREDENTIAL_REFUSALS = frozenset({401, 403})
FILE_BATCH = 200  # confirmations in one upload file, so that their ids fit in the download link

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


# ---------------------------------------------------------------- shipment confirmations

@dataclass
class ConfirmationRun:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def send_due_confirmations(channel_id: int, *, now: datetime | None = None,
                           sleep: Callable[[float], None] = time.sleep) -> ConfirmationRun:
    """Send the channel's pending confirmations that are due (next_attempt_at <= now), oldest first.

    Nothing is sent for an Amazon channel that confirms by upload file. Accepted: status sent, sent_at,
    remote_id (eBay's fulfillment id). Refused for what it says (CONTENT_REFUSALS): status failed, for
    a person to look at. Any other failure leaves it pending, attempts + 1, its next attempt after a
    capped exponential pause, last_error saying why (see _diagnose). When the failure is the channel's
    (throttled, down, unreachable, credentials), the run stops there: the rest are not tried, keep their
    place and pause, and their last_error says why they wait.
    """
    now = now or utcnow()
    result = ConfirmationRun()
    channel = db.session.get(SalesChannel, channel_id)
    if channel is None or amazon.confirms_by_file(channel):
        db.session.rollback()
        return result
    due = db.session.scalars(sa.select(ShipmentConfirmation.id).where(
        ShipmentConfirmation.channel_id == channel_id, ShipmentConfirmation.status == "pending",
        ShipmentConfirmation.next_attempt_at <= now).order_by(ShipmentConfirmation.id)).all()
    if not due:
        db.session.rollback()
        return result
    try:
        client = MARKETPLACES[channel.kind].client(channel, sleep=sleep)
        db.session.rollback()  # no read stays open across the calls to the channel
        _check_login(client)
        channel_down = None
    except ChannelError as error:
        client, channel_down = None, _channel_failure(error)
    db.session.rollback()
    for position, confirmation_id in enumerate(due):
        if channel_down is not None and position > 0:
            # The channel takes no confirmation now: the rest are not tried, keep their place and their
            # pause, and say why they wait. The one that failed waits its own pause, so next time the
            # others go first: one confirmation the channel keeps failing never holds the queue.
            _note_waiting(due[position:], channel_down)
            break
        if not _claim(confirmation_id, now):
            continue  # another run is sending it
        confirmation = db.session.scalars(sa.select(ShipmentConfirmation).where(
            ShipmentConfirmation.id == confirmation_id).options(
            selectinload(ShipmentConfirmation.shipment).selectinload(Shipment.order).selectinload(Order.lines),
            selectinload(ShipmentConfirmation.shipment).selectinload(Shipment.lines)
            .selectinload(ShipmentLine.order_line))).one()
        number = confirmation.shipment.number
        try:
            if channel_down is not None:
                raise channel_down
            remote_id = client.confirm_shipment(confirmation)
        except ChannelError as error:
            db.session.rollback()
            failure, outcome = (channel_down, CHANNEL_DOWN) if channel_down is not None else _diagnose(client, error)
            _record_failure(confirmation_id, now, failure, refused=outcome == REFUSED)
            result.failed += 1
            result.errors.append(f"Confirmation of {number}: {failure.message}"
                                 + (" (refused: see the channel's page)" if outcome == REFUSED else " (will retry)"))
            if outcome == CHANNEL_DOWN:
                channel_down = failure
            continue
        db.session.rollback()
        with write_transaction():
            row = db.session.get(ShipmentConfirmation, confirmation_id)
            row.status, row.sent_at, row.remote_id = "sent", utcnow(), remote_id
            row.attempts += 1
            row.last_error = None
        result.sent += 1
    return result


def _check_login(client: Any) -> None:
    """Fetch (or reuse) the client's access token, so that refused credentials fail once, before any
    confirmation is tried, instead of once per confirmation."""
    transport = getattr(client, "transport", None)
    if transport is None:
        return
    try:
        transport.access_token()
    except requests.RequestException as error:  # the token endpoint unreachable: retried like any network failure
        raise ChannelError(f"The token endpoint could not be reached: {error.__class__.__name__}") from None


def _channel_failure(error: ChannelError) -> ChannelError:
    """A failure of the channel (not of one confirmation), worded for the channel's page."""
    if error.status in CREDENTIAL_REFUSALS or (error.status is not None and 400 <= error.status < 500
                                               and not error.retryable):
        return ChannelError(f"Credentials refused: check the channel's settings ({error.message})",
                            status=error.status, retryable=True)
    return ChannelError(error.message, status=error.status, retryable=True)


REFUSED, THIS_ONE, CHANNEL_DOWN = "refused", "retry this one", "channel down"


def _diagnose(client: Any, error: ChannelError) -> tuple[ChannelError, str]:
    """What a failed confirmation call means, and the error to record for it:
    - REFUSED: the channel refused what the confirmation says (CONTENT_REFUSALS): a person must look;
    - CHANNEL_DOWN: the channel takes nothing now (throttled after every retry, 5xx, unreachable, our
      login refused, or a 401/403 left after the transport's own token refresh);
    - THIS_ONE: anything else (a 409, an answer that cannot be read): this one waits its pause, the
      others are still tried.
    A 4xx while the login itself no longer works is the login's fault: a refused token refresh can come
    back as 400 (invalid_grant) and would look like a refusal of the content otherwise.
    """
    if error.status in CREDENTIAL_REFUSALS:
        return _channel_failure(error), CHANNEL_DOWN
    if error.status in CONTENT_REFUSALS:
        try:
            _check_login(client)
        except ChannelError as login_error:
            return _channel_failure(login_error), CHANNEL_DOWN
        return error, REFUSED
    if error.retryable and (error.status is None or error.status == 429 or error.status >= 500):
        return error, CHANNEL_DOWN
    return error, THIS_ONE


def _note_waiting(confirmation_ids: list[int], why: ChannelError) -> None:
    """Say on the confirmations not tried this run why they wait; their place and pause are kept."""
    with write_transaction():
        db.session.execute(sa.update(ShipmentConfirmation).where(
            ShipmentConfirmation.id.in_(confirmation_ids), ShipmentConfirmation.status == "pending")
            .values(last_error=f"Waiting: {why.message}"[:500]).execution_options(synchronize_session=False))


def _claim(confirmation_id: int, now: datetime) -> bool:
    with write_transaction():
        return db.session.execute(
            sa.update(ShipmentConfirmation)
            .where(ShipmentConfirmation.id == confirmation_id, ShipmentConfirmation.status == "pending",
                   ShipmentConfirmation.next_attempt_at <= now)
            .values(next_attempt_at=now + CLAIM_FOR).execution_options(synchronize_session=False)).rowcount == 1


def _record_failure(confirmation_id: int, now: datetime, error: ChannelError, *, refused: bool) -> None:
    """Count a failed attempt: refused, the confirmation is failed; else it waits for its next attempt.
    Nothing changes when it is no longer pending (marked confirmed by hand meanwhile)."""
    with write_transaction():
        row = db.session.get(ShipmentConfirmation, confirmation_id)
        if row.status != "pending":
            return
        row.attempts += 1
        row.last_error = error.message[:500]
        if refused:
            row.status = "failed"
        else:
            row.next_attempt_at = now + retry_delay(row.attempts)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd, 4th … failure, at most RETRY_CAP, however many."""
    return min(timedelta(minutes=2 ** min(max(attempts - 1, 0), 20)), RETRY_CAP)


# ---------------------------------------------------------------- confirmations by hand: file and retry

@dataclass
class FileConfirmations:
    """What waits to be confirmed to Amazon by upload file (at most FILE_BATCH, oldest first): every
    confirmation not yet sent on a channel that confirms by file; on one that confirms by API, those the
    API refused, so that the seller can fall back to the file."""
    in_file: list[ShipmentConfirmation]
    kept_out: dict[int, str]  # by id, why it cannot be in a file (amazon.not_for_upload_file): confirmed by hand


def file_confirmations(channel: SalesChannel) -> FileConfirmations:
    found = FileConfirmations([], {})
    if channel.kind is not ChannelKind.AMAZON:
        return found
    for confirmation in _waiting_for_file(channel):
        reason = amazon.not_for_upload_file(confirmation)
        if reason:
            found.kept_out[confirmation.id] = reason
        else:
            found.in_file.append(confirmation)
    return found


def awaiting_file(channel: SalesChannel) -> list[ShipmentConfirmation]:
    """The confirmations an upload file of the channel holds now (FileConfirmations.in_file)."""
    return file_confirmations(channel).in_file


def _file_statuses(channel: SalesChannel) -> tuple[str, ...]:
    return ("pending", "failed") if amazon.confirms_by_file(channel) else ("failed",)


def _waiting_for_file(channel: SalesChannel) -> list[ShipmentConfirmation]:
    return list(db.session.scalars(_with_shipment(sa.select(ShipmentConfirmation).where(
        ShipmentConfirmation.channel_id == channel.id, ShipmentConfirmation.status.in_(_file_statuses(channel)))
        .order_by(ShipmentConfirmation.id).limit(FILE_BATCH)).options(
        selectinload(ShipmentConfirmation.shipment).selectinload(Shipment.order).selectinload(Order.lines),
        selectinload(ShipmentConfirmation.shipment).selectinload(Shipment.order).selectinload(Order.events))))


def upload_file_of(channel: SalesChannel, confirmation_ids: list[int]) -> tuple[str, list[ShipmentConfirmation]]:
    """The upload file of those of `confirmation_ids` that still wait for it (and the confirmations in
    it). Writes nothing. Raises InvalidState when none of them waits any more."""
    wanted = set(confirmation_ids)
    chosen = [c for c in awaiting_file(channel) if c.id in wanted]
    if not chosen:
        raise InvalidState("None of these shipments waits to be confirmed by file any more: "
                           "reload the channel's page")
    return amazon.confirmation_upload_file(chosen), chosen


@dataclass
class MarkedUploaded:
    marked: list[str]  # the shipments' numbers
    already_sent: list[str]


def mark_uploaded(actor: User, channel_id: int, confirmation_ids: list[int]) -> MarkedUploaded:
    """The seller uploaded the file holding these confirmations to Seller Central: each one not sent yet
    becomes sent (remote_id "upload file"), with an event on its order. Those sent meanwhile are left
    as they are and named. All or nothing: raises InvalidInput for no ids, NotFound when an id is not
    a confirmation of this channel, InvalidState when every one of them was sent already.
    """
    wanted = sorted(set(confirmation_ids))
    if not wanted:
        raise InvalidInput("Name the confirmations that were in the file", field="confirmations")
    with write_transaction():
        rows = _channel_confirmations(channel_id, wanted)
        channel = db.session.get(SalesChannel, channel_id)
        if channel.kind is not ChannelKind.AMAZON:
            raise InvalidInput("Only an Amazon channel confirms by upload file", field="confirmations")
        # What may be in a file now: one put back in the API's queue since the page was read is the
        # API's again, and must not be marked confirmed for a file that never held it.
        gone_back = [c.shipment.number for c in rows if c.status not in ("sent", *_file_statuses(channel))]
        if gone_back:
            raise InvalidState(f"{', '.join(gone_back)} went back to the API's queue since this page was read: "
                               "nothing changed; reload the page")
        marked = [c for c in rows if c.status != "sent"]
        already = [c.shipment.number for c in rows if c.status == "sent"]
        if not marked:
            raise InvalidState("These shipments were marked confirmed already: nothing changed")
        moment = utcnow()
        for confirmation in marked:
            confirmation.status, confirmation.sent_at, confirmation.remote_id = "sent", moment, "upload file"
            confirmation.last_error = None
            shipment = confirmation.shipment
            events.record(shipment.order, actor, "shipment_confirmed",
                          f"{shipment.number} confirmed to {confirmation.channel.name} by upload file",
                          shipment_id=shipment.id)
        return MarkedUploaded([c.shipment.number for c in marked], already)


def retry_confirmations(actor: User, channel_id: int, confirmation_ids: list[int]) -> list[str]:
    """Put failed confirmations back in the queue, due now, their pause starting over (last_error is
    kept until an attempt succeeds); an event on each order. Returns the shipments' numbers. All or
    nothing: raises InvalidInput for no ids, NotFound when an id is not a confirmation of this channel,
    InvalidState when one of them is not failed (sent, or already back in the queue).
    """
    wanted = sorted(set(confirmation_ids))
    if not wanted:
        raise InvalidInput("Choose the confirmations to retry", field="confirmations")
    with write_transaction():
        rows = _channel_confirmations(channel_id, wanted)
        not_failed = [c.shipment.number for c in rows if c.status != "failed"]
        if not_failed:
            raise InvalidState(f"{', '.join(not_failed)}: not refused, so not retried; nothing changed")
        moment = utcnow()
        for confirmation in rows:
            confirmation.status, confirmation.attempts, confirmation.next_attempt_at = "pending", 0, moment
            shipment = confirmation.shipment
            events.record(shipment.order, actor, "confirmation_retried",
                          f"Confirmation of {shipment.number} to {confirmation.channel.name} queued again",
                          shipment_id=shipment.id)
        return [c.shipment.number for c in rows]


def _channel_confirmations(channel_id: int, ids: list[int]) -> list[ShipmentConfirmation]:
    """The confirmations of these ids, locked in id order; NotFound unless every one is this channel's."""
    rows = db.session.scalars(_with_shipment(sa.select(ShipmentConfirmation).where(
        ShipmentConfirmation.id.in_(ids), ShipmentConfirmation.channel_id == channel_id)
        .order_by(ShipmentConfirmation.id).with_for_update(of=ShipmentConfirmation)
        .execution_options(populate_existing=True))).all()
    if len(rows) != len(ids):
        raise NotFound("Some of these confirmations are not this channel's: reload the channel's page")
    return list(rows)


def _with_shipment(query: sa.Select) -> sa.Select:
    return query.options(
        selectinload(ShipmentConfirmation.shipment).selectinload(Shipment.order),
        selectinload(ShipmentConfirmation.shipment).selectinload(Shipment.lines).selectinload(ShipmentLine.order_line))
