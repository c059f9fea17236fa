"""Printing is part of an order's history: who printed which document, when."""
from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import Order, User
from . import events


@service
def record_printing(actor: User, printed: Mapping[int, list[str]]) -> None:
    """Write a "printed" event on each order's timeline, all in one transaction."""
    orders = {o.id: o for o in db.session.scalars(sa.select(Order).where(Order.id.in_(list(printed))))}
    for order_id in sorted(printed):
        if order_id in orders and printed[order_id]:
            events.printed(orders[order_id], actor, printed[order_id])
