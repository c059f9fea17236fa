"""The screens on a phone held upright (390 px): nothing wider than the screen, nothing cut off; what
cannot shrink (the segment tabs, the main menu, a wide table) scrolls sideways inside its own box."""
import pytest
from playwright.sync_api import expect

from oms_web.domain import invoicing, shipping
from tests.helpers.screens import a_day_of_orders, assert_fits, rows, tab

from .conftest import PHONE, screenshot, sign_in

def an_order_with_everything(shop):
    """Three lines, one shipment handed over and invoiced, one packed; a long name and email."""
    shop.product("LAMP-OAK", in_hand=10, price_cents=4900)
    shop.product("CAP-RED", in_hand=10, price_cents=1500)
    order = shop.order_for("Grace Brewster Murray Hopper", ("MUG-BLUE", 3), ("LAMP-OAK", 2), ("CAP-RED", 1))
    mug, lamp, _ = order.lines
    handed_over = shipping.ship_lines(shop.staff, order.id, {mug.id: 1, lamp.id: 1})
    shipping.mark_shipped(shop.staff, handed_over.id, "UPS", "1Z999AA10123456784")
    shipping.ship_lines(shop.staff, order.id, {mug.id: 1})
    invoicing.issue_invoice(shop.staff, order.id, handed_over.id)
    return order


def test_s_the_board_fits_a_phone_with_its_rows_as_cards(open_page, shop):
    a_day_of_orders(shop)
    an_order_with_everything(shop)
    page = open_page(viewport=PHONE)
    sign_in(page, shop.staff)
    expect(rows(page)).to_have_count(10)
    assert_fits(page)
    # A row is a card: the number, the stage, the customer and the total, all on the screen.
    card = rows(page).first
    for text in ("Grace Brewster Murray Hopper", "Partially shipped", "USD"):
        expect(card).to_contain_text(text)
    assert card.bounding_box()["width"] <= PHONE["width"]
    screenshot(page, "board-390")

    # The segments scroll inside their own strip: the last is reached there, and the page still fits.
    tabs = page.locator("#segment-tabs")
    assert tabs.evaluate("strip => strip.scrollWidth > strip.clientWidth")
    tab(page, "void").click()
    expect(rows(page)).to_have_count(1)
    expect(tab(page, "void")).to_have_attribute("aria-current", "page")
    assert_fits(page)
    # Opened at a segment far along the strip, the strip shows it.
    page.goto("/orders?segment=void")
    box = tab(page, "void").bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], "the chosen segment is out of sight"
    expect(page.get_by_role("link", name="Orders", exact=True)).to_be_in_viewport()

    # The keys work on a phone's keyboard too, and the help fits the screen.
    tab(page, "all").click()
    expect(rows(page)).to_have_count(10)
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("1 order selected")
    page.keyboard.press("?")
    help_box = page.locator("dialog#shortcut-help").bounding_box()
    assert help_box["x"] >= 0 and help_box["x"] + help_box["width"] <= PHONE["width"]


def test_s_an_order_with_lines_shipments_and_invoices_fits_a_phone(open_page, shop):
    shop.product("MUG-BLUE", in_hand=20, price_cents=1250)
    order = an_order_with_everything(shop)
    page = open_page(viewport=PHONE)
    sign_in(page, shop.admin, then=f"/orders/{order.id}")
    expect(page.locator("#order-lines tbody tr")).to_have_count(3)
    expect(page.locator("#order-shipments .shipment")).to_have_count(2)
    assert_fits(page)
    # The lines stack, each figure named by its column.
    lamp = page.locator("#order-lines tbody tr").nth(1)
    expect(lamp.locator('td[data-label="Shipped"]')).to_have_text("1")
    expect(lamp.locator('td[data-label="Invoiced"]')).to_have_text("1")
    screenshot(page, "order-390")

    # Still usable there: ship the rest from the phone.
    page.locator("#order-ship").get_by_role("button", name="Create shipment").click()
    expect(page.locator("#order-shipments .shipment")).to_have_count(3)
    assert_fits(page)


@pytest.mark.parametrize("path", ["/overview", "/products", "/channels", "/orders/new", "/users", "/jobs"])
def test_s_the_other_screens_fit_a_phone(open_page, shop, path):
    a_day_of_orders(shop)
    page = open_page(viewport=PHONE)
    sign_in(page, shop.admin, then=path)
    assert_fits(page)


def test_s_the_board_and_an_order_on_a_desk(page, shop):
    """The wide layout is the table and the two columns it was: the phone's rules stay on the phone."""
    a_day_of_orders(shop)
    order = an_order_with_everything(shop)
    sign_in(page, shop.staff)
    assert page.locator("table.orders").evaluate("table => getComputedStyle(table).display") == "table"
    expect(page.locator("table.orders thead th").nth(1)).to_be_visible()
    page.goto(f"/orders/{order.id}")
    assert page.locator("#order-lines table.lines").evaluate("table => getComputedStyle(table).display") == "table"
    expect(page.locator(".order-side")).to_be_visible()
    side, main = page.locator(".order-side").bounding_box(), page.locator(".order-main").bounding_box()
    assert side["x"] > main["x"] + main["width"] - 1, "the customer and timeline are not beside the order"
    screenshot(page, "order-desktop")
