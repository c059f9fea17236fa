"""Issue 13's messages: what a new user is told when a quantity, a SKU or an action is wrong, and where it
sends them (the order page's void button, the unknown-SKU hold, the board's segment counts)."""
from __future__ import annotations

import html

from oms_web.domain import inventory
from oms_web.domain.orders import MAX_LINE_QUANTITY
from oms_web.extensions import db
from oms_web.models import Product

from .conftest import state, use_both_backends

web_app = use_both_backends()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# ---------------------------------------------------------------- one limit for each kind of quantity

def test_stock_is_received_up_to_the_one_stock_limit_on_the_form_as_in_the_service(shop, as_manager):
    """Receiving stops at MAX_STOCK_QUANTITY, as counting does; the order lines' limit is not the stock's."""
    product = shop.product("A", in_hand=5)
    big = MAX_LINE_QUANTITY + 1
    response = as_manager.htmx_post(f"/products/{product.id}/receive", {"quantity": str(big), "note": "PO 9"})
    assert response.status_code == 200, text(response)[:500]
    assert db.session.get(Product, product.id).stock_in_hand == 5 + big
    response = as_manager.htmx_post(f"/products/{product.id}/receive",
                                    {"quantity": str(inventory.MAX_STOCK_QUANTITY + 1), "note": "PO 9"})
    assert response.status_code == 422
    assert "Quantity received is too large: at most 10,000,000" in text(response)


# ---------------------------------------------------------------- the order page says what cannot be done, and where to fix it

def test_void_is_not_offered_on_an_order_with_a_shipped_unit_and_the_page_says_why(shop, as_admin):
    from oms_web.domain import shipping

    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    page = text(as_admin.get(f"/orders/{order.id}"))
    assert "<summary>Void order…</summary>" in page and "disabled" not in page.split('id="order-header"')[1].split("</section>")[0]

    shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    header = text(as_admin.get(f"/orders/{order.id}")).split('id="order-header"')[1].split("</section>")[0]
    assert "<summary>Void order…</summary>" not in header
    assert '<button class="danger" disabled aria-describedby="void-refusal">Void order…</button>' in header
    assert f"{order.number} has 1 unit(s) shipped and cannot be voided" in header


def test_an_order_held_for_an_unknown_sku_links_to_its_channels_sku_mapping(shop, as_admin, as_staff):
    order = shop.web_order(("MYSTERY-1", 1))
    assert order.hold_reason

    admin_page = text(as_admin.get(f"/orders/{order.id}"))
    assert f'href="/channels/{shop.web.id}#sku-map">Map MYSTERY-1 on Web store\'s SKU mapping</a>' in admin_page
    # The mapping screen is an admin's: staff are told who fixes it rather than sent to a 403.
    staff_page = text(as_staff.get(f"/orders/{order.id}"))
    assert "An admin maps MYSTERY-1 on Web store's SKU mapping." in staff_page
    assert f"/channels/{shop.web.id}" not in staff_page


def test_the_order_page_says_which_shipments_each_invoice_covers_and_offers_no_covered_one_again(shop, as_staff):
    from oms_web.domain import invoicing, shipping

    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 4))
    line_id = order.lines[0].id
    first = shipping.ship_lines(shop.staff, order.id, {line_id: 2})
    rest = invoicing.issue_invoice(shop.staff, order.id)
    second = shipping.ship_lines(shop.staff, order.id, {line_id: 2})

    page = text(as_staff.get(f"/orders/{order.id}"))
    assert f"2 unit(s) of {first.number}" in page
    shipments = page.split('id="order-shipments"')[1].split("</section>")[0]
    assert f'name="shipment_id" value="{second.id}"' in shipments
    assert f'name="shipment_id" value="{first.id}"' not in shipments, f"{rest.display_number} covered it"


# ---------------------------------------------------------------- a product's name typed into the SKU box

A_NEW_CUSTOMER = {"customer_name": "Grace Hopper", "customer_email": "grace@navy.example", "ship_line1": "1 Harbour Rd",
                  "ship_city": "Arlington", "ship_postal_code": "22201", "ship_country": "US"}


def solar_lanterns(shop) -> None:
    for sku, name in (("SOL-5W", "Solar lantern 5W"), ("SOL-10W", "Solar lantern 10W"), ("TORCH", "Torch")):
        product = shop.product(sku, in_hand=5)
        product.name = name
    db.session.commit()


def test_a_name_in_the_manual_orders_sku_box_is_answered_with_the_products_of_that_name(shop, as_staff):
    solar_lanterns(shop)
    before = state(shop)
    response = as_staff.post_form("/orders/new", {**A_NEW_CUSTOMER, "sku": ["Solar lantern"], "quantity": ["1"]})
    assert response.status_code == 422
    assert ("No product has the SKU Solar lantern: for Solar lantern, use the SKU of "
            "Solar lantern 10W (SOL-10W), Solar lantern 5W (SOL-5W)") in text(response)
    assert state(shop) == before


def test_a_name_in_the_order_edits_new_line_box_is_answered_with_the_products_of_that_name(shop, as_staff):
    solar_lanterns(shop)
    order = shop.web_order(("TORCH", 1))
    before = state(shop)
    response = as_staff.htmx_post(f"/orders/{order.id}/lines", {"new_sku": "lantern 5w", "new_qty": "1"})
    assert response.status_code == 422
    assert "No product has the SKU lantern 5w: for lantern 5w, use the SKU of Solar lantern 5W (SOL-5W)" in text(response)
    assert state(shop) == before


def test_text_matching_no_sku_and_no_name_says_so(shop, as_staff):
    solar_lanterns(shop)
    order = shop.web_order(("TORCH", 1))
    response = as_staff.htmx_post(f"/orders/{order.id}/lines", {"new_sku": "Garden gnome", "new_qty": "1"})
    assert response.status_code == 422
    assert "No product has the SKU or the name Garden gnome" in text(response)
