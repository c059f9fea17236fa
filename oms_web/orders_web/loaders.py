"""The loaders of an order and of one of its shipments, each with the one 404 every view gives: the
order page's actions and the documents (labels, packing slips) alike."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..domain.errors import NotFound
from ..extensions import db
from ..models import Order, OrderLine, Shipment


def load_order(order_id: int) -> Order:
    """The order with its lines, shipments and invoices: 404 for an order that does not exist."""
    order = db.session.scalar(
        sa.select(Order).where(Order.id == order_id)
        .options(selectinload(Order.lines).selectinload(OrderLine.allocations), selectinload(Order.shipments).selectinload(Shipment.lines),
                 selectinload(Order.invoices)))
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    return order


def load_shipment(order_id: int, shipment_id: int) -> Shipment:
    """The shipment of this order: 404 for one that does not exist or belongs to another order (so that
    changing a number in the URL reaches nothing else)."""
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None or shipment.order_id != order_id:
        raise NotFound("That shipment is not part of this order")
    return shipment
