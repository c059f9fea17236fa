"""Where an order's units are: which location holds which units of each line, and moving a line's
allocation from one location to another that has the units (staff, from the order page).

The allocation rule itself (which location an order takes from) is domain.stock's; this is the
hand-made correction: a packer finds the units are on the other site's shelf, or an order should go
out in one parcel from the warehouse that now has all of it.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import Location, Order, OrderLine, OrderStatus, Role, User
from . import events, stock
from .errors import InvalidInput, InvalidState, NotFound
from .locking import lock_order
from .order_rules import check_quantity, fill_backorders_and_refresh, refresh_order, require_role


@dataclass(frozen=True)
class Placement:
    """Units of one line at one location: allocated there, and how many of those have shipped."""

    location_id: int
    name: str
    allocated: int
    shipped: int

    @property
    def to_ship(self) -> int:
        return self.allocated - self.shipped


def location_names(location_ids=None) -> dict[int, str]:
    query = sa.select(Location.id, Location.name)
    if location_ids is not None:
        query = query.where(Location.id.in_(sorted(set(location_ids))))
    return dict(db.session.execute(query).all())


def placements(order: Order) -> dict[int, list[Placement]]:
    """Per line id, where its units are (locations in id order, those with none left out)."""
    ids = {a.location_id for line in order.lines for a in line.allocations}
    names = location_names(ids) if ids else {}
    return {line.id: [Placement(a.location_id, names[a.location_id], a.allocated, a.shipped)
                      for a in line.allocations if a.allocated > 0] for line in order.lines}


def ship_from_choices(order: Order) -> dict[int, str]:
    """The locations holding units of the order that can ship now (our own: drop-ship units are the
    supplier's to confirm), by name order."""
    ids = {a.location_id for line in order.lines for a in line.allocations
           if a.to_ship > 0 and stock.kind_of(a.location_id).holds_our_stock}
    return dict(sorted(location_names(ids).items(), key=lambda item: item[1])) if ids else {}


def units_at(order: Order, location_id: int) -> dict[int, int]:
    """Per line id, the units that can ship now from the location."""
    return {line.id: units for line in order.lines
            if (units := stock.shippable_from(line).get(location_id, 0)) > 0}


def move_targets(order: Order) -> dict[int, str]:
    """The locations the order's channel may take stock from (sites_for), by priority."""
    sites = stock.sites_for(order.channel_id)
    names = location_names(sites) if sites else {}
    return {site: names[site] for site in sites}


def _location(location_id: object, field: str) -> Location:
    if isinstance(location_id, bool) or not isinstance(location_id, int):
        raise InvalidInput("Choose a location", field=field)
    location = db.session.get(Location, location_id)
    if location is None:
        raise InvalidInput("That location does not exist", field=field)
    return location


@service
def move_allocation(actor: User, order_id: int, line_id: int, from_location_id: int, to_location_id: int,
                    units: int) -> OrderLine:
    """Move `units` of a line's allocated, unpacked units from one location to another that has them
    available. The units freed at the source go to the backorders waiting there, oldest first.

    Raises NotAllowed without a role, NotFound for an unknown order or line, InvalidState for an order
    that is not finalized, InvalidInput for more units than are allocated at the source, a destination
    that is inactive, a drop-ship supplier, not one the order's channel may use, or short of the units.
    """
    require_role(actor, Role.STAFF, "move allocations")
    check_quantity(units, field_name="units")
    source = _location(from_location_id, "from_location")
    target = _location(to_location_id, "to_location")
    # The order, its products, and the orders whose backorders the freed units would fill, in lock order.
    order = lock_order(order_id, frees_stock=True)
    line = next((l for l in order.lines if l.id == line_id), None)
    if line is None:
        raise NotFound(f"Line {line_id} is not on {order.number}", field="line")
    if order.status is not OrderStatus.FINALIZED:
        raise InvalidState(f"{order.number} is {order.status.value}: only a finalized order's allocation moves")
    if line.product_id is None:
        raise InvalidInput(f"{line.sku} matches no product: it has no allocation to move", field="line")
    if source.id == target.id:
        raise InvalidInput(f"The units are at {source.name} already: choose another location", field="to_location")
    if not source.kind.holds_our_stock:
        raise InvalidInput(f"{line.sku} is drop-shipped by {source.name}: its units are the supplier's",
                           field="from_location")
    here = stock.shippable_from(line).get(source.id, 0)
    if units > here:
        raise InvalidInput(f"{source.name} holds {here:,} unpacked unit(s) of {line.sku} for this order, not {units:,}"
                           if here else f"{source.name} holds none of {line.sku} for this order", field="units")
    if not target.active:
        raise InvalidInput(f"{target.name} is inactive: nothing ships from it", field="to_location")
    if not target.kind.sells_from:
        raise InvalidInput(f"{target.name} is a {target.kind.label.lower()}: orders are not allocated there",
                           field="to_location")
    if target.id not in stock.sites_for(order.channel_id):
        raise InvalidInput(f"Orders from {order.channel.name} may not ship from {target.name}", field="to_location")
    in_hand, committed = stock.counts_at(line.product_id, target.id)
    if in_hand - committed < units:
        have = in_hand - committed
        raise InvalidInput(f"{target.name} has {have:,} unit(s) of {line.sku} available, not {units:,}" if have > 0
                           else f"{target.name} holds none of {line.sku} available", field="units")
    stock.reallocate(line, source.id, target.id, units, actor)
    events.allocation_moved(order, actor, line, source.name, target.name, units)
    refresh_order(order)
    fill_backorders_and_refresh({line.product_id}, actor)
    return line
