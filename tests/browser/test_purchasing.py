"""A purchase order from draft to received at the second warehouse, where its units fill a waiting order;
the screens as a manager and a packer use them (with screenshots)."""
from playwright.sync_api import expect

from tests.helpers import purchasing as buy

from .conftest import allow_refusals, screenshot, sign_in


def test_a_po_is_drafted_sent_and_received_at_the_second_warehouse_where_it_fills_a_backorder(open_page, shop):
    shop.product("MUG-BLUE")
    shop.product("TEE-M")
    east = buy.warehouse("East warehouse")
    supplier = buy.supplier("Acme Supplies")
    buy.sells(supplier, shop.product_row("MUG-BLUE"), 425, "AC-MUG-01")
    waiting = shop.order_for("Ada Lovelace", ("MUG-BLUE", 2))
    assert shop.order_row(waiting.id).lines[0].allocated == 0

    manager = open_page()
    sign_in(manager, shop.manager, "/purchase-orders")
    manager.get_by_label("Supplier", exact=True).select_option(label="Acme Supplies (5 d)")
    manager.get_by_label("Deliver to", exact=True).select_option(label="East warehouse")
    manager.get_by_role("button", name="Draft purchase order").click()
    expect(manager.locator("h1")).to_contain_text("Draft")
    for sku, quantity in (("MUG-BLUE", "10"), ("TEE-M", "4")):
        manager.get_by_label("SKU", exact=True).fill(sku)
        manager.get_by_label("Quantity", exact=True).fill(quantity)
        manager.get_by_role("button", name="Add line").click()
        expect(manager.locator("table.po-lines")).to_contain_text(sku)
    screenshot(manager, "purchase-order-draft")
    manager.get_by_role("button", name="Mark sent").click()
    expect(manager.locator("h1")).to_contain_text("Sent")

    packer = open_page()
    allow_refusals(packer, 422)
    sign_in(packer, shop.staff, manager.url)
    packer.get_by_label("Units of MUG-BLUE arrived now").fill("12")
    packer.get_by_role("button", name="Receive").click()
    expect(packer.locator(".field-error").first).to_contain_text("confirm over-receipt")
    packer.get_by_label("Units of MUG-BLUE arrived now").fill("3")
    packer.get_by_role("button", name="Receive").click()
    expect(packer.locator("h1")).to_contain_text("Partially received")
    screenshot(packer, "purchase-order-received")

    line = shop.order_row(waiting.id).lines[0]
    assert line.allocated == 2 and [a.location_id for a in line.allocations] == [east.id]
    assert shop.stock("MUG-BLUE") == (3, 2)
    packer.goto(packer.url.split("/purchase-orders")[0] + f"/orders/{waiting.id}")
    expect(packer.locator("#order-header")).to_contain_text("Ready to ship")  # its backorder is filled
    expect(packer.locator("#order-lines")).to_contain_text("East warehouse 2")

    sign_in(manager, shop.manager, "/purchase-orders")
    screenshot(manager, "purchase-orders")
    sign_in(manager, shop.manager, f"/suppliers/{supplier.id}")
    expect(manager.locator("table.supplier-products")).to_contain_text("AC-MUG-01")
    screenshot(manager, "supplier")
