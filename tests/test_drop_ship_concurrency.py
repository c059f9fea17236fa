"""The same supplier form sent by two processes at the same moment (a double click, a replay racing the
original): exactly one shipment is recorded, the other is refused, on SQLite and PostgreSQL. The form
confirms only part of the line, so the order's lock alone (nothing left to ship) would not stop the second:
the link's (nonce, use) row does."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import drop_ship
from oms_web.domain.drop_ship import ConfirmRow, LinkClaim
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import Shipment, ShipmentLine, SupplierLinkUse

from .helpers.drop_ship import drop_shipped, supplier_location
from .helpers.processes import Outcome, attempt, errors_of, spawned_children, total_of


def _confirm(outcome: Outcome, claim: tuple, line_id: int) -> None:
    attempt(outcome, "confirm", drop_ship.confirm_by_link, LinkClaim(*claim), 0,
            [ConfirmRow(line_id, 1, "DHL", "JD0001")])


@pytest.fixture(scope="module")
def pair():
    with spawned_children(2) as pool:
        yield pool


@pytest.mark.parametrize("round_", range(3))
def test_the_same_link_form_sent_by_two_processes_at_once_records_one_shipment(app, shop, pair, round_):
    location = supplier_location()
    drop_shipped(shop, "BENCH", location)
    order = shop.web_order(("BENCH", 3))
    claim = drop_ship.read_link(drop_ship.link_token(order.id, location.id), order.id, location.id)
    line_id = order.lines[0].id
    args = ((claim.order_id, claim.location_id, claim.nonce), line_id)

    outcomes = pair.run(app.config["SQLALCHEMY_DATABASE_URI"], [(_confirm, args), (_confirm, args)])

    assert errors_of(outcomes) == []
    assert total_of(outcomes, "confirm") == 1
    assert sum(o.refusals["LinkRefused"] for o in outcomes) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shipment)) == 1
    assert db.session.scalar(sa.select(sa.func.sum(ShipmentLine.quantity))) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SupplierLinkUse)) == 1
    assert shop.line(order.id, "BENCH").shipped == 1
    assert check_invariants() == []
