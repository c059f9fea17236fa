"""Shipment confirmations by Amazon's upload file: what a file holds now, the file, and marking its
confirmations sent once the seller says it went up to Seller Central."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..database import write_transaction
from ..domain import events
from ..domain.errors import InvalidInput, InvalidState
from ..extensions import db
from ..models import ChannelKind, Order, SalesChannel, Shipment, ShipmentConfirmation, User, utcnow
from . import amazon
from .confirmations import channel_confirmations, with_shipment

FILE_BATCH = 200  # confirmations in one upload file, so that their ids fit in the download link


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
    return list(db.session.scalars(with_shipment(sa.select(ShipmentConfirmation).where(
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
        rows = channel_confirmations(channel_id, wanted)
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
            events.shipment_confirmed_by_file(shipment, actor, confirmation.channel.name)
        return MarkedUploaded([c.shipment.number for c in marked], already)
