"""A transfer in the browser, by keyboard: a manager types the lines (the source's available units show as a
SKU is typed), creates and ships it; staff receive part of it, then the rest."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from oms_web.domain import locations
from oms_web.models import LocationKind

from .conftest import screenshot, sign_in


def test_a_manager_ships_a_transfer_and_staff_receive_it_in_two_parts(shop, page: Page, open_page):
    shop.product("MUG-BLUE", in_hand=30)
    shop.product("TEE-M", in_hand=12)
    locations.create_location(shop.admin, LocationKind.WAREHOUSE,
                              locations.LocationDetails(name="East warehouse", priority=50))
    sign_in(page, shop.manager, "/transfers/new")

    page.keyboard.type("MUG-BLUE")  # the first SKU box has the focus
    expect(page.locator("#avail-0")).to_have_text("30 available")
    page.keyboard.press("Tab")
    page.keyboard.type("8")
    page.locator("#f-sku-1").fill("TEE-M")
    expect(page.locator("#avail-1")).to_have_text("12 available")
    page.locator("#f-quantity-1").fill("4")
    screenshot(page, "transfer-new")
    page.get_by_role("button", name="Create transfer").press("Enter")
    expect(page.get_by_text("created: nothing has moved yet")).to_be_visible()
    expect(page.get_by_text("Shipping takes all 12 unit(s) out of Main warehouse at once")).to_be_visible()
    page.get_by_role("button", name="Ship now").click()
    expect(page.get_by_text("12 unit(s) left Main warehouse and are in transit to East warehouse")).to_be_visible()
    transfer_url = page.url

    staff = open_page()
    sign_in(staff, shop.staff, transfer_url)
    expect(staff.get_by_role("button", name="Receive at East warehouse")).to_be_visible()
    expect(staff.get_by_role("button", name="Ship now")).to_have_count(0)
    staff.get_by_label("Units of MUG-BLUE received now").fill("5")
    staff.get_by_label("Units of TEE-M received now").fill("0")
    screenshot(staff, "transfer-receive")
    staff.get_by_role("button", name="Receive at East warehouse").click()
    expect(staff.get_by_text("5 unit(s) received at East warehouse")).to_be_visible()
    expect(staff.locator(".badge").first).to_have_text("Partially received")
    staff.get_by_role("button", name="Receive at East warehouse").click()  # the rest, as the boxes offer it
    expect(staff.locator(".badge").first).to_have_text("Received")
    assert shop.product_row("MUG-BLUE").stock_in_hand == 30
    screenshot(staff, "transfer-received")
