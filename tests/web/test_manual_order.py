"""The manual order form: a draft for a new or an existing customer; bad input re-renders the form
with the message (422) and creates nothing."""
from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from oms_web.extensions import db
from oms_web.models import Customer, Order, OrderStatus

from .conftest import state

NEW_CUSTOMER = {"customer_name": "Grace Hopper", "customer_email": "Grace@Navy.example", "customer_phone": "555-0100",
                "ship_line1": "1 Harbour Rd", "ship_city": "Arlington", "ship_region": "VA",
                "ship_postal_code": "22201", "ship_country": "us"}


@pytest.fixture
def products(shop):
    shop.product("A", in_hand=5)
    shop.product("B", price_cents=250)


def _only_order() -> Order:
    (order,) = db.session.scalars(sa.select(Order)).all()
    return order


def test_a_draft_for_a_new_customer_with_two_lines(shop, as_staff, products):
    response = as_staff.post_form("/orders/new", {**NEW_CUSTOMER, "sku": ["A", "B"], "quantity": ["2", "3"]})
    order = _only_order()
    assert response.status_code == 302 and response.headers["Location"] == f"/orders/{order.id}"
    assert order.status is OrderStatus.DRAFT
    assert [(l.sku, l.ordered, l.allocated) for l in order.lines] == [("A", 2, 0), ("B", 3, 0)]
    assert order.customer.name == "Grace Hopper" and order.customer.email == "grace@navy.example"
    assert order.ship_to["line1"] == "1 Harbour Rd" and order.ship_to["country"] == "US"
    assert order.channel_id == shop.manual.id
    assert shop.stock("A") == (5, 0), "a draft commits no stock"
    page = as_staff.get(response.headers["Location"]).get_data(as_text=True)
    assert order.number in page and "1 Harbour Rd" in page and "Finalize" in page


def test_a_draft_for_an_existing_customer(shop, as_staff, products):
    earlier = shop.draft(("A", 1))
    customers = db.session.scalar(sa.select(sa.func.count()).select_from(Customer))
    response = as_staff.post_form("/orders/new", {"customer_id": str(earlier.customer_id), "sku": ["B"],
                                                  "quantity": ["1"]})
    assert response.status_code == 302
    order = db.session.scalars(sa.select(Order).order_by(Order.id.desc())).first()
    assert order.id != earlier.id and order.status is OrderStatus.DRAFT
    assert order.customer_id == earlier.customer_id and order.customer_name == "Grace Hopper"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == customers


def test_a_customer_with_a_large_id_can_be_chosen(shop, as_staff, products):
    db.session.add(Customer(id=2_000_000, name="Customer two million", email="big@example.com"))
    db.session.commit()
    response = as_staff.post_form("/orders/new", {"customer_id": "2000000", "sku": ["A"], "quantity": ["1"]})
    assert response.status_code == 302, html.unescape(response.get_data(as_text=True))[-1500:]
    assert _only_order().customer_id == 2_000_000


def test_the_customer_lookup_finds_customers_by_name_or_email(shop, as_staff, products):
    shop.draft(("A", 1))
    for text in ("grace", "HOPPER", "grace@"):
        response = as_staff.htmx_get("/customers/lookup", query_string={"customer_search": text})
        assert "Grace Hopper" in response.get_data(as_text=True), text
    assert "No customer matches" in as_staff.htmx_get(
        "/customers/lookup", query_string={"customer_search": "100%_x"}).get_data(as_text=True)


def test_another_line_row_is_a_fragment(as_staff):
    response = as_staff.htmx_get("/orders/new/line")
    assert response.status_code == 200 and 'name="sku"' in response.get_data(as_text=True)
    assert "<html" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("form", "message"), [
    ({**NEW_CUSTOMER, "ship_line1": "", "sku": ["A"], "quantity": ["1"]},
     "Enter the ship-to address: street, city, postal code and country"),
    ({**NEW_CUSTOMER, "ship_country": "", "sku": ["A"], "quantity": ["1"]},
     "Enter the ship-to address: street, city, postal code and country"),
    ({**NEW_CUSTOMER, "customer_name": " ", "sku": ["A"], "quantity": ["1"]}, "Customer name is required"),
    ({**NEW_CUSTOMER, "customer_email": "not an email", "sku": ["A"], "quantity": ["1"]},
     "That email address does not look right"),
    ({**NEW_CUSTOMER}, "Add at least one line"),
    ({**NEW_CUSTOMER, "sku": ["", ""], "quantity": ["1", "1"]}, "Add at least one line"),
    ({**NEW_CUSTOMER, "sku": ["A", "NOPE"], "quantity": ["1", "1"]}, "No product has the SKU NOPE"),
    ({**NEW_CUSTOMER, "sku": ["A"], "quantity": ["0"]}, "Quantity of A must be between 1 and 100,000"),
    ({**NEW_CUSTOMER, "sku": ["A"], "quantity": ["-3"]}, "Quantity of A must be between 1 and 100,000"),
    ({**NEW_CUSTOMER, "sku": ["A"], "quantity": ["two"]}, "Quantity of A must be a whole number"),
    ({**NEW_CUSTOMER, "sku": ["A"], "quantity": ["²"]}, "Quantity of A must be a whole number"),
    ({**NEW_CUSTOMER, "sku": ["A"], "quantity": ["100001"]}, "Quantity of A is too large: at most 100,000"),
    ({**NEW_CUSTOMER, "sku": ["A"], "quantity": ["9" * 20]}, "Quantity of A is too large: at most 100,000"),
    ({"customer_id": "999", "sku": ["A"], "quantity": ["1"]}, "That customer does not exist"),
    ({"customer_id": "99999999999999999999999", "sku": ["A"], "quantity": ["1"]}, "Customer is too large"),
    ({**NEW_CUSTOMER, "channel": "999", "sku": ["A"], "quantity": ["1"]}, "Choose an active sales channel"),
], ids=["no street", "no country", "no name", "bad email", "no lines", "empty lines", "unknown sku",
        "zero", "negative", "words", "superscript", "too many", "twenty digits", "unknown customer", "huge customer id",
        "unknown channel"])
def test_bad_input_re_renders_the_form_with_the_message_and_creates_nothing(shop, as_staff, products, form, message):
    before = state(shop)
    response = as_staff.post_form("/orders/new", form)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert message in body
    assert "<html" in body and 'action="/orders/new"' in body, "the form comes back"
    assert state(shop) == before


def test_a_refused_form_keeps_what_was_typed(shop, as_staff, products):
    response = as_staff.post_form("/orders/new", {**NEW_CUSTOMER, "sku": ["A", "NOPE"], "quantity": ["2", "1"]})
    body = response.get_data(as_text=True)
    assert 'value="Grace Hopper"' in body and 'value="1 Harbour Rd"' in body
    assert 'value="NOPE"' in body and 'value="2"' in body
