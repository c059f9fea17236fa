"""The issue's return, end to end in the browser: a delivered order gets a return for one of its two lines;
the item is received by scan at the pack station and restocked, which fills a backorder on another order; a
refund for the return's units issues a credit note (its PDF: negative lines, the invoice it corrects); the
order shows "Partly returned"."""
import io
import re

from playwright.sync_api import expect
from pypdf import PdfReader

from oms_web.domain import invoicing, shipping
from oms_web.extensions import db
from oms_web.models import Segment

from .conftest import allow_refusals, screenshot, sign_in

TEE_BARCODE = "4006381333931"


def test_a_return_received_by_scan_is_restocked_refunded_and_credited(open_page, shop):
    shop.product("MUG-BLUE", in_hand=1, price_cents=1250)
    shop.product("TEE-M", in_hand=1).barcode = TEE_BARCODE
    db.session.commit()
    order = shop.order_for("Ada Lovelace", ("MUG-BLUE", 1), ("TEE-M", 1))
    shipment = shipping.ship_lines(shop.staff, order.id, {line.id: 1 for line in order.lines}, carrier="UPS",
                                   tracking_number="1ZRETURN")
    shipping.mark_shipped(shop.staff, shipment.id)
    shipping.mark_delivered(shop.staff, shipment.id)
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    waiting = shop.order_for("Alan Turing", ("TEE-M", 1))
    assert shop.order_row(waiting.id).segment is Segment.AWAITING_STOCK

    page = open_page()
    sign_in(page, shop.manager, f"/orders/{order.id}")
    page.get_by_text("Open a return…").click()
    page.get_by_label("Units of TEE-M back").fill("1")
    page.get_by_label("Reason for TEE-M").select_option("not_as_described")
    page.get_by_role("button", name="Open the return").click()
    expect(page.locator("#return h1")).to_have_text("RMA-000001")
    page.get_by_role("button", name="Authorize").click()
    expect(page.locator("#return .badge")).to_have_text("Authorized")

    # The parcel is back at the bench: its slip, then its item, are scanned; a wrong item is refused at once.
    page.goto("/pack")
    allow_refusals(page, 422)  # the wrong item's answer
    scan = page.get_by_label("Scan")
    expect(scan).to_be_focused()
    scan.fill("RMA-000001")
    scan.press("Enter")
    state = page.locator("#pack-state")
    expect(state).to_contain_text("RMA-000001: scan the items that came back.")
    scan.fill("MUG-BLUE")
    scan.press("Enter")
    expect(state.get_by_role("alert")).to_contain_text("Wrong item: MUG-BLUE")
    expect(state.get_by_role("alert")).to_contain_text("is not on RMA-000001")
    expect(page.locator("body")).to_have_attribute("data-last-tone", "refused")
    scan.fill(TEE_BARCODE)
    scan.press("Enter")
    expect(state).to_contain_text("TEE-M: 1 of 1 back")
    expect(page.get_by_label("Condition of TEE-M")).to_have_value("restock")
    screenshot(page, "pack-station-return")
    expect(scan).to_be_focused()
    page.keyboard.press("Alt+r")
    expect(state).to_contain_text("RMA-000001 received: 1 restocked, 0 quarantined, 0 written off.")
    screenshot(page, "pack-station-return-received")
    assert shop.order_row(waiting.id).segment is Segment.READY_TO_SHIP  # the restocked unit filled it

    # The refund: from the return's page, the order's refund form opens holding its unit.
    page.goto("/returns/1")
    expect(page.locator("#return-refund")).to_contain_text("USD 12.00")
    page.get_by_role("link", name="Refund these units").click()
    refunds = page.locator("#order-refunds")
    expect(refunds).to_contain_text("Refund for RMA-000001")
    expect(refunds.get_by_label("Units of TEE-M to refund")).to_have_value("1")
    screenshot(page, "refund-for-return")
    refunds.get_by_role("button", name="Refund and issue credit note").click()
    expect(refunds).to_contain_text("CN-0000001")

    link = refunds.get_by_role("link", name="CN-0000001")
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert "Credit note CN-0000001" in text
    assert "Credit note for invoice INV-0000001" in text
    assert "-USD 10.00" in text and "-USD 2.00" in text and "-USD 12.00" in text  # the unit, its tax, the total
    assert not re.search(r"(?<!-)USD 12\.00", text.replace("-USD 12.00", "")), "every amount is negative"

    page.goto(f"/orders/{order.id}")
    expect(page.locator("#order-header")).to_contain_text("Partly returned")
    expect(page.locator("#order-lines thead")).to_contain_text("Returned")
    screenshot(page, "order-returned-and-refunded")
