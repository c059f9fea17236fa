"""Hand-over to the carrier: the packed parcels waiting for each carrier, the scan of one parcel's label,
and handing the chosen ones over in one action with a manifest to sign.

Handing over is shipping.mark_shipped once per parcel, each in a savepoint of its own: a parcel that
cannot go (cancelled meanwhile, another carrier's, already shipped, a marketplace order without a tracking
number) is reported with its reason and the others still go. The parcels that went are listed on one
Manifest, kept so that the sheet can be printed again.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..database import service
from ..extensions import db
from ..models import Manifest, ManifestParcel, Order, OrderLine, Shipment, ShipmentStatus, User
from . import shipping
from .errors import DomainError, InvalidInput, InvalidState, NotFound
from .locking import lock_orders, lock_products
from .segments import pending_counts, restore_pending_counts

# One truck's load at most in one action: the request, the locks and the manifest stay bounded.
MAX_PARCELS = 500
CARRIER_LENGTH = Shipment.__table__.c.carrier.type.length  # the longest carrier name a parcel holds
CODE_LENGTH = Shipment.__table__.c.tracking_number.type.length  # the longest code a label carries
_SHIPMENT_NUMBER = re.compile(r"SH-?0*([0-9]{1,18})", re.IGNORECASE)


@dataclass(frozen=True)
class CarrierQueue:
    """A carrier's packed parcels: how many, and since when the oldest waits."""

    carrier: str | None  # None: parcels packed without a carrier
    parcels: int
    oldest_packed_at: datetime


@dataclass(frozen=True)
class Refusal:
    shipment_id: int
    number: str  # the shipment number, or the id as sent when there is no such shipment
    reason: str


@dataclass
class HandOver:
    """What one hand-over did: the manifest of the parcels that went (None when none did), and why each
    of the others did not."""

    manifest: Manifest | None
    shipped: list[Shipment] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def carrier_name(text: str | None) -> str:
    """A carrier as typed or sent: stripped, required, and no longer than a parcel's carrier can be."""
    name = (text or "").strip()
    if not name:
        raise InvalidInput("Choose a carrier", field="carrier")
    if len(name) > CARRIER_LENGTH:
        raise InvalidInput(f"A carrier has at most {CARRIER_LENGTH} characters ({len(name):,} given)", field="carrier")
    return name


def carrier_queues() -> list[CarrierQueue]:
    """Every carrier with packed parcels, the one waiting longest first (carrierless parcels last)."""
    rows = db.session.execute(
        sa.select(Shipment.carrier, sa.func.count(), sa.func.min(Shipment.created_at))
        .where(Shipment.status == ShipmentStatus.PACKED).group_by(Shipment.carrier)).all()
    queues = [CarrierQueue(carrier, int(count), oldest) for carrier, count, oldest in rows]
    return sorted(queues, key=lambda q: (q.carrier is None, q.oldest_packed_at, q.carrier or ""))


def packed_parcels(carrier: str, limit: int = MAX_PARCELS) -> list[Shipment]:
    """The carrier's packed parcels, oldest first, with their orders."""
    return list(db.session.scalars(
        sa.select(Shipment).where(Shipment.status == ShipmentStatus.PACKED, Shipment.carrier == carrier)
        .options(joinedload(Shipment.order)).order_by(Shipment.created_at, Shipment.id).limit(limit)))


def why_held(parcels: Sequence[Shipment]) -> dict[int, str]:
    """Why each parcel that cannot go on the truck as it stands cannot (mark_shipped's rule: a marketplace
    parcel without its tracking number), by shipment id: the screen says so before anyone ticks it."""
    held = {}
    for parcel in parcels:
        refusal = shipping.handover_refusal(parcel, parcel.carrier, parcel.tracking_number)
        if refusal is not None:
            held[parcel.id] = refusal.message
    return held


def find_parcel(code: str) -> Shipment | None:
    """The parcel whose label carries `code`: its tracking number, or its shipment number (SH-000123)
    when it has none. A tracking number used twice finds the packed parcel first, then the newest."""
    code = (code or "").strip()
    if not code or len(code) > CODE_LENGTH:
        return None
    found = db.session.scalars(
        sa.select(Shipment).where(Shipment.tracking_number == code)
        .order_by((Shipment.status == ShipmentStatus.PACKED).desc(), Shipment.id.desc()).limit(1)).first()
    if found is None and (number := _SHIPMENT_NUMBER.fullmatch(code)):
        found = db.session.get(Shipment, int(number.group(1)))
    return found


def _other_carrier(shipment: Shipment, carrier: str) -> DomainError | None:
    if shipment.carrier == carrier or shipment.status is not ShipmentStatus.PACKED:
        return None  # a parcel no longer packed: mark_shipped's own refusal says why
    if not shipment.carrier:
        return InvalidState(f"{shipment.number} has no carrier: set it on its order before handing it to {carrier}")
    return InvalidState(f"{shipment.number} goes with {shipment.carrier}, not {carrier}")


def scan(carrier: str, code: str) -> Shipment:
    """The parcel a scanned label names, if it can go on `carrier`'s truck now. A read: nothing changes,
    and hand_over checks again under its locks.

    Raises NotFound for a code no label carries, InvalidState for another carrier's parcel or one that is
    not packed, InvalidInput for a marketplace parcel without a tracking number.
    """
    carrier = carrier_name(carrier)
    text = (code or "").strip()
    if not text:
        raise InvalidInput("Scan a parcel's label (or type its tracking or shipment number)", field="code")
    shipment = find_parcel(text)
    if shipment is None:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise NotFound(f"No parcel has the code {shown}", field="code")
    refusal = _other_carrier(shipment, carrier) or shipping.handover_refusal(
        shipment, shipment.carrier, shipment.tracking_number)
    if refusal is not None:
        refusal.field = "code"
        raise refusal
    return shipment


def parcel_ids(values: Iterable[int]) -> list[int]:
    """The chosen parcels' ids, each once, in id order; at least one and at most MAX_PARCELS."""
    ids = sorted(set(values))
    if not ids:
        raise InvalidInput("Scan or tick at least one parcel to hand over", field="shipment_ids")
    if len(ids) > MAX_PARCELS:
        raise InvalidInput(f"At most {MAX_PARCELS:,} parcels go in one hand-over ({len(ids):,} chosen)",
                           field="shipment_ids")
    return ids


def _lock_parcels(shipment_ids: list[int]) -> None:
    """Every product and order the parcels touch, locked up front in the one order (products, then orders,
    each by id), so that handing over many parcels never deadlocks with an action on one of them."""
    order_ids = set(db.session.scalars(sa.select(Shipment.order_id).where(Shipment.id.in_(shipment_ids))))
    if not order_ids:
        return
    lock_products(db.session.scalars(sa.select(OrderLine.product_id).where(
        OrderLine.order_id.in_(order_ids), OrderLine.product_id.is_not(None))))
    lock_orders(order_ids)


@service
def hand_over(actor: User, carrier: str, shipment_ids: Iterable[int]) -> HandOver:
    """Hand the chosen packed parcels to `carrier`: each goes packed → shipped through shipping.mark_shipped
    (its event written, its channel's confirmation queued), and those that went are listed on a new
    Manifest. A parcel that cannot go changes nothing and is reported in `refused` with its reason; the
    others still go.

    Raises InvalidInput (and changes nothing) for no carrier, no parcel or more than MAX_PARCELS.
    """
    carrier = carrier_name(carrier)
    ids = parcel_ids(shipment_ids)
    _lock_parcels(ids)
    result = HandOver(manifest=None)
    for shipment_id in ids:
        shipment = db.session.get(Shipment, shipment_id, populate_existing=True)
        if shipment is None:
            result.refused.append(Refusal(shipment_id, str(shipment_id), f"There is no shipment {shipment_id}"))
            continue
        counts = pending_counts()
        try:
            with db.session.begin_nested():
                refusal = _other_carrier(shipment, carrier)
                if refusal is not None:
                    raise refusal
                # The parcel's own carrier and tracking number, set when it was packed.
                result.shipped.append(shipping.mark_shipped(actor, shipment_id))
        except DomainError as refusal:
            restore_pending_counts(counts)
            result.refused.append(Refusal(shipment_id, shipment.number, refusal.message))
    if result.shipped:
        manifest = Manifest(carrier=carrier, handed_over_by_id=actor.id if actor else None)
        manifest.parcels = [ManifestParcel(shipment_id=s.id) for s in result.shipped]
        db.session.add(manifest)
        db.session.flush()
        result.manifest = manifest
    return result


def manifests_page(page: int = 1, per_page: int = 25, carrier: str | None = None) -> tuple[list[tuple[Manifest, int]], bool]:
    """Past manifests, newest first, each with its parcel count; and whether there are more."""
    counts = (sa.select(ManifestParcel.manifest_id, sa.func.count().label("parcels"))
              .group_by(ManifestParcel.manifest_id).subquery())
    query = (sa.select(Manifest, sa.func.coalesce(counts.c.parcels, 0))
             .outerjoin(counts, counts.c.manifest_id == Manifest.id)
             .options(joinedload(Manifest.handed_over_by))
             .order_by(Manifest.handed_over_at.desc(), Manifest.id.desc())
             .offset((page - 1) * per_page).limit(per_page + 1))
    if carrier:
        query = query.where(Manifest.carrier == carrier)
    rows = [(manifest, int(parcels)) for manifest, parcels in db.session.execute(query).all()]
    return rows[:per_page], len(rows) > per_page


def get_manifest(manifest_id: int) -> Manifest:
    manifest = db.session.get(Manifest, manifest_id)
    if manifest is None:
        raise NotFound(f"There is no manifest {manifest_id}")
    return manifest


def manifest_parcels(manifest: Manifest) -> list[Shipment]:
    """The manifest's parcels with their orders, in shipment number order."""
    return list(db.session.scalars(
        sa.select(Shipment).join(ManifestParcel, ManifestParcel.shipment_id == Shipment.id)
        .where(ManifestParcel.manifest_id == manifest.id)
        .options(joinedload(Shipment.order).joinedload(Order.channel)).order_by(Shipment.id)))
