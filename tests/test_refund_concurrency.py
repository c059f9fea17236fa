"""Refunds under real concurrency (separate processes, tests/helpers/processes.py), on SQLite and PostgreSQL:
a channel's refund racing a manager recording it with the same reference is recorded once, and credit
note numbers stay gapless while eight processes refund and roll back."""
from __future__ import annotations

import traceback

import pytest
import sqlalchemy as sa

from oms_web.database import write_transaction
from oms_web.domain import invoicing, orders, refunds, shipping
from oms_web.domain.errors import DomainError
from oms_web.domain.invariants import check_invariants
from oms_web.domain.refunds import DuplicateRefund, RefundRequest
from oms_web.extensions import db
from oms_web.models import Counter, CreditNote, Refund, SalesChannel

from .helpers.processes import Outcome, actors, attempt, errors_of, spawned_children, total_of, user_ids
from .test_concurrency import _new_order

POOL_SIZE = 8


class Abandoned(Exception):
    """Raised on purpose inside a write transaction, to roll it back after it took a credit note number."""


def _refund_as_manager(outcome: Outcome, ids: dict[str, int], order_id: int, reference: str) -> None:
    who = actors(ids)
    result = attempt(outcome, "refund", refunds.issue_refund, who.manager, order_id,
                     RefundRequest(amount_cents=500, channel_reference=reference))
    if isinstance(result, Refund):
        outcome.values.append(result.id)


def _refund_from_channel(outcome: Outcome, channel_id: int, channel_order_id: str, reference: str) -> None:
    channel = db.session.get(SalesChannel, channel_id)
    result = attempt(outcome, "refund", refunds.record_channel_refund, channel, channel_order_id,
                     RefundRequest(fit_to_cents=500, channel_reference=reference))
    if isinstance(result, Refund):
        outcome.values.append(result.id)


def _refund_and_roll_back(outcome: Outcome, ids: dict[str, int], order_ids: list[int]) -> None:
    """A refund of one cent on each order; before every third, one that takes a number and rolls back."""
    who = actors(ids)
    for position, order_id in enumerate(order_ids):
        if position % 3 == 1:
            try:
                with write_transaction():
                    if position % 2:
                        refunds.next_credit_note_number()
                    else:
                        refunds.issue_refund(who.manager, order_id, RefundRequest(amount_cents=1))
                    raise Abandoned()
            except Abandoned:
                outcome.done["abandoned"] += 1
            except DomainError as refusal:
                outcome.refusals[type(refusal).__name__] += 1
            except Exception:
                outcome.errors.append(f"abandoned refund: {traceback.format_exc()}")
        refund = attempt(outcome, "refund", refunds.issue_refund, who.manager, order_id, RefundRequest(amount_cents=1))
        if isinstance(refund, Refund):
            outcome.values.append(refund.credit_note.number)


@pytest.fixture(scope="module")
def children():
    with spawned_children(POOL_SIZE) as pool:
        yield pool


@pytest.fixture
def url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


def _invoiced_orders(shop, count: int) -> list:
    shop.product("R", in_hand=count)
    made = []
    with write_transaction():
        for number in range(count):
            order = orders.create_order(None, _new_order(shop.web.id, [("R", 1)], channel_order_id=f"RF-{number}"))
            shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
            invoicing.issue_invoice(shop.staff, order.id, shipment.id)
            made.append((order.id, order.channel_order_id))
    return made


def test_a_channel_refund_racing_a_manager_with_the_same_reference_is_recorded_once(shop, url, children):
    races = _invoiced_orders(shop, 4)
    jobs = []
    for order_id, channel_order_id in races:  # per order: the webhook delivery and a manager keying it in, at once
        reference = f"SHOP-{order_id}"
        jobs += [(_refund_from_channel, (shop.web.id, channel_order_id, reference)),
                 (_refund_as_manager, (user_ids(shop), order_id, reference))]
    outcomes = children.run(url, jobs[:8])

    assert errors_of(outcomes) == []
    assert total_of(outcomes, "refund") == 4
    assert sum(o.refusals[DuplicateRefund.__name__] for o in outcomes) == 4
    db.session.rollback()
    per_order = dict(db.session.execute(sa.select(Refund.order_id, sa.func.count()).group_by(Refund.order_id)).all())
    assert per_order == {order_id: 1 for order_id, _ in races}
    assert db.session.scalars(sa.select(CreditNote.number).order_by(CreditNote.id)).all() == [1, 2, 3, 4]
    assert check_invariants() == []


def test_credit_note_numbers_stay_gapless_while_eight_processes_refund_and_roll_back(shop, url, children):
    made = [order_id for order_id, _ in _invoiced_orders(shop, 40)]
    # Each order refunded by two processes (a cent each, well within its invoice): they queue on its lock.
    jobs = [(_refund_and_roll_back, (user_ids(shop), made[(i % 4) * 10:(i % 4) * 10 + 10])) for i in range(8)]
    outcomes = children.run(url, jobs)

    assert errors_of(outcomes) == []
    assert total_of(outcomes, "refund") == 80
    assert total_of(outcomes, "abandoned") == 8 * 3
    issued = sorted(number for outcome in outcomes for number in outcome.values)
    assert issued == list(range(1, 81))
    db.session.rollback()
    assert db.session.scalars(sa.select(CreditNote.number).order_by(CreditNote.id)).all() == list(range(1, 81))
    assert db.session.get(Counter, refunds.CREDIT_NOTE_COUNTER).value == 80
    assert check_invariants() == []
