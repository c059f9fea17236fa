"""Receiving a return by scan at the pack station: the slip's barcode opens the return, each scanned item
counts a unit back, each line's condition is picked and Alt+R (the Receive button, or typing RECEIVE)
receives it through returns.receive_return. A wrong item, one unit too many, a stale or garbled receipt,
a return received twice: refused with a red message, nothing changed. On SQLite and PostgreSQL."""
from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from oms_web.domain import returns, shipping
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import Return, ReturnState, Segment, StockMove

from .conftest import state, use_both_backends

web_app = use_both_backends()

EAN_A = "4006381333931"
_HELD = re.compile(r'name="(return_id|expect-\d+|counted-\d+|order_id|shown-\d+|scanned-\d+)" value="(\d+)"')
_CONDITION = re.compile(r'<select id="condition-\d+" name="(condition-\d+)"[^>]*>.*?<option value="(\w+)" selected>',
                        re.DOTALL)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


class Station:
    """One bench: each post sends back what the last answer held (counts and each line's condition)."""

    def __init__(self, client) -> None:
        self.client, self.held = client, {}

    def scan(self, code: str, action: str = "scan", *, status: int = 200, **conditions: str):
        response = self.client.htmx_post("/pack/scan", {"code": code, "action": action, **self.held, **conditions})
        assert response.status_code == status, text(response)[:800]
        body = response.get_data(as_text=True)
        self.held = {**dict(_HELD.findall(body)), **dict(_CONDITION.findall(body))}
        return response


def _authorized_return(shop, *units: tuple[str, int], ordered=None) -> Return:
    """A delivered order of `ordered` (default: the returned units), and an authorized return of `units`."""
    order = shop.web_order(*(ordered or units))
    shipment = shipping.ship_lines(shop.staff, order.id, {line.id: line.ordered for line in order.lines},
                                   carrier="UPS", tracking_number="1Z1")
    shipping.mark_shipped(shop.staff, shipment.id)
    shipping.mark_delivered(shop.staff, shipment.id)
    lines = {line.sku: line.id for line in order.lines}
    ret = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(lines[sku], n, "damaged") for sku, n in units])
    returns.authorize_return(shop.staff, ret.id)
    db.session.rollback()
    return db.session.get(Return, ret.id)


@pytest.fixture
def two_products(shop):
    shop.product("A", in_hand=3).barcode = EAN_A
    shop.product("B", in_hand=3)
    shop.product("C", in_hand=3)
    db.session.commit()


def _ledger(return_id: int) -> list[tuple[str, int]]:
    db.session.rollback()
    rows = db.session.execute(sa.select(StockMove.reason, StockMove.in_hand_delta).where(StockMove.return_id == return_id)
                              .order_by(StockMove.id)).all()
    db.session.rollback()
    return [tuple(r) for r in rows]


def test_a_return_is_received_by_scanning_its_slip_then_its_items_and_fills_a_backorder(shop, as_staff, two_products):
    ret = _authorized_return(shop, ("A", 2), ("B", 1))
    line_a, line_b = ret.lines
    waiting = shop.web_order(("A", 2))  # A is out: the restocked unit fills it
    assert shop.stock("A") == (1, 1)
    station = Station(as_staff)

    opened = station.scan(ret.number.lower())
    assert f"{ret.number}: scan the items that came back." in text(opened)
    assert "0 of 3 unit(s) back" in text(opened)
    assert station.held == {"return_id": str(ret.id), f"expect-{line_a.id}": "2", f"counted-{line_a.id}": "0",
                            f"expect-{line_b.id}": "1", f"counted-{line_b.id}": "0",
                            f"condition-{line_a.id}": "restock", f"condition-{line_b.id}": "restock"}

    assert "A: 1 of 2 back" in text(station.scan(EAN_A))
    assert "B: 1 of 1 back" in text(station.scan("b", **{f"condition-{line_b.id}": "quarantine"}))
    assert station.held[f"condition-{line_b.id}"] == "quarantine"  # the choice is kept through the next scans
    assert _ledger(ret.id) == []  # counting changes nothing until the return is received

    received = station.scan("", "receive")
    assert f"{ret.number} received: 1 restocked, 1 quarantined, 0 written off." in text(received)
    assert "stock-changed" in received.headers["HX-Trigger"]
    assert station.held == {}
    db.session.rollback()
    done = db.session.get(Return, ret.id)
    assert done.state is ReturnState.RECEIVED
    assert [(l.received, l.restocked, l.quarantined) for l in done.lines] == [(1, 1, 0), (1, 0, 1)]
    assert [r[1] for r in _ledger(ret.id)] == [1, 1]
    assert shop.order_row(waiting.id).segment is Segment.READY_TO_SHIP  # 1 in hand + 1 back: both units
    assert check_invariants() == []


def test_typing_receive_receives_and_a_keyed_quantity_counts_several(shop, as_staff, two_products):
    ret = _authorized_return(shop, ("A", 3))
    station = Station(as_staff)
    station.scan(ret.number)
    assert "A: 3 of 3 back · all counted" in text(station.scan("3*A"))
    assert f"{ret.number} received: 3 restocked" in text(station.scan("receive"))
    assert shop.stock("A") == (3, 0)


@pytest.mark.parametrize("code, message", [
    ("C", "Wrong item: C (Product C) is not on RMA-"),
    (EAN_A + "9", "Unknown code"),
    ("2*B", "Too many B: 2 scanned, only 1 of 1 left on RMA-"),
])
def test_an_item_not_on_the_return_or_one_too_many_is_refused_at_once_and_changes_nothing(
        shop, as_staff, two_products, code, message):
    ret = _authorized_return(shop, ("B", 1))
    station = Station(as_staff)
    station.scan(ret.number)
    held, before = dict(station.held), state(shop)
    refused = station.scan(code, status=422)
    assert message in text(refused) and 'class="pack-message refused" role="alert"' in text(refused)
    assert station.held == held  # the receipt stays on the bench as it was
    assert state(shop) == before


def test_a_unit_beyond_the_lines_quantity_is_refused(shop, as_staff, two_products):
    ret = _authorized_return(shop, ("B", 1))
    station = Station(as_staff)
    station.scan(ret.number)
    station.scan("B")
    assert f"Too many B: all 1 of {ret.number} are counted already" in text(station.scan("B", status=422))


def test_receiving_with_nothing_counted_is_refused(shop, as_staff, two_products):
    ret = _authorized_return(shop, ("B", 1))
    station = Station(as_staff)
    station.scan(ret.number)
    assert f"Nothing is counted yet: scan the items of {ret.number} first" in text(station.scan("", "receive", status=422))
    assert db.session.get(Return, ret.id).state is ReturnState.AUTHORIZED


def test_a_return_is_received_once_even_from_two_benches(shop, as_staff, sign_in, two_products):
    ret = _authorized_return(shop, ("B", 1))
    first, second = Station(as_staff), Station(sign_in(shop.manager))
    for bench in (first, second):
        bench.scan(ret.number)
        bench.scan("B")
    first.scan("", "receive")
    before = state(shop)
    stale = second.scan("", "receive", status=422)
    assert f"{ret.number} was received already: a return is received once" in text(stale)
    assert state(shop) == before and len(_ledger(ret.id)) == 1
    again = Station(as_staff).scan(ret.number, status=422)
    assert "was received already" in text(again)


def test_a_return_not_yet_authorized_or_unknown_is_refused(shop, as_staff, two_products):
    order = shop.web_order(("B", 1))
    shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    requested = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(order.lines[0].id, 1, "other")])
    refused = Station(as_staff).scan(requested.number, status=422)
    assert f"{requested.number} is not authorized yet" in text(refused)
    assert "No return 'RMA-999999'" in text(Station(as_staff).scan("RMA-999999", status=422))


def test_the_receipt_is_put_aside_and_an_order_waits_until_it_is(shop, as_staff, two_products):
    ret = _authorized_return(shop, ("B", 1))
    packing_order = shop.web_order(("C", 1))
    station = Station(as_staff)
    station.scan(ret.number)
    station.scan("B")
    busy = station.scan(packing_order.number, status=422)
    assert f"{ret.number} is being received: receive it (Alt+R) or start over (Alt+X)" in text(busy)
    aside = station.scan("", "cancel")
    assert f"{ret.number} put aside: nothing was received" in text(aside) and station.held == {}
    assert f"{packing_order.number}: scan its items." in text(station.scan(packing_order.number))


@pytest.mark.parametrize("forged", [
    {"counted-{a}": "9"},  # more than the line holds
    {"condition-{a}": "sell"},
    {"expect-{a}": "5"},  # not what the return holds
    {"counted-999999": "0"},
    {"return_id": "x"},
])
def test_garbled_or_forged_receipt_figures_are_refused_and_change_nothing(shop, as_staff, two_products, forged):
    ret = _authorized_return(shop, ("B", 1))
    station = Station(as_staff)
    station.scan(ret.number)
    a = ret.lines[0].id
    station.held.update({k.format(a=a): v for k, v in forged.items()})
    before = state(shop)
    refused = station.scan("B", status=422)
    assert "scan" in text(refused) and 'role="alert"' in text(refused)
    assert state(shop) == before
