"""Shipping services: pack allocated units into a shipment, hand it to the carrier, see it delivered."""
from __future__ import annotations

from collections.abc import Mapping

from ..database import service
from ..extensions import db
from ..models import (ChannelKind, Order, OrderStatus, PaymentStatus, Shipment, ShipmentConfirmation, ShipmentLine,
                      ShipmentStatus, User, utcnow)
from . import events, hourly_counts, stock
from .errors import InvalidInput, InvalidState, NotFound, QuantityTooLarge, Shortfall
from .locking import lock_order
from .orders import check_quantity, refresh_order

# Channels whose orders we ship must be told of each shipment (carrier, tracking number, lines).
CONFIRMED_CHANNELS = (ChannelKind.AMAZON, ChannelKind.EBAY)


@service
def ship_lines(actor: User, order_id: int, quantities: Mapping[int, int], *, carrier: str | None = None,
               service_level: str | None = None, tracking_number: str | None = None) -> Shipment:
    """Create a shipment of the chosen lines and quantities (a partial shipment may carry part of a line).

    Stock in hand and committed both drop by what ships. Only allocated units can ship: every line
    asked beyond that is reported at once in QuantityTooLarge. Raises InvalidState for an order that
    is not finalized, on hold or awaiting payment; InvalidInput for unknown lines or no units at all.
    """
    wanted = {}
    for line_id, quantity in quantities.items():
        if check_quantity(quantity, field_name=f"qty-{line_id}", allow_zero=True):
            wanted[line_id] = quantity
    if not wanted:
        raise InvalidInput("Choose at least one unit to ship", field="quantities")
    order = lock_order(order_id)
    refuse_unshippable(order)
    lines = {line.id: line for line in order.lines}
    missing = sorted(set(wanted) - lines.keys())
    if missing:
        raise InvalidInput(f"Line {missing[0]} is not on {order.number}", field="quantities")
    short = [Shortfall(lines[i].sku, q, lines[i].to_ship) for i, q in wanted.items() if q > lines[i].to_ship]
    if short:
        raise QuantityTooLarge("Only allocated units can ship", short, field="quantities")

    shipment = Shipment(order=order, carrier=_clean(carrier), service_level=_clean(service_level) or order.service_level,
                        tracking_number=_clean(tracking_number), created_by_id=actor.id if actor else None)
    db.session.add(shipment)
    db.session.flush()
    for line_id in sorted(wanted):
        line = lines[line_id]
        shipment.lines.append(ShipmentLine(order_line=line, quantity=wanted[line_id]))
        stock.ship_units(line, wanted[line_id], actor, shipment.id)
    units = sum(wanted.values())
    events.record(order, actor, "shipment_created", f"{shipment.number} packed: {units} unit(s)",
                  shipment_id=shipment.id, lines=events.line_numbers(order.lines))
    refresh_order(order)
    return shipment


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


@service
def mark_shipped(actor: User, shipment_id: int, carrier: str, tracking_number: str) -> Shipment:
    """The carrier has the parcel: created → shipped, with carrier and tracking number.

    Raises InvalidInput without a carrier or tracking number, InvalidState if already shipped.
    """
    carrier, tracking_number = _clean(carrier), _clean(tracking_number)
    if not carrier:
        raise InvalidInput("Enter the carrier", field="carrier")
    if not tracking_number:
        raise InvalidInput("Enter the tracking number", field="tracking_number")
    shipment = _locked_shipment(shipment_id)
    if shipment.status is not ShipmentStatus.CREATED:
        raise InvalidState(f"{shipment.number} is already {shipment.status.value}")
    shipment.status = ShipmentStatus.SHIPPED
    shipment.carrier, shipment.tracking_number = carrier, tracking_number
    shipment.shipped_at = utcnow()
    hourly_counts.count_shipped(shipment)
    events.record(shipment.order, actor, "shipment_shipped",
                  f"{shipment.number} handed to {carrier}, tracking {tracking_number}", shipment_id=shipment.id)
    if shipment.order.channel.kind in CONFIRMED_CHANNELS:
        # The marketplace must hear of it; the sync sends it and retries until the channel accepts it.
        db.session.add(ShipmentConfirmation(shipment=shipment, channel_id=shipment.order.channel_id))
    refresh_order(shipment.order)
    return shipment


@service
def mark_delivered(actor: User, shipment_id: int) -> Shipment:
    """The parcel arrived: shipped → delivered; the order is Fulfilled once every unit is delivered.

    Raises InvalidState unless the shipment is shipped.
    """
    shipment = _locked_shipment(shipment_id)
    if shipment.status is not ShipmentStatus.SHIPPED:
        raise InvalidState(f"{shipment.number} is {shipment.status.value}: only a shipped parcel can be delivered")
    shipment.status = ShipmentStatus.DELIVERED
    shipment.delivered_at = utcnow()
    order = shipment.order
    events.record(order, actor, "shipment_delivered", f"{shipment.number} delivered", shipment_id=shipment.id)
    refresh_order(order)
    if order.status is OrderStatus.FULFILLED:
        events.record(order, actor, "fulfilled", "Fulfilled: every unit delivered")
    return shipment
