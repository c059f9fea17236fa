"""Two receipts of the same PO line at the same moment, in two OS processes: the units are received once
(the second sees, under the PO's lock, that nothing is open and is refused), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import purchasing
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import StockMove, User

from .helpers import purchasing as buy
from .helpers.processes import Outcome, attempt, errors_of, spawned_children, total_of


def _receive(outcome: Outcome, staff_id: int, purchase_order_id: int, line_id: int, units: int) -> None:
    attempt(outcome, "receive", purchasing.receive_purchase_order, db.session.get(User, staff_id), purchase_order_id,
            {line_id: units})


@pytest.fixture(scope="module")
def pair():
    with spawned_children(2) as pool:
        yield pool


def test_two_receipts_of_the_same_po_line_at_once_receive_it_once(app, shop, pair):
    shop.product("A")
    east = buy.warehouse()
    waiting = shop.web_order(("A", 4))  # a backorder the receipt fills, once
    supplier = buy.supplier()
    po = buy.sent_po(shop.manager, supplier, ("A", 6, 100), location_id=east.id)
    po_id, line_id, waiting_id, staff_id = po.id, po.lines[0].id, waiting.id, shop.staff.id
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    outcomes = pair.run(url, [(_receive, (staff_id, po_id, line_id, 6))] * 2)

    assert errors_of(outcomes) == []
    assert total_of(outcomes, "receive") == 1
    assert sum(outcome.refusals["QuantityTooLarge"] for outcome in outcomes) == 1
    po = buy.fresh(po_id)
    assert po.lines[0].received == 6 and po.state.value == "received"
    assert shop.stock("A") == (6, 4) and shop.line(waiting_id, "A").allocated == 4
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMove)
                             .where(StockMove.purchase_order_id == po_id)) == 1
    assert check_invariants() == []
