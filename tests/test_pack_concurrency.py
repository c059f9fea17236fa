"""Two packers closing the same order's parcel at the same moment, in two OS processes (as two gunicorn
workers): one parcel is packed, the other is refused, nothing is packed twice and every stock
invariant holds. On SQLite and (with OMS_TEST_DATABASE_URL) PostgreSQL.

The children and their barrier are tests/helpers/processes.py's; the pool here has just the two packers.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import packing
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import Product, Shipment, ShipmentLine

from .helpers.processes import Outcome, actors, attempt, spawned_children
from .stock_checks import idle_stock_beside_backorders

PACKERS = 2
ORDERS = 12


def _close_parcels(outcome: Outcome, ids: dict[str, int], role: str, parcels: list[tuple[int, dict, dict]]) -> None:
    """One packer: close each order's fully scanned parcel, as the station's last scan does."""
    who = actors(ids)
    for order_id, shown, scanned in parcels:
        shipment = attempt(outcome, "pack", packing.pack_parcel, getattr(who, role), order_id, shown, scanned)
        if isinstance(shipment, Exception):
            outcome.values.append((order_id, shipment.message))


@pytest.fixture(scope="module")
def packers():
    with spawned_children(PACKERS) as pool:
        yield pool


def test_two_packers_closing_the_same_parcels_at_once_pack_each_order_once(shop, app, packers):
    shop.product("A", in_hand=ORDERS * 2)
    shop.product("B", in_hand=ORDERS * 3)
    parcels = []
    for _ in range(ORDERS):
        order = shop.web_order(("A", 2), ("B", 3))
        parcel = packing.open_parcel(order.number)
        for code in ("2*A", "3*B"):
            parcel, _ = packing.scan_item(parcel, packing.read_scan(code))
        assert parcel.complete
        parcels.append((order.id, parcel.shown(), parcel.scanned()))
    ids = {"staff": shop.staff.id, "manager": shop.manager.id, "admin": shop.admin.id}

    # Both packers scanned every order completely; they close them in the same order, at the same moment.
    outcomes = packers.run(app.config["SQLALCHEMY_DATABASE_URI"],
                           [(_close_parcels, (ids, "staff", parcels)), (_close_parcels, (ids, "manager", parcels))])

    assert [error for outcome in outcomes for error in outcome.errors] == []
    assert sum(outcome.done["pack"] for outcome in outcomes) == ORDERS
    refusals = [value for outcome in outcomes for value in outcome.values]
    assert len(refusals) == ORDERS
    assert all("was packed meanwhile: scan it again" in message for _, message in refusals), refusals
    per_order = dict(db.session.execute(sa.select(Shipment.order_id, sa.func.count()).group_by(Shipment.order_id)).all())
    assert per_order == {order_id: 1 for order_id, _, _ in parcels}
    assert db.session.scalar(sa.select(sa.func.sum(ShipmentLine.quantity))) == ORDERS * 5
    assert {p.sku: (p.stock_in_hand, p.stock_committed) for p in db.session.scalars(sa.select(Product))} == {
        "A": (0, 0), "B": (0, 0)}
    assert check_invariants() == []
    assert idle_stock_beside_backorders() == []
