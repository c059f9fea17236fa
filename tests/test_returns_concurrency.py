"""Two receipts of the same return at the same moment, in separate processes, on SQLite and PostgreSQL:
one restocks, the other is refused ("received already"), and the restocked units fill a waiting backorder once."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import returns, shipping
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import OrderEvent, Return, ReturnState, StockMove, User

from .helpers.processes import Outcome, attempt, spawned_children

RETURNS = 6


def _receive_each(outcome: Outcome, staff_id: int, receipts: list[tuple[int, int, int]]) -> None:
    staff = db.session.get(User, staff_id)
    for return_id, line_id, units in receipts:
        if not isinstance(attempt(outcome, "receive", returns.receive_return, staff, return_id,
                                  {line_id: returns.Receipt(restock=units)}), Exception):
            outcome.values.append(return_id)


@pytest.fixture(scope="module")
def pair():
    with spawned_children(2) as pool:
        yield pool


def test_two_receipts_of_the_same_return_at_once_restock_it_once(app, shop, pair):
    shop.product("A", in_hand=RETURNS * 2)
    receipts = []
    for _ in range(RETURNS):
        order = shop.web_order(("A", 2))
        shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2}, carrier="UPS", tracking_number="1Z")
        shipping.mark_shipped(shop.staff, shipment.id)
        shipping.mark_delivered(shop.staff, shipment.id)
        ret = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(order.lines[0].id, 2, "damaged")])
        returns.authorize_return(shop.staff, ret.id)
        receipts.append((ret.id, ret.lines[0].id, 2))
    waiting_id = shop.web_order(("A", 3)).id  # backordered: the restocked units fill it
    assert shop.stock("A") == (0, 0)
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    # The second child goes from the other end, so that the two meet in the middle.
    outcomes = pair.run(url, [(_receive_each, (shop.staff.id, receipts)), (_receive_each, (shop.staff.id, receipts[::-1]))])

    assert [error for outcome in outcomes for error in outcome.errors] == []
    received = [return_id for outcome in outcomes for return_id in outcome.values]
    assert sorted(received) == sorted(r[0] for r in receipts), "every return received exactly once"
    assert sum(outcome.refusals["InvalidState"] for outcome in outcomes) == RETURNS
    assert set(db.session.scalars(sa.select(Return.state))) == {ReturnState.RECEIVED}
    rows = db.session.execute(sa.select(StockMove.return_id, sa.func.sum(StockMove.in_hand_delta), sa.func.count())
                              .where(StockMove.return_id.is_not(None)).group_by(StockMove.return_id)).all()
    assert sorted(rows) == sorted((r[0], 2, 1) for r in receipts)
    assert shop.stock("A") == (RETURNS * 2, 3)
    assert [(l.allocated, l.ordered) for l in shop.order_row(waiting_id).lines] == [(3, 3)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderEvent)
                             .where(OrderEvent.kind == "return_received")) == RETURNS
    assert check_invariants() == []
