"""Stock-keeping services: receiving and adjusting stock, the backorders they fill, and the stock ledger."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import inventory, orders, shipping
from oms_web.domain.errors import InvalidInput, NotAllowed, NotFound
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import LineChange
from oms_web.extensions import db
from oms_web.models import LocationStock, Product, Segment, StockMove


def backorders_finalized_in_a_known_order(shop, sku: str):
    """Two backordered orders of `sku`, where the one finalized first has the higher id."""
    finalized_later = shop.draft((sku, 2))
    finalized_first = shop.web_order((sku, 3))
    orders.finalize_order(shop.staff, finalized_later.id)
    assert finalized_later.id < finalized_first.id
    assert shop.order_row(finalized_first.id).finalized_at < shop.order_row(finalized_later.id).finalized_at
    return finalized_first, finalized_later


# ------------------------------------------------------------------------------------------ receive

def test_receiving_stock_adds_to_in_hand_and_writes_a_ledger_row(shop):
    product = shop.product("A")

    in_hand = inventory.receive_stock(shop.manager, product.id, 12, "  PO-77  ")

    assert in_hand == 12
    assert shop.stock("A") == (12, 0)
    (row,) = shop.ledger("A")
    assert (row.reason, row.in_hand_delta, row.committed_delta, row.note, row.user_id, row.order_id) == \
        ("receive", 12, 0, "PO-77", shop.manager.id, None)
    assert check_invariants() == []


def test_received_stock_fills_backorders_oldest_finalized_first(shop):
    product = shop.product("A")
    first, later = backorders_finalized_in_a_known_order(shop, "A")

    inventory.receive_stock(shop.manager, product.id, 4)

    assert shop.line(first.id, "A").allocated == 3
    assert shop.line(later.id, "A").allocated == 1  # partially: 1 of 2
    assert shop.stock("A") == (4, 4)
    assert shop.order_row(first.id).segment is Segment.READY_TO_SHIP
    assert shop.order_row(later.id).segment is Segment.AWAITING_STOCK
    for order in (first, later):
        event = shop.events(order.id)[-1]
        assert (event.kind, event.user_id) == ("allocated", shop.manager.id)
    assert [(m.reason, m.committed_delta, m.order_id) for m in shop.ledger("A")[1:]] == \
        [("allocate", 3, first.id), ("allocate", 1, later.id)]
    assert check_invariants() == []


def test_received_stock_beyond_the_backorders_stays_available(shop):
    product = shop.product("A")
    first, later = backorders_finalized_in_a_known_order(shop, "A")

    inventory.receive_stock(shop.manager, product.id, 10)

    assert [shop.line(o.id, "A").allocated for o in (first, later)] == [3, 2]
    assert shop.stock("A") == (10, 5)
    assert shop.product_row("A").stock_available == 5
    assert check_invariants() == []


def test_received_stock_skips_drafts_held_and_void_orders(shop):
    product = shop.product("A")
    draft = shop.draft(("A", 1))
    held = shop.web_order(("A", 1), ("MYSTERY", 1))
    voided = shop.web_order(("A", 1))
    orders.void_order(shop.admin, voided.id, "customer cancelled")

    inventory.receive_stock(shop.manager, product.id, 5)

    assert [shop.line(o.id, "A").allocated for o in (draft, held, voided)] == [0, 0, 0]
    assert shop.stock("A") == (5, 0)
    assert check_invariants() == []


def test_an_admin_may_receive_stock(shop):
    product = shop.product("A")

    assert inventory.receive_stock(shop.admin, product.id, 1) == 1
    assert check_invariants() == []


def test_staff_may_not_receive_or_adjust_stock(shop):
    product = shop.product("A", in_hand=5)

    shop.refused(NotAllowed, inventory.receive_stock, shop.staff, product.id, 3)
    shop.refused(NotAllowed, inventory.adjust_stock, shop.staff, product.id, 7, "stocktake")
    shop.refused(NotAllowed, inventory.receive_stock, None, product.id, 3)


BAD_QUANTITIES = [0, -1, -100, 1.5, 2.0, "3", "", None, True, False, inventory.MAX_STOCK_QUANTITY + 1, 10**12, 10**30]


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_receiving_a_bad_quantity_is_refused_and_changes_nothing(shop, quantity):
    product = shop.product("A", in_hand=5)
    shop.web_order(("A", 8))  # a backorder the refused receipt must not touch

    error = shop.refused(InvalidInput, inventory.receive_stock, shop.manager, product.id, quantity)
    assert error.field == "quantity"


def test_receiving_for_a_missing_product_is_refused(shop):
    shop.refused(NotFound, inventory.receive_stock, shop.manager, 4242, 3)


# ------------------------------------------------------------------------------------------- adjust

def test_adjusting_down_sets_in_hand_to_the_count_with_a_reason(shop):
    product = shop.product("A", in_hand=10)
    shop.web_order(("A", 3))

    delta = inventory.adjust_stock(shop.manager, product.id, 7, "  stocktake: 3 damaged  ")

    assert delta == -3
    assert shop.stock("A") == (7, 3)
    row = shop.ledger("A")[-1]
    assert (row.reason, row.in_hand_delta, row.committed_delta, row.note, row.user_id) == \
        ("adjust", -3, 0, "stocktake: 3 damaged", shop.manager.id)
    assert check_invariants() == []


def test_adjusting_down_to_exactly_what_is_committed_is_allowed(shop):
    product = shop.product("A", in_hand=10)
    shop.web_order(("A", 3))

    inventory.adjust_stock(shop.manager, product.id, 3, "stocktake")

    assert shop.stock("A") == (3, 3)
    assert shop.product_row("A").stock_available == 0
    assert check_invariants() == []


def test_adjusting_to_the_same_count_changes_nothing_and_writes_no_row(shop):
    product = shop.product("A", in_hand=10)
    ledger_rows = len(shop.ledger())

    assert inventory.adjust_stock(shop.manager, product.id, 10, "stocktake: all correct") == 0

    assert shop.stock("A") == (10, 0)
    assert len(shop.ledger()) == ledger_rows
    assert check_invariants() == []


def test_adjusting_up_fills_backorders_oldest_finalized_first(shop):
    product = shop.product("A")
    first, later = backorders_finalized_in_a_known_order(shop, "A")

    delta = inventory.adjust_stock(shop.admin, product.id, 4, "found a carton")

    assert delta == 4
    assert shop.line(first.id, "A").allocated == 3
    assert shop.line(later.id, "A").allocated == 1
    assert shop.stock("A") == (4, 4)
    assert shop.events(later.id)[-1].user_id == shop.admin.id
    assert check_invariants() == []


def test_a_count_below_committed_takes_the_missing_units_from_the_newest_allocations(shop):
    product = shop.product("A", in_hand=10)
    oldest = shop.web_order(("A", 4))
    middle = shop.web_order(("A", 3))
    newest = shop.web_order(("A", 2))
    assert shop.stock("A") == (10, 9)

    delta = inventory.adjust_stock(shop.manager, product.id, 5, "stocktake: shelf short")

    assert delta == -5
    assert shop.stock("A") == (5, 5)  # in hand is the count; nothing is available
    assert [shop.line(o.id, "A").allocated for o in (oldest, middle, newest)] == [4, 1, 0]
    assert [(m.reason, m.in_hand_delta, m.committed_delta, m.order_id, m.note) for m in shop.ledger("A")[-3:]] == [
        ("release", 0, -2, newest.id, "stocktake: shelf short"),
        ("release", 0, -2, middle.id, "stocktake: shelf short"),
        ("adjust", -5, 0, None, "stocktake: shelf short")]
    for order, units in ((newest, 2), (middle, 2)):
        event = shop.events(order.id)[-1]
        assert (event.kind, event.user_id, event.data["units"]) == ("stock_count", shop.manager.id, units)
    assert shop.event_kinds(oldest.id)[-1] != "stock_count"
    assert shop.order_row(newest.id).segment == shop.order_row(middle.id).segment != shop.order_row(oldest.id).segment
    assert check_invariants() == []


def test_a_count_below_committed_skips_units_already_shipped(shop):
    product = shop.product("A", in_hand=6)
    older = shop.web_order(("A", 2))
    newer = shop.web_order(("A", 4))
    shipping.ship_lines(shop.staff, newer.id, {shop.line(newer.id, "A").id: 3})  # 3 gone, 1 still committed
    assert shop.stock("A") == (3, 3)

    inventory.adjust_stock(shop.manager, product.id, 1, "stocktake")

    assert (shop.line(newer.id, "A").allocated, shop.line(newer.id, "A").shipped) == (3, 3)
    assert shop.line(older.id, "A").allocated == 1
    assert shop.stock("A") == (1, 1)
    assert check_invariants() == []


def test_a_count_to_zero_backorders_every_open_allocation(shop):
    product = shop.product("A", in_hand=5)
    orders_ = [shop.web_order(("A", 2)), shop.web_order(("A", 3))]

    inventory.adjust_stock(shop.manager, product.id, 0, "flood")

    assert shop.stock("A") == (0, 0)
    assert [shop.line(o.id, "A").allocated for o in orders_] == [0, 0]
    assert check_invariants() == []


def test_a_count_taking_units_from_orders_not_confirmed_is_refused_and_says_which(shop):
    product = shop.product("A", in_hand=10)
    older = shop.web_order(("A", 4))
    newer = shop.web_order(("A", 6))

    assert [(t.order_id, t.units) for t in inventory.units_a_count_takes(product.id, 3)] == [(newer.id, 6), (older.id, 1)]
    error = shop.refused(inventory.CountTakesAllocations, inventory.adjust_stock, shop.manager, product.id, 3,
                         "stocktake", confirmed={newer.id}, match="takes 7 unit")
    assert error.field == "counted"
    assert [(t.order_number, t.units) for t in error.taken] == [(newer.number, 6), (older.number, 1)]

    inventory.adjust_stock(shop.manager, product.id, 3, "stocktake", confirmed={newer.id, older.id})
    assert shop.stock("A") == (3, 3)


def test_a_count_at_or_above_committed_needs_no_confirmation(shop):
    product = shop.product("A", in_hand=10)
    shop.web_order(("A", 4))

    assert inventory.units_a_count_takes(product.id, 4) == []
    assert inventory.adjust_stock(shop.manager, product.id, 4, "stocktake", confirmed=()) == -6


@pytest.mark.parametrize("counted", [-1, -10, 1.5, "7", None, True, False, 10**12, 10**30])
def test_adjusting_to_a_bad_count_is_refused_and_changes_nothing(shop, counted):
    product = shop.product("A", in_hand=10)

    error = shop.refused(InvalidInput, inventory.adjust_stock, shop.manager, product.id, counted,
                                   "stocktake")
    assert error.field == "counted"


@pytest.mark.parametrize("note", ["", "   ", None])
def test_adjusting_needs_a_reason(shop, note):
    product = shop.product("A", in_hand=10)

    error = shop.refused(InvalidInput, inventory.adjust_stock, shop.manager, product.id, 8, note)
    assert error.field == "note"


def test_adjusting_a_missing_product_is_refused(shop):
    shop.refused(NotFound, inventory.adjust_stock, shop.manager, 4242, 3, "stocktake")


# ------------------------------------------------------------------------------------------- ledger

def test_every_stock_change_is_a_ledger_row_and_the_rows_add_up_to_the_counts(shop):
    a = shop.product("A", in_hand=10)
    b = shop.product("B", in_hand=2)
    kept = shop.web_order(("A", 4), ("B", 3))                            # allocate A 4, B 2
    voided = shop.web_order(("A", 2))                                    # allocate A 2
    shipment = shipping.ship_lines(shop.staff, kept.id, {shop.line(kept.id, "A").id: 3})  # ship A 3
    orders.edit_order(shop.staff, kept.id, [LineChange(3, line_id=shop.line(kept.id, "A").id)])  # release A 1
    orders.void_order(shop.admin, voided.id, "customer cancelled")      # release A 2
    inventory.receive_stock(shop.manager, b.id, 5)                      # receive B 5, allocate B 1
    inventory.adjust_stock(shop.manager, a.id, 6, "stocktake")          # adjust A -1

    assert shop.stock("A") == (6, 0)
    assert shop.stock("B") == (7, 3)
    assert [(m.reason, m.in_hand_delta, m.committed_delta) for m in shop.ledger("A")] == [
        ("receive", 10, 0), ("allocate", 0, 4), ("allocate", 0, 2), ("ship", -3, -3), ("release", 0, -1),
        ("release", 0, -2), ("adjust", -1, 0)]
    assert [(m.reason, m.in_hand_delta, m.committed_delta) for m in shop.ledger("B")] == [
        ("receive", 2, 0), ("allocate", 0, 2), ("receive", 5, 0), ("allocate", 0, 1)]
    ship_row = [m for m in shop.ledger("A") if m.reason == "ship"][0]
    assert (ship_row.shipment_id, ship_row.order_id, ship_row.user_id) == (shipment.id, kept.id, shop.staff.id)
    for sku in ("A", "B"):
        rows = shop.ledger(sku)
        assert (sum(m.in_hand_delta for m in rows), sum(m.committed_delta for m in rows)) == shop.stock(sku)
        assert all(m.created_at is not None and m.reason for m in rows)
    assert check_invariants() == []


def test_the_invariant_check_notices_a_count_changed_behind_the_ledger(shop):
    shop.product("A", in_hand=5)
    db.session.execute(sa.update(Product).values(stock_in_hand=Product.stock_in_hand + 1))
    db.session.commit()

    assert [v.rule for v in check_invariants()] == ["6 product = its locations", "4 in hand = ledger"]
    db.session.execute(sa.update(LocationStock).values(in_hand=LocationStock.in_hand + 1))
    assert [v.rule for v in check_invariants()] == ["6 location = ledger", "4 in hand = ledger"]
    db.session.add(StockMove(product_id=shop.product_row("A").id, location_id=1, in_hand_delta=1, reason="adjust"))
    db.session.commit()
    assert check_invariants() == []
