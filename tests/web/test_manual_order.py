"""The manual order form: a draft for a new or an existing customer; bad input re-renders the form
with the message (422) and creates nothing."""
from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from oms_web.extensions import db
from oms_web.models import Address, Customer, Order, OrderStatus, PaymentStatus

from .conftest import state, use_both_backends

web_app = use_both_backends()  # a customer's email and address lengths are enforced by PostgreSQL only

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


def _customer_with_addresses(*cities: str) -> Customer:
    customer = Customer(name="Katherine Johnson", email="kj@nasa.example", addresses=[
        Address(kind="shipping", name="Katherine Johnson", line1=f"{n + 1} Main St", line2="Suite 5", city=city,
                region="VA", postal_code="23666", country="US") for n, city in enumerate(cities)])
    db.session.add(customer)
    db.session.commit()
    return customer


def test_a_draft_for_an_existing_customer_ships_to_the_address_chosen(shop, as_staff, products):
    customer = _customer_with_addresses("Hampton", "Newport News")
    chosen = customer.addresses[1]
    before = state(shop)
    response = as_staff.post_form("/orders/new", {"customer_id": str(customer.id), f"address_id-{customer.id}":
                                                  str(chosen.id), "sku": ["B"], "quantity": ["1"]})
    assert response.status_code == 302, html.unescape(response.get_data(as_text=True))[-800:]
    order = _only_order()
    assert order.customer_id == customer.id and order.customer_name == "Katherine Johnson"
    assert order.ship_to == {"name": "Katherine Johnson", "line1": "2 Main St", "line2": "Suite 5",
                             "city": "Newport News", "region": "VA", "postal_code": "23666", "country": "US"}
    assert order.bill_to == order.ship_to
    after = state(shop)
    assert after["customers"] == before["customers"] and after["addresses"] == before["addresses"]
    page = html.unescape(as_staff.get(f"/orders/{order.id}").get_data(as_text=True))
    assert "2 Main St<br>Suite 5<br>Newport News VA 23666<br>US" in page


def test_a_new_address_for_an_existing_customer_is_kept_for_the_next_order(shop, as_staff, products):
    customer = _customer_with_addresses("Hampton")
    response = as_staff.post_form("/orders/new", {
        "customer_id": str(customer.id), f"address_id-{customer.id}": "", "ship_line1": "9 Shore Dr",
        "ship_city": "Norfolk", "ship_postal_code": "23503", "ship_country": "us", "sku": ["B"], "quantity": ["1"]})
    assert response.status_code == 302, html.unescape(response.get_data(as_text=True))[-800:]
    assert _only_order().ship_to["line1"] == "9 Shore Dr" and _only_order().ship_to["country"] == "US"
    db.session.expire_all()
    assert [a.city for a in db.session.get(Customer, customer.id).addresses] == ["Hampton", "Norfolk"]
    lookup = as_staff.htmx_get("/customers/lookup", query_string={"customer_search": "katherine"})
    assert "9 Shore Dr, Norfolk 23503, US" in html.unescape(lookup.get_data(as_text=True))


def test_a_new_customer_s_address_is_kept_among_their_addresses(shop, as_staff, products):
    as_staff.post_form("/orders/new", {**NEW_CUSTOMER, "sku": ["A"], "quantity": ["1"]})
    (customer,) = db.session.scalars(sa.select(Customer)).all()
    assert [(a.line1, a.city, a.country) for a in customer.addresses] == [("1 Harbour Rd", "Arlington", "US")]


@pytest.mark.parametrize(("form", "message"), [
    ({}, "Choose one of Katherine Johnson's addresses or enter a new one"),
    ({"address_id-{customer}": "{other}"}, "That address is not one of Katherine Johnson's"),
    ({"ship_line1": "9 Shore Dr"}, "Enter the ship-to address: street, city, postal code and country"),
], ids=["no address", "another customer's address", "half an address"])
def test_an_existing_customer_without_a_valid_ship_to_is_refused(shop, as_staff, products, form, message):
    customer = _customer_with_addresses("Hampton")
    other = Customer(name="Other", addresses=[Address(name="Other", line1="1 A St", city="B", postal_code="1",
                                                      country="US")])
    db.session.add(other)
    db.session.commit()
    ids = {"customer": customer.id, "other": other.addresses[0].id}
    data = {key.format(**ids): value.format(**ids) for key, value in form.items()}
    before = state(shop)
    response = as_staff.post_form("/orders/new", {"customer_id": str(customer.id), **data, "sku": ["A"],
                                                  "quantity": ["1"]})
    assert response.status_code == 422 and message in html.unescape(response.get_data(as_text=True))
    assert state(shop) == before


def test_a_new_customer_whose_email_is_on_file_is_shown_the_match_and_chooses(shop, as_staff, products):
    earlier = _customer_with_addresses("Hampton")
    typed = {**NEW_CUSTOMER, "customer_name": "Kate Johnson", "customer_email": " KJ@nasa.example ",
             "sku": ["A"], "quantity": ["1"]}
    before = state(shop)
    response = as_staff.post_form("/orders/new", typed)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and state(shop) == before, "nothing is merged silently"
    assert "kj@nasa.example is the email of Katherine Johnson, a customer on file" in page
    assert f'name="customer_id" value="{earlier.id}"' in page and "A new customer anyway" in page
    assert 'name="email_on_file" value="new"' in page and 'value="Kate Johnson"' in page

    # Use that customer: the order is theirs, shipped to their address on file.
    used = as_staff.post_form("/orders/new", {**typed, "customer_id": str(earlier.id), "email_on_file": "new",
                                              f"address_id-{earlier.id}": str(earlier.addresses[0].id)})
    assert used.status_code == 302
    first = db.session.scalars(sa.select(Order).order_by(Order.id.desc())).first()
    assert first.customer_id == earlier.id and first.ship_to["city"] == "Hampton"

    # Or a new customer anyway: their own name on the board, the email on the order only.
    anyway = as_staff.post_form("/orders/new", {**typed, "customer_id": "", "email_on_file": "new"})
    assert anyway.status_code == 302
    order = db.session.scalars(sa.select(Order).order_by(Order.id.desc())).first()
    assert order.customer_id != earlier.id and order.customer_name == "Kate Johnson"
    assert order.email == "kj@nasa.example" and order.customer.email is None
    assert db.session.get(Customer, earlier.id).name == "Katherine Johnson"
    assert "Kate Johnson" in as_staff.get("/orders", query_string={"q": "Kate Johnson"}).get_data(as_text=True)


@pytest.mark.parametrize(("payment", "status"), [("paid", PaymentStatus.PAID), ("pending", PaymentStatus.PENDING)])
def test_staff_choose_paid_or_awaiting_payment(shop, as_staff, products, payment, status):
    response = as_staff.post_form("/orders/new", {**NEW_CUSTOMER, "payment": payment, "sku": ["A"], "quantity": ["1"]})
    assert response.status_code == 302
    assert _only_order().payment_status is status
    assert 'value="pending"' in as_staff.get("/orders/new").get_data(as_text=True)


def test_a_customer_with_a_large_id_can_be_chosen(shop, as_staff, products):
    db.session.add(Customer(id=2_000_000, name="Customer two million", email="big@example.com"))
    db.session.commit()
    response = as_staff.post_form("/orders/new", {"customer_id": "2000000", "sku": ["A"], "quantity": ["1"],
                                                  **{k: v for k, v in NEW_CUSTOMER.items() if k.startswith("ship_")}})
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
    ({**NEW_CUSTOMER, "payment": "free", "sku": ["A"], "quantity": ["1"]}, "Payment is one of: Paid, Awaiting payment"),
    ({**NEW_CUSTOMER, "ship_country": "U1", "sku": ["A"], "quantity": ["1"]}, "The country is its two-letter code"),
    ({"customer_id": "99999999999999999999999", "sku": ["A"], "quantity": ["1"]}, "Customer is too large"),
    ({**NEW_CUSTOMER, "channel": "999", "sku": ["A"], "quantity": ["1"]}, "Choose an active sales channel"),
], ids=["no street", "no country", "no name", "bad email", "no lines", "empty lines", "unknown sku",
        "zero", "negative", "words", "superscript", "too many", "twenty digits", "unknown customer", "bad payment",
        "bad country", "huge customer id",
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


def test_editing_a_paid_order_upwards_shows_the_balance_due_and_what_was_paid(shop, as_staff, products):
    as_staff.post_form("/orders/new", {**NEW_CUSTOMER, "payment": "paid", "sku": ["B"], "quantity": ["1"]})
    order = _only_order()
    paid = order.total_cents
    response = as_staff.htmx_post(f"/orders/{order.id}/lines", {f"qty-{order.lines[0].id}": "3"})
    assert response.status_code == 200
    body = html.unescape(response.get_data(as_text=True))
    assert "Balance due" in body and f"USD {2 * paid / 100:,.2f}" in body and f"USD {paid / 100:,.2f}" in body
    assert "B: quantity 1 → 3" in body, "the timeline says what changed"
