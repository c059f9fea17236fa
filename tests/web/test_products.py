"""The Products & stock screen: paged with its total, searched, filtered; managers add and edit products
(bin, barcode, reorder point, active); a count below what is committed is confirmed first, naming the
orders that lose units. On SQLite and (with OMS_TEST_DATABASE_URL) PostgreSQL."""
from __future__ import annotations

import html
import re

import pytest

from oms_web.domain import catalog
from oms_web.domain.catalog import ProductDetails
from oms_web.domain.errors import InvalidInput, NotAllowed
from oms_web.domain.invariants import check_invariants

from .conftest import use_both_backends
from tests.helpers.refusals import refuses

web_app = use_both_backends()

EAN = "4006381333931"  # a real EAN-13: its check digit is 1
UPC = "036000291452"


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _skus(response) -> list[str]:
    return re.findall(r'<tr id="product-\d+"[^>]*>\s*<td><a href="[^"]+">([^<]+)</a>', response.get_data(as_text=True))


def _many(shop, count: int) -> None:
    for number in range(count):
        catalog.create_product(None, f"P{number:03d}", ProductDetails(name=f"Thing {number}", price_cents=100))


# ---------------------------------------------------------------- the list

def test_the_list_pages_through_every_product_with_the_total(shop, as_staff):
    _many(shop, 106)
    first = as_staff.get("/products")
    assert "106 products · page 1 of 3" in _text(first)
    assert len(_skus(first)) == catalog.PAGE_SIZE
    seen = []
    for page in (1, 2, 3):
        seen += _skus(as_staff.get(f"/products?page={page}"))
    assert seen == [f"P{n:03d}" for n in range(106)]
    assert 'rel="next"' not in _text(as_staff.get("/products?page=3"))
    assert _skus(as_staff.get("/products?page=99")) == seen[100:]  # past the last page: the last page


def test_search_and_filters_keep_their_total_and_the_pager_keeps_them(shop, as_staff):
    _many(shop, 60)
    shop.product("LOW-1", in_hand=1)  # reorder point 0: low only when nothing is available
    catalog.edit_product(shop.manager, shop.product_row("LOW-1").id, ProductDetails(
        name="Low thing", price_cents=100, reorder_point=5))
    shop.product("GONE")
    catalog.edit_product(shop.manager, shop.product_row("GONE").id, ProductDetails(
        name="Retired", price_cents=100, active=False))
    shop.product("SHORT", in_hand=1)
    shop.web_order(("SHORT", 3))

    assert _skus(as_staff.get("/products?q=thing+5")) == ["P005"] + [f"P05{n}" for n in range(10)]
    assert "11 products match “thing 5”" in _text(as_staff.get("/products?q=thing+5"))
    assert _skus(as_staff.get("/products?q=low")) == ["LOW-1"]  # by name
    assert "62 products match · Low stock" in _text(as_staff.get("/products?show=low"))  # P000-P059 have none
    assert _skus(as_staff.get("/products?show=low&q=o")) == ["LOW-1", "SHORT"]  # GONE is inactive
    assert _skus(as_staff.get("/products?show=backordered")) == ["SHORT"]
    assert _skus(as_staff.get("/products?show=inactive")) == ["GONE"]
    fragment = as_staff.htmx_get("/products?q=Thing&show=low")
    assert "<html" not in _text(fragment) and "page 1 of 2" in _text(fragment)
    assert "/products?page=2&amp;q=Thing&amp;show=low" in fragment.get_data(as_text=True)


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page=-1", "page=" + "9" * 30, "show=everything"])
def test_a_bad_page_or_filter_is_a_clear_400(shop, as_staff, query):
    response = as_staff.get(f"/products?{query}")
    assert response.status_code == 400
    assert "page" in _text(response) or "Show one of" in _text(response)


# ---------------------------------------------------------------- adding and editing

def test_a_manager_adds_a_product_with_its_bin_barcode_and_reorder_point(shop, as_manager):
    response = as_manager.post_form("/products/new", {
        "sku": " tnt-1 ", "name": "Tent", "price": "249.00", "bin_location": "A-03-2", "barcode": EAN,
        "reorder_point": "4", "weight_grams": "1150", "active": "y"})
    assert response.status_code == 302
    product = shop.product_row("TNT-1")
    assert (product.name, product.price_cents, product.bin_location, product.barcode, product.reorder_point,
            product.weight_grams, product.active, product.stock_in_hand) == (
        "Tent", 24900, "A-03-2", EAN, 4, 1150, True, 0)


def test_a_manager_edits_a_product(shop, as_manager):
    product = shop.product("A", in_hand=5)
    page = as_manager.get(f"/products/{product.id}/edit")
    assert page.status_code == 200 and 'value="10.00"' in page.get_data(as_text=True)
    response = as_manager.post_form(f"/products/{product.id}/edit", {
        "name": "Renamed", "price": "12.34", "tax_rate_bp": "500", "bin_location": "B-01-1", "barcode": UPC,
        "reorder_point": "7"})  # "active" unticked
    assert response.status_code == 302
    product = shop.product_row("A")
    assert (product.name, product.price_cents, product.tax_rate_bp, product.bin_location, product.barcode,
            product.reorder_point, product.active, product.stock_in_hand) == (
        "Renamed", 1234, 500, "B-01-1", UPC, 7, False, 5)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("barcode", "4006381333932", "The barcode's check digit is wrong: 4006381333931 would be right"),
    ("barcode", "12345", "A barcode is a GTIN: 8, 12, 13 or 14 digits"),
    ("barcode", "40063813339x1", "A barcode is a GTIN"),
    ("barcode", "4" * 15, "The barcode has at most 14 characters"),
    ("name", "n" * 201, "The name has at most 200 characters"),
    ("name", "   ", "Give the product a name"),
    ("bin_location", "b" * 21, "The bin has at most 20 characters"),
    ("price", "-1", "Price must be an amount like 12.50"),
    ("price", "1e999999999", "Price must be an amount like 12.50"),
    ("reorder_point", "-1", "The reorder point must be between 0 and 10,000,000"),
    ("reorder_point", "9" * 20, "The reorder point is too large: at most 10,000,000"),
    ("reorder_point", "lots", "The reorder point must be between 0 and 10,000,000"),
    ("tax_rate_bp", "10001", "Tax rate (basis points) is too large: at most 10,000"),
])
def test_editing_a_product_with_bad_input_is_refused_and_changes_nothing(shop, as_manager, field, value, message):
    product = shop.product("A")
    form = {"name": "A thing", "price": "10.00", "active": "y", field: value}
    refuses(shop, as_manager, f"/products/{product.id}/edit", form, 422, message, ways=("page",))


def test_a_barcode_another_product_has_is_refused_on_both_forms(shop, as_manager):
    shop.product("A")
    catalog.edit_product(shop.manager, shop.product_row("A").id, ProductDetails(name="A", price_cents=1, barcode=EAN))
    b = shop.product("B")
    refuses(shop, as_manager, f"/products/{b.id}/edit", {"name": "B", "price": "1", "barcode": EAN}, 422,
            f"The barcode {EAN} is already on A", ways=("page",))
    refuses(shop, as_manager, "/products/new", {"sku": "C", "name": "C", "price": "1", "barcode": EAN}, 422,
            f"The barcode {EAN} is already on A", ways=("page",))
    # Its own barcode is no conflict.
    assert as_manager.post_form(f"/products/{shop.product_row('A').id}/edit",
                                {"name": "A2", "price": "1", "barcode": EAN}).status_code == 302


def test_staff_may_not_edit_products(shop, as_staff):
    product = shop.product("A")
    assert as_staff.post_form(f"/products/{product.id}/edit", {"name": "X", "price": "1"}).status_code == 403
    shop.refused(NotAllowed, catalog.edit_product, shop.staff, product.id, ProductDetails(name="X", price_cents=1))


@pytest.mark.parametrize("details", [
    ProductDetails(name="X", price_cents=-1), ProductDetails(name="X", price_cents=1.5),
    ProductDetails(name="X", price_cents=1, reorder_point=True), ProductDetails(name="", price_cents=1),
    ProductDetails(name="X", price_cents=1, barcode="036000291453"), ProductDetails(name="X" * 201, price_cents=1),
    ProductDetails(name="X", price_cents=1, active="yes"),
])
def test_the_catalogue_service_refuses_bad_details_itself(shop, details):
    product = shop.product("A")
    shop.refused(InvalidInput, catalog.edit_product, shop.manager, product.id, details)
    shop.refused(InvalidInput, catalog.create_product, shop.manager, "NEW", details)


# ---------------------------------------------------------------- a count below committed

def test_a_count_below_committed_is_confirmed_naming_the_orders_then_applied(shop, as_manager):
    product = shop.product("A", in_hand=6)
    older = shop.web_order(("A", 2))
    newer = shop.web_order(("A", 3))

    asked = as_manager.htmx_post(f"/products/{product.id}/adjust", {"counted": "2", "note": "shelf short"})
    assert asked.status_code == 422
    body = _text(asked)
    assert f"This count of 2 takes 3 unit(s) of A from order {newer.number}: they go back to backorder" in body
    assert f"{newer.number}</a> loses 3 unit(s) of A" in body and older.number not in body
    assert shop.stock("A") == (6, 5)
    confirm = dict(re.findall(r'name="(counted|note|had_note)" value="([^"]*)"', body))
    assert confirm == {"counted": "2", "note": "shelf short", "had_note": "1"}
    order_ids = re.findall(r'name="confirm_order" value="(\d+)"', body)
    assert order_ids == [str(newer.id)]

    done = as_manager.htmx_post(f"/products/{product.id}/adjust", {**confirm, "confirm_order": order_ids})
    assert done.status_code == 200
    assert f'id="product-{product.id}-note" hx-swap-oob="delete"' in done.get_data(as_text=True)
    assert shop.stock("A") == (2, 2)
    assert (shop.line(older.id, "A").allocated, shop.line(newer.id, "A").allocated) == (2, 0)
    assert shop.event_kinds(newer.id)[-1] == "stock_count"
    assert check_invariants() == []


def test_a_confirmation_that_no_longer_covers_the_orders_is_asked_again(shop, as_manager):
    product = shop.product("A", in_hand=6)
    older = shop.web_order(("A", 2))
    newer = shop.web_order(("A", 3))
    # Confirmed for the newer order only, but the count now takes from both.
    refuses(shop, as_manager, f"/products/{product.id}/adjust",
            {"counted": "0", "note": "flood", "confirm_order": [str(newer.id)]}, 422,
            f"This count of 0 takes 5 unit(s) of A from orders {newer.number}, {older.number}")


def test_a_count_confirm_works_without_htmx_as_a_page(shop, as_manager):
    product = shop.product("A", in_hand=3)
    order = shop.web_order(("A", 3))
    page = as_manager.post_form(f"/products/{product.id}/adjust", {"counted": "1", "note": "stocktake"})
    assert page.status_code == 422 and "<html" in _text(page) and "Confirm the count of A" in _text(page)
    done = as_manager.post_form(f"/products/{product.id}/adjust",
                                {"counted": "1", "note": "stocktake", "confirm_order": str(order.id)})
    assert done.status_code == 302
    assert shop.stock("A") == (1, 1)
