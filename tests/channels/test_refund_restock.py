"""A Shopify refund that restocks its line items: the units come back on a return, received and restocked at
the default location in the refund's own transaction (filling backorders), which the refund names; delivered
twice it restocks once; unshipped ("cancel") units and units on an open return here are not restocked by it."""
from __future__ import annotations

import copy

import sqlalchemy as sa

from oms_web.domain import invoicing, returns, shipping
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import Refund, Return, ReturnState, Segment, StockMove

from .test_refund_webhooks import REFUND, _order_from, hooks  # noqa: F401 (the fixture)
from tests.helpers.webstore import SHOPIFY


def _restocked() -> list[tuple[int, int]]:
    """(return id, units) of every restocking ledger row."""
    db.session.rollback()
    return [tuple(r) for r in db.session.execute(
        sa.select(StockMove.return_id, StockMove.in_hand_delta).where(StockMove.return_id.is_not(None))
        .order_by(StockMove.id)).all()]


def test_a_shopify_refund_that_restocks_receives_a_return_and_fills_a_backorder(hooks):
    shop = hooks.shop
    order_id = _order_from(hooks, SHOPIFY, "shopify")  # 3 MUG shipped, of 10 in hand
    waiting = shop.web_order(("MUG", 8))  # 7 in hand: one short
    assert shop.order_row(waiting.id).segment is Segment.AWAITING_STOCK

    answer = hooks.to_shopify(REFUND)
    assert answer.status_code == 200 and answer.get_json()["result"] == "recorded"
    db.session.rollback()
    (ret,) = db.session.scalars(sa.select(Return)).all()
    (refund,) = db.session.scalars(sa.select(Refund)).all()
    assert (ret.order_id, ret.state, refund.return_id) == (order_id, ReturnState.RECEIVED, ret.id)
    assert [(l.quantity, l.received, l.restocked) for l in ret.lines] == [(1, 1, 1)]
    assert "Restocked by Shopify refund 5001" in ret.note
    assert _restocked() == [(ret.id, 1)]
    assert shop.order_row(waiting.id).segment is Segment.READY_TO_SHIP
    assert [l.returned for l in shop.order_row(order_id).lines] == [1]
    assert check_invariants() == []


def test_the_same_restocking_refund_delivered_twice_restocks_once(hooks):
    _order_from(hooks, SHOPIFY, "shopify")
    assert hooks.to_shopify(REFUND).get_json()["result"] == "recorded"
    assert hooks.to_shopify(REFUND).get_json()["result"] == "duplicate"
    assert len(_restocked()) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Return)) == 1


def test_unshipped_units_a_refund_cancels_are_not_restocked(hooks):
    shop = hooks.shop
    created = hooks.to_shopify(SHOPIFY, "orders/create")
    db.session.rollback()
    order = shop.order_row(created.get_json()["order_id"])
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})  # 1 of 3 shipped
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    before = shop.stock("MUG")
    body = copy.deepcopy(REFUND)
    body["refund_line_items"][0].update(quantity=2, restock_type="cancel")
    assert hooks.to_shopify(body).get_json()["result"] == "recorded"
    assert _restocked() == [] and shop.stock("MUG") == before
    # "return" of more units than shipped: only the shipped one comes back.
    body = copy.deepcopy(REFUND)
    body.update(id=5002)
    body["refund_line_items"][0].update(quantity=3)
    body["transactions"][0].update(amount="1.00")
    assert hooks.to_shopify(body).get_json()["result"] == "recorded"
    assert [units for _, units in _restocked()] == [1]
    assert check_invariants() == []


def test_units_on_an_open_return_here_are_left_to_its_receipt(hooks):
    shop = hooks.shop
    order_id = _order_from(hooks, SHOPIFY, "shopify")
    line_id = shop.order_row(order_id).lines[0].id
    ret = returns.open_return(shop.staff, order_id, [returns.ReturnRequest(line_id, 3, "damaged")])
    returns.authorize_return(shop.staff, ret.id)
    assert hooks.to_shopify(REFUND).get_json()["result"] == "recorded"
    assert _restocked() == []  # every shipped unit is expected on the staff's return
    returns.receive_return(shop.staff, ret.id, {ret.lines[0].id: returns.Receipt(restock=3)})
    assert _restocked() == [(ret.id, 3)]
    assert check_invariants() == []


def test_a_refused_restocking_refund_restocks_nothing(hooks):
    _order_from(hooks, SHOPIFY, "shopify")
    body = copy.deepcopy(REFUND)
    body["transactions"][0]["amount"] = "500.00"
    assert hooks.to_shopify(body).status_code == 422
    assert _restocked() == [] and db.session.scalar(sa.select(sa.func.count()).select_from(Return)) == 0
