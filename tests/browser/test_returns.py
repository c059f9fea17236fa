"""A return in the browser: a delivered order gets a return for one of its two lines, scanned in on the
Returns view, received and restocked, which fills a backorder on another order; the order shows
"Partly returned"."""
from playwright.sync_api import expect

from oms_web.domain import shipping
from oms_web.models import Segment

from .conftest import screenshot, sign_in


def test_a_partial_return_is_received_restocked_and_fills_a_backorder(open_page, shop):
    shop.product("MUG-BLUE", in_hand=1)
    shop.product("TEE-M", in_hand=1)
    order = shop.order_for("Ada Lovelace", ("MUG-BLUE", 1), ("TEE-M", 1))
    shipment = shipping.ship_lines(shop.staff, order.id, {line.id: 1 for line in order.lines}, carrier="UPS",
                                   tracking_number="1ZRETURN")
    shipping.mark_shipped(shop.staff, shipment.id)
    shipping.mark_delivered(shop.staff, shipment.id)
    waiting = shop.order_for("Alan Turing", ("TEE-M", 1))
    assert shop.order_row(waiting.id).segment is Segment.AWAITING_STOCK

    page = open_page()
    sign_in(page, shop.staff, f"/orders/{order.id}")
    page.get_by_text("Open a return…").click()
    page.get_by_label("Units of TEE-M back").fill("1")
    page.get_by_label("Reason for TEE-M").select_option("not_as_described")
    page.get_by_label("Note on the return").fill("Too small")
    page.get_by_role("button", name="Open the return").click()
    expect(page.locator("#return h1")).to_have_text("RMA-000001")
    page.get_by_role("button", name="Authorize").click()
    expect(page.locator("#return .badge")).to_have_text("Authorized")

    # The parcel comes back: its slip is scanned on the Returns view.
    page.goto("/returns?state=authorized")
    expect(page.locator("table")).to_contain_text("RMA-000001")
    screenshot(page, "returns-view")
    page.get_by_label("Scan a return slip").fill("RMA-000001")
    page.get_by_label("Scan a return slip").press("Enter")
    expect(page.get_by_label("Restock units of TEE-M")).to_have_value("1")
    screenshot(page, "return-receive")
    page.get_by_role("button", name="Receive").click()
    expect(page.locator("#return .badge")).to_have_text("Received")
    assert shop.order_row(waiting.id).segment is Segment.READY_TO_SHIP

    page.goto(f"/orders/{order.id}")
    expect(page.locator("#order-header")).to_contain_text("Partly returned")
    expect(page.locator("#order-returns")).to_contain_text("RMA-000001")
    screenshot(page, "order-partly-returned")
