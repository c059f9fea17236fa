"""The order timeline: one event per transition or action, written in the action's transaction."""
from __future__ import annotations

from typing import Any

from ..extensions import db
from ..models import Order, OrderEvent, OrderLine, User


def line_numbers(lines: list[OrderLine]) -> list[dict[str, Any]]:
    return [{"sku": l.sku, "ordered": l.ordered, "allocated": l.allocated, "shipped": l.shipped,
             "invoiced": l.invoiced} for l in lines]


def record(order: Order, actor: User | None, kind: str, message: str, **data: Any) -> OrderEvent:
    event = OrderEvent(order=order, user_id=actor.id if actor else None, kind=kind, message=message,
                       data=data or None)
    db.session.add(event)
    return event
