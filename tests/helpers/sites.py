"""Test helper: a second (or third) location, stock received there, and a snapshot of where every
order's units are, to prove a refused move changed nothing at any location."""
from __future__ import annotations

import sqlalchemy as sa

from oms_web.domain import inventory
from oms_web.extensions import db
from oms_web.models import LineAllocation, Location, LocationKind, LocationStock, SalesChannel, ChannelLocation

MAIN = 1  # "Main warehouse": every migrated database and every test has it


def location(name: str, *, priority: int = 50, kind: LocationKind = LocationKind.WAREHOUSE, active: bool = True,
             **address) -> Location:
    """A location of its own (priority below Main warehouse's 100 unless said)."""
    place = Location(name=name, kind=kind, priority=priority, active=active, **address)
    db.session.add(place)
    db.session.commit()
    return place


def receive_at(shop, product_id: int, units: int, location_id: int) -> None:
    inventory.receive_stock(shop.manager, product_id, units, "opening stock", location_id)


def limit_channel(channel: SalesChannel, *location_ids: int) -> None:
    for location_id in location_ids:
        db.session.add(ChannelLocation(channel_id=channel.id, location_id=location_id))
    db.session.commit()


def where(line_id: int) -> dict[int, tuple[int, int]]:
    """The line's units per location: (allocated, shipped)."""
    db.session.expire_all()
    return {a.location_id: (a.allocated, a.shipped) for a in db.session.scalars(
        sa.select(LineAllocation).where(LineAllocation.order_line_id == line_id)) if a.allocated}


def counts(product_id: int, location_id: int) -> tuple[int, int]:
    """(in hand, committed) of the product at the location."""
    db.session.expire_all()
    row = db.session.get(LocationStock, (product_id, location_id))
    return (row.in_hand, row.committed) if row else (0, 0)


def site_snapshot() -> dict:
    """Every per-location figure: stock rows and line allocations."""
    db.session.rollback()
    snap = {
        "location stock": [tuple(r) for r in db.session.execute(sa.select(
            LocationStock.product_id, LocationStock.location_id, LocationStock.in_hand, LocationStock.committed)
            .order_by(LocationStock.product_id, LocationStock.location_id))],
        "allocations": [tuple(r) for r in db.session.execute(sa.select(
            LineAllocation.order_line_id, LineAllocation.location_id, LineAllocation.allocated, LineAllocation.shipped)
            .order_by(LineAllocation.order_line_id, LineAllocation.location_id))],
    }
    db.session.rollback()
    return snap
