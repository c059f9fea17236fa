"""The stock rules, all of them: allocating, backordering, releasing, shipping, receiving, adjusting,
at every location.

Stock is kept per (product, location) in `location_stock`: `in_hand` (physically there) and `committed`
(allocated to open orders, not yet shipped); available = in hand - committed. A product's own columns
(`stock_in_hand`, `stock_committed`) are the sums over the locations it is sold from (warehouses and
3PLs): a quarantine area holds our units but never sells them, and a drop-ship supplier's location holds
none of ours (its lines are allocated there without counting our stock). Every change is one guarded
UPDATE of the location's row and one of the product's, done by the database's arithmetic (never
read-modify-write in Python), and one row in the stock ledger naming the location.
An order line's allocation is kept per location too (`line_allocations`); the line's allocated and
shipped counts are their sums. The callers hold the row locks of domain.locking (a product's lock
covers its rows at every location) and run inside a write transaction.

Allocation has one rule, plan_allocation, pure so that every path applies it: an order or a line
(allocate_lines), a batch of new orders (domain.batch_intake, whose counts move through commit_many),
and the demo seed's simulation (seed.history). The policy, in the shop's words:
  1. a drop-shipped product's lines go to its supplier's location, whole;
  2. the other lines come from one location that can fill all of them, the highest priority such one
     (one parcel rather than two);
  3. when no single location can, each line takes what it can from the locations in priority order,
     so the order is split across locations; what no location has is backordered.
The locations an order may use are the active sell-from locations, or only those its sales channel is
limited to (sites_for). Stock that becomes available at a location (received, counted up, freed) fills
the backordered lines that may use that location, oldest finalized first (plan_backorder_fill).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import metrics
from ..extensions import db
from ..models import (ChannelLocation, LineAllocation, Location, LocationKind, LocationStock, Order, OrderLine,
                      Product, StockMove, User)
from . import bulk_rows
from .errors import InvalidInput
from .locking import allocations_newest_first, backordered_lines

Take = tuple[int, int]  # (location id, units)


class StockRaceLost(RuntimeError):
    """A guarded update found the counts changed under it: a locking bug, never a user error."""


# --- Where from: the policy, pure ----------------------------------------------------------------------

def plan_allocation(needs: Sequence[tuple[int | None, int]], sites: Sequence[int],
                    available_of: MutableMapping[tuple[int, int], int],
                    drop_ship_of: Mapping[int, int] | None = None) -> list[list[Take]]:
    """The allocation rule, the one every path applies (a single order, a batch, the demo seed's simulation).

    `needs` is, per line of one order in the order they are served, its product (None: no product, nothing
    to take) and the units it still needs; `sites` the locations the order may take from, highest priority
    first; `available_of` the units available per (product, location); `drop_ship_of` the drop-ship
    location of each drop-shipped product. See the module's policy. The units taken are subtracted from
    `available_of`, so the next call (the next order of a batch) sees what is left. Pure: no database.
    Returns, per line, the (location, units) it takes.
    """
    drop_ship_of = drop_ship_of or {}
    takes: list[list[Take]] = [[] for _ in needs]
    own: dict[int, int] = {}  # product -> units the order's own-stock lines need
    for product_id, needed in needs:
        if product_id is not None and needed > 0 and product_id not in drop_ship_of:
            own[product_id] = own.get(product_id, 0) + needed
    whole = next((site for site in sites
                  if all(available_of.get((product_id, site), 0) >= units for product_id, units in own.items())),
                 None) if own else None
    for index, (product_id, needed) in enumerate(needs):
        if product_id is None or needed <= 0:
            continue
        if product_id in drop_ship_of:
            takes[index].append((drop_ship_of[product_id], needed))
            continue
        for site in ((whole,) if whole is not None else sites):
            have = available_of.get((product_id, site), 0)
            take = min(needed, have)
            if take > 0:
                available_of[(product_id, site)] = have - take
                takes[index].append((site, take))
                needed -= take
            if needed == 0:
                break
    return takes


def plan_backorder_fill(lines: Iterable[tuple[int, int, int]], sites_of: Mapping[int, Sequence[int]],
                        available_of: MutableMapping[int, int]) -> list[tuple[int, list[Take]]]:
    """Which backordered lines available units fill: `lines` are (line id, channel id, units short), oldest
    finalized first; `sites_of` each channel's locations in priority order; `available_of` the product's
    units available per location. Each line takes from its channel's locations in order until it is full
    or they are empty. Pure: the lock planner (locking) and the filler (fill_backorders) both walk it.
    """
    plan = []
    for line_id, channel_id, short in lines:
        if not any(units > 0 for units in available_of.values()):
            break
        taken: list[Take] = []
        for site in sites_of[channel_id]:
            have = available_of.get(site, 0)
            take = min(short, have)
            if take > 0:
                available_of[site] = have - take
                taken.append((site, take))
                short -= take
            if short == 0:
                break
        if taken:
            plan.append((line_id, taken))
    return plan


# --- Locations ------------------------------------------------------------------------------------------

_KINDS = "oms_location_kinds"


@sa.event.listens_for(Session, "after_rollback")
def _forget_kinds(session: Session) -> None:
    """A location made in a transaction that rolled back may take its id again with another kind."""
    session.info.pop(_KINDS, None)


def kind_of(location_id: int) -> LocationKind:
    """A location's kind (it never changes once made), read once per session."""
    kinds: dict[int, LocationKind] = db.session.info.setdefault(_KINDS, {})
    if location_id not in kinds:
        kind = db.session.scalar(sa.select(Location.kind).where(Location.id == location_id))
        if kind is None:
            raise InvalidInput(f"Location {location_id} does not exist", field="location")
        kinds[location_id] = kind
    return kinds[location_id]


_SITES = (sa.select(Location.id).where(Location.active, Location.kind.in_([k for k in LocationKind if k.sells_from]))
          .order_by(Location.priority.desc(), Location.id))


def sites_for(channel_id: int | None) -> list[int]:
    """The locations an order of this channel may take stock from, highest priority first: the active
    warehouses and 3PLs, or those of them the channel is limited to."""
    limited = sa.select(ChannelLocation.location_id).where(ChannelLocation.channel_id == channel_id)
    query = _SITES.where(sa.or_(~limited.exists(), Location.id.in_(limited)))
    return list(db.session.scalars(query))


def sites_by_channel(channel_ids: Iterable[int | None]) -> dict[int | None, list[int]]:
    return {channel_id: sites_for(channel_id) for channel_id in set(channel_ids)}


def default_location_id() -> int:
    """Where stock goes when nobody says: the highest-priority active warehouse or 3PL."""
    site = db.session.scalar(_SITES.limit(1))
    if site is None:
        raise InvalidInput("There is no active warehouse: add one under Locations first", field="location")
    return site


def drop_ship_locations(product_ids: Iterable[int]) -> dict[int, int]:
    """The drop-ship location of each of these products that is drop-shipped (and whose location is active)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    return dict(db.session.execute(
        sa.select(Product.id, Product.drop_ship_location_id)
        .join(Location, Location.id == Product.drop_ship_location_id)
        .where(Product.id.in_(ids), Location.active, Location.kind == LocationKind.DROP_SHIP)).all())


_AVAILABLE_AT = (sa.select(LocationStock.product_id, LocationStock.location_id,
                           LocationStock.in_hand - LocationStock.committed)
                 .where(LocationStock.product_id.in_(sa.bindparam("ids", expanding=True))))


def available_at(product_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Units available per (product, location), for these products at every location holding a row."""
    ids = sorted(set(product_ids))
    found: dict[tuple[int, int], int] = {}
    for start in range(0, len(ids), 10_000):
        for product_id, location_id, units in db.session.connection().execute(
                _AVAILABLE_AT, {"ids": ids[start:start + 10_000]}):
            found[(product_id, location_id)] = units
    return found


# --- The guarded moves ---------------------------------------------------------------------------------

# The guarded updates of every stock change, built once: in hand and committed move by the database's
# arithmetic, and only while 0 <= committed <= in hand afterwards, at the location and in the product's sums.
_products, _sites = Product.__table__, LocationStock.__table__
_GUARDED_MOVE = (
    sa.update(_products)
    .where(_products.c.id == sa.bindparam("product_id"),
           _products.c.stock_committed + sa.bindparam("committed") >= 0,
           _products.c.stock_committed + sa.bindparam("committed")
           <= _products.c.stock_in_hand + sa.bindparam("in_hand"))
    .values(stock_in_hand=_products.c.stock_in_hand + sa.bindparam("in_hand"),
            stock_committed=_products.c.stock_committed + sa.bindparam("committed")))
_GUARDED_SITE_MOVE = (
    sa.update(_sites)
    .where(_sites.c.product_id == sa.bindparam("site_product"), _sites.c.location_id == sa.bindparam("site"),
           _sites.c.committed + sa.bindparam("committed") >= 0,
           _sites.c.committed + sa.bindparam("committed") <= _sites.c.in_hand + sa.bindparam("in_hand"))
    .values(in_hand=_sites.c.in_hand + sa.bindparam("in_hand"), committed=_sites.c.committed + sa.bindparam("committed")))
_SITE_ROW = sa.select(_sites.c.product_id).where(_sites.c.product_id == sa.bindparam("product_id"),
                                                  _sites.c.location_id == sa.bindparam("location_id"))


def _expire_counts(sites: Iterable[tuple[int, int]]) -> None:
    """A Product or LocationStock the session holds has stale counts after a guarded update: read them
    again on use. `sites` are (product id, location id)."""
    identity_map, identity_key = db.session.identity_map, db.session.identity_key
    for product_id, location_id in sites:
        loaded = identity_map.get(identity_key(Product, product_id))
        if loaded is not None:
            db.session.expire(loaded, ["stock_in_hand", "stock_committed"])
        loaded = identity_map.get(identity_key(LocationStock, (product_id, location_id)))
        if loaded is not None:
            db.session.expire(loaded, ["in_hand", "committed"])


def _ensure_site_row(product_id: int, location_id: int) -> None:
    """A (product, location) row to move: made at zero the first time (under the product's lock, so once)."""
    connection = db.session.connection()
    if connection.execute(_SITE_ROW, {"product_id": product_id, "location_id": location_id}).first() is None:
        connection.execute(sa.insert(_sites), {"product_id": product_id, "location_id": location_id,
                                               "in_hand": 0, "committed": 0})


def _move(product_id: int, location_id: int, *, in_hand: int = 0, committed: int = 0, reason: str,
          actor: User | None, order_id: int | None = None, shipment_id: int | None = None,
          note: str | None = None, **reference: int | None) -> None:
    """One change to a product's stock at one location: its row there, its sums if the location sells,
    and a ledger row (`reference`: the other documents the ledger row names, e.g. transfer_id)."""
    kind = kind_of(location_id)
    if not kind.holds_our_stock:
        raise StockRaceLost(f"a drop-ship location holds none of our stock ({reason})")
    _ensure_site_row(product_id, location_id)
    connection = db.session.connection()
    moved = connection.execute(_GUARDED_SITE_MOVE, {"site_product": product_id, "site": location_id,
                                                    "in_hand": in_hand, "committed": committed}).rowcount
    if moved == 1 and kind.sells_from:
        moved = connection.execute(
            _GUARDED_MOVE, {"product_id": product_id, "in_hand": in_hand, "committed": committed}).rowcount
    if moved != 1:
        raise StockRaceLost(f"stock of product {product_id} at location {location_id} changed under a locked update ({reason})")
    db.session.add(StockMove(product_id=product_id, location_id=location_id, in_hand_delta=in_hand,
                             committed_delta=committed, reason=reason, note=note, order_id=order_id,
                             shipment_id=shipment_id, user_id=actor.id if actor else None, **reference))
    metrics.STOCK_MOVES.labels(reason).inc()
    _expire_counts([(product_id, location_id)])


def commit_many(allocations: Iterable[tuple[int, int, int, int, int]], *, actor_id: int | None,
                now: datetime) -> None:
    """Many allocations at once (a batch of new orders): per (product id, location id, units, order line id,
    order id) a ledger row and a line allocation row; each (product, location) committed count moved once,
    by its total, through _move's own guarded updates, and each product's sums once. Drop-ship allocations
    (at a location holding none of our stock) get their allocation rows only.

    The products must be locked (locking.lock_product_rows). Raises StockRaceLost if a guard fails.
    """
    rows, placed, at_site, committed = [], [], {}, {}
    for product_id, location_id, units, line_id, order_id in allocations:
        placed.append({"order_line_id": line_id, "location_id": location_id, "allocated": units, "shipped": 0})
        kind = kind_of(location_id)
        if not kind.holds_our_stock:
            continue
        rows.append({"product_id": product_id, "location_id": location_id, "in_hand_delta": 0,
                     "committed_delta": units, "reason": "allocate", "note": None,
                     "order_id": order_id, "shipment_id": None, "user_id": actor_id, "created_at": now})
        at_site[(product_id, location_id)] = at_site.get((product_id, location_id), 0) + units
        if kind.sells_from:
            committed[product_id] = committed.get(product_id, 0) + units
    bulk_rows.insert_many(LineAllocation.__table__, placed)
    if not at_site:
        return
    bulk_rows.insert_many(StockMove.__table__, rows)
    metrics.STOCK_MOVES.labels("allocate").inc(len(rows))
    connection = db.session.connection()
    moved = connection.execute(_GUARDED_SITE_MOVE, [
        {"site_product": product_id, "site": location_id, "in_hand": 0, "committed": units}
        for (product_id, location_id), units in sorted(at_site.items())]).rowcount
    if moved != len(at_site):
        raise StockRaceLost("the stock of a product at a location changed under a locked batch allocation")
    moved = connection.execute(_GUARDED_MOVE, [
        {"product_id": product_id, "in_hand": 0, "committed": units}
        for product_id, units in sorted(committed.items())]).rowcount
    if moved != len(committed):
        raise StockRaceLost("the stock of a product changed under a locked batch allocation")
    _expire_counts(at_site)


# --- Allocating and releasing --------------------------------------------------------------------------

def available(product_id: int) -> int:
    """Units of the product available to sell, at every sell-from location together."""
    return db.session.execute(
        sa.select(Product.stock_in_hand - Product.stock_committed).where(Product.id == product_id)).scalar_one()


def _allocation(line: OrderLine, location_id: int) -> LineAllocation:
    for allocation in line.allocations:
        if allocation.location_id == location_id:
            return allocation
    allocation = LineAllocation(location_id=location_id, allocated=0, shipped=0)
    line.allocations.append(allocation)
    return allocation


def _allocate_at(line: OrderLine, location_id: int, units: int, actor: User | None) -> None:
    if kind_of(location_id).holds_our_stock:
        _move(line.product_id, location_id, committed=units, reason="allocate", actor=actor, order_id=line.order_id)
    else:
        line.drop_ship = True
    allocation = _allocation(line, location_id)
    allocation.allocated = allocation.allocated + units
    line.allocated = line.allocated + units


def allocate_lines(lines: list[OrderLine], actor: User | None) -> int:
    """Allocate to the lines of one order what plan_allocation gives them; the rest stays backordered.
    The lines' products must be locked. Returns the units taken."""
    wanted = [line for line in lines if line.product_id is not None and line.ordered > line.allocated]
    if not wanted:
        return 0
    product_ids = {line.product_id for line in wanted}
    available_of = available_at(product_ids)
    plan = plan_allocation([(line.product_id, line.ordered - line.allocated) for line in wanted],
                           sites_for(wanted[0].order.channel_id), available_of, drop_ship_locations(product_ids))
    taken = 0
    for line, takes in zip(wanted, plan):
        for location_id, units in takes:
            _allocate_at(line, location_id, units, actor)
            taken += units
    return taken


def allocate_line(line: OrderLine, actor: User | None) -> int:
    return allocate_lines([line], actor)


def allocate_order(order: Order, actor: User | None) -> int:
    return allocate_lines(list(order.lines), actor)


def _least_preferred_first(line: OrderLine) -> list[LineAllocation]:
    priority = dict(db.session.execute(sa.select(Location.id, Location.priority).where(
        Location.id.in_([a.location_id for a in line.allocations]))).all()) if line.allocations else {}
    return sorted((a for a in line.allocations if a.to_ship > 0),
                  key=lambda a: (priority.get(a.location_id, 0), -a.location_id))


def release_at(line: OrderLine, location_id: int, units: int, actor: User | None, *, note: str | None = None) -> None:
    """Give back `units` of the line's allocated-but-unshipped units at one location."""
    allocation = _allocation(line, location_id)
    assert 0 < units <= allocation.to_ship
    if kind_of(location_id).holds_our_stock:
        _move(line.product_id, location_id, committed=-units, reason="release", actor=actor,
              order_id=line.order_id, note=note)
    allocation.allocated = allocation.allocated - units
    line.allocated = line.allocated - units


def release_line(line: OrderLine, actor: User | None, *, keep: int = 0) -> int:
    """Give back the line's allocated-but-unshipped units beyond `keep`, from its least preferred location
    first. Returns units released."""
    if line.product_id is None:
        return 0
    units = max(line.allocated - line.shipped - keep, 0)
    left = units
    for allocation in _least_preferred_first(line) if units else ():
        take = min(allocation.to_ship, left)
        release_at(line, allocation.location_id, take, actor)
        left -= take
        if not left:
            break
    return units


def reallocate(line: OrderLine, from_location: int, to_location: int, units: int, actor: User | None) -> None:
    """Move `units` of the line's allocation from one location to another that has them available."""
    release_at(line, from_location, units, actor, note=f"moved to location {to_location}")
    _allocate_at(line, to_location, units, actor)


# --- Shipping --------------------------------------------------------------------------------------------

def ship_units(line: OrderLine, quantity: int, actor: User | None, shipment_id: int, location_id: int) -> None:
    """Units leave the location: in hand and committed both drop there, the line's shipped count rises.
    A drop-ship location's units leave the supplier's: none of our stock moves."""
    allocation = _allocation(line, location_id)
    assert line.product_id is not None and 0 < quantity <= allocation.to_ship
    if kind_of(location_id).holds_our_stock:
        _move(line.product_id, location_id, in_hand=-quantity, committed=-quantity, reason="ship", actor=actor,
              order_id=line.order_id, shipment_id=shipment_id)
    allocation.shipped = allocation.shipped + quantity
    line.shipped = line.shipped + quantity


def unship_units(line: OrderLine, quantity: int, actor: User | None, shipment_id: int, location_id: int) -> None:
    """A packed parcel is unpacked (its shipment cancelled): the units are back on the location's shelf,
    still allocated to the line; in hand and committed both rise, the line's shipped count drops."""
    allocation = _allocation(line, location_id)
    assert line.product_id is not None and 0 < quantity <= allocation.shipped
    if kind_of(location_id).holds_our_stock:
        _move(line.product_id, location_id, in_hand=quantity, committed=quantity, reason="unpack", actor=actor,
              order_id=line.order_id, shipment_id=shipment_id)
    allocation.shipped = allocation.shipped - quantity
    line.shipped = line.shipped - quantity


def shippable_from(line: OrderLine) -> dict[int, int]:
    """Units of the line that can ship now, per location."""
    return {a.location_id: a.to_ship for a in line.allocations if a.to_ship > 0}


# What happens to units a customer sends back, by their condition: the ledger reason of each, and its word.
RETURN_CONDITIONS = {"restock": ("return", "restocked"), "quarantine": ("quarantine", "quarantined"),
                     "write_off": ("write_off", "written off")}
QUARANTINE_NAME = "Quarantine"


def quarantine_location_id() -> int:
    """Where returned units in doubt are held (ours, never sold from): the active quarantine location with
    the highest priority, made the first time one is needed (an admin may rename or move it)."""
    found = db.session.scalar(sa.select(Location.id).where(Location.kind == LocationKind.QUARANTINE, Location.active)
                              .order_by(Location.priority.desc(), Location.id).limit(1))
    if found is None:
        location = Location(name=QUARANTINE_NAME, kind=LocationKind.QUARANTINE, priority=0)
        db.session.add(location)
        db.session.flush()
        found = location.id
    return found


def return_units(line: OrderLine, quantity: int, condition: str, actor: User | None, return_id: int,
                 location_id: int | None = None) -> int:
    """Units of a shipped line come back on a return (domain.returns.receive_return): the line's returned
    count rises, and by their condition: restock puts them back in hand at a location (the default one
    unless given; available again: the caller then fills backorders, oldest first, with their orders
    locked); quarantine puts them in hand at the quarantine location (ours, never available); write off
    keeps them out of stock, a ledger row with no change to the counts saying so. Every row carries the
    return's reference. Returns the location the units went to.
    """
    assert line.product_id is not None and 0 < quantity <= line.shipped - line.returned
    reason, done = RETURN_CONDITIONS[condition]
    if condition == "quarantine":
        location_id = quarantine_location_id()
    else:
        location_id = location_id or default_location_id()
        if not kind_of(location_id).sells_from:
            raise InvalidInput("Returned units are restocked at a warehouse or 3PL", field="location")
        refuse_inactive(location_id)
    # The note says the units: a write-off row moves no count to read them from.
    _move(line.product_id, location_id, in_hand=0 if condition == "write_off" else quantity, reason=reason,
          actor=actor, order_id=line.order_id, return_id=return_id, note=f"{quantity} unit(s) {done}")
    line.returned = line.returned + quantity
    return location_id


# --- Filling backorders ----------------------------------------------------------------------------------

def backorder_plan(product_id: int, extra: Mapping[int, int] | None = None,
                   exclude_order_id: int | None = None) -> list[tuple[OrderLine, list[Take]]]:
    """What the product's available units (plus `extra` more per location) would give its backordered
    lines, oldest finalized first (plan_backorder_fill on the database's numbers). A read."""
    available_of = {location_id: units for (_, location_id), units in available_at([product_id]).items()}
    for location_id, units in (extra or {}).items():
        available_of[location_id] = available_of.get(location_id, 0) + units
    sellable = {location_id for location_id in available_of if kind_of(location_id).sells_from}
    available_of = {location_id: units for location_id, units in available_of.items() if location_id in sellable}
    if not any(units > 0 for units in available_of.values()):
        return []
    rows = db.session.execute(backordered_lines(product_id, exclude_order_id=exclude_order_id)
                              .add_columns(Order.channel_id)).all()
    lines = {line.id: line for line, _ in rows}
    sites_of = sites_by_channel(channel_id for _, channel_id in rows)
    plan = plan_backorder_fill(((line.id, channel_id, line.backordered) for line, channel_id in rows),
                               sites_of, available_of)
    return [(lines[line_id], takes) for line_id, takes in plan]


def fill_backorders(product_id: int, actor: User | None) -> list[OrderLine]:
    """Allocate what is available to the product's backordered lines, oldest finalized first, each from
    the locations its order may use. The orders touched must already be locked
    (locking.lock_for_stock_change / lock_order). Returns the lines that received units."""
    filled = []
    for line, takes in backorder_plan(product_id):
        for location_id, units in takes:
            _allocate_at(line, location_id, units, actor)
        filled.append(line)
    return filled


# --- Receiving and counting ------------------------------------------------------------------------------

def receive(product: Product, quantity: int, actor: User | None, note: str | None, location_id: int | None = None,
            *, reason: str = "receive", **reference: int | None) -> int:
    """Units arrive at a location (the default one unless given). Returns the location."""
    if quantity <= 0:
        raise InvalidInput("Quantity received must be a whole number above zero", field="quantity")
    location_id = location_id or default_location_id()
    if not kind_of(location_id).holds_our_stock:
        raise InvalidInput("A drop-ship supplier's location holds none of our stock", field="location")
    refuse_inactive(location_id)
    _move(product.id, location_id, in_hand=quantity, reason=reason, actor=actor, note=note, **reference)
    return location_id


def refuse_inactive(location_id: int) -> None:
    """Stock arrives only at an active location: read under the product's lock, which a deactivation
    takes for every product (domain.locations), so the two never cross."""
    name, active = db.session.execute(sa.select(Location.name, Location.active).where(Location.id == location_id)).one()
    if not active:
        raise InvalidInput(f"{name} is not active: nothing can arrive there", field="location")


def take_out(product_id: int, location_id: int, quantity: int, actor: User | None, *, reason: str,
             note: str | None = None, **reference: int | None) -> None:
    """Units leave a location without an order (a transfer sent): only available units can go, so
    allocated units never leave; InvalidInput otherwise."""
    have = db.session.scalar(sa.select(LocationStock.in_hand - LocationStock.committed).where(
        LocationStock.product_id == product_id, LocationStock.location_id == location_id)) or 0
    if quantity > have:
        raise InvalidInput(f"Only {have:,} unit(s) are available there", field="quantity")
    _move(product_id, location_id, in_hand=-quantity, reason=reason, actor=actor, note=note, **reference)


def counts_at(product_id: int, location_id: int) -> tuple[int, int]:
    row = db.session.execute(sa.select(LocationStock.in_hand, LocationStock.committed).where(
        LocationStock.product_id == product_id, LocationStock.location_id == location_id)).first()
    return (row[0], row[1]) if row else (0, 0)


def allocations_to_take(product_id: int, units: int, location_id: int) -> list[tuple[OrderLine, int]]:
    """Which lines give up how many committed units at the location when `units` must be freed there:
    newest allocations first. A read only: the confirm step of a count shows it, release_newest does it."""
    taken: list[tuple[OrderLine, int]] = []
    for line, allocation in db.session.execute(allocations_newest_first(product_id, location_id)) if units > 0 else ():
        take = min(allocation.to_ship, units)
        taken.append((line, take))
        units -= take
        if units <= 0:
            break
    return taken


def release_newest(product_id: int, units: int, actor: User | None, note: str | None,
                   location_id: int) -> list[tuple[OrderLine, int]]:
    """Take `units` committed units at the location back from the newest allocations; those lines are
    backordered again. The orders must be locked (locking.lock_orders_losing_units)."""
    taken = allocations_to_take(product_id, units, location_id)
    for line, take in taken:
        release_at(line, location_id, take, actor, note=note)
    return taken


def adjust(product: Product, counted: int, actor: User | None, note: str,
           location_id: int | None = None) -> tuple[int, list[tuple[OrderLine, int]]]:
    """Set in-hand at a location to a counted figure: the count is the truth. Below what is committed
    there, the missing units are taken from the newest allocations first (release_newest), so committed
    never exceeds what is there. Returns the change to in hand and the lines that lost units.
    """
    if counted < 0:
        raise InvalidInput("The counted quantity cannot be negative", field="counted")
    location_id = location_id or default_location_id()
    if not kind_of(location_id).holds_our_stock:
        raise InvalidInput("A drop-ship supplier's location holds none of our stock", field="location")
    in_hand, committed = counts_at(product.id, location_id)
    taken = release_newest(product.id, committed - counted, actor, note, location_id)
    delta = counted - in_hand
    if delta:
        _move(product.id, location_id, in_hand=delta, reason="adjust", actor=actor, note=note)
    return delta, taken
