"""One order's life on its page: a manual draft finalized, a backorder received and shipped in two
parts, lines edited in place."""
import re

from playwright.sync_api import expect

from oms_web.domain import shipping
from oms_web.models import Customer, OrderStatus, Segment, ShipmentStatus
from oms_web.extensions import db

from .conftest import allow_refusals, mark_window, same_window, screenshot, sign_in
from .pages import choose_product, line_cell, line_row, stage_badge, status_badge


def test_c_manual_order_for_a_new_customer_is_drafted_then_finalized(page, shop):
    shop.product("MUG-BLUE", in_hand=10, price_cents=1250)
    shop.product("TEE-M", in_hand=4, price_cents=1900)
    sign_in(page, shop.staff)

    page.get_by_role("link", name="New order").click()
    expect(page.get_by_role("heading", name="New manual order")).to_be_visible()
    for label, value in (("Name", "Mary Jackson"), ("Email", "Mary.Jackson@example.com"), ("Phone", "+1 757 555 0100"),
                         ("Street", "12 Langley Rd"), ("City", "Hampton"), ("State / region", "VA"),
                         ("Postal code", "23666"), ("Country (2 letters)", "us")):
        page.get_by_label(label, exact=True).fill(value)
    products, quantities = page.get_by_label("Product", exact=True), page.get_by_label("Quantity", exact=True)
    choose_product(page, products.nth(0), "blue", "MUG-BLUE")
    quantities.nth(0).fill("2")
    page.get_by_role("button", name="Add another line").click()
    expect(products).to_have_count(2)
    choose_product(page, products.nth(1), "tee", "TEE-M")
    quantities.nth(1).fill("3")
    screenshot(page, "order-new")

    page.get_by_role("button", name="Save draft").click()
    expect(status_badge(page)).to_have_text("Draft")
    order_id = int(re.search(r"/orders/(\d+)$", page.url)[1])
    expect(page.get_by_role("heading", level=1)).to_have_text(f"SO-{order_id:06d}")
    expect(page.locator(".order-side")).to_contain_text("Mary Jackson")
    expect(page.locator(".order-side address").first).to_contain_text("12 Langley Rd")
    expect(line_cell(page, "MUG-BLUE", "allocated")).to_have_text("0")
    expect(line_cell(page, "TEE-M", "allocated")).to_have_text("0")
    order = shop.order_row(order_id)
    assert order.status is OrderStatus.DRAFT
    assert [(l.sku, l.ordered, l.allocated) for l in order.lines] == [("MUG-BLUE", 2, 0), ("TEE-M", 3, 0)]
    customer = db.session.get(Customer, order.customer_id)
    assert (customer.name, customer.email, customer.phone) == ("Mary Jackson", "mary.jackson@example.com", "+1 757 555 0100")
    assert order.ship_to["city"] == "Hampton" and order.ship_to["country"] == "US"
    assert shop.stock("MUG-BLUE") == (10, 0)  # a draft commits nothing
    screenshot(page, "order-draft")

    mark_window(page)
    page.get_by_role("button", name="Finalize & allocate").click()
    expect(status_badge(page)).to_have_text("Finalized")
    expect(stage_badge(page)).to_have_text("Ready to ship")
    expect(line_cell(page, "MUG-BLUE", "allocated")).to_have_text("2")
    expect(line_cell(page, "TEE-M", "allocated")).to_have_text("3")
    expect(line_cell(page, "TEE-M", "backordered")).to_have_text("0")
    expect(page.locator("#order-ship").get_by_role("button", name="Create shipment")).to_be_visible()
    expect(page.locator("#order-timeline")).to_contain_text("Allocated 5 unit(s)")
    assert same_window(page), "finalizing reloaded the page"
    order = shop.order_row(order_id)
    assert order.status is OrderStatus.FINALIZED and order.segment is Segment.READY_TO_SHIP
    assert [(l.sku, l.allocated) for l in order.lines] == [("MUG-BLUE", 2), ("TEE-M", 3)]
    assert shop.stock("MUG-BLUE") == (10, 2) and shop.stock("TEE-M") == (4, 3)
    screenshot(page, "order-finalized")


def test_d_backorder_is_filled_by_receiving_then_shipped_in_two_parts(page, shop):
    shop.product("LAMP-OAK", price_cents=4500)  # none in stock
    shop.product("MUG-BLUE", in_hand=10, price_cents=1250)
    order = shop.order_for("Dorothy Vaughan", ("LAMP-OAK", 5), ("MUG-BLUE", 2))
    sign_in(page, shop.manager, f"/orders/{order.id}")

    expect(stage_badge(page)).to_have_text("Awaiting stock")
    expect(line_cell(page, "LAMP-OAK", "backordered")).to_have_text("5")
    ship = page.locator("#order-ship")
    expect(ship.get_by_role("spinbutton")).to_have_count(1)  # only the mugs are there to ship
    expect(ship.get_by_label("Units of MUG-BLUE to ship")).to_have_value("2")

    page.get_by_role("link", name="Products & stock").click()
    row = page.locator("#product-rows tr").filter(has=page.get_by_role("link", name="LAMP-OAK"))
    # In hand, committed, available, backordered, on order (none).
    expect(row.locator("td.num")).to_have_text(["0", "0", "0", "5", ""])
    mark_window(page)
    row.get_by_label("Units of LAMP-OAK received").fill("8")
    row.get_by_label("Note for receiving LAMP-OAK").fill("PO-77")
    row.get_by_role("button", name="Receive").click()
    expect(row.locator("td.num")).to_have_text(["8", "5", "3", "0", ""])
    assert same_window(page), "receiving reloaded the page"
    assert shop.stock("LAMP-OAK") == (8, 5)
    assert [(m.reason, m.in_hand_delta, m.committed_delta, m.note) for m in shop.ledger("LAMP-OAK")] == [
        ("receive", 8, 0, "PO-77"), ("allocate", 0, 5, None)]
    screenshot(page, "products")

    page.go_back()
    expect(stage_badge(page)).to_have_text("Ready to ship")
    expect(line_cell(page, "LAMP-OAK", "allocated")).to_have_text("5")

    # First parcel: 2 of the 5 lamps and both mugs.
    ship.get_by_label("Units of LAMP-OAK to ship").fill("2")
    ship.get_by_label("Carrier").fill("UPS")
    ship.get_by_role("button", name="Create shipment").click()
    shipments = page.locator("#order-shipments article.shipment")
    first = shipments.nth(0)
    expect(first).to_contain_text("2 × LAMP-OAK, 2 × MUG-BLUE")
    expect(first.locator(".badge")).to_have_text("Packed")
    expect(stage_badge(page)).to_have_text("Ready to ship")  # on the bench; 3 lamps still to pick
    expect(line_cell(page, "LAMP-OAK", "shipped")).to_have_text("2")
    first.get_by_label("Tracking no.").fill("1Z999AA10000000001")
    first.get_by_role("button", name="Mark shipped").click()
    expect(first.locator(".badge")).to_have_text("Shipped")
    expect(stage_badge(page)).to_have_text("Partially shipped")
    screenshot(page, "order-partly-shipped")

    # Second parcel: the other 3 lamps.
    expect(ship.get_by_role("spinbutton")).to_have_count(1)
    expect(ship.get_by_label("Units of LAMP-OAK to ship")).to_have_value("3")
    ship.get_by_label("Carrier").fill("UPS")
    ship.get_by_label("Tracking no.").fill("1Z999AA10000000002")
    ship.get_by_role("button", name="Create shipment").click()
    second = shipments.nth(1)
    expect(second).to_contain_text("3 × LAMP-OAK")
    expect(ship).to_contain_text("Every unit is in a shipment")
    second.get_by_role("button", name="Mark shipped").click()  # carrier and tracking number kept from packing
    expect(second.locator(".badge")).to_have_text("Shipped")
    expect(stage_badge(page)).to_have_text("In transit")
    mark_window(page)

    first.get_by_role("button", name="Mark delivered").click()
    expect(first.locator(".badge")).to_have_text("Delivered")
    expect(status_badge(page)).to_have_text("Finalized")  # 3 units are still on their way
    second.get_by_role("button", name="Mark delivered").click()
    expect(second.locator(".badge")).to_have_text("Delivered")
    expect(status_badge(page)).to_have_text("Fulfilled")
    # A fulfilled order's lines are final: no quantity to change, nothing to add.
    expect(page.locator("#order-lines").get_by_role("spinbutton")).to_have_count(0)
    expect(page.locator("#order-lines").get_by_role("button", name="Save lines")).to_have_count(0)
    assert same_window(page)
    order = shop.order_row(order.id)
    assert order.status is OrderStatus.FULFILLED
    assert [(l.sku, l.ordered, l.allocated, l.shipped) for l in order.lines] == [
        ("LAMP-OAK", 5, 5, 5), ("MUG-BLUE", 2, 2, 2)]
    assert [(s.status, s.carrier, s.tracking_number, [sl.quantity for sl in s.lines]) for s in order.shipments] == [
        (ShipmentStatus.DELIVERED, "UPS", "1Z999AA10000000001", [2, 2]),
        (ShipmentStatus.DELIVERED, "UPS", "1Z999AA10000000002", [3])]
    assert shop.stock("LAMP-OAK") == (3, 0) and shop.stock("MUG-BLUE") == (8, 0)
    screenshot(page, "order-fulfilled")


def test_e_lines_are_edited_in_place_and_a_cut_below_shipped_is_refused(page, shop):
    allow_refusals(page, 422)  # the refused edit at the end
    for sku in ("MUG-BLUE", "TEE-M", "CAP-RED", "SOCKS-WOOL"):
        shop.product(sku, in_hand=20, price_cents=1000)
    order = shop.order_for("Mary Jackson", ("MUG-BLUE", 3), ("TEE-M", 2), ("CAP-RED", 1))
    sign_in(page, shop.staff, f"/orders/{order.id}")
    mark_window(page)
    lines = page.locator("#order-lines")
    save = lines.get_by_role("button", name="Save lines")

    lines.get_by_label("Quantity of TEE-M").fill("4")
    save.click()
    expect(line_cell(page, "TEE-M", "allocated")).to_have_text("4")
    expect(lines.get_by_label("Quantity of TEE-M")).to_have_value("4")
    assert shop.line(order.id, "TEE-M").ordered == 4 and shop.stock("TEE-M") == (20, 4)

    lines.get_by_label("Remove CAP-RED").check()
    save.click()
    expect(line_row(page, "CAP-RED")).to_have_count(0)
    expect(lines.locator("tbody tr")).to_have_count(2)
    assert [l.sku for l in shop.order_row(order.id).lines] == ["MUG-BLUE", "TEE-M"]
    assert shop.stock("CAP-RED") == (20, 0)  # its unit went back

    choose_product(page, lines.get_by_label("Add product"), "wool", "SOCKS-WOOL")
    lines.get_by_label("Quantity", exact=True).fill("5")
    save.click()
    expect(line_cell(page, "SOCKS-WOOL", "allocated")).to_have_text("5")
    expect(lines.get_by_label("Add product")).to_have_value("")
    assert shop.line(order.id, "SOCKS-WOOL").allocated == 5 and shop.stock("SOCKS-WOOL") == (20, 5)
    expect(page.locator("#order-timeline")).to_contain_text("Lines edited")
    assert same_window(page), "editing lines reloaded the page"

    # Meanwhile a colleague packs 2 mugs; this page still shows none shipped, and the cut to 1 is refused.
    shipping.ship_lines(shop.staff, order.id, {shop.line(order.id, "MUG-BLUE").id: 2})
    before = shop.snapshot()
    lines.get_by_label("Quantity of MUG-BLUE").fill("1")
    save.click()
    expect(lines.get_by_role("alert")).to_have_text(
        "A line cannot go below what has shipped: MUG-BLUE: 2 already shipped")
    expect(lines.get_by_label("Quantity of MUG-BLUE")).to_have_value("1")  # what was typed stays, to correct
    assert shop.snapshot() == before
    assert same_window(page)
    screenshot(page, "order-lines-refused")
