"""A drop-ship order in the browser: staff copy the supplier's link from the order page, the supplier (not
signed in, its own browser) confirms carrier and tracking there, and the order, marked delivered, is Fulfilled."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.helpers.drop_ship import drop_shipped, supplier_location

from .conftest import screenshot, sign_in


def test_a_drop_ship_order_is_confirmed_by_its_supplier_through_the_link_and_fulfilled(page: Page, open_page, shop):
    location = supplier_location()
    drop_shipped(shop, "BENCH-OAK", location)
    order = shop.order_for("Ada Lovelace", ("BENCH-OAK", 2))

    sign_in(page, shop.staff, f"/orders/{order.id}")
    expect(page.locator("#order .badge.seg-with_supplier").first).to_have_text("With supplier")
    expect(page.locator("#order-ship")).to_contain_text("is with the supplier")
    expect(page.locator("#order-lines")).to_contain_text("With supplier Oakline Furniture")
    link = page.get_by_label("Supplier link").input_value()
    screenshot(page, "drop-ship-order-page")
    page.get_by_role("link", name="Drop-ship").click()
    expect(page.locator("table.drop-ship-waiting")).to_contain_text(order.number)
    screenshot(page, "drop-ship-screen")

    supplier = open_page()  # the supplier's own browser: nobody signed in
    supplier.goto(link)
    expect(supplier.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    expect(supplier.locator("address")).to_contain_text("1 Main St")
    expect(supplier.get_by_label("Units of BENCH-OAK shipped now")).to_have_value("2")
    supplier.get_by_label("Carrier", exact=True).fill("DHL")
    supplier.get_by_label("Tracking number", exact=True).fill("JD014600003828501234")
    screenshot(supplier, "drop-ship-supplier-page")
    supplier.get_by_role("button", name="Confirm shipped").click()
    expect(supplier.locator(".notice").first).to_contain_text("1 parcel recorded")
    expect(supplier.locator(".notice").last).to_contain_text("Already confirmed")
    expect(supplier.get_by_role("button", name="Confirm shipped")).to_have_count(0)

    page.goto(f"/orders/{order.id}")
    expect(page.locator("#order-timeline")).to_contain_text("Oakline Furniture (supplier)")
    expect(page.locator("#order-shipments")).to_contain_text("DHL")
    page.get_by_role("button", name="Mark delivered").click()
    expect(page.locator(".badge.status-fulfilled")).to_be_visible()
    assert shop.order_row(order.id).status.value == "fulfilled"
