"""Printing from the order page: the label link gives the shipment's 4x6 label as a PDF."""
import io

from playwright.sync_api import expect
from pypdf import PdfReader

from oms_web.domain import shipping

from .conftest import sign_in


def test_a_label_is_printed_from_the_order_page(page, shop):
    shop.product("MUG-BLUE", in_hand=5, price_cents=1250)
    order = shop.order_for("Katherine Johnson", ("MUG-BLUE", 2))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2}, carrier="UPS",
                                   tracking_number="1Z999AA10123456784")
    sign_in(page, shop.staff, then=f"/orders/{order.id}")

    link = page.locator("#order-shipments").get_by_role("link", name="Label (PDF)")
    expect(link).to_be_visible()
    with page.context.expect_page() as opened:
        link.click()  # opens in a new tab, as a label printer's print dialog would
    label_tab = opened.value
    label_tab.wait_for_load_state()
    assert label_tab.url.endswith(f"/orders/{order.id}/shipments/{shipment.id}/label.pdf")
    label_tab.close()  # the PDF viewer tab is not one of ours to watch for console errors

    response = page.request.get(link.get_attribute("href"))  # the same request, with the browser's session
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.body())).pages[0].extract_text()
    assert "Katherine Johnson" in text and "1Z999AA10123456784" in text and order.number in text
    shop.fresh()
    expect(page.locator("#order-timeline")).to_be_visible()
    assert any(e.kind == "printed" for e in shop.order_row(order.id).events)
