"""A received return's "Refund these units": the return's page proposes their invoiced amount, the order's
refund form opens holding the return's units, and the refund records the return. Managers only; a bad
return id is refused and writes nothing. On SQLite and PostgreSQL."""
from __future__ import annotations

import html
import re

import sqlalchemy as sa

from oms_web.domain import invoicing, returns, shipping
from oms_web.extensions import db
from oms_web.models import Refund

from ..helpers.refusals import refuses
from .conftest import use_both_backends

web_app = use_both_backends()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _words(body: str) -> str:
    """The page's text as read: tags out, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", body).split()).replace(" :", ":").replace(" .", ".")


def _received_return(shop, received: bool = True):
    """3 × A (10.00 + 20% tax) shipped and invoiced; a return of 2, received (1 restocked, 1 quarantined)."""
    shop.product("A", in_hand=10)
    order = shop.web_order(("A", 3))
    line = order.lines[0]
    shipment = shipping.ship_lines(shop.staff, order.id, {line.id: 3})
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    ret = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(line.id, 2, "damaged")])
    returns.authorize_return(shop.staff, ret.id)
    if received:
        returns.receive_return(shop.staff, ret.id, {ret.lines[0].id: returns.Receipt(restock=1, quarantine=1)})
    db.session.rollback()
    return order.id, line.id, ret.id


def test_a_manager_refunds_a_received_returns_units_from_its_page(shop, sign_in):
    order_id, line_id, return_id = _received_return(shop)
    manager = sign_in(shop.manager)
    page = _text(manager.get(f"/returns/{return_id}"))
    assert "The 2 unit(s) received were invoiced for <b>USD 24.00</b>" in page
    link = f"/orders/{order_id}?refund_return={return_id}#order-refunds"
    assert f'href="{link}">Refund these units</a>' in page

    form = _text(manager.get(link))
    assert re.search(rf'name="units-{line_id}"[^>]*value="2"', form), "the return's units are filled in"
    assert f'<input type="hidden" name="return_id" value="{return_id}">' in form
    assert "Refund for RMA-000001: its 2 received unit(s) are filled in below" in _words(form)
    assert "tax included, is USD 24.00." in _words(form)
    assert re.search(r'<option selected value="returned">|<option value="returned" selected', form)

    response = manager.htmx_post(f"/orders/{order_id}/refund", {
        f"units-{line_id}": "2", "reason": "returned", "method": "original_payment", "return_id": str(return_id)})
    assert response.status_code == 200, _text(response)[:600]
    refund = db.session.scalar(sa.select(Refund))
    assert (refund.amount_cents, refund.return_id) == (2400, return_id)
    db.session.rollback()
    assert "CN-0000001" in _text(manager.get(f"/returns/{return_id}"))


def test_staff_see_the_proposal_but_no_refund_link(shop, sign_in):
    _, _, return_id = _received_return(shop)
    page = _text(sign_in(shop.staff).get(f"/returns/{return_id}"))
    assert "invoiced for <b>USD 24.00</b>" in page and "Refund these units" not in page
    assert "A manager issues the refund." in page


def test_a_return_not_yet_received_offers_no_refund_and_a_refund_naming_it_is_refused(shop, sign_in):
    order_id, line_id, return_id = _received_return(shop, received=False)
    manager = sign_in(shop.manager)
    assert "Refund these units" not in _text(manager.get(f"/returns/{return_id}"))
    form = _text(manager.get(f"/orders/{order_id}?refund_return={return_id}"))
    assert 'name="return_id"' not in form  # not received: the form is the plain one
    valid = {f"units-{line_id}": "1", "reason": "returned", "method": "original_payment"}
    refuses(shop, manager, f"/orders/{order_id}/refund", {**valid, "return_id": str(return_id)}, 422,
            "refund its units once they are received")


def test_a_garbled_or_foreign_return_id_is_refused_and_writes_nothing(shop, sign_in):
    order_id, line_id, return_id = _received_return(shop)
    manager = sign_in(shop.manager)
    valid = {f"units-{line_id}": "1", "reason": "returned", "method": "original_payment"}
    for bad in ("abc", "-1", "9" * 30):
        refuses(shop, manager, f"/orders/{order_id}/refund", {**valid, "return_id": bad}, 422, "not one of this order")
    refuses(shop, manager, f"/orders/{order_id}/refund", {**valid, "return_id": "999"}, 422, "not one of")


def test_the_orders_lines_show_a_returned_figure_once_a_unit_came_back(shop, sign_in):
    order_id, line_id, return_id = _received_return(shop, received=False)
    staff = sign_in(shop.staff)
    assert ">Returned</th>" not in _text(staff.get(f"/orders/{order_id}"))
    returns.receive_return(shop.staff, return_id, {returns.get_return(return_id).lines[0].id: returns.Receipt(write_off=2)})
    db.session.rollback()
    page = _text(staff.get(f"/orders/{order_id}"))
    assert ">Returned</th>" in page
    row = re.search(r'<tr>\s*<td>A</td>.*?</tr>', page, re.DOTALL).group(0)
    assert re.findall(r'<td class="num[^"]*">([^<]*)</td>', row)[3:5] == ["3", "2"]  # invoiced 3, returned 2
