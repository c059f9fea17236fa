"""The pack station through HTTP: scan an order, then its items (htmx, and plain posts without script);
the parcel packs when complete or closed, and its label opens. Every bad scan, garbled figure, stale
parcel or missing token is refused with its message and changes nothing. On SQLite and (with
OMS_TEST_DATABASE_URL) PostgreSQL."""
from __future__ import annotations

import html
import re

import pytest

from oms_web.domain import orders
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import PaymentStatus, Shipment

from .conftest import state, use_both_backends
from tests.helpers.refusals import refuses

web_app = use_both_backends()

EAN_A = "4006381333931"
_STATE = re.compile(r'name="(order_id|shown-\d+|scanned-\d+)" value="(\d+)"')


def figures(response) -> dict[str, str]:
    """The parcel the station's answer holds, as the page posts it back with the next scan."""
    return dict(_STATE.findall(response.get_data(as_text=True)))


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


class Station:
    """One packer's station: each scan posts what the last answer held, as the page does."""

    def __init__(self, client) -> None:
        self.client, self.held = client, {}

    def scan(self, code: str, action: str = "scan", *, status: int = 200):
        response = self.client.htmx_post("/pack/scan", {"code": code, "action": action, **self.held})
        assert response.status_code == status, text(response)[:600]
        self.held = figures(response)
        return response


@pytest.fixture
def order(shop):
    """A paid web order of 2 × A (barcode EAN_A) and 1 × B; C is in the catalogue but on no order."""
    shop.product("A", in_hand=10).barcode = EAN_A
    shop.product("B", in_hand=10)
    shop.product("C", in_hand=10)
    db.session.commit()
    return shop.web_order(("A", 2), ("B", 1))


def _shipments() -> list[tuple[int, int]]:
    db.session.rollback()
    return [(s.order_id, sum(l.quantity for l in s.lines)) for s in db.session.query(Shipment).order_by(Shipment.id)]


def test_the_station_is_a_page_with_one_focused_scan_field_linked_from_the_nav(shop, as_staff):
    page = as_staff.get("/pack")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'<input id="f-code" name="code"[^>]*data-scan-input autofocus maxlength="100"', body)
    assert '<a href="/pack" aria-current="page">Pack</a>' in body
    assert "/static/pack.js" in body


def test_an_order_is_packed_by_scanning_it_then_each_item(shop, as_staff, order):
    a, b = order.lines
    station = Station(as_staff)

    opened = station.scan(order.number)
    assert f"{order.number}: scan its items." in text(opened) and "<html" not in text(opened)
    assert station.held == {"order_id": str(order.id), f"shown-{a.id}": "2", f"scanned-{a.id}": "0",
                            f"shown-{b.id}": "1", f"scanned-{b.id}": "0"}
    assert "0 of 3 unit(s) scanned" in text(opened)

    assert "A: 1 of 2" in text(station.scan(EAN_A))
    assert "B: 1 of 1" in text(station.scan("b"))
    assert _shipments() == []  # scanning changes nothing until the parcel is packed

    packed = station.scan("A")
    body = text(packed)
    shipment_id = db.session.query(Shipment.id).scalar()
    assert f"SH-{shipment_id:06d} packed: 3 unit(s) of {order.number}" in body
    assert f'data-label-url="/orders/{order.id}/shipments/{shipment_id}/label.pdf"' in body
    assert "orders-changed" in packed.headers["HX-Trigger"]
    assert station.held == {}  # the next scan starts the next order
    assert _shipments() == [(order.id, 3)] and shop.stock("A") == (8, 0) and shop.stock("B") == (9, 0)
    assert check_invariants() == []

    label = as_staff.get(f"/orders/{order.id}/shipments/{shipment_id}/label.pdf")
    assert label.status_code == 200 and label.mimetype == "application/pdf"


def test_a_keyed_quantity_counts_several_units_at_once(shop, as_staff, order):
    station = Station(as_staff)
    station.scan(order.number)
    assert "A: 2 of 2" in text(station.scan("2*" + EAN_A))


@pytest.mark.parametrize("how", ["button", "typed"])
def test_a_partial_parcel_is_closed_by_its_button_or_by_typing_close(shop, as_staff, order, how):
    a, b = order.lines
    station = Station(as_staff)
    station.scan(order.number)
    station.scan("A")
    closed = station.scan("", "close") if how == "button" else station.scan("close")
    assert "packed: 1 unit(s)" in text(closed)
    assert [l.shipped for l in shop.order_row(order.id).lines] == [1, 0]
    reopened = station.scan(order.number)
    assert "0 of 2 unit(s) scanned" in text(reopened)
    assert station.held[f"shown-{a.id}"] == "1" and station.held[f"shown-{b.id}"] == "1"


def test_starting_over_puts_the_parcel_aside_and_changes_nothing(shop, as_staff, order):
    station = Station(as_staff)
    station.scan(order.number)
    station.scan("A")
    before = state(shop)
    answer = station.scan("", "cancel")
    assert f"{order.number} put aside: nothing was packed" in text(answer) and station.held == {}
    assert state(shop) == before


def test_without_script_each_scan_is_a_page_holding_the_parcel(shop, as_staff, order):
    a, _ = order.lines
    page = as_staff.post_form("/pack/scan", {"code": order.number})
    assert page.status_code == 200 and "<html" in text(page)
    held = figures(page)
    page = as_staff.post_form("/pack/scan", {"code": "A", **held})
    assert "A: 1 of 2" in text(page) and figures(page)[f"scanned-{a.id}"] == "1"


# ---------------------------------------------------------------- refusals: a message, and nothing changed

def _opened(as_staff, order, *scans: str) -> dict:
    station = Station(as_staff)
    station.scan(order.number)
    for code in scans:
        station.scan(code)
    return station.held


@pytest.mark.parametrize(("code", "message"), [
    ("C", "Wrong item: C (Product C) is not on"),
    ("5012345678900", "Unknown code 5012345678900: no product has this barcode or SKU"),
    ("B", "Too many B: all 1 of"),
    ("3*A", "Too many A: 3 scanned, only 1 of 2 left to pack"),
    ("-1*A", "Key a quantity as a whole number from 1"),
    ("0*A", "Key a quantity as a whole number from 1"),
    ("1.5*A", "Key a quantity as a whole number from 1"),
    ("99999999999999999999999*A", "The keyed quantity is too large: at most 100,000"),
    ("A" * 101, "A scan has at most 100 characters (101 given)"),
    ("", "Scan a barcode or type a code, then Enter"),
    ("SO-999999", "is being packed: finish it, close it as a partial parcel"),
])
def test_a_bad_scan_of_an_open_parcel_is_refused_and_keeps_the_parcel(shop, as_staff, order, code, message):
    held = _opened(as_staff, order, "A", "B")
    refuses(shop, as_staff, "/pack/scan", {"code": code, **held}, 422, message)
    again = as_staff.htmx_post("/pack/scan", {"code": code, **held})
    assert figures(again) == held  # the station keeps its parcel as it was
    assert 'data-outcome="refused"' in again.get_data(as_text=True)


def _draft(shop):
    return shop.draft(("A", 1))


def _held(shop):
    return shop.web_order(("A", 1), ("MYSTERY", 1))


def _unpaid(shop):
    return shop.web_order(("A", 1), payment=PaymentStatus.PENDING)


def _nothing_allocated(shop):
    shop.product("SCARCE")
    return shop.web_order(("SCARCE", 1))


@pytest.mark.parametrize(("make", "message"), [
    (_draft, "is draft: only a finalized order ships"), (_held, "is on hold"),
    (_unpaid, "is awaiting payment and cannot ship yet"), (_nothing_allocated, "has no allocated units to pack"),
])
def test_an_order_that_cannot_ship_is_refused_as_it_is_scanned(shop, as_staff, order, make, message):
    other = make(shop)
    refuses(shop, as_staff, "/pack/scan", {"code": other.number}, 422, message)


@pytest.mark.parametrize(("code", "message"), [
    ("SO-424242", "No order or shipment has the number SO-424242"),
    ("SH-000777", "No order or shipment has the number SH-000777"),
    (EAN_A, f"{EAN_A} is an item (A), not an order: scan the order first"),
    ("12*SO-000001", "A keyed quantity goes before an item's code, not an order's"),
    ("CLOSE", "Scan an order first: there is no parcel to close"),
])
def test_a_scan_that_opens_no_order_is_refused(shop, as_staff, order, code, message):
    refuses(shop, as_staff, "/pack/scan", {"code": code}, 422, message)


def _garbled(held: dict, **changes) -> dict:
    data = {**held, **changes}
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("change", [
    lambda h, a, b: _garbled(h, **{f"scanned-{a}": "-1"}),
    lambda h, a, b: _garbled(h, **{f"scanned-{a}": "abc"}),
    lambda h, a, b: _garbled(h, **{f"scanned-{a}": "1e3"}),
    lambda h, a, b: _garbled(h, **{f"scanned-{a}": "9" * 40}),
    lambda h, a, b: _garbled(h, **{f"scanned-{a}": "3"}),  # more than the line has
    lambda h, a, b: _garbled(h, **{f"scanned-{a}": None}),
    lambda h, a, b: _garbled(h, **{f"scanned-{b + 100}": "0", f"shown-{b + 100}": "1"}),
    lambda h, a, b: _garbled(h, **{"scanned-x": "1"}),
    lambda h, a, b: _garbled(h, order_id="abc"),
    lambda h, a, b: _garbled(h, order_id="9" * 30),
    lambda h, a, b: _garbled(h, order_id=None),
    lambda h, a, b: {"order_id": h["order_id"]},
])
def test_garbled_figures_are_refused_and_the_packer_starts_the_order_again(shop, as_staff, order, change):
    a, b = order.lines
    held = _opened(as_staff, order, "A")
    data = {"code": "A", **change(held, a.id, b.id)}
    refuses(shop, as_staff, "/pack/scan", data, 422, "scan")
    answer = as_staff.htmx_post("/pack/scan", data)
    assert figures(answer) == {}  # the parcel is dropped: the next scan is the order's again


@pytest.mark.parametrize("code,action", [("A", "scan"), ("", "close")])
def test_another_packers_stale_parcel_is_refused_after_this_one_packed_it(shop, as_staff, sign_in, order, code, action):
    mine = Station(as_staff)
    mine.scan(order.number)
    mine.scan("B")
    theirs = Station(sign_in(shop.manager))
    for scan in (order.number, "A", "A", "B"):
        theirs.scan(scan)
    assert _shipments() == [(order.id, 3)]

    refuses(shop, as_staff, "/pack/scan", {"code": code, "action": action, **mine.held}, 422,
            f"{order.number} was packed meanwhile: scan it again")
    refused = as_staff.htmx_post("/pack/scan", {"code": code, "action": action, **mine.held})
    assert figures(refused) == {}
    assert _shipments() == [(order.id, 3)]


def test_a_parcel_closed_with_nothing_scanned_is_refused(shop, as_staff, order):
    held = _opened(as_staff, order)
    refuses(shop, as_staff, "/pack/scan", {"code": "", "action": "close", **held}, 422, "Nothing is scanned yet")


def test_an_unknown_action_is_refused(shop, as_staff, order):
    held = _opened(as_staff, order)
    refuses(shop, as_staff, "/pack/scan", {"code": "A", "action": "ship-everything", **held}, 422,
            "The station does one of: scan, close, cancel")


def test_a_nul_byte_in_a_scan_is_refused(shop, as_staff, order):
    refuses(shop, as_staff, "/pack/scan", {"code": "SO-\x00"}, 400, "holds a NUL character")


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_scan_without_the_sessions_token_is_refused_and_packs_nothing(shop, as_staff, order, token):
    held = _opened(as_staff, order, "A", "A")
    before = state(shop)
    for post in (as_staff.htmx_post, as_staff.post_form):
        response = post("/pack/scan", {"code": "B", **held}, token=token)
        assert response.status_code == 400 and "This form has expired" in text(response)
    assert state(shop) == before and _shipments() == []


def test_the_station_needs_a_signed_in_user(shop, client, order):
    for response in (client.get("/pack"), client.post("/pack/scan", data={"code": order.number})):
        assert response.status_code in (302, 400)
    assert client.get("/pack").headers["Location"].startswith("/login")


def test_a_parcel_of_an_order_put_on_hold_meanwhile_is_refused_as_it_closes(shop, as_staff, order):
    held = _opened(as_staff, order, "A")
    orders.record_channel_cancellation(None, order.id, "Cancelled by the buyer")
    refuses(shop, as_staff, "/pack/scan", {"code": "", "action": "close", **held}, 422, "is on hold")
