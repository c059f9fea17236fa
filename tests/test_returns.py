"""Returns (RMA): opening on shipped units, the states, receiving with its condition split and its
ledger rows, backorders filled by restocked units, exchanges, the stage after Fulfilled, the invariants."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import returns, shipping
from oms_web.domain.errors import InvalidInput, InvalidState, NotAllowed, QuantityTooLarge
from oms_web.domain.invariants import check_invariants
from oms_web.domain.returns import Receipt, ReturnRequest
from oms_web.extensions import db
from oms_web.models import Location, LocationKind, LocationStock, OrderStatus, Return, ReturnState, Segment


def delivered(shop, *lines):
    """A web order of `lines` (SKU, units), every unit shipped and delivered: Fulfilled."""
    order = shop.web_order(*lines)
    shipment = shipping.ship_lines(shop.staff, order.id, {line.id: line.ordered for line in order.lines},
                                   carrier="UPS", tracking_number="1Z1")
    shipping.mark_shipped(shop.staff, shipment.id)
    shipping.mark_delivered(shop.staff, shipment.id)
    order = shop.order_row(order.id)
    assert order.status is OrderStatus.FULFILLED
    return order


def opened(shop, order, *units, reason="damaged", note=None):
    """A return of (sku, units) of the order, by staff."""
    by_sku = {line.sku: line for line in order.lines}
    return returns.open_return(shop.staff, order.id,
                               [ReturnRequest(by_sku[sku].id, quantity, reason) for sku, quantity in units], note)


def authorized(shop, order, *units):
    ret = opened(shop, order, *units)
    returns.authorize_return(shop.staff, ret.id)
    return db.session.get(Return, ret.id)


def test_a_return_covers_shipped_units_with_a_reason_and_a_number(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = delivered(shop, ("A", 2), ("B", 1))
    ret = opened(shop, order, ("A", 1), reason="wrong_item", note="sent the blue one")
    assert ret.number == f"RMA-{ret.id:06d}"
    assert ret.state is ReturnState.REQUESTED
    assert [(l.order_line.sku, l.quantity, l.reason.value) for l in ret.lines] == [("A", 1, "wrong_item")]
    assert "return_opened" in shop.event_kinds(order.id)
    assert check_invariants() == []


def test_returning_more_than_was_shipped_is_refused_and_counts_other_open_returns(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 2))
    line_id = order.lines[0].id
    shop.refused(QuantityTooLarge, returns.open_return, shop.staff, order.id, [ReturnRequest(line_id, 3, "damaged")],
                 match="Returning more than was shipped")
    opened(shop, order, ("A", 2))
    shop.refused(QuantityTooLarge, returns.open_return, shop.staff, order.id, [ReturnRequest(line_id, 1, "damaged")],
                 match="Returning more than was shipped")


def test_a_rejected_return_frees_its_units_for_another(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 2))
    ret = opened(shop, order, ("A", 2))
    returns.reject_return(shop.staff, ret.id, "outside the return window")
    again = opened(shop, order, ("A", 2))
    assert again.state is ReturnState.REQUESTED


def test_unshipped_units_cannot_be_returned(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    shop.refused(InvalidState, returns.open_return, shop.staff, order.id,
                 [ReturnRequest(order.lines[0].id, 1, "damaged")], match="shipped nothing")


@pytest.mark.parametrize("request_, field", [
    (ReturnRequest(0, -1, "damaged"), "quantity"),
    (ReturnRequest(0, "1", "damaged"), "quantity"),
    (ReturnRequest(0, 1, "bored"), "reason"),
    (ReturnRequest(0, 0, "damaged"), "quantity"),
    (ReturnRequest(999_999, 1, "damaged"), "quantity"),
])
def test_bad_return_requests_are_refused_naming_the_field(shop, request_, field):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 2))
    request_ = ReturnRequest(request_.order_line_id or order.lines[0].id, request_.quantity, request_.reason)
    error = shop.refused(InvalidInput, returns.open_return, shop.staff, order.id, [request_])
    assert error.field == field


def test_a_too_long_note_is_refused(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 2))
    error = shop.refused(InvalidInput, returns.open_return, shop.staff, order.id,
                         [ReturnRequest(order.lines[0].id, 1, "other")], "x" * 501)
    assert error.field == "note"


def test_receiving_restocks_quarantines_and_writes_off_each_in_the_ledger_with_the_return(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 4))
    ret = authorized(shop, order, ("A", 4))
    assert shop.stock("A") == (1, 0)
    returns.receive_return(shop.staff, ret.id, {ret.lines[0].id: Receipt(restock=2, quarantine=1, write_off=1)})
    assert shop.stock("A") == (3, 0)  # the quarantined unit is ours but not for sale: not in the product's figures
    rows = [(m.reason, m.location.name, m.in_hand_delta, m.committed_delta, m.return_id)
            for m in shop.ledger("A") if m.return_id]
    assert rows == [("return", "Main warehouse", 2, 0, ret.id), ("quarantine", "Quarantine", 1, 0, ret.id),
                    ("write_off", "Main warehouse", 0, 0, ret.id)]
    quarantined = db.session.execute(sa.select(LocationStock.in_hand, LocationStock.committed).join(Location)
                                     .where(Location.kind == LocationKind.QUARANTINE)).one()
    assert tuple(quarantined) == (1, 0)
    line = shop.line(order.id, "A")
    assert (line.shipped, line.returned) == (4, 4)
    ret = db.session.get(Return, ret.id)
    db.session.refresh(ret)
    assert ret.state is ReturnState.RECEIVED
    assert returns.return_stage(shop.order_row(order.id)) == "Returned"
    assert check_invariants() == []


def test_receiving_a_return_twice_is_refused(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 2))
    ret = authorized(shop, order, ("A", 2))
    line_id = ret.lines[0].id
    returns.receive_return(shop.staff, ret.id, {line_id: Receipt(restock=2)})
    shop.refused(InvalidState, returns.receive_return, shop.staff, ret.id, {line_id: Receipt(restock=2)},
                 match="received already")


def test_a_return_not_yet_authorized_is_not_received(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 2))
    ret = opened(shop, order, ("A", 2))
    shop.refused(InvalidState, returns.receive_return, shop.staff, ret.id, {ret.lines[0].id: Receipt(restock=1)},
                 match="authorize it first")


def test_receiving_more_than_the_return_holds_changes_nothing(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = delivered(shop, ("A", 2), ("B", 2))
    ret = authorized(shop, order, ("A", 1), ("B", 2))
    a, b = ret.lines
    shop.refused(QuantityTooLarge, returns.receive_return, shop.staff, ret.id,
                 {a.id: Receipt(restock=1), b.id: Receipt(restock=2, write_off=1)}, match="More units received")
    shop.refused(InvalidInput, returns.receive_return, shop.staff, ret.id, {a.id: Receipt(restock=-1)})
    shop.refused(InvalidInput, returns.receive_return, shop.staff, ret.id, {a.id: Receipt()}, match="Nothing received")


def test_restocked_units_fill_another_orders_backorder_oldest_first(shop):
    shop.product("A", in_hand=2)
    order = delivered(shop, ("A", 2))
    older = shop.web_order(("A", 1))
    newer = shop.web_order(("A", 1))
    assert shop.order_row(older.id).segment is Segment.AWAITING_STOCK
    ret = authorized(shop, order, ("A", 1))
    returns.receive_return(shop.staff, ret.id, {ret.lines[0].id: Receipt(restock=1)})
    assert shop.order_row(older.id).segment is Segment.READY_TO_SHIP
    assert shop.order_row(newer.id).segment is Segment.AWAITING_STOCK
    assert shop.stock("A") == (1, 1)
    assert returns.return_stage(shop.order_row(order.id)) == "Partly returned"
    assert check_invariants() == []


def test_quarantined_units_fill_no_backorder(shop):
    shop.product("A", in_hand=1)
    order = delivered(shop, ("A", 1))
    waiting = shop.web_order(("A", 1))
    ret = authorized(shop, order, ("A", 1))
    returns.receive_return(shop.staff, ret.id, {ret.lines[0].id: Receipt(quarantine=1)})
    assert shop.order_row(waiting.id).segment is Segment.AWAITING_STOCK
    assert shop.stock("A") == (0, 0)


def test_a_partial_return_makes_the_order_partly_returned(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = delivered(shop, ("A", 1), ("B", 1))
    assert returns.return_stage(order) is None
    ret = authorized(shop, order, ("B", 1))
    returns.receive_return(shop.staff, ret.id, {ret.lines[0].id: Receipt(restock=1)})
    assert returns.return_stage(shop.order_row(order.id)) == "Partly returned"


def test_close_and_an_admins_reopen(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 1))
    ret = authorized(shop, order, ("A", 1))
    returns.receive_return(shop.staff, ret.id, {ret.lines[0].id: Receipt(restock=1)})
    returns.close_return(shop.staff, ret.id)
    shop.refused(NotAllowed, returns.reopen_return, shop.manager, ret.id)
    assert returns.reopen_return(shop.admin, ret.id).state is ReturnState.RECEIVED
    assert [k for k in shop.event_kinds(order.id) if k.startswith("return_")] == [
        "return_opened", "return_authorized", "return_received", "return_closed", "return_reopened"]


def test_a_rejected_return_reopens_only_while_its_units_still_fit(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 1))
    first = opened(shop, order, ("A", 1))
    returns.reject_return(shop.staff, first.id)
    opened(shop, order, ("A", 1))
    shop.refused(QuantityTooLarge, returns.reopen_return, shop.admin, first.id)


def test_an_exchange_makes_a_finalized_allocated_replacement_linked_to_the_return(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = delivered(shop, ("A", 1))
    ret = authorized(shop, order, ("A", 1))
    replacement = returns.exchange(shop.staff, ret.id, [("B", 1)])
    replacement = shop.order_row(replacement.id)
    assert replacement.status is OrderStatus.FINALIZED
    assert [(l.sku, l.ordered, l.allocated, l.unit_price_cents) for l in replacement.lines] == [("B", 1, 1, 0)]
    assert replacement.ship_to == order.ship_to
    ret = db.session.get(Return, ret.id)
    db.session.refresh(ret)
    assert ret.replacement_order_id == replacement.id
    assert "exchanged" in shop.event_kinds(order.id) and "exchanged" in shop.event_kinds(replacement.id)
    shop.refused(InvalidState, returns.exchange, shop.staff, ret.id, [("B", 1)], match="exchanged already")
    assert check_invariants() == []


def test_an_exchange_defaults_to_the_returned_products(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 2))
    ret = authorized(shop, order, ("A", 2))
    replacement = shop.order_row(returns.exchange(shop.staff, ret.id).id)
    assert [(l.sku, l.ordered, l.allocated) for l in replacement.lines] == [("A", 2, 2)]


def test_an_exchange_of_an_unknown_sku_changes_nothing(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 1))
    ret = authorized(shop, order, ("A", 1))
    shop.refused(InvalidInput, returns.exchange, shop.staff, ret.id, [("NOPE", 1)])


def test_a_requested_return_is_not_exchanged(shop):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 1))
    ret = opened(shop, order, ("A", 1))
    shop.refused(InvalidState, returns.exchange, shop.staff, ret.id, [("A", 1)])
