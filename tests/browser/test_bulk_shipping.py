"""Bulk shipping from the board in a browser: every order matching the filter (more than one page),
Create shipments as a job with progress, then one PDF of the labels and packing slips."""
import io

from playwright.sync_api import expect
from pypdf import PdfReader

from oms_web.database import write_transaction
from oms_web.models import PaymentStatus, Segment
from oms_web.tasks import run_job

from .conftest import PHONE, screenshot, sign_in

ORDERS = 55  # more than the board's page of 50


def test_select_all_matching_then_create_shipments_gives_one_pdf(page, open_page, shop):
    shop.product("MUG-BLUE", in_hand=200, price_cents=1250)
    with write_transaction():
        orders = [shop.order_for(f"Customer {i}", ("MUG-BLUE", 1 + i % 2)) for i in range(ORDERS)]
    unpaid = shop.order_for("Late Payer", ("MUG-BLUE", 1), payment=PaymentStatus.PENDING)
    sign_in(page, shop.staff, then="/orders?segment=ready_to_ship")

    expect(page.locator("#select-matching")).to_be_hidden()
    page.locator("#select-all").check()
    banner = page.locator("#select-matching")
    expect(banner).to_be_visible()
    banner.get_by_role("button", name=f"Select all {ORDERS} orders matching this filter").click()
    expect(page.locator("#selected-count")).to_have_text(f"All {ORDERS} orders matching this filter selected")
    screenshot(page, "bulk-select-matching")

    page.once("dialog", lambda dialog: dialog.accept())  # the confirm says what will happen
    page.get_by_role("button", name="Create shipments").click()
    job = page.locator("#flash [id^=bulk-job-]")
    expect(job).to_contain_text(f"Create shipments for {ORDERS} order(s)")
    job_id = int(job.get_attribute("id").rsplit("-", 1)[1])
    run_job(job_id)  # what the worker does; the page's poll shows it finishing

    link = page.locator("#flash").get_by_role("link", name="Open labels & packing slips (PDF)")
    expect(link).to_be_visible(timeout=20_000)
    expect(page.locator("#flash")).to_contain_text(f"{ORDERS} done")
    screenshot(page, "bulk-created")
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.body())).pages
    assert len(pages) == 2 * ORDERS  # a label and a packing slip per parcel
    assert sum("Packing slip" in p.extract_text() for p in pages) == ORDERS
    assert {shop.order_row(o.id).segment for o in orders} == {Segment.PACKED}
    assert shop.order_row(unpaid.id).shipments == []  # not in the filter: untouched
    expect(page.locator('#segment-tabs [data-segment="packed"]')).to_have_text(str(ORDERS))

    phone = open_page(viewport=PHONE)
    sign_in(phone, shop.staff, then="/orders?segment=packed")
    phone.locator("#select-all").check()
    expect(phone.locator("#select-matching")).to_be_visible()
    screenshot(phone, "bulk-bar-phone")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the board scrolls sideways at 390 px: {width} px"
