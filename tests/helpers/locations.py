"""Locations and transfers for the tests: a second warehouse (or a quarantine area), a product's counts
at one location, and every row of every table (to prove a refusal changed nothing)."""
from __future__ import annotations

import sqlalchemy as sa

from oms_web.domain import inventory, locations, stock, transfers
from oms_web.extensions import db
from oms_web.models import Location, LocationKind, Transfer

MAIN = 1  # the location every migrated database (and every test's) has: "Main warehouse"


def add_location(shop, name: str, kind: LocationKind = LocationKind.WAREHOUSE, priority: int = 50) -> int:
    """A new active location of ours, made by the admin through the service; its id."""
    return locations.create_location(shop.admin, kind, locations.LocationDetails(name=name, priority=priority)).id


def receive_at(shop, sku: str, units: int, location_id: int) -> None:
    inventory.receive_stock(shop.manager, shop.product_row(sku).id, units, "opening stock", location_id)


def counts(shop, sku: str, location_id: int) -> tuple[int, int]:
    """(in hand, committed) of the product at the location, as stored."""
    found = stock.counts_at(shop.product_row(sku).id, location_id)
    db.session.rollback()
    return found


def shipped_transfer(shop, source: int, destination: int, *lines: tuple[str, int]) -> Transfer:
    """A transfer made and shipped by the manager."""
    made = transfers.create_transfer(shop.manager, source, destination, list(lines))
    return transfers.ship_transfer(shop.manager, made.id)


def transfer_row(transfer_id: int) -> Transfer:
    db.session.rollback()
    return transfers.get_transfer(transfer_id)


def every_row() -> dict[str, list[tuple]]:
    """Every row of every table, straight from the database."""
    db.session.rollback()
    rows = {table.name: [tuple(row) for row in db.session.execute(
        sa.select(table).order_by(*table.primary_key.columns)).all()] for table in db.metadata.sorted_tables}
    db.session.rollback()
    return rows


def location_named(name: str) -> Location:
    return db.session.scalar(sa.select(Location).where(Location.name == name))
