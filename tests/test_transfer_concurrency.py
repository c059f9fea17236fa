"""Transfers under real concurrency (separate processes, tests/helpers/processes.py), on SQLite and
PostgreSQL: a transfer's units are received once however many receipts race, and transfers racing
allocations at their source never take allocated units nor oversell."""
from __future__ import annotations

import random
import time

import pytest
import sqlalchemy as sa

from oms_web.database import write_transaction
from oms_web.domain import orders, transfers
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import Location, LocationKind, StockMove, Transfer, TransferLine, TransferState

from .helpers.locations import MAIN, add_location, counts, shipped_transfer
from .helpers.processes import Outcome, actors, attempt, errors_of, spawned_children, total_of, user_ids

POOL_SIZE = 8


# ---------------------------------------------------------------- the children's side

def _receive_it_all(outcome: Outcome, ids: dict[str, int], transfer_id: int) -> None:
    attempt(outcome, "receive", transfers.receive_everything, actors(ids).staff, transfer_id)


def _receive_in_lots(outcome: Outcome, ids: dict[str, int], transfer_id: int, line_id: int, lots: int) -> None:
    who = actors(ids)
    for _ in range(lots):
        done = attempt(outcome, "receive", transfers.receive_transfer, who.staff, transfer_id, {line_id: 1})
        if isinstance(done, Transfer):
            outcome.values.append(1)


def _transfer_away(outcome: Outcome, ids: dict[str, int], destination: int, seed: int, rounds: int) -> None:
    """Transfers out of Main, made and shipped at once, received at the destination."""
    rng = random.Random(seed)
    who = actors(ids)
    for _ in range(rounds):
        made = attempt(outcome, "create", transfers.create_transfer, who.manager, MAIN, destination,
                       [("A", rng.randint(1, 3)), ("B", rng.randint(1, 2))])
        if isinstance(made, Transfer):
            shipped = attempt(outcome, "ship", transfers.ship_transfer, who.manager, made.id)
            if isinstance(shipped, Transfer):
                attempt(outcome, "receive", transfers.receive_everything, who.staff, made.id)


def _deactivate(outcome: Outcome, ids: dict[str, int], location_id: int, name: str) -> None:
    from oms_web.domain import locations

    attempt(outcome, "deactivate", locations.update_location, actors(ids).admin, location_id,
            locations.LocationDetails(name=name, priority=50, active=False))


def _transfer_to(outcome: Outcome, ids: dict[str, int], destination: int) -> None:
    attempt(outcome, "create", transfers.create_transfer, actors(ids).manager, MAIN, destination, [("A", 1), ("B", 1)])


ORDER_PACE_S = 0.05


def _order_away(outcome: Outcome, web_id: int, seed: int, rounds: int) -> None:
    """Orders taking A and B at Main, paced: on SQLite writers queue, and orders placed back to back could
    take every unit before a transfer is made (no race left to test, and the test said so about once in two
    runs on a loaded machine)."""
    rng = random.Random(seed)
    for number in range(rounds):
        time.sleep(ORDER_PACE_S)
        attempt(outcome, "order", orders.create_order, None, NewOrder(
            channel_id=web_id, channel_order_id=f"R{seed}-{number}",
            customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com"),
            lines=[LineRequest(sku, rng.randint(1, 3)) for sku in rng.sample(["A", "B"], 2)]))


# ---------------------------------------------------------------- the test's side

@pytest.fixture(scope="module")
def children():
    with spawned_children(POOL_SIZE) as pool:
        yield pool


@pytest.fixture
def url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


def _received_in_ledger(transfer_id: int) -> int:
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(StockMove.in_hand_delta), 0)).where(
        StockMove.transfer_id == transfer_id, StockMove.reason == "transfer_in")))


def test_receipts_of_one_transfer_racing_in_eight_processes_receive_its_units_once(shop, url, children):
    shop.product("A", in_hand=30)
    east = add_location(shop, "East")
    whole = shipped_transfer(shop, MAIN, east, ("A", 10))
    in_lots = shipped_transfer(shop, MAIN, east, ("A", 12))
    lot_line = db.session.scalar(sa.select(TransferLine.id).where(TransferLine.transfer_id == in_lots.id))
    ids = user_ids(shop)

    outcomes = children.run(url, [(_receive_it_all, (ids, whole.id)) for _ in range(4)]
                            + [(_receive_in_lots, (ids, in_lots.id, lot_line, 5)) for _ in range(4)])

    assert errors_of(outcomes) == []
    assert sum(o.done["receive"] for o in outcomes[:4]) == 1, "the whole transfer was received exactly once"
    assert sum(len(o.values) for o in outcomes[4:]) == 12, "twelve one-unit receipts of twelve units went in"
    assert sum(sum(o.refusals.values()) for o in outcomes) == 3 + 8
    for made, units in ((whole, 10), (in_lots, 12)):
        row = db.session.get(Transfer, made.id)
        db.session.refresh(row)
        assert row.state is TransferState.RECEIVED and _received_in_ledger(made.id) == units
    assert counts(shop, "A", east) == (22, 0)
    assert check_invariants() == []


def test_transfers_racing_allocations_at_the_source_never_take_allocated_units_nor_oversell(shop, url, children):
    shop.product("A", in_hand=40)
    shop.product("B", in_hand=25)
    east = add_location(shop, "East", priority=10)
    with write_transaction():  # backorders waiting, so that receipts at East race the allocations too
        for number in range(4):
            orders.create_order(None, NewOrder(channel_id=shop.web.id, channel_order_id=f"W-{number}",
                                               customer=CustomerDetails(name="Ada", email="ada@example.com"),
                                               lines=[LineRequest("A", 1)]))
    ids = user_ids(shop)

    outcomes = children.run(url, [(_transfer_away, (ids, east, seed, 6)) for seed in range(4)]
                            + [(_order_away, (shop.web.id, seed, 8)) for seed in range(4, 8)])

    assert errors_of(outcomes) == []
    assert total_of(outcomes, "ship") > 0 and total_of(outcomes, "order") == 32
    assert sum(o.refusals["QuantityTooLarge"] for o in outcomes) > 0, "no transfer met a shortage: no race"
    assert check_invariants() == []
    for sku in ("A", "B"):
        in_hand, committed = counts(shop, sku, MAIN)
        assert 0 <= committed <= in_hand
    shipped = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer).where(
        Transfer.state != TransferState.CREATED))
    assert shipped == total_of(outcomes, "ship")


def test_a_transfer_made_while_its_destination_is_deactivated_never_leaves_an_inactive_location_with_a_transfer(
        shop, url, children):
    """The deactivation locks every product, then finds no open transfer there; creating a transfer locks its
    products, then reads its locations' flags. Either the transfer is made first (then the deactivation is
    refused: a transfer is open to it) or the deactivation is (then the transfer is refused). Never both."""
    shop.product("A", in_hand=20)
    shop.product("B", in_hand=20)
    ids = user_ids(shop)
    for round_number in range(8):
        name = f"Overflow {round_number}"
        place = Location(name=name, kind=LocationKind.WAREHOUSE, priority=50)  # shop.admin is not bound after a round
        db.session.add(place)
        db.session.commit()
        site = place.id
        jobs = [(_deactivate, (ids, site, name)), (_transfer_to, (ids, site))]
        outcomes = children.run(url, jobs if round_number % 2 else list(reversed(jobs)))

        assert errors_of(outcomes) == []
        db.session.expire_all()
        active = db.session.scalar(sa.select(Location.active).where(Location.id == site))
        open_there = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer).where(
            sa.or_(Transfer.source_id == site, Transfer.destination_id == site),
            Transfer.state.in_(transfers.OPEN_STATES)))
        assert active or open_there == 0, "deactivated with a transfer open to it"
        assert (total_of(outcomes, "deactivate"), total_of(outcomes, "create"), active, open_there) in (
            (1, 0, False, 0), (0, 1, True, 1))
        db.session.rollback()
    assert check_invariants() == []
