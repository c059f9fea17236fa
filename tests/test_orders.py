"""The order services, through the services themselves: create, finalize, allocate, edit, void, pay, hold, note.

Every test runs on SQLite and on PostgreSQL (the `shop` fixture). After a change the SPEC's invariants
must hold; after a refusal every number must be as it was.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import orders, shipping, stock
from oms_web.domain.errors import (DuplicateChannelOrder, InvalidInput, InvalidState, NotAllowed, NotFound)
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineChange, LineRequest, NewOrder, line_tax_cents
from oms_web.extensions import db
from oms_web.models import Order, OrderStatus, PaymentStatus, Product, Segment, StockMove


def put_stock_on_shelf_outside_the_services(sku: str, units: int) -> None:
    """Stock that turns up available without filling backorders (e.g. a count loaded by another tool)."""
    product = db.session.scalar(sa.select(Product).where(Product.sku == sku))
    stock._move(product.id, stock.default_location_id(), in_hand=units, reason="adjust", actor=None, note="loaded")
    db.session.commit()


# ------------------------------------------------------------------------------------------- create

def test_a_channel_order_arrives_finalized_with_its_stock_allocated(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 3))

    order = shop.order_row(order.id)
    assert order.status is OrderStatus.FINALIZED
    assert order.finalized_at is not None
    assert order.segment is Segment.READY_TO_SHIP
    assert order.lines[0].allocated == 3
    assert shop.stock("A") == (5, 3)
    allocation = shop.ledger("A")[-1]
    assert (allocation.reason, allocation.committed_delta, allocation.in_hand_delta, allocation.order_id) == \
        ("allocate", 3, 0, order.id)
    assert check_invariants() == []


def test_a_channel_order_beyond_stock_is_allocated_what_there_is_and_backordered(shop):
    shop.product("A", in_hand=2)
    order = shop.web_order(("A", 5))

    line = shop.line(order.id, "A")
    assert (line.ordered, line.allocated, line.backordered) == (5, 2, 3)
    assert shop.order_row(order.id).segment is Segment.AWAITING_STOCK
    assert shop.stock("A") == (2, 2)
    assert check_invariants() == []


def test_a_manual_order_is_a_draft_with_nothing_allocated(shop):
    shop.product("A", in_hand=5)
    order = shop.draft(("A", 3))

    order = shop.order_row(order.id)
    assert order.status is OrderStatus.DRAFT
    assert order.segment is Segment.DRAFT
    assert order.finalized_at is None
    assert order.lines[0].allocated == 0
    assert shop.stock("A") == (5, 0)
    assert [move.reason for move in shop.ledger("A")] == ["receive"]
    assert check_invariants() == []


def test_an_unknown_sku_holds_a_channel_order_under_needs_attention_without_allocating(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2), ("MYSTERY", 1))

    order = shop.order_row(order.id)
    assert order.status is OrderStatus.FINALIZED
    assert order.segment is Segment.NEEDS_ATTENTION
    assert "MYSTERY" in order.hold_reason
    mystery = shop.line(order.id, "MYSTERY")
    assert mystery.product_id is None  # kept, not dropped
    assert [line.allocated for line in order.lines] == [0, 0]
    assert shop.stock("A") == (5, 0)
    assert shop.event_kinds(order.id) == ["created", "held"]
    assert check_invariants() == []


def test_releasing_a_hold_after_adding_the_product_allocates_the_order(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2), ("MYSTERY", 1))
    shop.product("MYSTERY", in_hand=4)

    orders.release_hold(shop.staff, order.id)

    order = shop.order_row(order.id)
    assert order.hold_reason is None
    assert order.segment is Segment.READY_TO_SHIP
    mystery = shop.line(order.id, "MYSTERY")
    assert mystery.product_id == shop.product_row("MYSTERY").id
    assert [line.allocated for line in order.lines] == [2, 1]
    assert shop.stock("A") == (5, 2)
    assert shop.stock("MYSTERY") == (4, 1)
    released, allocated = shop.events(order.id)[-2:]
    assert (released.kind, released.user_id) == ("released", shop.staff.id)
    assert (allocated.kind, allocated.user_id) == ("allocated", shop.staff.id)
    assert check_invariants() == []


def test_a_released_line_takes_the_tax_rate_of_the_product_it_now_matches(shop):
    order = shop.web_order(("REDUCED", 2))
    shop.product("REDUCED", in_hand=2, price_cents=1000, tax_rate_bp=500)

    orders.release_hold(shop.staff, order.id)

    assert shop.line(order.id, "REDUCED").tax_rate_bp == 500
    assert check_invariants() == []


def test_a_hold_cannot_be_released_while_a_sku_still_matches_no_product(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2), ("MYSTERY", 1))

    shop.refused(InvalidState, orders.release_hold, shop.staff, order.id, match="MYSTERY")


def test_releasing_an_order_that_is_not_held_is_refused(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))

    shop.refused(InvalidState, orders.release_hold, shop.staff, order.id, match="not on hold")


def test_a_voided_held_order_cannot_be_released_into_taking_stock(shop):
    order = shop.web_order(("MYSTERY", 1))
    orders.void_order(shop.admin, order.id, "customer cancelled")
    shop.product("MYSTERY", in_hand=3)

    shop.refused(InvalidState, orders.release_hold, shop.staff, order.id)
    assert shop.stock("MYSTERY") == (3, 0)


def test_an_unknown_sku_on_a_manual_order_is_refused_and_nothing_is_created(shop):
    shop.product("A", in_hand=5)

    shop.refused(InvalidInput, shop.draft, ("A", 1), ("MYSTERY", 1), match="MYSTERY")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_importing_the_same_channel_order_twice_is_refused_and_changes_nothing(shop):
    shop.product("A", in_hand=5)
    first = shop.web_order(("A", 2), channel_order_id="W-1001")

    error = shop.refused(DuplicateChannelOrder, shop.web_order, ("A", 3), channel_order_id="W-1001")

    assert error.order_id == first.id
    assert error.field == "channel_order_id"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
    assert shop.stock("A") == (5, 2)


def test_the_same_order_id_on_another_channel_is_another_order(shop):
    from oms_web.models import ChannelKind

    shop.product("A", in_hand=5)
    shop.web_order(("A", 1), channel_order_id="1001")
    ebay = shop.channel("eBay", ChannelKind.EBAY)

    other = orders.create_order(None, NewOrder(channel_id=ebay.id, channel_order_id="1001",
                                               customer=CustomerDetails(name="Alan Turing"),
                                               lines=[LineRequest("A", 1)]))

    assert shop.order_row(other.id).status is OrderStatus.FINALIZED
    assert shop.stock("A") == (5, 2)
    assert check_invariants() == []


@pytest.mark.parametrize("quantity", [0, -1, 2.5, "3", True, None, 10**9])
def test_an_order_line_with_a_bad_quantity_is_refused(shop, quantity):
    shop.product("A", in_hand=5)

    shop.refused(InvalidInput, shop.draft, ("A", quantity))
    shop.refused(InvalidInput, shop.web_order, ("A", quantity))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


# ----------------------------------------------------------------------------------------- finalize

def test_finalizing_a_draft_allocates_and_backorders_what_it_cannot_cover(shop):
    shop.product("A", in_hand=3)
    shop.product("B")
    draft = shop.draft(("A", 5), ("B", 2))

    orders.finalize_order(shop.staff, draft.id)

    order = shop.order_row(draft.id)
    assert order.status is OrderStatus.FINALIZED
    assert order.finalized_at is not None
    assert order.segment is Segment.AWAITING_STOCK
    assert [(l.sku, l.allocated, l.backordered) for l in order.lines] == [("A", 3, 2), ("B", 0, 2)]
    assert shop.stock("A") == (3, 3)
    assert shop.stock("B") == (0, 0)
    assert [(e.kind, e.user_id) for e in shop.events(order.id)][-2:] == \
        [("finalized", shop.staff.id), ("allocated", shop.staff.id)]
    assert check_invariants() == []


def test_finalizing_an_empty_draft_is_refused(shop):
    draft = shop.draft()

    shop.refused(InvalidState, orders.finalize_order, shop.staff, draft.id, match="empty")
    assert shop.order_row(draft.id).status is OrderStatus.DRAFT


def test_finalizing_a_draft_whose_lines_were_all_removed_is_refused(shop):
    shop.product("A", in_hand=3)
    draft = shop.draft(("A", 2))
    orders.edit_order(shop.staff, draft.id, [LineChange(0, line_id=draft.lines[0].id)])

    shop.refused(InvalidState, orders.finalize_order, shop.staff, draft.id)


def test_finalizing_an_order_that_is_not_a_draft_is_refused(shop):
    shop.product("A", in_hand=3)
    channel_order = shop.web_order(("A", 1))
    draft = shop.draft(("A", 1))
    orders.finalize_order(shop.staff, draft.id)
    voided = shop.draft(("A", 1))
    orders.void_order(shop.admin, voided.id, "keyed in twice")

    for order in (channel_order, draft, voided):
        shop.refused(InvalidState, orders.finalize_order, shop.staff, order.id, match="not a draft")
    assert shop.stock("A") == (3, 2)


def test_finalizing_a_missing_order_is_refused(shop):
    shop.refused(NotFound, orders.finalize_order, shop.staff, 4242)


# ------------------------------------------------------------------------------------- allocate now

def test_allocate_now_gives_available_stock_to_the_orders_backordered_lines(shop):
    shop.product("A", in_hand=1)
    order = shop.web_order(("A", 4))
    put_stock_on_shelf_outside_the_services("A", 2)

    taken = orders.allocate_now(shop.staff, order.id)

    assert taken == 2
    assert shop.line(order.id, "A").allocated == 3
    assert shop.stock("A") == (3, 3)
    assert (shop.events(order.id)[-1].kind, shop.events(order.id)[-1].user_id) == ("allocated", shop.staff.id)
    assert check_invariants() == []


def test_allocate_now_with_nothing_available_allocates_nothing(shop):
    shop.product("A", in_hand=1)
    order = shop.web_order(("A", 4))

    assert orders.allocate_now(shop.staff, order.id) == 0

    assert shop.line(order.id, "A").allocated == 1
    assert shop.stock("A") == (1, 1)
    assert check_invariants() == []


def test_allocate_now_is_refused_for_drafts_held_and_void_orders(shop):
    shop.product("A", in_hand=5)
    draft = shop.draft(("A", 1))
    held = shop.web_order(("A", 1), ("MYSTERY", 1))
    voided = shop.web_order(("A", 1))
    orders.void_order(shop.admin, voided.id, "fraud")

    for order in (draft, held, voided):
        shop.refused(InvalidState, orders.allocate_now, shop.staff, order.id)
    assert shop.stock("A") == (5, 0)


# --------------------------------------------------------------------------------------------- edit

def test_adding_a_line_to_a_finalized_order_allocates_it(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=2)
    order = shop.web_order(("A", 2))

    orders.edit_order(shop.staff, order.id, [LineChange(3, sku="B")])

    line = shop.line(order.id, "B")
    assert (line.ordered, line.allocated) == (3, 2)
    assert shop.stock("B") == (2, 2)
    assert shop.order_row(order.id).segment is Segment.AWAITING_STOCK
    edited = [e for e in shop.events(order.id) if e.kind == "edited"][-1]
    assert edited.user_id == shop.staff.id
    assert [l["sku"] for l in edited.data["before"]] == ["A"]
    assert [(l["sku"], l["ordered"]) for l in edited.data["after"]] == [("A", 2), ("B", 3)]
    assert check_invariants() == []


def test_adding_a_line_to_a_draft_allocates_nothing(shop):
    shop.product("A", in_hand=5)
    draft = shop.draft(("A", 1))

    orders.edit_order(shop.staff, draft.id, [LineChange(2, sku="A")])

    assert [(l.ordered, l.allocated) for l in shop.order_row(draft.id).lines] == [(1, 0), (2, 0)]
    assert shop.stock("A") == (5, 0)
    assert check_invariants() == []


def test_raising_a_quantity_allocates_what_is_available_and_backorders_the_rest(shop):
    shop.product("A", in_hand=4)
    order = shop.web_order(("A", 2))

    orders.edit_order(shop.staff, order.id, [LineChange(6, line_id=order.lines[0].id)])

    line = shop.line(order.id, "A")
    assert (line.ordered, line.allocated, line.backordered) == (6, 4, 2)
    assert shop.stock("A") == (4, 4)
    assert check_invariants() == []


def test_cutting_a_line_releases_only_its_unshipped_allocation(shop):
    shop.product("A", in_hand=10)
    order = shop.web_order(("A", 8))
    line_id = order.lines[0].id
    shipping.ship_lines(shop.staff, order.id, {line_id: 3})
    assert shop.stock("A") == (7, 5)

    orders.edit_order(shop.staff, order.id, [LineChange(5, line_id=line_id)])

    line = shop.line(order.id, "A")
    assert (line.ordered, line.allocated, line.shipped) == (5, 5, 3)
    assert shop.stock("A") == (7, 2)
    release = shop.ledger("A")[-1]
    assert (release.reason, release.committed_delta, release.in_hand_delta, release.user_id) == \
        ("release", -3, 0, shop.staff.id)
    assert check_invariants() == []


def test_cutting_a_backordered_line_releases_nothing_until_the_cut_reaches_its_allocation(shop):
    shop.product("A", in_hand=4)
    order = shop.web_order(("A", 8))  # 4 allocated, 4 backordered
    line_id = order.lines[0].id
    shipping.ship_lines(shop.staff, order.id, {line_id: 1})
    ledger_rows = len(shop.ledger("A"))

    orders.edit_order(shop.staff, order.id, [LineChange(6, line_id=line_id)])
    line = shop.line(order.id, "A")
    assert (line.ordered, line.allocated, line.shipped) == (6, 4, 1)
    assert len(shop.ledger("A")) == ledger_rows  # the cut came out of the backorder

    orders.edit_order(shop.staff, order.id, [LineChange(3, line_id=line_id)])
    line = shop.line(order.id, "A")
    assert (line.ordered, line.allocated, line.shipped) == (3, 3, 1)
    assert shop.stock("A") == (3, 2)
    assert check_invariants() == []


def test_removing_a_line_releases_its_allocation_and_deletes_it(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = shop.web_order(("A", 2), ("B", 3))

    orders.edit_order(shop.staff, order.id, [LineChange(0, line_id=shop.line(order.id, "B").id)])

    assert [l.sku for l in shop.order_row(order.id).lines] == ["A"]
    assert shop.stock("B") == (5, 0)
    assert shop.stock("A") == (5, 2)
    assert check_invariants() == []


def test_a_line_cannot_be_cut_below_what_has_shipped(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = shop.web_order(("A", 5), ("B", 2))
    a, b = shop.line(order.id, "A").id, shop.line(order.id, "B").id
    shipping.ship_lines(shop.staff, order.id, {a: 3})

    error = shop.refused(InvalidInput, orders.edit_order, shop.staff, order.id,
                                   [LineChange(1, line_id=b), LineChange(2, line_id=a)], match="3 already shipped")
    assert error.field == "quantity"
    shop.refused(InvalidInput, orders.edit_order, shop.staff, order.id, [LineChange(0, line_id=a)])


def test_cutting_a_line_to_what_has_shipped_is_allowed(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 5))
    line_id = order.lines[0].id
    shipping.ship_lines(shop.staff, order.id, {line_id: 3})

    orders.edit_order(shop.staff, order.id, [LineChange(3, line_id=line_id)])

    line = shop.line(order.id, "A")
    assert (line.ordered, line.allocated, line.shipped) == (3, 3, 3)
    assert shop.stock("A") == (2, 0)
    assert shop.order_row(order.id).segment is Segment.PACKED  # every unit left is in a parcel on the bench
    assert check_invariants() == []


def test_units_freed_by_a_cut_go_to_the_oldest_finalized_backorder_first(shop):
    shop.product("A", in_hand=6)
    cut = shop.web_order(("A", 6))
    finalized_later = shop.draft(("A", 2))  # the lower id, but finalized last
    finalized_first = shop.web_order(("A", 3))
    orders.finalize_order(shop.staff, finalized_later.id)
    assert shop.order_row(finalized_first.id).finalized_at < shop.order_row(finalized_later.id).finalized_at

    orders.edit_order(shop.staff, cut.id, [LineChange(2, line_id=cut.lines[0].id)])

    assert shop.line(cut.id, "A").allocated == 2
    assert shop.line(finalized_first.id, "A").allocated == 3
    assert shop.line(finalized_later.id, "A").allocated == 1
    assert shop.order_row(finalized_first.id).segment is Segment.READY_TO_SHIP
    assert shop.order_row(finalized_later.id).segment is Segment.AWAITING_STOCK
    assert shop.stock("A") == (6, 6)
    assert shop.events(finalized_first.id)[-1].kind == "allocated"
    assert shop.events(finalized_first.id)[-1].user_id == shop.staff.id
    assert check_invariants() == []


def test_freed_units_skip_drafts_and_held_orders(shop):
    shop.product("A", in_hand=2)
    cut = shop.web_order(("A", 2))
    draft = shop.draft(("A", 1))
    held = shop.web_order(("A", 1), ("MYSTERY", 1))

    orders.edit_order(shop.staff, cut.id, [LineChange(1, line_id=cut.lines[0].id)])

    assert shop.line(draft.id, "A").allocated == 0
    assert shop.line(held.id, "A").allocated == 0
    assert shop.stock("A") == (2, 1)
    assert check_invariants() == []


def test_editing_a_line_price_changes_the_totals(shop):
    shop.product("A", in_hand=5, price_cents=1000)
    order = shop.web_order(("A", 2))

    orders.edit_order(shop.staff, order.id, [LineChange(2, line_id=order.lines[0].id, unit_price_cents=750)])

    order = shop.order_row(order.id)
    assert (order.subtotal_cents, order.tax_cents, order.total_cents) == (1500, 300, 1800)
    assert check_invariants() == []


def test_editing_is_refused_for_bad_changes_and_changes_nothing(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    other = shop.web_order(("A", 1))
    line_id = order.lines[0].id

    for changes in ([], [LineChange(-1, line_id=line_id)], [LineChange(True, line_id=line_id)],
                    [LineChange("3", line_id=line_id)], [LineChange(10**9, line_id=line_id)],
                    [LineChange(0, sku="A")], [LineChange(1, sku="MYSTERY")], [LineChange(1, sku="  ")],
                    [LineChange(1, line_id=other.lines[0].id)],
                    [LineChange(1, line_id=line_id, unit_price_cents=-5)],
                    [LineChange(0, line_id=line_id)],  # a finalized order left empty
                    [LineChange(1, line_id=line_id), LineChange(0, line_id=line_id)]):  # one line, two quantities
        shop.refused(InvalidInput, orders.edit_order, shop.staff, order.id, changes)


def test_a_void_or_fulfilled_order_cannot_be_edited(shop):
    shop.product("A", in_hand=5)
    voided = shop.web_order(("A", 1))
    orders.void_order(shop.admin, voided.id, "duplicate")
    done = shop.web_order(("A", 1))
    shipment = shipping.ship_lines(shop.staff, done.id, {done.lines[0].id: 1})
    shipping.mark_shipped(shop.staff, shipment.id, "UPS", "1Z999")
    shipping.mark_delivered(shop.staff, shipment.id)
    assert shop.order_row(done.id).status is OrderStatus.FULFILLED

    for order in (voided, done):
        line_id = shop.order_row(order.id).lines[0].id
        shop.refused(InvalidState, orders.edit_order, shop.staff, order.id,
                               [LineChange(2, line_id=line_id)])


# --------------------------------------------------------------------------------------------- void

@pytest.mark.parametrize("role", ["staff", "manager"])
def test_only_an_admin_may_void_an_order(shop, role):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))

    shop.refused(NotAllowed, orders.void_order, getattr(shop, role), order.id, "customer cancelled")
    shop.refused(NotAllowed, orders.void_order, None, order.id, "customer cancelled")
    assert shop.order_row(order.id).status is OrderStatus.FINALIZED


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 501])
def test_voiding_needs_a_reason(shop, reason):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))

    error = shop.refused(InvalidInput, orders.void_order, shop.admin, order.id, reason)
    assert error.field == "reason"


def test_voiding_releases_the_orders_committed_stock(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=1)
    order = shop.web_order(("A", 2), ("B", 3))

    orders.void_order(shop.admin, order.id, "  customer cancelled  ")

    order = shop.order_row(order.id)
    assert order.status is OrderStatus.VOID
    assert order.segment is Segment.VOID
    assert order.void_reason == "customer cancelled"
    assert order.voided_at is not None
    assert shop.stock("A") == (5, 0)
    assert shop.stock("B") == (1, 0)
    assert [(m.reason, m.committed_delta) for m in shop.ledger("A")[-1:] + shop.ledger("B")[-1:]] == \
        [("release", -2), ("release", -1)]
    voided = shop.events(order.id)[-1]
    assert (voided.kind, voided.user_id) == ("voided", shop.admin.id)
    assert "customer cancelled" in voided.message
    assert check_invariants() == []


def test_voiding_a_draft_touches_no_stock(shop):
    shop.product("A", in_hand=5)
    draft = shop.draft(("A", 2))
    ledger_rows = len(shop.ledger())

    orders.void_order(shop.admin, draft.id, "keyed in by mistake")

    assert shop.order_row(draft.id).status is OrderStatus.VOID
    assert len(shop.ledger()) == ledger_rows
    assert check_invariants() == []


def test_an_order_with_a_shipped_unit_cannot_be_voided_but_its_rest_can_be_removed(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 4))
    line_id = order.lines[0].id
    shipping.ship_lines(shop.staff, order.id, {line_id: 1})

    shop.refused(InvalidState, orders.void_order, shop.admin, order.id, "changed mind",
                           match="1 unit\\(s\\) shipped")

    orders.edit_order(shop.staff, order.id, [LineChange(1, line_id=line_id)])
    assert shop.stock("A") == (4, 0)
    assert check_invariants() == []


def test_a_void_order_cannot_be_voided_again(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    orders.void_order(shop.admin, order.id, "fraud")

    shop.refused(InvalidState, orders.void_order, shop.admin, order.id, "fraud again")


def test_units_freed_by_voiding_fill_backorders_oldest_finalized_first(shop):
    shop.product("A", in_hand=4)
    voided = shop.web_order(("A", 4))
    finalized_later = shop.draft(("A", 3))
    finalized_first = shop.web_order(("A", 2))
    orders.finalize_order(shop.staff, finalized_later.id)

    orders.void_order(shop.admin, voided.id, "customer cancelled")

    assert shop.line(finalized_first.id, "A").allocated == 2
    assert shop.line(finalized_later.id, "A").allocated == 2
    assert shop.stock("A") == (4, 4)
    assert shop.events(finalized_later.id)[-1].user_id == shop.admin.id
    assert check_invariants() == []


# ------------------------------------------------------------------------------------ payment, notes

def test_marking_an_order_paid_moves_it_on_from_awaiting_payment(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2), payment=PaymentStatus.PENDING)
    assert shop.order_row(order.id).segment is Segment.AWAITING_PAYMENT
    assert shop.stock("A") == (5, 2)  # stock is held for it while it waits

    orders.mark_paid(shop.staff, order.id)

    order = shop.order_row(order.id)
    assert order.payment_status is PaymentStatus.PAID
    assert order.segment is Segment.READY_TO_SHIP
    assert (shop.events(order.id)[-1].kind, shop.events(order.id)[-1].user_id) == ("paid", shop.staff.id)
    assert check_invariants() == []


def test_marking_paid_is_refused_unless_the_order_awaits_payment(shop):
    shop.product("A", in_hand=5)
    paid = shop.web_order(("A", 2))
    draft = shop.draft(("A", 1))

    for order in (paid, draft):
        shop.refused(InvalidState, orders.mark_paid, shop.staff, order.id)


def test_a_note_goes_into_the_timeline_with_its_author(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))

    orders.add_note(shop.manager, order.id, "  Customer asked for gift wrap  ")

    note = shop.events(order.id)[-1]
    assert (note.kind, note.message, note.user_id) == ("note", "Customer asked for gift wrap", shop.manager.id)
    assert check_invariants() == []


@pytest.mark.parametrize("text", ["", "   ", None, "x" * 2001])
def test_an_empty_or_overlong_note_is_refused(shop, text):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))

    error = shop.refused(InvalidInput, orders.add_note, shop.staff, order.id, text)
    assert error.field == "note"


def test_a_note_on_a_missing_order_is_refused(shop):
    shop.refused(NotFound, orders.add_note, shop.staff, 4242, "hello")


def test_every_action_writes_an_event_naming_its_actor(shop):
    shop.product("A", in_hand=3)
    channel_order = shop.web_order(("A", 1), payment=PaymentStatus.PENDING)
    draft = shop.draft(("A", 3))
    orders.finalize_order(shop.staff, draft.id)  # 2 allocated, 1 backordered
    orders.edit_order(shop.manager, draft.id, [LineChange(4, line_id=draft.lines[0].id)])
    orders.allocate_now(shop.staff, draft.id)
    orders.add_note(shop.staff, draft.id, "called the customer")
    orders.mark_paid(shop.manager, channel_order.id)
    orders.void_order(shop.admin, channel_order.id, "customer cancelled")  # its unit goes to the draft

    assert [(e.kind, e.user_id) for e in shop.events(channel_order.id)] == [
        ("created", None), ("allocated", None), ("paid", shop.manager.id), ("voided", shop.admin.id)]
    assert [(e.kind, e.user_id) for e in shop.events(draft.id)] == [
        ("created", shop.staff.id), ("finalized", shop.staff.id), ("allocated", shop.staff.id),
        ("edited", shop.manager.id), ("allocated", shop.manager.id),
        ("allocated", shop.staff.id), ("note", shop.staff.id), ("allocated", shop.admin.id)]
    assert shop.line(draft.id, "A").allocated == 3
    assert check_invariants() == []


# ------------------------------------------------------------------------------------------- totals

@pytest.mark.parametrize("quantity, unit_price_cents, tax_rate_bp, tax_cents", [
    (1, 333, 1500, 50),    # 49.95 -> 50
    (1, 333, 1499, 50),    # 49.9167 -> 50
    (1, 330, 1500, 50),    # 49.5 -> 50 (half up)
    (1, 329, 1500, 49),    # 49.35 -> 49
    (3, 1999, 2000, 1199),  # 1199.4 -> 1199
    (1, 1, 5000, 1),       # 0.5 -> 1
    (1, 1, 4999, 0),       # 0.4999 -> 0
    (7, 0, 2000, 0),
    (2, 1000, 0, 0),
])
def test_line_tax_is_rounded_half_up_to_the_cent(quantity, unit_price_cents, tax_rate_bp, tax_cents):
    assert line_tax_cents(quantity, unit_price_cents, tax_rate_bp) == tax_cents


def test_order_totals_are_line_totals_plus_each_lines_rounded_tax_plus_shipping(shop):
    shop.product("P", in_hand=5, price_cents=333, tax_rate_bp=1500)
    shop.product("Q", in_hand=5, price_cents=1999)  # the configured default rate, 20%

    order = shop.channel_order(LineRequest("P", 1), LineRequest("Q", 3), LineRequest("Q", 1, unit_price_cents=5),
                               shipping_cents=495)

    order = shop.order_row(order.id)
    assert [l.tax_rate_bp for l in order.lines] == [1500, 2000, 2000]
    assert order.subtotal_cents == 333 + 5997 + 5
    assert order.tax_cents == 50 + 1199 + 1
    assert order.shipping_cents == 495
    assert order.total_cents == order.subtotal_cents + order.tax_cents + 495
    assert check_invariants() == []


def test_order_totals_follow_an_edit(shop):
    shop.product("P", in_hand=5, price_cents=333, tax_rate_bp=1500)
    order = shop.channel_order(LineRequest("P", 1), shipping_cents=100)

    orders.edit_order(shop.staff, order.id, [LineChange(3, line_id=order.lines[0].id)])

    order = shop.order_row(order.id)
    assert (order.subtotal_cents, order.tax_cents, order.total_cents) == (999, 150, 999 + 150 + 100)
    assert check_invariants() == []


def test_an_edit_records_each_changed_line_before_and_after(shop):
    shop.product("A", in_hand=10, price_cents=1000)
    shop.product("B", in_hand=10, price_cents=250)
    shop.product("C", in_hand=10, price_cents=500)
    order = shop.web_order(("A", 2), ("B", 1))
    a, b = order.lines

    orders.edit_order(shop.staff, order.id, [LineChange(5, line_id=a.id, unit_price_cents=1200),
                                             LineChange(0, line_id=b.id), LineChange(3, sku="C")])

    (edited,) = [event for event in shop.events(order.id) if event.kind == "edited"]
    assert edited.message.startswith("Lines edited: A: quantity 2 → 5, price USD 10.00 → USD 12.00; "
                                     "B removed (was 1); C added: 3 at USD 5.00. Total ")
    assert edited.data["changes"] == [
        {"sku": "A", "quantity": [2, 5], "unit_price_cents": [1000, 1200]},
        {"sku": "B", "quantity": [1, 0], "unit_price_cents": [250, 250]},
        {"sku": "C", "quantity": [0, 3], "unit_price_cents": [None, 500]}]
    assert edited.data["total_cents"][1] == shop.order_row(order.id).total_cents
    assert [kind for kind in shop.event_kinds(order.id)][-2:] == ["edited", "allocated"]


def test_a_paid_order_whose_total_rises_shows_the_balance_due_until_it_is_received(shop):
    shop.product("A", in_hand=10, price_cents=1000)
    order = shop.web_order(("A", 1))
    paid = order.total_cents

    orders.edit_order(shop.staff, order.id, [LineChange(3, line_id=order.lines[0].id)])

    order = shop.order_row(order.id)
    assert order.payment_status is PaymentStatus.PAID and order.amount_paid_cents == paid
    assert order.balance_due_cents == order.total_cents - paid == 2 * paid
    assert f"balance due USD {2 * paid // 100}.00" in shop.events(order.id)[-2].message

    orders.mark_paid(shop.staff, order.id)

    order = shop.order_row(order.id)
    assert order.balance_due_cents == 0 and order.amount_paid_cents == order.total_cents
    assert shop.events(order.id)[-1].message == f"Balance received: USD {2 * paid // 100}.00"
    shop.refused(InvalidState, orders.mark_paid, shop.staff, order.id)
    # A cut leaves nothing due (a refund is another matter).
    orders.edit_order(shop.staff, order.id, [LineChange(1, line_id=order.lines[0].id)])
    assert shop.order_row(order.id).balance_due_cents == 0


def test_a_new_customer_s_email_on_file_is_used_asked_about_or_left_to_the_other_customer(shop):
    from oms_web.domain.customers import EmailOnFile, IfEmailOnFile
    from oms_web.models import Customer

    shop.product("A", in_hand=5)
    first = shop.draft(("A", 1))  # Grace Hopper, grace@example.com
    typed = CustomerDetails(name="G. Hopper", email="  GRACE@example.com")

    def manual(how: IfEmailOnFile) -> Order:
        return orders.create_order(shop.staff, NewOrder(channel_id=shop.manual.id, customer=typed,
                                                        lines=[LineRequest("A", 1)], if_email_on_file=how))

    refusal = shop.refused(EmailOnFile, manual, IfEmailOnFile.ASK, match="grace@example.com is the email of Grace")
    assert refusal.customer_id == first.customer_id and refusal.field == "customer_email"
    assert manual(IfEmailOnFile.USE).customer_id == first.customer_id
    other = manual(IfEmailOnFile.NEW)
    assert other.customer_id != first.customer_id and other.customer_name == "G. Hopper"
    assert other.email == "grace@example.com" and db.session.get(Customer, other.customer_id).email is None
    # A customer on file ships somewhere: with no address given nor on file, the order is refused.
    shop.refused(InvalidInput, orders.create_order, shop.staff, NewOrder(
        channel_id=shop.manual.id, customer_id=other.customer_id, address_id=None, lines=[LineRequest("A", 1)]),
        match="has no address on file")
