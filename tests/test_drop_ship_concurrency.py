"""Drop shipping under real concurrency (separate processes, tests/helpers/processes.py), on SQLite and
PostgreSQL.

The same supplier form sent by two processes at the same moment (a double click, a replay racing the
original): exactly one shipment is recorded, the other is refused. The form confirms only part of the
line, so the order's lock alone (nothing left to ship) would not stop the second: the link's (nonce, use)
row does.

Staff cut a drop-shipped line (or void its order) at the moment its supplier confirms shipping those units
through the link: one of the two wins and the other is refused, so each unit is either shipped under the
supplier's shipment or cancelled on the PO, never both and never neither, and the PO agrees with the order."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from oms_web.domain import drop_ship, order_actions
from oms_web.domain.drop_ship import ConfirmRow, LinkClaim
from oms_web.domain.invariants import check_invariants
from oms_web.domain.order_actions import LineChange
from oms_web.extensions import db
from oms_web.models import (LineAllocation, Order, OrderLine, OrderStatus, PurchaseOrderLine, Shipment, ShipmentLine,
                            SupplierLinkUse)

from .helpers.drop_ship import drop_shipped, supplier_location
from .helpers.processes import Outcome, actors, attempt, errors_of, spawned_children, total_of, user_ids


def _confirm(outcome: Outcome, claim: tuple, line_id: int, units: int = 1, after_s: float = 0.0) -> None:
    time.sleep(after_s)
    attempt(outcome, "confirm", drop_ship.confirm_by_link, LinkClaim(*claim), 0,
            [ConfirmRow(line_id, units, "DHL", "JD0001")])


def _cut(outcome: Outcome, ids: dict[str, int], order_id: int, line_id: int, quantity: int,
         after_s: float = 0.0) -> None:
    time.sleep(after_s)
    attempt(outcome, "cut", order_actions.edit_order, actors(ids).staff, order_id,
            [LineChange(quantity=quantity, line_id=line_id)])


def _void(outcome: Outcome, ids: dict[str, int], order_id: int, after_s: float = 0.0) -> None:
    time.sleep(after_s)
    attempt(outcome, "void", order_actions.void_order, actors(ids).admin, order_id, "customer cancelled")


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


def _units(order_id: int) -> tuple[OrderLine, LineAllocation, PurchaseOrderLine, int]:
    """The order's drop-shipped line, its allocation at the supplier, its PO line, and units in shipments."""
    db.session.rollback()
    (line,) = db.session.get(Order, order_id).lines
    (allocation,) = line.allocations
    (po_line,) = db.session.scalars(sa.select(PurchaseOrderLine).where(PurchaseOrderLine.order_line_id == line.id))
    in_shipments = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(ShipmentLine.quantity), 0))
                                     .where(ShipmentLine.order_line_id == line.id))
    return line, allocation, po_line, in_shipments


# How much later than the staff's change the supplier's request starts, per round (below 0: earlier).
# Started together, the supplier's shorter request usually wins, so the rounds around it let either win
# and the test sees both outcomes, and the moments between, where the two overlap under the locks.
SUPPLIER_LATE_S = [-0.05, 0.0, 0.01, 0.02, 0.05]


@pytest.mark.parametrize("round_", range(len(SUPPLIER_LATE_S)))
@pytest.mark.parametrize("change", ["cut", "void"])
def test_a_cut_or_void_racing_the_supplier_s_confirmation_lets_exactly_one_win(app, shop, pair, change, round_):
    """The supplier confirms all 3 units while staff cut the line to 1 (or void the order): the 2 units in
    dispute are shipped or cancelled on the PO, and the loser is refused, whichever commits first."""
    location = supplier_location()
    drop_shipped(shop, "BENCH", location)
    order = shop.web_order(("BENCH", 3))
    line_id = order.lines[0].id
    claim = drop_ship.read_link(drop_ship.link_token(order.id, location.id), order.id, location.id)
    supplier_late, staff_late = max(SUPPLIER_LATE_S[round_], 0), max(-SUPPLIER_LATE_S[round_], 0)
    confirm = (_confirm, ((claim.order_id, claim.location_id, claim.nonce), line_id, 3, supplier_late))
    staff = ((_cut, (user_ids(shop), order.id, line_id, 1, staff_late)) if change == "cut"
             else (_void, (user_ids(shop), order.id, staff_late)))

    outcomes = pair.run(app.config["SQLALCHEMY_DATABASE_URI"], [confirm, staff])

    assert errors_of(outcomes) == []
    supplier_won, staff_won = total_of(outcomes, "confirm"), total_of(outcomes, change)
    assert supplier_won + staff_won == 1
    assert sum(sum(o.refusals.values()) for o in outcomes) == 1
    line, allocation, po_line, in_shipments = _units(order.id)
    # Each unit of the PO line is shipped, cancelled or still the supplier's to ship: one of them, once.
    assert line.shipped + po_line.cancelled + allocation.to_ship == po_line.quantity == 3
    disputed = 2 if change == "cut" else 3
    if supplier_won:
        assert (line.ordered, line.shipped, po_line.cancelled, in_shipments) == (3, 3, 0, 3)
        assert db.session.get(Order, order.id).status is not OrderStatus.VOID
    else:
        assert (line.shipped, in_shipments, po_line.cancelled) == (0, 0, disputed)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupplierLinkUse)) == 0
    # The PO tells the supplier what the order still wants of it, and what it has left is what it may ship.
    assert po_line.ordered == allocation.allocated == line.allocated
    assert po_line.ordered - line.shipped == allocation.to_ship
    assert check_invariants() == []
