"""Shipping services: pack allocated units into a shipment, hand it to the carrier, see it delivered,
or cancel a parcel still on the bench.

A shipment is packed (created, its label printed; its units have left the stock) → shipped (handed to the
carrier) → delivered; while packed it can be cancelled, which puts its units back on the shelf, still
allocated to their lines.
"""
from __future__ import annotations

from collections.abc import Mapping

from ..database import service
from ..extensions import db
import sqlalchemy as sa

from ..models import (Invoice, Location, InvoicedShipmentUnits, Order, OrderStatus, PaymentStatus, Shipment,
                      ShipmentConfirmation, ShipmentLine, ShipmentStatus, User, WITH_CARRIER, utcnow)
from . import customer_emails, events, hourly_counts, stock
from .errors import DomainError, InvalidInput, InvalidState, NotFound, QuantityTooLarge, Shortfall
from .channel_shipping import default_shipping
from .locking import lock_order
from .order_rules import check_quantity, refresh_order



@service
def ship_lines(actor: User, order_id: int, quantities: Mapping[int, int], *, carrier: str | None = None,
               service_level: str | None = None, tracking_number: str | None = None,
               location_id: int | None = None, by_supplier: bool = False) -> Shipment:
    """Create a shipment of the chosen lines and quantities (a partial shipment may carry part of a line)
    from one location: the one given, else the one location holding all of them.

    Stock in hand and committed both drop there by what ships. Only allocated units can ship: every line
    asked beyond that is reported at once in QuantityTooLarge. Raises InvalidState for an order that
    is not finalized, on hold or awaiting payment; InvalidInput for unknown lines, no units at all, or
    units the location does not hold. Drop-ship units ship only `by_supplier` (domain.drop_ship).
    """
    wanted = units_asked(quantities)
    order = lock_order(order_id)
    location_id = check_shippable(order, wanted, location_id, by_supplier=by_supplier)
    lines = {line.id: line for line in order.lines}

    # Unless the packer chose them, the carrier and service are the channel's defaults (set by the admin),
    # the service otherwise the one the customer chose.
    default_carrier, default_service = default_shipping(order.channel)
    shipment = Shipment(order=order, location_id=location_id, carrier=_clean(carrier) or default_carrier,
                        service_level=_clean(service_level) or default_service or order.service_level,
                        tracking_number=_clean(tracking_number), created_by_id=actor.id if actor else None)
    db.session.add(shipment)
    db.session.flush()
    for line_id in sorted(wanted):
        line = lines[line_id]
        shipment.lines.append(ShipmentLine(order_line=line, quantity=wanted[line_id]))
        stock.ship_units(line, wanted[line_id], actor, shipment.id, shipment.location_id)
    units = sum(wanted.values())
    events.shipment_created(order, actor, shipment, units)
    refresh_order(order)
    return shipment


def units_asked(quantities: Mapping[int, int]) -> dict[int, int]:
    """The lines with units asked for (each a checked whole number). Raises InvalidInput for none."""
    wanted = {}
    for line_id, quantity in quantities.items():
        if check_quantity(quantity, field_name=f"qty-{line_id}", allow_zero=True):
            wanted[line_id] = quantity
    if not wanted:
        raise InvalidInput("Choose at least one unit to ship", field="quantities")
    return wanted


def check_shippable(order: Order, wanted: Mapping[int, int], location_id: int | None = None, *,
                    by_supplier: bool = False) -> int:
    """The one rule of what may ship: ship_lines asks it under the order's lock, and a label purchase
    (domain.labels) asks it before paying for postage. Returns the location the parcel ships from.
    Raises what ship_lines raises."""
    refuse_unshippable(order)
    lines = {line.id: line for line in order.lines}
    missing = sorted(set(wanted) - lines.keys())
    if missing:
        raise InvalidInput(f"Line {missing[0]} is not on {order.number}", field="quantities")
    short = [Shortfall(lines[i].sku, q, lines[i].to_ship) for i, q in wanted.items() if q > lines[i].to_ship]
    if short:
        raise QuantityTooLarge("Only allocated units can ship", short, field="quantities")
    at = {i: stock.shippable_from(lines[i]) for i in wanted}
    if location_id is None:
        candidates = sorted({site for places in at.values() for site in places})
        able = [site for site in candidates if all(at[i].get(site, 0) >= q for i, q in wanted.items())]
        if not able:
            raise InvalidInput("These units are at different locations: pack one parcel per location",
                               field="quantities")
        location_id = able[0]
    kind = stock.kind_of(location_id)
    if kind.holds_our_stock == by_supplier:
        raise InvalidInput("Drop-ship units are shipped by their supplier" if not by_supplier
                           else "Only a drop-ship supplier's units are confirmed this way", field="quantities")
    name = db.session.get(Location, location_id).name
    short = [Shortfall(lines[i].sku, q, at[i].get(location_id, 0)) for i, q in wanted.items()
             if q > at[i].get(location_id, 0)]
    if short:
        raise QuantityTooLarge(f"{name} does not hold all of these units for the order", short, field="quantities")
    return location_id


def refuse_unshippable(order: Order) -> None:
    """Raise InvalidState for an order that cannot ship now: not finalized, on hold or awaiting payment.

    ship_lines asks it under the order's lock; the pack station asks it as the order is scanned, to
    refuse at once what ship_lines would refuse at the end."""
    if order.status is not OrderStatus.FINALIZED:
        raise InvalidState(f"{order.number} is {order.status.value}: only a finalized order ships")
    if order.hold_reason:
        raise InvalidState(f"{order.number} is on hold: {order.hold_reason}")
    if order.payment_status is PaymentStatus.PENDING:
        raise InvalidState(f"{order.number} is awaiting payment and cannot ship yet")


def _clean(value: str | None, limit: int = 80) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def _locked_shipment(shipment_id: int) -> Shipment:
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(f"Shipment {shipment_id} does not exist")
    lock_order(shipment.order_id)
    db.session.refresh(shipment)
    return shipment


def handover_refusal(shipment: Shipment, carrier: str | None, tracking_number: str | None) -> DomainError | None:
    """Why `shipment` cannot go to the carrier with this carrier and tracking number, or None when it can:
    the one rule of mark_shipped, which the hand-over screen also asks when a parcel is scanned."""
    if shipment.status is not ShipmentStatus.PACKED:
        return InvalidState(f"{shipment.number} is {shipment.status.label.lower()}: only a packed parcel is handed over")
    if not carrier:
        return InvalidInput(f"Enter the carrier of {shipment.number}", field="carrier")
    order = shipment.order
    if not tracking_number and order.channel.kind.confirms_shipments:
        return InvalidInput(f"Enter the tracking number of {shipment.number}: {order.channel.kind.value.capitalize()} "
                            "is told of the shipment with it", field="tracking_number")
    return None


@service
def mark_shipped(actor: User, shipment_id: int, carrier: str | None = None,
                 tracking_number: str | None = None) -> Shipment:
    """The carrier has the parcel: packed → shipped. The carrier and tracking number given replace the
    shipment's own (set when it was packed); a carrier is needed, and a tracking number for a marketplace
    order (its channel is told of the shipment with it).

    Raises InvalidInput when one is missing, InvalidState unless the shipment is packed.
    """
    shipment = _locked_shipment(shipment_id)
    carrier = _clean(carrier) or shipment.carrier
    tracking_number = _clean(tracking_number) or shipment.tracking_number
    refusal = handover_refusal(shipment, carrier, tracking_number)
    if refusal is not None:
        raise refusal
    order = shipment.order
    shipment.status = ShipmentStatus.SHIPPED
    shipment.carrier, shipment.tracking_number = carrier, tracking_number
    shipment.shipped_at = utcnow()
    hourly_counts.count_shipped(shipment)
    events.shipment_shipped(order, actor, shipment)
    if order.channel.kind.confirms_shipments:
        # The marketplace must hear of it; the sync sends it and retries until the channel accepts it.
        db.session.add(ShipmentConfirmation(shipment=shipment, channel_id=order.channel_id))
    customer_emails.queue_email(shipment, "shipped")
    refresh_order(order)
    return shipment


@service
def cancel_shipment(actor: User, shipment_id: int) -> Shipment:
    """Unpack a parcel still on the bench: packed → cancelled. Its units go back on the shelf, still
    allocated to their lines (the ledger says "unpack"), its label is void, and the order is back to
    waiting for them to be packed.

    Raises InvalidState once the carrier has it, or when an invoice covers it (credit it first).
    """
    shipment = _locked_shipment(shipment_id)
    if shipment.status is not ShipmentStatus.PACKED:
        raise InvalidState(f"{shipment.number} is {shipment.status.label.lower()}: only a packed parcel can be cancelled")
    invoiced = db.session.scalar(
        sa.select(Invoice.number).where(Invoice.shipment_id == shipment.id).limit(1)) or db.session.scalar(
        sa.select(Invoice.number).join(InvoicedShipmentUnits, InvoicedShipmentUnits.invoice_id == Invoice.id)
        .join(ShipmentLine, ShipmentLine.id == InvoicedShipmentUnits.shipment_line_id)
        .where(ShipmentLine.shipment_id == shipment.id).limit(1))
    if invoiced is not None:
        raise InvalidState(f"{shipment.number} is invoiced on invoice {invoiced}: it cannot be cancelled")
    for shipment_line in shipment.lines:
        stock.unship_units(shipment_line.order_line, shipment_line.quantity, actor, shipment.id,
                           shipment.location_id)
    shipment.status = ShipmentStatus.CANCELLED
    shipment.cancelled_at = utcnow()
    units = sum(sl.quantity for sl in shipment.lines)
    order = shipment.order
    events.shipment_cancelled(order, actor, shipment, units)
    refresh_order(order)
    return shipment


@service
def mark_delivered(actor: User, shipment_id: int) -> Shipment:
    """The parcel arrived: shipped → delivered; the order is Fulfilled once every unit is delivered.

    Raises InvalidState unless the shipment is shipped.
    """
    shipment = _locked_shipment(shipment_id)
    if shipment.status not in WITH_CARRIER:
        raise InvalidState(f"{shipment.number} is {shipment.status.label.lower()}: only a parcel with the carrier "
                           "can be delivered")
    shipment.status = ShipmentStatus.DELIVERED
    shipment.delivered_at = utcnow()
    order = shipment.order
    events.shipment_delivered(order, actor, shipment)
    customer_emails.queue_email(shipment, "delivered")
    refresh_order(order)
    if order.status is OrderStatus.FULFILLED:
        events.fulfilled(order, actor)
    return shipment
