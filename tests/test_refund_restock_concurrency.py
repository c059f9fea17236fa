"""A Shopify refund that restocks, under real concurrency (separate processes) on SQLite and PostgreSQL: the
same refund delivered by two processes at once is one refund and one restock; a refund racing a staff member
receiving the same units on a return here restocks them once."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.channels import refund_webhooks
from oms_web.database import write_transaction
from oms_web.domain import invoicing, orders, returns, shipping
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import ChannelKind, Refund, Return, SalesChannel, Segment, StockMove, User

from .helpers.processes import Outcome, attempt, errors_of, spawned_children

ORDERS = 4


def _deliver(outcome: Outcome, channel_id: int, payload: dict) -> None:
    taken = refund_webhooks.shopify_refund(db.session.get(SalesChannel, channel_id), payload)
    outcome.values.append(taken.result)


def _receive(outcome: Outcome, staff_id: int, return_id: int, line_id: int) -> None:
    result = attempt(outcome, "receive", returns.receive_return, db.session.get(User, staff_id), return_id,
                     {line_id: returns.Receipt(restock=1)})
    outcome.values.append("received" if isinstance(result, Return) else type(result).__name__)


@pytest.fixture(scope="module")
def children():
    with spawned_children(2 * ORDERS) as pool:
        yield pool


def _shopify_orders(shop, count: int, units: int = 1) -> tuple[SalesChannel, list[tuple[int, int, int]]]:
    """Shopify orders of `units` × R, shipped and invoiced: (order id, its Shopify id, its line's Shopify id)."""
    channel = shop.channel("Shopify", ChannelKind.SHOPIFY)
    shop.product("R", in_hand=count * units)
    made = []
    with write_transaction():
        for n in range(count):
            order = orders.create_order(None, NewOrder(
                channel_id=channel.id, channel_order_id=str(9000 + n),
                customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com"),
                lines=[LineRequest("R", units, channel_line_id=str(7000 + n))]))
            shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: units})
            invoicing.issue_invoice(shop.staff, order.id, shipment.id)
            made.append((order.id, 9000 + n, 7000 + n))
    return channel, made


def _refund(shopify_order_id: int, line_item_id: int, refund_id: int) -> dict:
    return {"id": refund_id, "order_id": shopify_order_id, "note": "came back",
            "refund_line_items": [{"id": 1, "line_item_id": line_item_id, "quantity": 1, "restock_type": "return"}],
            "transactions": [{"kind": "refund", "status": "success", "amount": "1.00"}]}


def _restocks() -> dict[int, int]:
    """Units restocked per order, from the ledger's return rows."""
    db.session.rollback()
    return dict(db.session.execute(sa.select(StockMove.order_id, sa.func.sum(StockMove.in_hand_delta))
                                   .where(StockMove.return_id.is_not(None)).group_by(StockMove.order_id)).all())


def test_the_same_restocking_refund_delivered_by_two_processes_at_once_is_one_refund_and_one_restock(
        app, shop, children):
    channel, made = _shopify_orders(shop, ORDERS)
    waiting = shop.web_order(("R", ORDERS)).id  # the restocked units fill it
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    jobs = [(_deliver, (channel.id, _refund(shopify_id, line_item, 500 + n)))
            for n, (_, shopify_id, line_item) in enumerate(made) for _ in range(2)]

    outcomes = children.run(url, jobs)

    assert errors_of(outcomes) == []
    results = sorted(value for outcome in outcomes for value in outcome.values)
    assert results == ["duplicate"] * ORDERS + ["recorded"] * ORDERS
    db.session.rollback()
    refunds_per_order = dict(db.session.execute(sa.select(Refund.order_id, sa.func.count()).group_by(Refund.order_id)).all())
    assert refunds_per_order == {order_id: 1 for order_id, _, _ in made}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Return)) == ORDERS
    assert _restocks() == {order_id: 1 for order_id, _, _ in made}
    assert shop.order_row(waiting).segment is Segment.READY_TO_SHIP
    assert check_invariants() == []


def test_a_restocking_refund_racing_a_staff_receipt_of_the_same_unit_restocks_it_once(app, shop, children):
    channel, made = _shopify_orders(shop, ORDERS)
    jobs = []
    for n, (order_id, shopify_id, line_item) in enumerate(made):
        line_id = shop.order_row(order_id).lines[0].id
        ret = returns.open_return(shop.staff, order_id, [returns.ReturnRequest(line_id, 1, "damaged")])
        returns.authorize_return(shop.staff, ret.id)
        jobs += [(_deliver, (channel.id, _refund(shopify_id, line_item, 600 + n))),
                 (_receive, (shop.staff.id, ret.id, ret.lines[0].id))]
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    outcomes = children.run(url, jobs)

    assert errors_of(outcomes) == []
    assert sorted(value for outcome in outcomes for value in outcome.values) == ["received"] * ORDERS + ["recorded"] * ORDERS
    assert _restocks() == {order_id: 1 for order_id, _, _ in made}
    assert shop.stock("R") == (ORDERS, 0)
    assert check_invariants() == []
