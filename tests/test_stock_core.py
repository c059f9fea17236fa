"""One stock core: a single order, a batch of channel orders and the demo seed allocate by the same rule
(stock.plan_allocation), so the same orders against the same stock get the same units on every path."""
from __future__ import annotations

import random
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from oms_web.domain import orders, stock
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import ChannelKind, OrderLine, StockMove
from oms_web.seed.history import Actors, Channel, History, SimLine, SimOrder, SimProduct
from tests.helpers.amazon_reports import channel

STOCK = {"A": 5, "B": 3, "C": 0, "D": 10}
# In the order they are finalized; an order may name a product twice (two listings of one SKU).
ORDERS = [
    [("A", 4), ("B", 1)],
    [("A", 3), ("B", 5), ("C", 1)],
    [("D", 4), ("A", 1), ("A", 2)],
    [("B", 1), ("D", 7)],
]
# Each line takes min(still needed, what its product has left), in the orders' and lines' order.
EXPECTED = [[4, 1], [1, 2, 0], [4, 0, 0], [0, 6]]


def test_the_rule_takes_what_is_there_line_by_line_and_leaves_the_rest_backordered():
    available = {(1, 9): 5, (2, 9): 0}
    assert stock.plan_allocation([(1, 3), (1, 3), (2, 1), (None, 4), (1, 0)], [9], available) == [
        [(9, 3)], [(9, 2)], [], [], []]
    assert available == {(1, 9): 0, (2, 9): 0}
    assert stock.plan_allocation([], [9], available) == []


WEST, EAST, NORTH = 1, 2, 3  # sites in priority order: West first


def test_one_location_that_fills_the_whole_order_is_preferred_to_a_higher_priority_that_cannot():
    available = {(1, WEST): 5, (2, WEST): 0, (1, EAST): 5, (2, EAST): 1}
    assert stock.plan_allocation([(1, 2), (2, 1)], [WEST, EAST], available) == [[(EAST, 2)], [(EAST, 1)]]
    assert available[(1, WEST)] == 5


def test_among_locations_that_fill_the_order_the_highest_priority_wins():
    available = {(1, WEST): 5, (1, EAST): 5, (1, NORTH): 5}
    assert stock.plan_allocation([(1, 5)], [WEST, EAST, NORTH], available) == [[(WEST, 5)]]


def test_the_order_is_split_only_when_no_single_location_can_fill_it_and_the_rest_is_backordered():
    available = {(1, WEST): 2, (1, EAST): 3, (2, EAST): 1}
    plan = stock.plan_allocation([(1, 6), (2, 2)], [WEST, EAST], available)
    assert plan == [[(WEST, 2), (EAST, 3)], [(EAST, 1)]]  # one unit of each line backordered


def test_two_lines_of_one_product_count_together_when_choosing_the_single_location():
    available = {(1, WEST): 3, (1, EAST): 4}
    assert stock.plan_allocation([(1, 2), (1, 2)], [WEST, EAST], available) == [[(EAST, 2)], [(EAST, 2)]]


def test_a_drop_shipped_product_goes_whole_to_its_supplier_and_does_not_stop_the_rest_being_whole():
    available = {(1, WEST): 1, (1, EAST): 2}
    plan = stock.plan_allocation([(7, 40), (1, 2)], [WEST, EAST], available, {7: 50})
    assert plan == [[(50, 40)], [(EAST, 2)]]


def test_locations_a_channel_may_not_use_are_never_taken_from():
    available = {(1, WEST): 9, (1, EAST): 1}
    assert stock.plan_allocation([(1, 3)], [EAST], available) == [[(EAST, 1)]]


def test_backorders_fill_oldest_first_each_from_the_locations_its_channel_may_use():
    available = {WEST: 3, EAST: 2}
    sites_of = {10: [WEST, EAST], 20: [EAST]}
    plan = stock.plan_backorder_fill([(100, 20, 1), (101, 10, 4), (102, 20, 5)], sites_of, available)
    assert plan == [(100, [(EAST, 1)]), (101, [(WEST, 3), (EAST, 1)])]
    assert available == {WEST: 0, EAST: 0}


def _single_path(shop, prefix: str) -> list[list[int]]:
    """Manual orders finalized one by one: stock.allocate_order, a transaction each."""
    for sku, units in STOCK.items():
        shop.product(prefix + sku, in_hand=units)
    made = [shop.draft(*[(prefix + sku, qty) for sku, qty in lines]) for lines in ORDERS]
    for order in made:
        orders.finalize_order(shop.staff, order.id)
    return [_allocated(order.id) for order in made]


def _batch_path(shop, prefix: str) -> list[list[int]]:
    """The same orders from a marketplace in one create_orders batch: the set-based path."""
    for sku, units in STOCK.items():
        shop.product(prefix + sku, in_hand=units)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    created = orders.create_orders(None, [NewOrder(
        channel_id=amazon.id, channel_order_id=f"{prefix}{number}",
        customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com"),
        lines=[LineRequest(prefix + sku, qty, unit_price_cents=1000) for sku, qty in lines])
        for number, lines in enumerate(ORDERS)])
    db.session.commit()
    assert all(c.error is None and not c.held for c in created)
    return [_allocated(c.order_id) for c in created]


def _seed_path() -> list[list[int]]:
    """The demo seed's simulation, as it allocates each order the moment it is finalized."""
    products = {sku: SimProduct(id=number, sku=sku, name=sku, price_cents=1000, tax_rate_bp=0, in_hand=units,
                                committed=0, demo=SimpleNamespace(scarce=True, popularity=1.0))  # scarce: never restocked
                for number, (sku, units) in enumerate(STOCK.items(), start=1)}
    history = History(db.session.connection(), rng=random.Random(1), now=datetime.now(timezone.utc).replace(
        tzinfo=None), actors=Actors(1, 1, 1), channels=[Channel(1, "Amazon", ChannelKind.AMAZON, 1.0)],
        products=list(products.values()), default_tax_bp=0)
    taken = []
    for number, lines in enumerate(ORDERS):
        order = SimOrder(number + 1, history.channels[0])
        order.lines = [SimLine(index, products[sku], sku, sku, qty, 1000, 0) for index, (sku, qty) in enumerate(lines)]
        history._allocate(order, 0.0, None)
        taken.append([line.allocated for line in order.lines])
    db.session.rollback()  # the simulation wrote nothing yet; nothing of it is kept
    return taken


def _allocated(order_id: int) -> list[int]:
    return list(db.session.scalars(sa.select(OrderLine.allocated).where(OrderLine.order_id == order_id)
                                   .order_by(OrderLine.id)))


def test_a_single_order_a_batch_and_the_seed_allocate_the_same_units(shop):
    single = _single_path(shop, "S-")
    batch = _batch_path(shop, "B-")
    seed = _seed_path()

    assert single == batch == seed == EXPECTED
    assert check_invariants() == []


def test_a_batch_moves_each_products_count_once_with_a_ledger_row_per_allocated_line(shop):
    _batch_path(shop, "B-")

    for sku, units in STOCK.items():
        rows = db.session.scalars(sa.select(StockMove).join(StockMove.product).where(
            StockMove.reason == "allocate", StockMove.product.has(sku="B-" + sku))).all()
        in_hand, committed = shop.stock("B-" + sku)
        assert (in_hand, committed) == (units, sum(row.committed_delta for row in rows))
    assert shop.stock("B-A") == (5, 5) and shop.stock("B-D") == (10, 10) and shop.stock("B-C") == (0, 0)


def test_a_batch_allocation_the_stock_cannot_cover_is_refused_whole(shop, monkeypatch):
    """The guarded update is the last word: should the planned units exceed what is there (a locking
    bug), the batch raises and nothing of it stays."""
    shop.product("X", in_hand=2)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    monkeypatch.setattr(stock, "plan_allocation",
                        lambda needs, sites, available, drop_ship: [[(sites[0], needed)] for _, needed in needs])

    with pytest.raises(stock.StockRaceLost):
        orders.create_orders(None, [NewOrder(channel_id=amazon.id, channel_order_id=f"X{n}",
                                             customer=CustomerDetails(name="Ada", email="ada@example.com"),
                                             lines=[LineRequest("X", 2, unit_price_cents=1000)]) for n in range(2)])
    db.session.rollback()
    assert shop.stock("X") == (2, 0)
    assert check_invariants() == []
