"""The order page's Refunds section: who may refund, the credit note it issues (its PDF), and bad input
refused next to its field with nothing written; on SQLite and PostgreSQL."""
from __future__ import annotations

import html
import io

import sqlalchemy as sa
from pypdf import PdfReader

from oms_web.domain import invoicing, shipping
from oms_web.extensions import db
from oms_web.models import ChannelKind, CreditNote, Order, Refund

from ..helpers.refusals import refuses
from .conftest import use_both_backends

web_app = use_both_backends()


def _invoiced_order(shop, units: int = 2) -> Order:
    shop.product("A", in_hand=10)
    order = shop.web_order(("A", units))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: units})
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    return shop.order_row(order.id)


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_manager_refunds_a_unit_and_the_credit_note_pdf_shows_negative_lines_and_the_invoice(shop, sign_in):
    order = _invoiced_order(shop)
    line = order.lines[0]
    manager = sign_in(shop.manager)
    page = _text(manager.get(f"/orders/{order.id}"))
    assert "Refund and issue credit note" in page and "USD 24.00" in page  # two units of 10.00 + 20% tax

    response = manager.htmx_post(f"/orders/{order.id}/refund", {
        f"units-{line.id}": "1", "shipping": "", "amount": "", "reason": "damaged", "method": "original_payment",
        "note": "arrived broken", "channel_reference": ""})
    body = _text(response)
    assert response.status_code == 200, body[:600]
    assert "CN-0000001" in body and "USD 12.00" in body and 'id="order-timeline"' in body
    note = db.session.scalar(sa.select(CreditNote))
    pdf = manager.get(f"/orders/{order.id}/credit-notes/{note.id}.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Credit note CN-0000001" in text
    assert "Credit note for invoice INV-0000001" in text
    assert "-USD 10.00" in text and "-USD 2.00" in text and "-USD 12.00" in text


def test_staff_see_the_refunds_but_no_form_and_are_refused_by_the_server(shop, sign_in):
    order = _invoiced_order(shop)
    staff = sign_in(shop.staff)
    page = _text(staff.get(f"/orders/{order.id}"))
    assert "Refunds" in page and "Refund and issue credit note" not in page
    response = staff.htmx_post(f"/orders/{order.id}/refund", {"amount": "1.00", "reason": "other",
                                                               "method": "original_payment"})
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0


def test_an_order_with_no_invoice_offers_no_refund_and_refuses_one(shop, sign_in):
    shop.product("A", in_hand=10)
    order = shop.web_order(("A", 1))
    manager = sign_in(shop.manager)
    assert "invoice the shipped units first" in _text(manager.get(f"/orders/{order.id}"))
    refuses(shop, manager, f"/orders/{order.id}/refund", {"amount": "1.00", "reason": "other",
                                                          "method": "original_payment"}, 422, "no invoice")


def test_bad_refund_input_is_refused_next_to_its_field_and_writes_nothing(shop, sign_in):
    order = _invoiced_order(shop)
    line = order.lines[0]
    manager = sign_in(shop.manager)
    path = f"/orders/{order.id}/refund"
    valid = {"reason": "other", "method": "original_payment", "amount": "1.00"}
    refuses(shop, manager, path, {**valid, "amount": "24.01"}, 422, "at most USD 24.00")
    refuses(shop, manager, path, {**valid, "amount": "1.005"}, 422, "must be an amount like 12.50")
    refuses(shop, manager, path, {**valid, "amount": "-3"}, 422, "must be an amount like 12.50")
    refuses(shop, manager, path, {**valid, "amount": "abc"}, 422, "must be an amount like 12.50")
    refuses(shop, manager, path, {**valid, "amount": "", f"units-{line.id}": "3"}, 422, "at most 2")
    refuses(shop, manager, path, {**valid, "amount": "", f"units-{line.id}": "x"}, 422, "must be a whole number")
    refuses(shop, manager, path, {**valid, "amount": ""}, 422, "Nothing to refund")
    refuses(shop, manager, path, {**valid, "shipping": "0.01"}, 422, "of shipping is invoiced")
    refuses(shop, manager, path, {**valid, "reason": "whim"}, 422, "Not a valid choice")
    refuses(shop, manager, path, {**valid, "channel_reference": "r" * 65}, 422, "at most 64 characters")
    message = _text(manager.htmx_post(path, {**valid, "amount": "24.01"}))
    assert 'class="field-error" id="e-refund-amount"' in message  # right below the amount


def test_the_same_channel_reference_twice_is_refused_the_second_time(shop, sign_in):
    order = _invoiced_order(shop)
    manager = sign_in(shop.manager)
    data = {"reason": "other", "method": "original_payment", "amount": "1.00", "channel_reference": "R-9"}
    assert manager.htmx_post(f"/orders/{order.id}/refund", data).status_code == 200
    refuses(shop, manager, f"/orders/{order.id}/refund", data, 422, "is recorded already")


def test_a_marketplace_order_says_the_refund_must_still_be_made_there(shop, sign_in):
    shop.product("A", in_hand=10)
    amazon = shop.channel("Amazon UK", ChannelKind.AMAZON)
    order = shop.web_order(("A", 1))
    db.session.get(Order, order.id).channel_id = amazon.id
    db.session.commit()
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    page = _text(sign_in(shop.manager).get(f"/orders/{order.id}"))
    assert "does not reach Amazon UK: make the refund itself on Amazon UK" in page
