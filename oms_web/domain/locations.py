"""Locations (admin): where stock is kept, and which of them may serve each sales channel.

A location's kind is set once, when it is made (stock, ledger rows and allocations refer to it as such).
Its name, priority (0-1000, higher first), ship-from address and active flag can change; a drop-ship
location names its supplier. A location is deactivated only once it holds nothing: no units in hand or
committed there, no open allocation there (a drop-ship supplier's lines), no transfer on its way from or
to it, no purchase order still to deliver there (draft, sent or partly received); and the shop always
keeps one active warehouse or 3PL (stock arrives there when nobody says where).

A sales channel may be limited to some locations (ChannelLocation rows); none ticked means every active
warehouse and 3PL may serve it (stock.sites_for).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import (ChannelLocation, LineAllocation, Location, LocationKind, LocationStock, Order, OrderLine,
                      OrderStatus, Role, SalesChannel, Supplier, User)
from .errors import InvalidInput, NotFound
from .locking import lock_channels, lock_every_product, lock_location
from .order_rules import require_role
from .purchasing import purchase_orders_delivering_to
from .transfers import open_transfers_at

MIN_PRIORITY, MAX_PRIORITY = 0, 1000
_column = Location.__table__.c


@dataclass(frozen=True)
class LocationDetails:
    """What an admin sets on a location (its kind apart, which is set once)."""

    name: str
    priority: int = 100
    active: bool = True
    supplier_id: int | None = None
    ship_from_name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


ADDRESS_FIELDS = ("ship_from_name", "line1", "line2", "city", "region", "postal_code", "country")


def _text(value: object, field: str, label: str, *, required: bool = False) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{label} must be text", field=field)
    text = (value or "").strip()
    limit = _column[field].type.length
    if len(text) > limit:
        raise InvalidInput(f"{label} has at most {limit:,} characters ({len(text):,} given)", field=field)
    if required and not text:
        raise InvalidInput(f"{label} is required", field=field)
    return text or None


def _checked(details: LocationDetails, kind: LocationKind, location_id: int | None) -> dict:
    name = _text(details.name, "name", "The name", required=True)
    if db.session.scalar(sa.select(Location.id).where(sa.func.lower(Location.name) == name.lower(),
                                                      Location.id != (location_id or 0))):
        raise InvalidInput(f"A location named {name} exists already", field="name")
    priority = details.priority
    if isinstance(priority, bool) or not isinstance(priority, int) or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidInput(f"The priority is a whole number from {MIN_PRIORITY} to {MAX_PRIORITY:,}", field="priority")
    values = {"name": name, "priority": priority, "active": bool(details.active)}
    labels = {"ship_from_name": "The ship-from name", "line1": "Address line 1", "line2": "Address line 2",
              "city": "The city", "region": "The region", "postal_code": "The postal code", "country": "The country"}
    for field in ADDRESS_FIELDS:
        values[field] = _text(getattr(details, field), field, labels[field])
    if values["country"] is not None:
        values["country"] = values["country"].upper()
        if not re.fullmatch(r"[A-Z]{2}", values["country"]):
            raise InvalidInput("The country is its two-letter code (GB, US, DE...)", field="country")
    if (values["line1"] is None) != (values["city"] is None):
        field = "city" if values["line1"] else "line1"
        raise InvalidInput("A ship-from address needs both its first line and its city", field=field)
    supplier_id = details.supplier_id
    if kind is LocationKind.DROP_SHIP:
        if isinstance(supplier_id, bool) or not isinstance(supplier_id, int) \
                or db.session.get(Supplier, supplier_id) is None:
            raise InvalidInput("Choose the supplier who ships from this location", field="supplier")
        values["supplier_id"] = supplier_id
    else:
        values["supplier_id"] = None  # only a drop-ship location is a supplier's
    return values


@service
def create_location(actor: User, kind: LocationKind | str, details: LocationDetails) -> Location:
    """A new location of `kind` (set once). Raises NotAllowed below admin, InvalidInput (field name,
    kind, priority, supplier or an address field)."""
    require_role(actor, Role.ADMIN, "manage locations")
    try:
        kind = LocationKind(kind)
    except ValueError:
        raise InvalidInput("Choose what kind of location this is", field="kind") from None
    location = Location(kind=kind, **_checked(details, kind, None))
    db.session.add(location)
    db.session.flush()
    return location


@dataclass(frozen=True)
class HeldThere:
    in_hand: int
    committed: int
    allocated: int  # open allocations there (a drop-ship supplier's lines)
    transfers: int  # transfers on their way from or to it

    @property
    def anything(self) -> bool:
        return bool(self.in_hand or self.committed or self.allocated or self.transfers)

    def __str__(self) -> str:
        parts = [f"{self.in_hand:,} unit(s) in hand" if self.in_hand else "",
                 f"{self.committed:,} committed to orders" if self.committed else "",
                 f"{self.allocated:,} allocated to open order lines" if self.allocated and not self.committed else "",
                 f"{self.transfers:,} open transfer(s)" if self.transfers else ""]
        return ", ".join(p for p in parts if p)


def held_at(location_id: int) -> HeldThere:
    in_hand, committed = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(LocationStock.in_hand), 0),
                  sa.func.coalesce(sa.func.sum(LocationStock.committed), 0))
        .where(LocationStock.location_id == location_id)).one()
    allocated = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LineAllocation.allocated - LineAllocation.shipped), 0))
        .join(OrderLine, OrderLine.id == LineAllocation.order_line_id).join(Order, Order.id == OrderLine.order_id)
        .where(LineAllocation.location_id == location_id, Order.status == OrderStatus.FINALIZED))
    return HeldThere(int(in_hand), int(committed), int(allocated or 0), open_transfers_at(location_id))


@service
def update_location(actor: User, location_id: int, details: LocationDetails) -> Location:
    """Change a location's name, priority, ship-from address, supplier (drop-ship) or active flag; its kind
    stays. Deactivating is refused while it holds anything (see the module) or when it is the last active
    warehouse or 3PL. Raises NotAllowed below admin, NotFound, InvalidInput naming the field."""
    require_role(actor, Role.ADMIN, "manage locations")
    now = db.session.execute(sa.select(Location.active, Location.supplier_id)
                             .where(Location.id == location_id)).first()
    if now is not None and ((details.active is False and now.active)
                            or (now.supplier_id is not None and details.supplier_id != now.supplier_id)):
        # Deactivating, or handing a drop-ship location to another supplier: every stock movement and
        # allocation at a location holds its product's lock, so with every product locked (first, as the
        # lock order says) nothing arrives there between the checks below and the commit, and whatever
        # comes after finds it inactive (stock.receive refuses it) or sends its lines to the new supplier.
        lock_every_product()
    location = lock_location(location_id)
    if location is None:
        raise NotFound(f"There is no location {location_id}")
    values = _checked(details, location.kind, location.id)
    if location.active and not values["active"]:
        if location.kind.sells_from and not db.session.scalar(sa.select(sa.func.count()).select_from(Location).where(
                Location.active, Location.id != location.id,
                Location.kind.in_([k for k in LocationKind if k.sells_from]))):
            raise InvalidInput(f"{location.name} is the last active warehouse: stock must arrive somewhere",
                               field="active")
        held = held_at(location.id)
        if held.anything:
            raise InvalidInput(f"{location.name} still holds {held}: move, ship or count them out before "
                               "deactivating it", field="active")
        coming = purchase_orders_delivering_to(location.id)
        if coming:
            raise InvalidInput(f"{_purchase_orders_text(coming)} still to deliver to {location.name}: receive, "
                               "close or cancel them (or send a draft elsewhere) before deactivating it",
                               field="active")
    if location.supplier_id is not None and values.get("supplier_id") != location.supplier_id:
        waiting = held_at(location.id).allocated
        if waiting:
            # Those units are on the present supplier's drop-ship POs, which the supplier's link confirms.
            raise InvalidInput(f"{waiting:,} unit(s) at {location.name} are still for its present supplier to "
                               "ship: let them ship, or cut them from their orders, before changing the supplier",
                               field="supplier")
    for name, value in values.items():
        setattr(location, name, value)
    return location


def _purchase_orders_text(purchase_orders: list, shown: int = 5) -> str:
    """The POs as a sentence's subject ('Purchase orders PO-000003 (sent), PO-000007 (draft) are'): the
    first few by number, then how many more."""
    named = [f"{po.number} ({po.state.label.lower()})" for po in purchase_orders[:shown]]
    more = len(purchase_orders) - shown
    text = ", ".join(named) + (f" and {more:,} more" if more > 0 else "")
    return f"Purchase order {text} is" if len(purchase_orders) == 1 else f"Purchase orders {text} are"


@service
def set_channel_locations(actor: User, channel_id: int, location_ids: Iterable[int]) -> list[int]:
    """Limit a sales channel to these locations (none: every active warehouse and 3PL may serve it).
    Orders allocated from now on follow it; allocations made stay where they are.

    Raises NotAllowed below admin, NotFound, InvalidInput (field locations) for a location that cannot
    serve orders (a quarantine area, a drop-ship supplier, an inactive or unknown one)."""
    require_role(actor, Role.ADMIN, "choose where a channel ships from")
    ids = sorted(set(location_ids))
    lock_channels([channel_id])
    if db.session.get(SalesChannel, channel_id) is None:
        raise NotFound(f"There is no channel {channel_id}")
    for location_id in ids:
        location = db.session.get(Location, location_id) if isinstance(location_id, int) else None
        if location is None or not location.active or not location.kind.sells_from:
            raise InvalidInput("Only an active warehouse or 3PL can serve a channel's orders", field="locations")
    db.session.execute(sa.delete(ChannelLocation).where(ChannelLocation.channel_id == channel_id))
    db.session.add_all([ChannelLocation(channel_id=channel_id, location_id=location_id) for location_id in ids])
    return ids


# --- Reads ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LocationRow:
    location: Location
    in_hand: int
    committed: int

    @property
    def available(self) -> int:
        return self.in_hand - self.committed


def location_rows() -> list[LocationRow]:
    """Every location, active first, then by priority (highest first), with its units in hand and committed."""
    sums = (sa.select(LocationStock.location_id, sa.func.sum(LocationStock.in_hand).label("in_hand"),
                      sa.func.sum(LocationStock.committed).label("committed"))
            .group_by(LocationStock.location_id).subquery())
    rows = db.session.execute(
        sa.select(Location, sa.func.coalesce(sums.c.in_hand, 0), sa.func.coalesce(sums.c.committed, 0))
        .outerjoin(sums, sums.c.location_id == Location.id)
        .order_by(Location.active.desc(), Location.priority.desc(), Location.name)).all()
    return [LocationRow(location, int(in_hand), int(committed)) for location, in_hand, committed in rows]


def own_locations(*, active_only: bool = True) -> list[Location]:
    """Locations holding our stock (transfers go between these), highest priority first."""
    query = sa.select(Location).where(Location.kind != LocationKind.DROP_SHIP)
    if active_only:
        query = query.where(Location.active)
    return list(db.session.scalars(query.order_by(Location.priority.desc(), Location.id)))


def serving_locations() -> list[Location]:
    """Active warehouses and 3PLs: what a channel may be limited to."""
    return list(db.session.scalars(sa.select(Location).where(
        Location.active, Location.kind.in_([k for k in LocationKind if k.sells_from]))
        .order_by(Location.priority.desc(), Location.id)))


def channel_location_ids(channel_id: int) -> set[int]:
    return set(db.session.scalars(sa.select(ChannelLocation.location_id).where(ChannelLocation.channel_id == channel_id)))


def suppliers() -> list[Supplier]:
    return list(db.session.scalars(sa.select(Supplier).order_by(Supplier.name)))


def get_location(location_id: int) -> Location:
    location = db.session.get(Location, location_id)
    if location is None:
        raise NotFound(f"There is no location {location_id}")
    return location
