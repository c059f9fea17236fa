"""The screens' forms are made from the model: each field tells the browser the bounds the server checks
(a text its column's length, a quantity the one limit), so what a person types and what the database
takes never differ; and one field macro draws them all (label, input, message)."""
from __future__ import annotations

import html
import re

from oms_web.domain import shipping
from oms_web.domain.inventory import MAX_STOCK_QUANTITY
from oms_web.formfields import MAX_QUANTITY
from oms_web.models import Order, Shipment, StockMove, User
from oms_web.web import column_length

from .conftest import use_both_backends

web_app = use_both_backends()


def attributes(page: str, name: str) -> dict[str, str]:
    """The attributes of the first input, select or textarea named `name`."""
    tag = re.search(rf'<(?:input|textarea|select)\b[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    assert tag, f"no field named {name}"
    return {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', tag.group(0))}


def test_the_order_pages_fields_carry_their_columns_bounds(shop, as_admin):
    shop.product("A", in_hand=10)
    order = shop.web_order(("A", 3))
    line = order.lines[0]
    shipping.ship_lines(shop.staff, order.id, {line.id: 1})
    page = as_admin.get(f"/orders/{order.id}").get_data(as_text=True)
    assert attributes(page, "carrier")["maxlength"] == str(column_length(Shipment.carrier))
    assert attributes(page, "service_level")["maxlength"] == str(column_length(Shipment.service_level))
    assert attributes(page, "tracking_number")["maxlength"] == str(column_length(Shipment.tracking_number))
    unshipped = shop.web_order(("A", 1))  # a shipped unit takes Void away: its form is on an order without one
    void_page = as_admin.get(f"/orders/{unshipped.id}").get_data(as_text=True)
    assert attributes(void_page, "reason")["maxlength"] == str(column_length(Order.void_reason))
    assert attributes(page, f"ship-{line.id}")["max"] == str(line.to_ship)
    assert attributes(page, f"qty-{line.id}")["max"] == str(MAX_QUANTITY)
    assert {"min": "1", "max": str(MAX_QUANTITY), "type": "number"}.items() <= attributes(page, "new_qty").items()


def test_the_stock_and_user_forms_carry_their_bounds(shop, as_admin):
    shop.product("A", in_hand=10)
    products = as_admin.get("/products").get_data(as_text=True)
    # Stock received is bounded by the stock limit, not an order line's.
    assert {"min": "1", "max": str(MAX_STOCK_QUANTITY)}.items() <= attributes(products, "quantity").items()
    assert attributes(products, "note")["maxlength"] == str(column_length(StockMove.note))
    users = as_admin.get("/users").get_data(as_text=True)
    assert {"maxlength": str(column_length(User.email)), "type": "email"}.items() <= attributes(users, "email").items()
    assert attributes(users, "name")["maxlength"] == str(column_length(User.name))


def test_one_quantity_limit_for_order_lines_and_one_for_stock(shop, as_admin):
    """The limits were 100,000, 1,000,000 and 10,000,000 by form; now one per kind: an order line's units
    (ordering, editing, shipping) and a product's stock (receiving, counting), each said the same way."""
    product = shop.product("A", in_hand=10)
    order = shop.web_order(("A", 3))
    line = order.lines[0]
    for path, data, label, limit in [
        (f"/products/{product.id}/receive", {"quantity": str(MAX_STOCK_QUANTITY + 1)}, "Quantity received",
         MAX_STOCK_QUANTITY),
        (f"/orders/{order.id}/lines", {f"qty-{line.id}": str(MAX_QUANTITY + 1)}, "Quantity of A", MAX_QUANTITY),
        (f"/orders/{order.id}/lines", {"new_sku": "A", "new_qty": str(MAX_QUANTITY + 1)}, "Quantity", MAX_QUANTITY),
        (f"/orders/{order.id}/ship", {f"ship-{line.id}": str(MAX_QUANTITY + 1)}, "Units of A", MAX_QUANTITY),
    ]:
        response = as_admin.htmx_post(path, data)
        assert response.status_code == 422
        assert f"{label} is too large: at most {limit:,}" in html.unescape(response.get_data(as_text=True))


def test_a_refused_field_is_marked_and_its_message_said_below_it(shop, as_admin):
    """The field macro's markup: the input points at its message, which screen readers then read."""
    shop.product("A", in_hand=10)
    order = shop.web_order(("A", 3))
    response = as_admin.htmx_post(f"/orders/{order.id}/lines", {"new_sku": "A" * 65, "new_qty": "1"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    field = attributes(body, "new_sku")
    assert field["aria-invalid"] == "true" and field["value"] == "A" * 65  # kept, to correct
    message = re.search(rf'<p class="field-error" id="{field["aria-describedby"]}">([^<]*)</p>', body)
    assert message and "The SKU has at most 64 characters (65 given)" in html.unescape(message.group(1))
