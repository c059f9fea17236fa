"""Refunding from the order page: a manager refunds one unit, the credit note appears in place with its link."""
from playwright.sync_api import expect

from oms_web.domain import invoicing, shipping

from .conftest import mark_window, same_window, screenshot, sign_in


def test_a_manager_refunds_a_unit_and_gets_its_credit_note(open_page, shop):
    shop.product("MUG-BLUE", in_hand=10, price_cents=1250)
    order = shop.order_for("Ada Lovelace", ("MUG-BLUE", 2))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2})
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)

    manager = open_page()
    sign_in(manager, shop.manager, f"/orders/{order.id}")
    mark_window(manager)
    refunds = manager.locator("#order-refunds")
    expect(refunds).to_contain_text("at most USD 30.00 left to refund")
    refunds.get_by_label("Units of MUG-BLUE to refund").fill("1")
    refunds.get_by_label("Reason").select_option("damaged")
    refunds.get_by_label("Note").fill("Arrived chipped")
    refunds.get_by_role("button", name="Refund and issue credit note").click()
    expect(refunds).to_contain_text("CN-0000001")
    expect(refunds).to_contain_text("at most USD 15.00 left to refund")
    expect(manager.locator("#order-timeline")).to_contain_text("Refunded USD 15.00")
    assert same_window(manager), "refunding reloaded the page"
    screenshot(manager, "order-refunds")
