"""Every form's bad input: a 4xx with the message (a fragment for htmx, a page otherwise), and nothing changed,
on SQLite and (with OMS_TEST_DATABASE_URL) on PostgreSQL, which enforces the lengths SQLite ignores."""
from __future__ import annotations

import html

import pytest

from oms_web.domain import shipping
from oms_web.models import PaymentStatus, Role

from tests.helpers.refusals import assert_refused, refuses

from .conftest import every_row, state, use_both_backends

web_app = use_both_backends()


@pytest.fixture
def order(shop):
    """A paid web order of 3 × A with all 3 allocated (10 in hand)."""
    shop.product("A", in_hand=10)
    return shop.web_order(("A", 3))


# ---------------------------------------------------------------- shipping

def test_shipping_more_than_allocated_is_refused_with_the_shortfall(shop, as_staff, order):
    line = order.lines[0]
    refuses(shop, as_staff, f"/orders/{order.id}/ship", {f"ship-{line.id}": "5"}, 422,
            "Only allocated units can ship: A: asked for 5, only 3 possible")


def test_shipping_a_backordered_line_is_refused(shop, as_staff):
    shop.product("B", in_hand=1)
    order = shop.web_order(("B", 4))
    line = order.lines[0]
    refuses(shop, as_staff, f"/orders/{order.id}/ship", {f"ship-{line.id}": "2"}, 422,
            "B: asked for 2, only 1 possible")


@pytest.mark.parametrize(("quantity", "message"), [
    ("-1", "Units of A must be between 0 and 100,000"),
    ("abc", "Units of A must be a whole number"),
    ("1.5", "Units of A must be a whole number"),
    ("--1", "Units of A must be a whole number"),
    ("²", "Units of A must be a whole number"),
    ("99999999999999999999", "Units of A is too large: at most 100,000"),
    ("", "Choose at least one unit to ship"),
    ("0", "Choose at least one unit to ship"),
])
def test_a_bad_quantity_to_ship_is_refused(shop, as_staff, order, quantity, message):
    refuses(shop, as_staff, f"/orders/{order.id}/ship", {f"ship-{order.lines[0].id}": quantity}, 422, message)


def test_shipping_an_order_awaiting_payment_is_refused(shop, as_staff):
    shop.product("A", in_hand=10)
    order = shop.web_order(("A", 1), payment=PaymentStatus.PENDING)
    refuses(shop, as_staff, f"/orders/{order.id}/ship", {f"ship-{order.lines[0].id}": "1"}, 422,
            "is awaiting payment and cannot ship yet")


def test_marking_a_shipment_shipped_needs_a_carrier(shop, as_staff, order):
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    path = f"/orders/{order.id}/shipments/{shipment.id}/shipped"
    refuses(shop, as_staff, path, {"carrier": "  ", "tracking_number": "1Z999"}, 422, "Enter the carrier")


def test_cancelling_a_parcel_twice_is_refused_the_second_time(shop, as_staff, order):
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    shipping.cancel_shipment(shop.staff, shipment.id)
    refuses(shop, as_staff, f"/orders/{order.id}/shipments/{shipment.id}/cancel", {}, 422,
            "only a packed parcel can be cancelled")


def test_delivering_a_parcel_not_yet_shipped_is_refused(shop, as_staff, order):
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    refuses(shop, as_staff, f"/orders/{order.id}/shipments/{shipment.id}/delivered", {}, 422,
            "only a parcel with the carrier can be delivered")


def test_a_shipment_of_another_order_is_not_found(shop, as_staff, order):
    other = shop.web_order(("A", 1))
    shipment = shipping.ship_lines(shop.staff, other.id, {other.lines[0].id: 1})
    refuses(shop, as_staff, f"/orders/{order.id}/shipments/{shipment.id}/shipped",
            {"carrier": "UPS", "tracking_number": "1Z"}, 404, "That shipment is not part of this order")


# ---------------------------------------------------------------- editing lines

def test_editing_a_line_below_what_shipped_is_refused(shop, as_staff, order):
    line = order.lines[0]
    shipping.ship_lines(shop.staff, order.id, {line.id: 2})
    refuses(shop, as_staff, f"/orders/{order.id}/lines", {f"qty-{line.id}": "1"}, 422,
            "A line cannot go below what has shipped: A: 2 already shipped")


@pytest.mark.parametrize(("quantity", "message"), [
    ("-1", "Quantity of A must be between 0 and 100,000"),
    ("9" * 20, "Quantity of A is too large: at most 100,000"),
    ("100001", "Quantity of A is too large: at most 100,000"),
    ("abc", "Quantity of A must be a whole number"),
    ("²", "Quantity of A must be a whole number"),
    ("", "Nothing to change"),
    ("3", "Nothing to change"),
])
def test_a_bad_line_quantity_is_refused(shop, as_staff, order, quantity, message):
    refuses(shop, as_staff, f"/orders/{order.id}/lines", {f"qty-{order.lines[0].id}": quantity}, 422, message)


def test_adding_a_product_with_an_unknown_sku_is_refused(shop, as_staff, order):
    refuses(shop, as_staff, f"/orders/{order.id}/lines", {"new_sku": "NOPE", "new_qty": "1"}, 422,
            "No product has the SKU NOPE")


@pytest.mark.parametrize(("quantity", "message"), [("0", "Quantity must be between 1 and 100,000"),
                                                   ("9" * 20, "Quantity is too large: at most 100,000"),
                                                   ("-2", "Quantity must be between 1 and"),
                                                   ("x", "Quantity must be a whole number"),
                                                   ("", "Quantity is required")])
def test_adding_a_product_with_a_bad_quantity_is_refused(shop, as_staff, order, quantity, message):
    refuses(shop, as_staff, f"/orders/{order.id}/lines", {"new_sku": "A", "new_qty": quantity}, 422, message)


def test_removing_every_line_of_a_finalized_order_is_refused(shop, as_staff, order):
    refuses(shop, as_staff, f"/orders/{order.id}/lines", {f"remove-{order.lines[0].id}": "1"}, 422,
            "A finalized order needs at least one unit: void it instead")


# ---------------------------------------------------------------- order state changes

def test_voiding_without_a_reason_is_refused(shop, as_admin, order):
    refuses(shop, as_admin, f"/orders/{order.id}/void", {"reason": "   "}, 422, "Say why the order is voided")


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER])
def test_voiding_is_refused_to_anyone_but_an_admin(shop, sign_in, order, role):
    client = sign_in(shop.staff if role is Role.STAFF else shop.manager)
    refuses(shop, client, f"/orders/{order.id}/void", {"reason": "customer asked"}, 403,
            "Your role does not allow this.")


def test_voiding_an_order_with_shipped_units_is_refused(shop, as_admin, order):
    shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    refuses(shop, as_admin, f"/orders/{order.id}/void", {"reason": "customer asked"}, 422,
            "has 1 unit(s) shipped and cannot be voided")


def test_finalizing_an_empty_draft_is_refused(shop, as_staff):
    draft = shop.draft()
    refuses(shop, as_staff, f"/orders/{draft.id}/finalize", {}, 422, "An empty order cannot be finalized")


def test_finalizing_an_order_twice_is_refused(shop, as_staff, order):
    refuses(shop, as_staff, f"/orders/{order.id}/finalize", {}, 422, "is finalized, not a draft")


def test_marking_a_paid_order_paid_is_refused(shop, as_staff, order):
    refuses(shop, as_staff, f"/orders/{order.id}/paid", {}, 422, "is not awaiting payment")


def test_an_empty_note_is_refused(shop, as_staff, order):
    refuses(shop, as_staff, f"/orders/{order.id}/notes", {"note": "  "}, 422, "Write something first")


def test_invoicing_an_order_with_nothing_shipped_is_refused(shop, as_staff, order):
    refuses(shop, as_staff, f"/orders/{order.id}/invoice", {}, 422, "has no shipped units waiting to be invoiced")


@pytest.mark.parametrize(("order_id", "message"), [("999", "Order 999 does not exist"),
                                                   ("99999999999999999999999", "There is nothing here.")])
def test_an_action_on_an_order_that_does_not_exist_is_not_found(shop, as_staff, order_id, message):
    refuses(shop, as_staff, f"/orders/{order_id}/notes", {"note": "hello"}, 404, message)
    assert as_staff.get(f"/orders/{order_id}").status_code == 404


# ---------------------------------------------------------------- stock

@pytest.mark.parametrize(("quantity", "message"), [
    ("0", "Quantity received must be between 1 and 10,000,000"),
    ("-1", "Quantity received must be between 1 and 10,000,000"),
    ("abc", "Quantity received must be a whole number"),
    ("", "Quantity received is required"),
    ("10000001", "Quantity received is too large: at most 10,000,000"),
    ("9" * 20, "Quantity received is too large: at most 10,000,000"),
])
def test_receiving_a_bad_quantity_is_refused(shop, as_manager, quantity, message):
    product = shop.product("A", in_hand=5)
    refuses(shop, as_manager, f"/products/{product.id}/receive", {"quantity": quantity, "note": "PO 1"}, 422, message)


def test_counting_below_what_is_committed_asks_for_confirmation_first(shop, as_manager, order):
    product = shop.product_row("A")
    refuses(shop, as_manager, f"/products/{product.id}/adjust", {"counted": "2", "note": "stocktake"}, 422,
            f"This count of 2 takes 1 unit(s) of A from order {order.number}: they go back to backorder")


@pytest.mark.parametrize(("counted", "note", "message"), [
    ("8", "", "Give a reason for the adjustment"),
    ("8", "   ", "Give a reason for the adjustment"),
    ("-1", "stocktake", "Counted quantity must be between 0 and 10,000,000"),
    ("9" * 20, "stocktake", "Counted quantity is too large: at most 10,000,000"),
    ("ten", "stocktake", "Counted quantity must be a whole number"),
    ("", "stocktake", "Counted quantity is required"),
])
def test_a_bad_stock_count_is_refused(shop, as_manager, counted, note, message):
    product = shop.product("A", in_hand=5)
    refuses(shop, as_manager, f"/products/{product.id}/adjust", {"counted": counted, "note": note}, 422, message)


# ---------------------------------------------------------------- products and users (plain forms)

def test_a_new_product_with_a_duplicate_sku_is_refused(shop, as_manager):
    shop.product("A")
    refuses(shop, as_manager, "/products/new", {"sku": " a ", "name": "Another A", "price": "5.00"}, 422,
            "A product with the SKU A already exists", ways=("page",))


@pytest.mark.parametrize(("price", "message"), [("abc", "Price must be an amount like 12.50"),
                                                ("-1", "Price must be an amount like 12.50"),
                                                ("1.234", "Price must be an amount like 12.50"),
                                                ("", "Price must be an amount like 12.50"),
                                                ("NaN", "Price must be an amount like 12.50"),
                                                ("Infinity", "Price must be an amount like 12.50"),
                                                ("1e30", "Price must be an amount like 12.50"),
                                                ("1e999999999", "Price must be an amount like 12.50")])
def test_a_new_product_with_a_bad_price_is_refused(shop, as_manager, price, message):
    refuses(shop, as_manager, "/products/new", {"sku": "NEW-1", "name": "New", "price": price}, 422, message,
            ways=("page",))


@pytest.mark.parametrize(("form", "message"), [
    ({"sku": "", "name": "New", "price": "1"}, "Give a SKU of up to 64 characters, without spaces"),
    ({"sku": "NEW 1", "name": "New", "price": "1"}, "Give a SKU of up to 64 characters, without spaces"),
    ({"sku": "NEW-1", "name": " ", "price": "1"}, "Give the product a name"),
    ({"sku": "NEW-1", "name": "New", "price": "1", "tax_rate_bp": "10001"}, "Tax rate (basis points) is too large: at most 10,000"),
])
def test_a_new_product_with_missing_fields_is_refused(shop, as_manager, form, message):
    refuses(shop, as_manager, "/products/new", form, 422, message, ways=("page",))


def test_a_new_user_with_a_short_password_is_refused(shop, as_admin):
    refuses(shop, as_admin, "/users", {"email": "new@example.com", "role": "staff", "password": "short"}, 422,
            "Use at least 10 characters", ways=("page",))


def test_a_new_user_with_an_email_in_use_is_refused(shop, as_admin):
    refuses(shop, as_admin, "/users", {"email": shop.staff.email.upper(), "role": "staff",
                                       "password": "long enough password"}, 422,
            "A user with that email exists already", ways=("page",))


@pytest.mark.parametrize(("form", "message"), [
    ({"email": "not-an-email", "role": "staff", "password": "long enough password"}, "Enter an email address"),
    ({"email": "new@example.com", "role": "owner", "password": "long enough password"}, "Choose a role"),
])
def test_a_new_user_with_bad_fields_is_refused(shop, as_admin, form, message):
    refuses(shop, as_admin, "/users", form, 422, message, ways=("page",))


def test_an_admin_cannot_disable_or_demote_themself(shop, as_admin):
    for form in ({"role": "admin", "active": "0"}, {"role": "staff", "active": "1"}):
        refuses(shop, as_admin, f"/users/{shop.admin.id}", form, 422, "You cannot remove your own admin role")


def test_a_user_update_without_role_or_access_is_refused(shop, as_admin):
    refuses(shop, as_admin, f"/users/{shop.staff.id}", {"role": "chief", "active": "1"}, 422,
            "Choose a role and whether the user may sign in.")


@pytest.mark.parametrize(("form", "message"), [
    ({"current_password": "wrong", "new_password": "a new long password", "confirm_password": "a new long password"},
     "That is not your current password."),
    ({"current_password": "correct horse battery", "new_password": "short", "confirm_password": "short"},
     "Use at least 10 characters."),
    ({"current_password": "correct horse battery", "new_password": "a new long password",
      "confirm_password": "another long password"}, "The two new passwords differ."),
])
def test_a_bad_password_change_is_refused(shop, as_staff, form, message):
    refuses(shop, as_staff, "/account/password", form, 422, message, ways=("page",))


def test_bulk_allocate_without_a_selection_is_refused(shop, as_staff, order):
    refuses(shop, as_staff, "/orders/bulk/allocate", {}, 422, "Select at least one order first.")


# ---------------------------------------------------------------- signing in

def test_signing_in_with_a_wrong_password_is_refused(shop, client, auth):
    before = state(shop)
    response = auth.login(shop.staff.email, "wrong password")
    assert_refused(response, 401, "Wrong email or password.", htmx=False)
    assert client.get("/orders").status_code == 302
    assert state(shop) == before


def test_signing_in_as_nobody_gives_the_same_message(shop, auth):
    assert_refused(auth.login("nobody@example.com", "whatever"), 401, "Wrong email or password.", htmx=False)


def test_a_disabled_user_cannot_sign_in(shop, auth):
    from oms_web.extensions import db

    shop.staff.active = False
    db.session.commit()
    assert_refused(auth.login(shop.staff.email), 401, "Wrong email or password.", htmx=False)


def test_after_five_failures_even_the_right_password_is_refused(shop, client, auth):
    for _ in range(5):
        assert auth.login(shop.staff.email, "guess").status_code == 401
    response = auth.login(shop.staff.email)
    assert_refused(response, 401, "Too many failed sign-ins", htmx=False)
    assert client.get("/orders").status_code == 302, "the throttled sign-in must not sign in"
    # Other accounts are not locked out by one account's failures.
    assert auth.login(shop.manager.email).status_code == 302


@pytest.mark.parametrize("shipment_id", ["²", "99999999999999999999999", "abc", "999"])
def test_invoicing_a_shipment_that_is_not_this_orders_is_not_found(shop, as_staff, order, shipment_id):
    shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    refuses(shop, as_staff, f"/orders/{order.id}/invoice", {"shipment_id": shipment_id}, 404,
            "That shipment is not part of this order")


# ---------------------------------------------------------------- errors never show their insides

def test_an_unexpected_error_answers_a_plain_500_without_a_stack_trace(web_app, shop, sign_in):
    from oms_web.web import allow

    def broken():
        raise RuntimeError("secret internals")

    web_app.add_url_rule("/broken", "broken", allow(Role.STAFF)(broken))
    web_app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    staff = sign_in(shop.staff)
    for response in (staff.get("/broken"), staff.htmx_get("/broken")):
        body = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "Something went wrong on our side; nothing was changed." in body
        assert "secret internals" not in body and "RuntimeError" not in body


def test_a_get_on_an_action_is_refused_as_not_available(shop, as_staff, order):
    before = state(shop)
    response = as_staff.get(f"/orders/{order.id}/finalize")
    assert response.status_code == 405
    assert "That action is not available here." in response.get_data(as_text=True)
    assert state(shop) == before


@pytest.mark.parametrize("kind", ["labels", "invoices"])
def test_bulk_printing_without_a_real_selection_is_refused(shop, as_staff, order, kind):
    refuses(shop, as_staff, f"/orders/print/{kind}", {"order_ids": ["²", "99999999999999999999999", "x"]}, 422,
            "Select at least one order first.")


# ---------------------------------------------------------------- values longer than their column (PostgreSQL's 500s)

NEW_CUSTOMER = {"customer_name": "Ada Lovelace", "customer_email": "ada@example.com",
                "customer_phone": "+44 20 7946 0000", "ship_line1": "12 St James's Sq", "ship_city": "London", "ship_postal_code": "SW1Y 4JH",
                "ship_country": "GB", "sku": "A", "quantity": "1"}


@pytest.mark.parametrize(("field", "length", "message"), [
    ("customer_name", 201, "The name has at most 200 characters"),
    ("customer_phone", 41, "The phone number has at most 40 characters"),
    ("customer_email", 255, "The email has at most 254 characters"),
    ("ship_line1", 201, "The street has at most 200 characters"),
    ("ship_city", 101, "The city has at most 100 characters"),
    ("ship_postal_code", 21, "The postal code has at most 20 characters"),
    ("ship_country", 3, "The country has at most 2 characters"),
    ("sku", 65, "A SKU has at most 64 characters"),
])
def test_a_manual_order_with_a_value_longer_than_its_column_is_refused(shop, as_staff, field, length, message):
    shop.product("A", in_hand=5)
    refuses(shop, as_staff, "/orders/new", {**NEW_CUSTOMER, field: "x" * length}, 422, message, ways=("page",))


def test_a_manual_order_takes_a_name_and_phone_as_long_as_their_columns(shop, as_staff):
    shop.product("A", in_hand=5)
    response = as_staff.post_form("/orders/new", {**NEW_CUSTOMER, "customer_name": "N" * 200,
                                                  "customer_phone": "7" * 40})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert [(row[1], row[3]) for row in every_row()["customers"]] == [("N" * 200, "7" * 40)]


@pytest.mark.parametrize(("field", "length", "message"), [
    ("carrier", 61, "The carrier has at most 60 characters"),
    ("service_level", 61, "The service has at most 60 characters"),
    ("tracking_number", 81, "The tracking number has at most 80 characters"),
])
def test_shipping_with_a_carrier_or_service_longer_than_its_column_is_refused(shop, as_staff, order, field, length,
                                                                              message):
    data = {f"ship-{order.lines[0].id}": "1", "carrier": "UPS", "service_level": "Ground", field: "x" * length}
    refuses(shop, as_staff, f"/orders/{order.id}/ship", data, 422, message)


@pytest.mark.parametrize(("field", "length", "message"), [
    ("carrier", 61, "The carrier has at most 60 characters"),
    ("tracking_number", 81, "The tracking number has at most 80 characters"),
])
def test_marking_shipped_with_a_carrier_longer_than_its_column_is_refused(shop, as_staff, order, field, length,
                                                                          message):
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    refuses(shop, as_staff, f"/orders/{order.id}/shipments/{shipment.id}/shipped",
            {"carrier": "UPS", "tracking_number": "1Z999", field: "x" * length}, 422, message)


def test_a_carrier_as_long_as_its_column_ships(shop, as_staff, order):
    response = as_staff.htmx_post(f"/orders/{order.id}/ship", {f"ship-{order.lines[0].id}": "1", "carrier": "C" * 60,
                                                               "service_level": "S" * 60})
    assert response.status_code == 200
    assert shop.snapshot()["shipments"][0][2] == "C" * 60


def test_a_webhook_secret_longer_than_its_column_is_refused(shop, as_admin):
    from oms_web.models import ChannelKind

    refuses(shop, as_admin, "/channels", {"name": "Shop 2", "kind": "shopify", "secret": "s" * 257}, 422,
            "The webhook secret has at most 256 characters", ways=("page",))
    shopify = shop.channel("Shopify", ChannelKind.SHOPIFY)
    refuses(shop, as_admin, f"/channels/{shopify.id}", {"active": "1", "secret": "s" * 257}, 422,
            "The webhook secret has at most 256 characters", ways=("page",))


def test_a_webhook_secret_as_long_as_its_column_is_kept(shop, as_admin):
    from oms_web.extensions import db
    from oms_web.models import ChannelKind, SalesChannel

    shopify = shop.channel("Shopify", ChannelKind.SHOPIFY)
    assert as_admin.post_form(f"/channels/{shopify.id}", {"active": "1", "secret": "s" * 256}).status_code == 302
    assert db.session.get(SalesChannel, shopify.id).secret == "s" * 256


@pytest.mark.parametrize(("path", "data", "message"), [
    ("/products/new", {"sku": "NEW-1", "name": "n" * 201, "price": "1"}, "The name has at most 200 characters"),
    ("/products/new", {"sku": "N" * 65, "name": "New", "price": "1"}, "Give a SKU of up to 64 characters"),
    ("/users", {"email": "new@example.com", "name": "n" * 121, "role": "staff", "password": "long enough password"},
     "The name has at most 120 characters"),
    ("/users", {"email": "n" * 250 + "@example.com", "role": "staff", "password": "long enough password"},
     "The email has at most 254 characters"),
    ("/channels", {"name": "n" * 81, "kind": "api"}, "The name has at most 80 characters"),
])
def test_a_plain_form_with_a_value_longer_than_its_column_is_refused(shop, as_admin, path, data, message):
    refuses(shop, as_admin, path, data, 422, message, ways=("page",))


def test_stock_notes_longer_than_the_ledger_keeps_are_refused(shop, as_manager):
    product = shop.product("A", in_hand=5)
    refuses(shop, as_manager, f"/products/{product.id}/receive", {"quantity": "1", "note": "n" * 301}, 422,
            "The note has at most 300 characters")
    refuses(shop, as_manager, f"/products/{product.id}/adjust", {"counted": "7", "note": "n" * 301}, 422,
            "The reason has at most 300 characters")


def test_a_void_reason_or_a_new_lines_sku_longer_than_its_column_is_refused(shop, as_staff, as_admin, order):
    refuses(shop, as_admin, f"/orders/{order.id}/void", {"reason": "r" * 501}, 422,
            "The reason has at most 500 characters")
    refuses(shop, as_staff, f"/orders/{order.id}/lines", {"new_sku": "S" * 65, "new_qty": "1"}, 422,
            "The SKU has at most 64 characters")


def test_channel_settings_and_sku_map_longer_than_they_keep_are_refused(shop, as_admin):
    from oms_web.models import ChannelKind

    amazon = shop.channel("Amazon", ChannelKind.AMAZON)
    refuses(shop, as_admin, f"/channels/{amazon.id}", {"active": "1", "base_url": "u" * 4097}, 422,
            "Base url has at most 4,096 characters", ways=("page",))
    refuses(shop, as_admin, f"/channels/{amazon.id}", {"active": "1", "cred_refresh_token": "t" * 4097}, 422,
            "Refresh token has at most 4,096 characters", ways=("page",))
    refuses(shop, as_admin, f"/channels/{amazon.id}", {"active": "maybe"}, 422,
            "Choose whether the channel takes orders", ways=("page",))
    shop.product("A")
    refuses(shop, as_admin, f"/channels/{amazon.id}/sku-map", {"channel_sku": "c" * 65, "product_sku": "A"}, 422,
            "The channel's SKU has at most 64 characters")
    refuses(shop, as_admin, f"/channels/{amazon.id}/sku-map", {"channel_sku": "THEIRS", "product_sku": "A" * 65}, 422,
            "Our SKU has at most 64 characters")


# ---------------------------------------------------------------- NUL bytes and out-of-range dates

NUL_MESSAGE = "holds a NUL character"


@pytest.mark.parametrize("query", ["q=%00", "q=SO-%001", "channel=1%00", "from=2026-01-01%00", "segment=%00",
                                   "q%00=x"])
def test_a_nul_in_the_boards_query_string_is_a_400(shop, as_staff, query):
    before = every_row()
    for htmx in (False, True):
        response = (as_staff.htmx_get if htmx else as_staff.get)(f"/orders?{query}")
        assert_refused(response, 400, NUL_MESSAGE, htmx=htmx)
    assert every_row() == before


@pytest.mark.parametrize("path", ["/products?q=%00", "/products/lookup?q=A%00",
                                  "/customers/lookup?customer_search=ab%00", "/orders/counts?q=%00"])
def test_a_nul_in_any_query_string_is_a_400(shop, as_staff, path):
    response = as_staff.get(path)
    assert response.status_code == 400
    assert NUL_MESSAGE in html.unescape(response.get_data(as_text=True))


def test_a_nul_in_a_form_field_is_a_400_naming_the_field(shop, as_staff, as_admin, order):
    refuses(shop, as_staff, f"/orders/{order.id}/notes", {"note": "call\x00back"}, 400, "“note” holds a NUL character")
    refuses(shop, as_staff, f"/orders/{order.id}/ship", {f"ship-{order.lines[0].id}": "1", "carrier": "U\x00PS"}, 400,
            "“carrier” holds a NUL character")
    refuses(shop, as_staff, "/orders/new", {**NEW_CUSTOMER, "customer_name": "Ada\x00"}, 400,
            "“customer_name” holds a NUL character", ways=("page",))
    refuses(shop, as_admin, "/channels", {"name": "Shop\x00", "kind": "api"}, 400, NUL_MESSAGE, ways=("page",))
    refuses(shop, as_staff, f"/orders/{order.id}/notes", {"note\x00": "x"}, 400, NUL_MESSAGE)


@pytest.mark.parametrize("query", ["to=9999-12-31", "from=9999-12-31", "from=0001-01-01", "to=0001-01-01",
                                   "from=2026-01-01&to=9999-12-31"])
def test_a_date_out_of_range_on_the_board_is_a_422(shop, as_staff, order, query):
    for htmx in (False, True):
        response = (as_staff.htmx_get if htmx else as_staff.get)(f"/orders?{query}")
        assert_refused(response, 422, "must be a day from 1900-01-01 to 9998-12-31", htmx=htmx)
    assert as_staff.get(f"/orders/counts?{query}").status_code == 422


def test_a_date_at_the_ends_of_the_range_lists_orders(shop, as_staff, order):
    response = as_staff.get("/orders?from=1900-01-01&to=9998-12-31")
    assert response.status_code == 200
    assert order.number in response.get_data(as_text=True)


def test_a_nul_in_an_uploaded_files_name_is_a_400(shop, as_admin):
    import io

    from oms_web.channels.reports import AMAZON_ALL_ORDERS
    from oms_web.models import ChannelKind

    amazon = shop.channel("Amazon", ChannelKind.AMAZON)
    before = every_row()
    response = as_admin.post_form(f"/channels/{amazon.id}/reports",
                                  {"kind": AMAZON_ALL_ORDERS,
                                   "file": (io.BytesIO(b"order-id\tsku\n"), "orders\x00.txt")},
                                  content_type="multipart/form-data")
    assert_refused(response, 400, "“file” holds a NUL character", htmx=False)
    assert every_row() == before
