"""Returns through the test client: opening one on the order page, its page and actions, the receive form's
condition split, the slip PDF, the Returns view and a scanned slip, the stage on the order and the board,
and bad input refused next to its field with nothing changed. On SQLite and PostgreSQL."""
from __future__ import annotations

import html
import io
import re

import sqlalchemy as sa
from pypdf import PdfReader

from oms_web.domain import returns, shipping
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import Return, ReturnState, StockMove

from .conftest import every_row, use_both_backends

web_app = use_both_backends()


def delivered(shop, *lines):
    order = shop.web_order(*lines)
    shipment = shipping.ship_lines(shop.staff, order.id, {line.id: line.ordered for line in order.lines},
                                   carrier="UPS", tracking_number="1Z1")
    shipping.mark_shipped(shop.staff, shipment.id)
    shipping.mark_delivered(shop.staff, shipment.id)
    return shop.order_row(order.id)


def state_of(return_id):
    state = db.session.scalar(sa.select(Return.state).where(Return.id == return_id))
    db.session.rollback()
    return state


def open_form(order, units: dict[str, int], reason="damaged", note=""):
    ids = [line.id for line in order.lines]
    return {"line": [str(i) for i in ids], "quantity": [str(units.get(l.sku, 0)) for l in order.lines],
            "reason": [reason] * len(ids), "note": note}


def test_staff_open_authorize_and_receive_a_return_and_the_order_is_partly_returned(shop, as_staff):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = delivered(shop, ("A", 1), ("B", 2))
    page = as_staff.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Open a return" in page and "No returns." in page

    response = as_staff.htmx_post(f"/orders/{order.id}/returns", open_form(order, {"B": 1}, note="scratched"))
    assert response.status_code == 204
    (ret,) = db.session.scalars(sa.select(Return)).all()
    assert response.headers["HX-Location"] == f"/returns/{ret.id}"
    db.session.rollback()

    assert as_staff.htmx_post(f"/returns/{ret.id}/authorize").status_code == 204
    page = as_staff.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert ret.number in page and 'name="restock"' in page
    line_id = db.session.scalar(sa.select(Return).where(Return.id == ret.id)).lines[0].id
    db.session.rollback()
    response = as_staff.htmx_post(f"/returns/{ret.id}/receive", {"line": str(line_id), "restock": "0",
                                                                  "quarantine": "1", "write_off": "0"})
    assert response.status_code == 204, response.get_data(as_text=True)
    assert state_of(ret.id) is ReturnState.RECEIVED
    reasons = db.session.scalars(sa.select(StockMove.reason).where(StockMove.return_id == ret.id)).all()
    assert reasons == ["quarantine"]
    db.session.rollback()

    order_page = as_staff.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Partly returned" in order_page
    board = as_staff.get("/orders?segment=fulfilled").get_data(as_text=True)
    assert "Partly returned" in board
    assert as_staff.htmx_post(f"/returns/{ret.id}/close").status_code == 204
    assert state_of(ret.id) is ReturnState.CLOSED
    assert check_invariants() == []


def test_returning_more_than_was_shipped_is_refused_next_to_the_quantity(shop, as_staff):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 1))
    before = every_row()
    response = as_staff.htmx_post(f"/orders/{order.id}/returns", open_form(order, {"A": 2}))
    assert response.status_code == 422
    body = html.unescape(response.get_data(as_text=True))
    assert 'id="order-returns"' in body and "Returning more than was shipped" in body
    assert every_row() == before


def test_no_unit_or_a_bad_reason_or_a_forged_line_is_refused(shop, as_staff):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 1))
    before = every_row()
    for data, words in ((open_form(order, {}), "Return at least one unit"),
                        (open_form(order, {"A": 1}, reason="bored"), "Choose a reason"),
                        ({**open_form(order, {"A": 1}), "line": "x"}, "not one of this order"),
                        ({**open_form(order, {"A": 1}), "quantity": ["1", "1"]}, "do not match"),
                        (open_form(order, {"A": 1}, note="n" * 501), "at most 500")):
        response = as_staff.htmx_post(f"/orders/{order.id}/returns", data)
        assert response.status_code == 422, words
        assert words in html.unescape(response.get_data(as_text=True))
    assert every_row() == before


def test_receiving_twice_and_a_split_beyond_the_return_are_refused_with_nothing_changed(shop, as_staff):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 2))
    ret = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(order.lines[0].id, 2, "other")])
    returns.authorize_return(shop.staff, ret.id)
    line_id = ret.lines[0].id
    before = every_row()
    response = as_staff.htmx_post(f"/returns/{ret.id}/receive", {"line": str(line_id), "restock": "2",
                                                                  "quarantine": "1", "write_off": "0"})
    assert response.status_code == 422
    assert "More units received than the return holds" in html.unescape(response.get_data(as_text=True))
    response = as_staff.htmx_post(f"/returns/{ret.id}/receive", {"line": str(line_id), "restock": "-1",
                                                                  "quarantine": "0", "write_off": "0"})
    assert response.status_code == 422
    assert every_row() == before
    form = {"line": str(line_id), "restock": "2", "quarantine": "0", "write_off": "0"}
    assert as_staff.htmx_post(f"/returns/{ret.id}/receive", form).status_code == 204
    again = as_staff.htmx_post(f"/returns/{ret.id}/receive", form)
    assert again.status_code == 422
    assert "received already" in html.unescape(again.get_data(as_text=True))


def test_only_an_admin_reopens_a_closed_return(shop, sign_in):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 1))
    ret = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(order.lines[0].id, 1, "other")])
    returns.reject_return(shop.staff, ret.id, "too late")
    manager_page = sign_in(shop.manager).get(f"/returns/{ret.id}").get_data(as_text=True)
    assert "Reopen" not in manager_page
    assert sign_in(shop.manager).htmx_post(f"/returns/{ret.id}/reopen").status_code == 403
    admin = sign_in(shop.admin)
    assert "Reopen" in admin.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert admin.htmx_post(f"/returns/{ret.id}/reopen").status_code == 204
    assert state_of(ret.id) is ReturnState.REQUESTED


def test_an_exchange_from_the_return_page_links_the_replacement(shop, as_staff):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 1))
    ret = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(order.lines[0].id, 1, "wrong_item")])
    returns.authorize_return(shop.staff, ret.id)
    response = as_staff.htmx_post(f"/returns/{ret.id}/exchange", {"sku": "NOPE", "quantity": "1"})
    assert response.status_code == 422 and "NOPE" in response.get_data(as_text=True)
    assert as_staff.htmx_post(f"/returns/{ret.id}/exchange", {"sku": "", "quantity": ""}).status_code == 204
    page = as_staff.get(f"/returns/{ret.id}").get_data(as_text=True)
    replacement = db.session.scalar(sa.select(Return.replacement_order_id).where(Return.id == ret.id))
    assert f"SO-{replacement:06d}" in page


def test_the_slip_is_a_pdf_with_the_return_number_order_and_ship_back_address(shop, as_staff):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 1))
    ret = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(order.lines[0].id, 1, "damaged")])
    response = as_staff.get(f"/returns/{ret.id}/slip.pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert ret.number in text and order.number in text and "Damaged".lower() in text.lower()
    assert "1 Warehouse Way" in text


def test_the_returns_view_counts_open_returns_by_state_and_a_scanned_slip_opens_its_return(shop, as_staff):
    shop.product("A", in_hand=5)
    order = delivered(shop, ("A", 2))
    first = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(order.lines[0].id, 1, "damaged")])
    second = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(order.lines[0].id, 1, "damaged")])
    returns.authorize_return(shop.staff, second.id)
    board = as_staff.get("/orders").get_data(as_text=True)
    assert re.search(r'href="/returns"[^>]*>Returns <span class="count">2</span>', board)
    page = as_staff.get("/returns?state=requested").get_data(as_text=True)
    assert first.number in page and second.number not in page
    assert re.search(r"Authorized <span class=\"count\">1</span>", page)
    found = as_staff.get(f"/returns/find?code={second.number.lower()}")
    assert found.status_code == 302 and found.headers["Location"].startswith(f"/returns/{second.id}")
    assert as_staff.get("/returns/find?code=RMA-999999").status_code == 404
    assert as_staff.get("/returns?state=nonsense").status_code == 422


def test_the_overview_shows_the_return_rate_by_channel_and_by_product(shop, sign_in):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = delivered(shop, ("A", 4), ("B", 1))
    ret = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(order.lines[0].id, 1, "damaged")])
    returns.authorize_return(shop.staff, ret.id)
    returns.receive_return(shop.staff, ret.id, {ret.lines[0].id: returns.Receipt(write_off=1)})
    page = sign_in(shop.manager).get("/overview").get_data(as_text=True)
    rates = page[page.index('id="return-rates"'):]
    assert re.search(r"Web store</th><td class=\"num\">1 / 5</td><td class=\"num\">20.0%", rates)
    assert re.search(r"A</th><td class=\"num\">1 / 4</td><td class=\"num\">25.0%", rates)
    assert ">B<" not in rates
