"""A shipment handed to the carrier, which queues its confirmation to the channel."""
from __future__ import annotations

import sqlalchemy as sa

from oms_web.domain import shipping
from oms_web.extensions import db
from oms_web.models import Order, ShipmentConfirmation


def ship(shop, order: Order, quantities: dict[int, int] | None = None, tracking: str = "RM123456789GB") -> int:
    shipment = shipping.ship_lines(shop.staff, order.id, quantities or {line.id: line.ordered for line in order.lines})
    shipping.mark_shipped(shop.staff, shipment.id, "Royal Mail", tracking)
    db.session.rollback()
    return db.session.scalar(sa.select(ShipmentConfirmation.id).where(ShipmentConfirmation.shipment_id == shipment.id))
