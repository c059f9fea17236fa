"""A hand-over racing a cancel of the same parcels, in two OS processes at once (the pool and child runner of
test_concurrency): each parcel ends either shipped and on the manifest or cancelled with its units back,
never both, and no process sees anything but a refusal."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import handover, shipping
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import ManifestParcel, OrderEvent, Shipment, ShipmentConfirmation, ShipmentStatus, User

from .helpers.processes import Outcome, attempt, spawned_children

PARCELS = 12


def _hand_over(outcome: Outcome, staff_id: int, shipment_ids: list[int]) -> None:
    result = attempt(outcome, "hand over", handover.hand_over, db.session.get(User, staff_id), "UPS", shipment_ids)
    if result is not None and not isinstance(result, Exception):
        outcome.values.extend(("shipped", s.id) for s in result.shipped)
        outcome.values.extend(("refused", r.shipment_id, r.reason) for r in result.refused)


def _cancel_each(outcome: Outcome, staff_id: int, shipment_ids: list[int]) -> None:
    staff = db.session.get(User, staff_id)
    for shipment_id in shipment_ids:
        if not isinstance(attempt(outcome, "cancel", shipping.cancel_shipment, staff, shipment_id), Exception):
            outcome.values.append(("cancelled", shipment_id))


@pytest.fixture(scope="module")
def pair():
    with spawned_children(2) as pool:
        yield pool


def test_a_hand_over_racing_a_cancel_of_the_same_parcels_lets_exactly_one_win_each(app, shop, pair):
    shop.product("A", in_hand=PARCELS)
    ids = []
    for number in range(PARCELS):
        order = shop.web_order(("A", 1))
        ids.append(shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="UPS",
                                       tracking_number=f"1Z{number:04d}").id)
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    # The canceller goes from the other end, so that the two meet in the middle.
    outcomes = pair.run(url, [(_hand_over, (shop.staff.id, ids)), (_cancel_each, (shop.staff.id, ids[::-1]))])

    assert [error for outcome in outcomes for error in outcome.errors] == []
    won = {}
    for outcome in outcomes:
        for value in outcome.values:
            if value[0] in ("shipped", "cancelled"):
                assert value[1] not in won, f"parcel {value[1]} was both {won[value[1]]} and {value[0]}"
                won[value[1]] = value[0]
    assert sorted(won) == sorted(ids)  # every parcel went one way
    statuses = dict(db.session.execute(sa.select(Shipment.id, Shipment.status)).all())
    on_manifest = set(db.session.scalars(sa.select(ManifestParcel.shipment_id)))
    for shipment_id, way in won.items():
        expected = ShipmentStatus.SHIPPED if way == "shipped" else ShipmentStatus.CANCELLED
        assert statuses[shipment_id] is expected
        assert (shipment_id in on_manifest) == (way == "shipped")
    events = db.session.execute(sa.select(OrderEvent.kind, sa.func.count()).group_by(OrderEvent.kind)).all()
    counts = dict(events)
    shipped = sum(1 for way in won.values() if way == "shipped")
    assert counts.get("shipment_shipped", 0) == shipped
    assert counts.get("shipment_cancelled", 0) == PARCELS - shipped
    assert shop.stock("A") == (PARCELS - shipped, PARCELS - shipped)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShipmentConfirmation)) == 0  # a web store order
    assert check_invariants() == []
