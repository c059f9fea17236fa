"""Shipment confirmations sent to the marketplaces: those due, each with its own retry schedule, and
the refused ones a person puts back in the queue. (Amazon's upload file is upload_file.py.)"""
from __future__ import annotations

import time
from collections.abc import Callable
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
from ..models import Order, SalesChannel, Shipment, ShipmentConfirmation, ShipmentLine, User, utcnow
from . import amazon
from .marketplaces import MARKETPLACES
from .transport import ChannelError

CLAIM_FOR = timedelta(minutes=10)  # a confirmation being sent is not sent again by another run meanwhile
# A confirmation the channel could not take (throttled, down, unreachable, our credentials refused) is
# retried for as long as it takes, at most this long apart: Amazon and eBay count a late confirmation.
RETRY_CAP = timedelta(hours=1)
# The channel refused what the confirmation says (an order or line it does not know, a bad field):
# sending it again cannot help, a person must look. Any other refusal is about the call, not the content.
CONTENT_REFUSALS = frozenset({400, 404, 422})
CREDENTIAL_REFUSALS = frozenset({401, 403})


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
        rows = channel_confirmations(channel_id, wanted)
        not_failed = [c.shipment.number for c in rows if c.status != "failed"]
        if not_failed:
            raise InvalidState(f"{', '.join(not_failed)}: not refused, so not retried; nothing changed")
        moment = utcnow()
        for confirmation in rows:
            confirmation.status, confirmation.attempts, confirmation.next_attempt_at = "pending", 0, moment
            shipment = confirmation.shipment
            events.confirmation_retried(shipment, actor, confirmation.channel.name)
        return [c.shipment.number for c in rows]


def channel_confirmations(channel_id: int, ids: list[int]) -> list[ShipmentConfirmation]:
    """The confirmations of these ids, locked in id order; NotFound unless every one is this channel's."""
    rows = db.session.scalars(with_shipment(sa.select(ShipmentConfirmation).where(
        ShipmentConfirmation.id.in_(ids), ShipmentConfirmation.channel_id == channel_id)
        .order_by(ShipmentConfirmation.id).with_for_update(of=ShipmentConfirmation)
        .execution_options(populate_existing=True))).all()
    if len(rows) != len(ids):
        raise NotFound("Some of these confirmations are not this channel's: reload the channel's page")
    return list(rows)


def with_shipment(query: sa.Select) -> sa.Select:
    return query.options(
        selectinload(ShipmentConfirmation.shipment).selectinload(Shipment.order),
        selectinload(ShipmentConfirmation.shipment).selectinload(Shipment.lines).selectinload(ShipmentLine.order_line))
