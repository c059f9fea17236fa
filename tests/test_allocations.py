"""Moving a line's allocation between locations (domain.allocations): what moves, what the freed units
fill, and every refusal changing nothing, per location too."""
from __future__ import annotations

import pytest

from oms_web.domain import allocations, orders, shipping
from oms_web.domain.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from oms_web.domain.invariants import check_invariants
from oms_web.models import LocationKind, Segment

from .helpers.sites import MAIN, counts, limit_channel, location, receive_at, site_snapshot, where


@pytest.fixture
def east(shop):
    return location("East")


def test_moving_units_takes_them_off_the_source_and_commits_them_at_the_destination(shop, east):
    product = shop.product("A", in_hand=5)
    receive_at(shop, product.id, 4, east.id)
    order = shop.web_order(("A", 3))
    line = shop.line(order.id, "A")
    assert where(line.id) == {MAIN: (3, 0)}

    allocations.move_allocation(shop.staff, order.id, line.id, MAIN, east.id, 2)

    assert where(line.id) == {MAIN: (1, 0), east.id: (2, 0)}
    assert counts(product.id, MAIN) == (5, 1)
    assert counts(product.id, east.id) == (4, 2)
    assert shop.stock("A") == (9, 3)
    event = shop.events(order.id)[-1]
    assert (event.kind, event.message, event.user_id) == ("allocation_moved", "Moved 2 unit(s) of A from Main warehouse to East",
                                                         shop.staff.id)
    assert check_invariants() == []


def test_units_freed_at_the_source_fill_a_backorder_that_may_only_use_the_source(shop, east):
    product = shop.product("A", in_hand=3)
    receive_at(shop, product.id, 5, east.id)
    order = shop.web_order(("A", 3))  # whole at Main, the highest priority
    limit_channel(shop.manual, MAIN)
    waiting = shop.draft(("A", 2))
    orders.finalize_order(shop.staff, waiting.id)  # Main has none free: backordered, East is not its channel's
    assert shop.line(waiting.id, "A").backordered == 2

    allocations.move_allocation(shop.staff, order.id, shop.line(order.id, "A").id, MAIN, east.id, 2)

    assert where(shop.line(order.id, "A").id) == {MAIN: (1, 0), east.id: (2, 0)}
    assert where(shop.line(waiting.id, "A").id) == {MAIN: (2, 0)}
    assert shop.order_row(waiting.id).segment is Segment.READY_TO_SHIP
    assert counts(product.id, MAIN) == (3, 3) and counts(product.id, east.id) == (5, 2)
    assert check_invariants() == []


def test_a_moved_allocation_ships_from_its_new_location(shop, east):
    product = shop.product("A", in_hand=2)
    receive_at(shop, product.id, 2, east.id)
    order = shop.web_order(("A", 2))
    line = shop.line(order.id, "A")
    allocations.move_allocation(shop.staff, order.id, line.id, MAIN, east.id, 1)

    first = shipping.ship_lines(shop.staff, order.id, {line.id: 1}, location_id=MAIN)
    second = shipping.ship_lines(shop.staff, order.id, {line.id: 1}, location_id=east.id)

    assert (first.location_id, second.location_id) == (MAIN, east.id)
    assert counts(product.id, MAIN) == (1, 0) and counts(product.id, east.id) == (1, 0)
    assert check_invariants() == []


@pytest.fixture
def placed(shop, east):
    """An order of 3 A allocated at Main; East has 2 free."""
    product = shop.product("A", in_hand=3)
    receive_at(shop, product.id, 2, east.id)
    order = shop.web_order(("A", 3))
    return order, shop.line(order.id, "A")


def _refused(shop, error, *args, match):
    before = site_snapshot()
    shop.refused(error, allocations.move_allocation, *args, match=match)
    assert site_snapshot() == before


def test_moving_more_than_is_allocated_at_the_source_is_refused(shop, placed, east):
    order, line = placed
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, MAIN, east.id, 4,
             match="Main warehouse holds 3 unpacked unit")
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, east.id, MAIN, 1, match="East holds none of A for this order")


def test_a_destination_short_of_available_units_is_refused(shop, placed, east):
    order, line = placed
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, MAIN, east.id, 3,
             match="East has 2 unit.s. of A available, not 3")
    empty = location("West")
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, MAIN, empty.id, 1, match="West holds none of A available")


def test_an_inactive_drop_ship_or_forbidden_destination_is_refused(shop, placed):
    order, line = placed
    closed = location("Old site", active=False)
    supplier = location("Acme drop-ship", kind=LocationKind.DROP_SHIP)
    quarantine = location("Quarantine", kind=LocationKind.QUARANTINE)
    amazon_only = location("Amazon site")
    limit_channel(shop.web, MAIN)
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, MAIN, closed.id, 1, match="Old site is inactive")
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, MAIN, supplier.id, 1, match="drop-ship supplier")
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, MAIN, quarantine.id, 1, match="quarantine")
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, MAIN, amazon_only.id, 1,
             match="Orders from Web store may not ship from Amazon site")
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, MAIN, MAIN, 1, match="at Main warehouse already")
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, MAIN, 999, 1, match="does not exist")


@pytest.mark.parametrize("units", [0, -1, "2", True, 100_001])
def test_a_bad_number_of_units_is_refused(shop, placed, east, units):
    order, line = placed
    _refused(shop, InvalidInput, shop.staff, order.id, line.id, MAIN, east.id, units, match="Quantity")


def test_an_unknown_line_order_or_a_draft_is_refused(shop, placed, east):
    order, line = placed
    _refused(shop, NotFound, shop.staff, order.id, 999_999, MAIN, east.id, 1, match="not on")
    _refused(shop, NotFound, shop.staff, 999_999, line.id, MAIN, east.id, 1, match="does not exist")
    draft = shop.draft(("A", 1))
    _refused(shop, InvalidState, shop.staff, draft.id, shop.line(draft.id, "A").id, MAIN, east.id, 1, match="draft")


def test_nobody_signed_in_may_move_an_allocation(shop, placed, east):
    order, line = placed
    _refused(shop, NotAllowed, None, order.id, line.id, MAIN, east.id, 1, match="Only a staff")
