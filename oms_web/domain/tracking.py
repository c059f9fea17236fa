"""Tracking closes the loop: the label service's tracker updates (its webhooks, or a poll) move a parcel
with the carrier to in transit, out for delivery, delivered or exception.

Delivered goes through shipping.mark_delivered, so the order becomes Fulfilled once every unit is
delivered, with nobody clicking. An exception puts the order under Needs attention (its hold reason is
the carrier's message). An update never moves a parcel backwards: the same event twice, or an older one
arriving late, changes nothing.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from ..carriers import CarrierError, TrackerUpdate
from ..database import service
from ..extensions import db
from ..models import LabelPurchase, Shipment, ShipmentStatus, WITH_CARRIER
from . import events, shipping
from .order_rules import refresh_order

log = logging.getLogger(__name__)

# The service's tracker statuses and what they make of our parcel (None: nothing yet).
STATUS_OF = {"unknown": None, "pre_transit": None, "in_transit": ShipmentStatus.IN_TRANSIT,
             "out_for_delivery": ShipmentStatus.OUT_FOR_DELIVERY,
             "available_for_pickup": ShipmentStatus.OUT_FOR_DELIVERY, "delivered": ShipmentStatus.DELIVERED,
             "return_to_sender": ShipmentStatus.EXCEPTION, "failure": ShipmentStatus.EXCEPTION,
             "cancelled": ShipmentStatus.EXCEPTION, "error": ShipmentStatus.EXCEPTION}
# How far along a parcel is: an update to a status no further along changes nothing.
STAGE = {ShipmentStatus.PACKED: 0, ShipmentStatus.SHIPPED: 1, ShipmentStatus.IN_TRANSIT: 2,
         ShipmentStatus.OUT_FOR_DELIVERY: 3, ShipmentStatus.EXCEPTION: 3, ShipmentStatus.DELIVERED: 4,
         ShipmentStatus.CANCELLED: 9}
EXCEPTION_HOLD = "Carrier exception on "


@service
def apply_update(update: TrackerUpdate) -> bool:
    """Move the tracked parcel as the update says; True when it moved. An unknown tracker, an update no
    further along than the parcel, or older than the last one applied, changes nothing."""
    purchase = db.session.scalar(sa.select(LabelPurchase).where(
        LabelPurchase.shipment_id.is_not(None),
        sa.or_(LabelPurchase.tracker_id == update.tracker_id, LabelPurchase.tracking_code == update.tracking_code))
        .order_by(LabelPurchase.id.desc()).limit(1))
    target = STATUS_OF.get(update.status)
    if purchase is None or target is None:
        return False
    shipment = shipping._locked_shipment(purchase.shipment_id)
    if update.at is not None and shipment.tracking_at is not None and update.at < shipment.tracking_at:
        return False
    if STAGE[target] <= STAGE[shipment.status]:
        return False
    order = shipment.order
    if shipment.status is ShipmentStatus.PACKED:  # the carrier scanned it: it has been handed over
        shipping.mark_shipped(None, shipment.id)
    shipment.tracking_status, shipment.tracking_message = update.status, update.message[:300] or None
    shipment.tracking_at = update.at or shipment.tracking_at
    if target is ShipmentStatus.DELIVERED:
        if order.hold_reason and order.hold_reason.startswith(EXCEPTION_HOLD + shipment.number):
            order.hold_reason = None  # the exception is over: it arrived
        shipping.mark_delivered(None, shipment.id)
        return True
    shipment.status = target
    said = f": {update.message}" if update.message else ""
    if target is ShipmentStatus.EXCEPTION:
        events.carrier_exception(order, shipment, said)
        if not order.hold_reason:
            order.hold_reason = f"{EXCEPTION_HOLD}{shipment.number}: {update.message or update.status}"[:300]
    else:
        events.tracking(order, shipment, target.label.lower(), said)
    refresh_order(order)
    return True


def poll_trackers(limit: int = 500) -> int:
    """Ask the service for the trackers of parcels with the carrier (where webhooks cannot reach the
    shop); returns how many parcels moved."""
    from .labels import label_service

    svc = label_service()
    if svc is None:
        return 0
    tracker_ids = db.session.scalars(
        sa.select(LabelPurchase.tracker_id).join(Shipment, Shipment.id == LabelPurchase.shipment_id)
        .where(LabelPurchase.tracker_id.is_not(None),
               Shipment.status.in_([ShipmentStatus.PACKED, *WITH_CARRIER]))
        .order_by(LabelPurchase.id).limit(limit)).all()
    db.session.rollback()
    moved = 0
    for tracker_id in tracker_ids:
        try:
            update = svc.retrieve_tracker(tracker_id)
        except CarrierError as error:
            log.warning("tracker %s not polled: %s", tracker_id, error.message)
            continue
        moved += apply_update(update)
    return moved
