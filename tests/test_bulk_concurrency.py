"""A bulk action racing single-order actions on the same orders, in separate processes at the same
moment (the pool of tests/helpers/processes.py): one wins each order, nothing doubles."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import bulk_shipping, shipping
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import OrderLine, Shipment, ShipmentLine, ShipmentStatus

from .helpers.processes import Outcome, actors, attempt, errors_of, lines_of, spawned_children, total_of, user_ids
from .stock_checks import idle_stock_beside_backorders

POOL = 3


@pytest.fixture(scope="module")
def children():
    with spawned_children(POOL) as pool:
        yield pool


@pytest.fixture
def url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


def _bulk_create(outcome: Outcome, ids: dict[str, int], order_ids: list[int]) -> None:
    result = bulk_shipping.create_shipments(actors(ids).staff, order_ids)
    outcome.done["bulk packed"] += len(result.done)
    outcome.values.extend(("bulk refused", o.reason) for o in result.refused)


def _ship_each(outcome: Outcome, ids: dict[str, int], order_ids: list[int]) -> None:
    """The order page's Ship: the quantities read a moment before, then the service (a stale read)."""
    staff = actors(ids).staff
    for order_id in order_ids:
        ready = {line.id: line.allocated - line.shipped for line in lines_of(order_id) if line.allocated > line.shipped}
        if ready:
            attempt(outcome, "single ship", shipping.ship_lines, staff, order_id, ready, carrier="UPS")
        else:
            outcome.done["nothing left"] += 1


def _bulk_hand_over(outcome: Outcome, ids: dict[str, int], order_ids: list[int]) -> None:
    result = bulk_shipping.hand_over(actors(ids).staff, order_ids)
    outcome.done["bulk handed over"] += len(result.done)


def _cancel_each(outcome: Outcome, ids: dict[str, int], shipment_ids: list[int]) -> None:
    staff = actors(ids).staff
    for shipment_id in shipment_ids:
        attempt(outcome, "single cancel", shipping.cancel_shipment, staff, shipment_id)


def test_bulk_create_racing_single_order_ships_packs_each_order_once(shop, url, children):
    shop.product("TENT", in_hand=200)
    shop.product("MUG", in_hand=200)
    order_ids = [shop.web_order(("TENT", 1 + i % 3), ("MUG", 2)).id for i in range(30)]

    outcomes = children.run(url, [(_bulk_create, (user_ids(shop), order_ids)),
                                  (_ship_each, (user_ids(shop), order_ids[::-1]))])

    assert errors_of(outcomes) == []
    bulk, single = total_of(outcomes, "bulk packed"), total_of(outcomes, "single ship")
    assert bulk + single == 30  # every order packed by one of them, never by both
    per_order = dict(db.session.execute(
        sa.select(Shipment.order_id, sa.func.count()).group_by(Shipment.order_id)).all())
    assert per_order == {order_id: 1 for order_id in order_ids}  # one parcel each: nothing doubled
    shipped = dict(db.session.execute(sa.select(OrderLine.id, OrderLine.shipped)).all())
    in_parcels = dict(db.session.execute(sa.select(ShipmentLine.order_line_id, sa.func.sum(ShipmentLine.quantity))
                                         .group_by(ShipmentLine.order_line_id)).all())
    ordered = dict(db.session.execute(sa.select(OrderLine.id, OrderLine.ordered)).all())
    assert shipped == in_parcels == ordered
    assert shop.stock("TENT") == (200 - sum(1 + i % 3 for i in range(30)), 0)
    assert shop.stock("MUG") == (200 - 60, 0)
    assert check_invariants() == [] and idle_stock_beside_backorders() == []


def test_bulk_hand_over_racing_single_cancels_moves_each_parcel_one_way(shop, url, children):
    shop.product("TENT", in_hand=100)
    order_ids = [shop.web_order(("TENT", 2)).id for _ in range(20)]
    for order_id in order_ids:
        (line,) = shop.order_row(order_id).lines
        shipping.ship_lines(shop.staff, order_id, {line.id: 2}, carrier="UPS")
    shipment_ids = db.session.scalars(sa.select(Shipment.id).order_by(Shipment.id.desc())).all()
    db.session.rollback()

    outcomes = children.run(url, [(_bulk_hand_over, (user_ids(shop), order_ids)),
                                  (_cancel_each, (user_ids(shop), shipment_ids))])

    assert errors_of(outcomes) == []
    statuses = db.session.scalars(sa.select(Shipment.status)).all()
    handed, cancelled = statuses.count(ShipmentStatus.SHIPPED), statuses.count(ShipmentStatus.CANCELLED)
    assert handed == total_of(outcomes, "bulk handed over") and cancelled == total_of(outcomes, "single cancel")
    assert handed + cancelled == 20
    assert shop.stock("TENT") == (100 - 2 * handed, 2 * cancelled)  # a cancelled parcel's units are allocated again
    assert check_invariants() == [] and idle_stock_beside_backorders() == []
