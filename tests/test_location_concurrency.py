"""Stock safety across two warehouses under real concurrency: eight OS processes allocating, shipping from
either location, receiving and counting at either, moving allocations between them, transferring stock
from one to the other and receiving it, all on the same products at once (tests/helpers/processes.py, as
tests/test_concurrency.py). Afterwards every invariant holds per product and per (product, location),
no unit sits available at a location a backordered line's channel may use, and nothing raised but
refusals.
"""
from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from oms_web.domain import allocations, inventory, orders, shipping, transfers
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import (ChannelKind, ChannelLocation, LineAllocation, Location, LocationKind, Order, SalesChannel,
                            Transfer)

from .helpers.processes import Outcome, actors, attempt, errors_of, read, spawned_children, total_of, user_ids
from .stock_checks import idle_stock_beside_backorders

SKUS = ["A", "B", "C"]


# ---------------------------------------------------------------- the children's side

def _allocations_of(order_id: int) -> dict[int, dict[int, int]]:
    """The order's units that can ship, per location: {location: {line: units}}."""
    found: dict[int, dict[int, int]] = {}
    for line_id, location_id, units in read(
            sa.select(LineAllocation.order_line_id, LineAllocation.location_id,
                      LineAllocation.allocated - LineAllocation.shipped)
            .join(LineAllocation.line).where(sa.literal_column("order_lines.order_id") == order_id)):
        if units > 0:
            found.setdefault(location_id, {})[line_id] = units
    return found


def _two_sites(outcome: Outcome, ids: dict[str, int], seed: int, rounds: int, channels: list[int],
               sites: list[int]) -> None:
    rng = random.Random(seed)
    who = actors(ids)
    product_ids = {sku: product_id for sku, product_id in read(sa.text("SELECT sku, id FROM products"))}
    mine: list[int] = []
    for round_number in range(rounds):
        skus = rng.sample(SKUS, rng.randint(1, 3))
        made = attempt(outcome, "order", orders.create_order, None, NewOrder(
            channel_id=rng.choice(channels), channel_order_id=f"L{seed}-{round_number}",
            customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com"),
            lines=[LineRequest(sku, rng.randint(1, 3)) for sku in skus]))
        if isinstance(made, Order):
            mine.append(made.id)
        if not mine:
            continue
        order_id = rng.choice(mine)
        placed = _allocations_of(order_id)
        if placed:
            location_id = rng.choice(sorted(placed))
            attempt(outcome, "ship", shipping.ship_lines, who.staff, order_id,
                    {line_id: rng.randint(1, units) for line_id, units in placed[location_id].items()},
                    location_id=location_id)
        site = rng.choice(sites)
        attempt(outcome, "receive", inventory.receive_stock, who.manager, product_ids[rng.choice(SKUS)],
                rng.randint(1, 4), "delivery", location_id=site)
        if round_number % 3 == 1:
            sku = rng.choice(SKUS)
            in_hand = read(sa.text("SELECT in_hand FROM location_stock WHERE product_id = :p AND location_id = :l")
                           .bindparams(p=product_ids[sku], l=site))
            counted = max((in_hand[0][0] if in_hand else 0) + rng.randint(-3, 2), 0)
            attempt(outcome, "count", inventory.adjust_stock, who.manager, product_ids[sku], counted, "stocktake",
                    location_id=site)
        if round_number % 4 == 3:
            attempt(outcome, "void", orders.void_order, who.admin, rng.choice(mine), "customer cancelled")
        # Move one unit of a line to the other warehouse.
        order_id = rng.choice(mine)
        placed = _allocations_of(order_id)
        if placed:
            source = rng.choice(sorted(placed))
            line_id = rng.choice(sorted(placed[source]))
            attempt(outcome, "move", allocations.move_allocation, who.staff, order_id, line_id, source,
                    next(site for site in sites if site != source), 1)
        # A transfer of one or two units to the other warehouse, shipped at once; and a shipped one received.
        source = rng.choice(sites)
        made = attempt(outcome, "create transfer", transfers.create_transfer, who.manager, source,
                       next(site for site in sites if site != source), [(rng.choice(SKUS), rng.randint(1, 2))])
        if isinstance(made, Transfer):
            attempt(outcome, "ship transfer", transfers.ship_transfer, who.manager, made.id)
        waiting = read(sa.text("SELECT id FROM transfers WHERE state = 'shipped' ORDER BY id"))
        if waiting:
            attempt(outcome, "receive transfer", transfers.receive_everything, who.staff, rng.choice(waiting)[0])
        attempt(outcome, "allocate", orders.allocate_now, who.staff, rng.choice(mine))


# ---------------------------------------------------------------- the test's side

@pytest.fixture(scope="module")
def children():
    with spawned_children(8) as pool:
        yield pool


def test_eight_processes_working_two_warehouses_keep_every_invariant_per_location(shop, app, children):
    east = Location(name="East warehouse", kind=LocationKind.WAREHOUSE, priority=50)
    marketplace = SalesChannel(name="Marketplace", kind=ChannelKind.API)
    db.session.add_all([east, marketplace])
    db.session.flush()
    db.session.add(ChannelLocation(channel_id=marketplace.id, location_id=east.id))  # ships from East only
    db.session.commit()
    for sku in SKUS:
        product = shop.product(sku, in_hand=6)
        inventory.receive_stock(shop.manager, product.id, 6, "opening stock", location_id=east.id)
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    outcomes = children.run(url, [(_two_sites, (user_ids(shop), seed, 8, [shop.web.id, marketplace.id],
                                                [1, east.id])) for seed in range(8)])

    assert errors_of(outcomes) == []
    for action in ("order", "ship", "receive", "count", "void", "allocate", "move", "ship transfer",
                   "receive transfer"):
        assert total_of(outcomes, action) > 0, f"no {action} went through: the test proves less than it says"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LineAllocation)
                             .where(LineAllocation.location_id == east.id)) > 0
    assert check_invariants() == []
    assert idle_stock_beside_backorders() == []


def _deactivate(outcome: Outcome, ids: dict[str, int], location_id: int, name: str) -> None:
    from oms_web.domain import locations

    attempt(outcome, "deactivate", locations.update_location, actors(ids).admin, location_id,
            locations.LocationDetails(name=name, priority=50, active=False))


def _receive_at(outcome: Outcome, ids: dict[str, int], product_id: int, location_id: int) -> None:
    attempt(outcome, "receive", inventory.receive_stock, actors(ids).manager, product_id, 1, "delivery",
            location_id=location_id)


def test_a_location_deactivated_while_stock_arrives_there_never_ends_inactive_holding_it(shop, app, children):
    """The deactivation locks every product first; a receipt holds its product's lock and reads the location's
    flag under it. Either the receipt lands first (then the deactivation is refused: it holds stock) or the
    deactivation does (then the receipt is refused: nothing arrives at an inactive location). Never both."""
    product = shop.product("A", in_hand=1)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    for round_number in range(6):
        site = Location(name=f"Overflow {round_number}", kind=LocationKind.WAREHOUSE, priority=50)
        db.session.add(site)
        db.session.commit()
        jobs = [(_deactivate, (user_ids(shop), site.id, site.name)), (_receive_at, (user_ids(shop), product.id, site.id))]
        outcomes = children.run(url, jobs if round_number % 2 else list(reversed(jobs)))
        assert errors_of(outcomes) == []
        db.session.expire_all()
        active = db.session.scalar(sa.select(Location.active).where(Location.id == site.id))
        held = db.session.scalar(sa.text("SELECT COALESCE(SUM(in_hand), 0) FROM location_stock WHERE location_id = :l")
                                 .bindparams(l=site.id))
        assert active or held == 0, "deactivated while holding stock"
        assert (total_of(outcomes, "deactivate"), total_of(outcomes, "receive")) in ((1, 0), (0, 1))
    assert check_invariants() == []


def _order_from_supplier(outcome: Outcome, ids: dict[str, int], supplier_id: int, location_id: int) -> None:
    from oms_web.domain import purchasing

    attempt(outcome, "purchase order", purchasing.create_purchase_order, actors(ids).manager, supplier_id, location_id)


def test_a_location_deactivated_while_a_purchase_order_is_made_to_it_never_ends_inactive_awaiting_it(shop, app, children):
    """A PO's destination is share-locked while it is checked; the deactivation holds it for update. Either the
    PO is made first (then the deactivation is refused, naming it) or the deactivation is (then the PO is
    refused: the location is not active). Never both."""
    from oms_web.models import PurchaseOrder, Supplier

    supplier = Supplier(name="Acme", lead_time_days=3, active=True)
    db.session.add(supplier)
    db.session.commit()
    supplier_id, url = supplier.id, app.config["SQLALCHEMY_DATABASE_URI"]
    for round_number in range(6):
        site = Location(name=f"Dock {round_number}", kind=LocationKind.WAREHOUSE, priority=50)
        db.session.add(site)
        db.session.commit()
        jobs = [(_deactivate, (user_ids(shop), site.id, site.name)),
                (_order_from_supplier, (user_ids(shop), supplier_id, site.id))]
        outcomes = children.run(url, jobs if round_number % 2 else list(reversed(jobs)))
        assert errors_of(outcomes) == []
        db.session.expire_all()
        active = db.session.scalar(sa.select(Location.active).where(Location.id == site.id))
        awaited = db.session.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder)
                                    .where(PurchaseOrder.location_id == site.id))
        assert active or awaited == 0, "deactivated with a purchase order still to deliver there"
        assert (total_of(outcomes, "deactivate"), total_of(outcomes, "purchase order"), active, awaited) in (
            (1, 0, False, 0), (0, 1, True, 1))
        db.session.rollback()
