"""PDF documents, read back: the numbers on them, the barcode decoded, one page per label."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from oms_web.documents.render import NothingToPrint, build, invoices_pdf, labels_pdf, packing_slips_pdf
from oms_web.domain import invoicing, shipping
from oms_web.extensions import db

from .shop import Shop
from tests.helpers.barcodes import barcodes_by_page
from tests.helpers.signing_in import page_token, signed_in


@pytest.fixture
def shop(sqlite_app) -> Shop:
    return Shop()


def text_of(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def money(cents: int) -> str:
    return f"USD {cents // 100:,}.{cents % 100:02d}"


def shipped_order(shop: Shop, tracking: str = "1Z999AA10123456784"):
    shop.product("TENT", in_hand=10, price_cents=19_999, tax_rate_bp=2000)
    shop.product("MUG", in_hand=10, price_cents=1_250, tax_rate_bp=500)
    order = shop.web_order(("TENT", 2), ("MUG", 3))
    tent, mug = order.lines
    shipment = shipping.ship_lines(shop.staff, order.id, {tent.id: 1, mug.id: 2}, carrier="UPS",
                                   tracking_number=tracking)
    return order, shipment


def test_a_partial_invoice_lists_only_the_units_in_its_shipment(shop):
    order, shipment = shipped_order(shop)
    invoice = invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    (page,) = text_of(invoices_pdf([invoice]))
    assert "INV-0000001" in page and order.number in page and shipment.number in page
    assert re.search(r"TENT\s+Product TENT\s+1\s", page)
    assert re.search(r"MUG\s+Product MUG\s+2\s", page)


def test_invoice_totals_are_the_sum_of_the_lines_plus_tax(shop):
    order, shipment = shipped_order(shop)
    invoice = invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    lines = 19_999 + 2 * 1_250
    tax = (19_999 * 2000 + 5_000) // 10_000 + (2 * 1_250 * 500 + 5_000) // 10_000
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == (lines, tax, lines + tax)
    (page,) = text_of(invoices_pdf([invoice]))
    assert f"Subtotal {money(lines)}" in page
    assert f"Total {money(lines + tax)}" in page
    assert money(tax) in page


def test_the_rest_of_an_order_is_invoiced_with_what_shipped_since(shop):
    order, first = shipped_order(shop)
    invoicing.issue_invoice(shop.staff, order.id, first.id)
    tent, mug = order.lines
    shipping.ship_lines(shop.staff, order.id, {tent.id: 1, mug.id: 1})
    rest = invoicing.issue_invoice(shop.staff, order.id)
    (page,) = text_of(invoices_pdf([rest]))
    assert "INV-0000002" in page and "partial invoice" not in page
    assert re.search(r"TENT\s+Product TENT\s+1\s", page) and re.search(r"MUG\s+Product MUG\s+1\s", page)


def test_the_label_barcode_scans_back_to_the_tracking_number(shop, tmp_path):
    order, shipment = shipped_order(shop, tracking="1Z 999 AA1 01 2345 6784")
    assert barcodes_by_page(labels_pdf([shipment]), tmp_path) == [["1Z 999 AA1 01 2345 6784"]]


def test_a_packing_slip_carries_its_orders_number_as_a_barcode_for_the_pack_station(shop, tmp_path):
    order, shipment = shipped_order(shop)
    tent, mug = order.lines
    second = shipping.ship_lines(shop.staff, order.id, {tent.id: 1})
    assert barcodes_by_page(packing_slips_pdf([shipment, second]), tmp_path) == [[order.number], [order.number]]


def test_a_pick_list_carries_each_orders_number_as_a_barcode_for_the_pack_station(shop, tmp_path):
    shop.product("TENT", in_hand=10)
    orders = [shop.web_order(("TENT", 2)), shop.web_order(("TENT", 1))]
    (page,) = barcodes_by_page(build("pick-list", [o.id for o in orders]).pdf, tmp_path)
    assert page == sorted(o.number for o in orders)


def test_a_label_is_a_4x6_inch_page_with_both_addresses(shop):
    order, shipment = shipped_order(shop)
    reader = PdfReader(io.BytesIO(labels_pdf([shipment])))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (288, 432)  # 4 x 6 in, in points
    text = reader.pages[0].extract_text()
    assert "Demo Retail Ltd" in text and "12 St James's Sq" in text and order.number in text and "UPS" in text


def test_a_bulk_label_pdf_has_one_page_per_label_and_records_the_printing(shop):
    shop.product("TENT", in_hand=100)
    orders = [shop.web_order(("TENT", 1)) for _ in range(7)]
    for order in orders:
        shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="DHL", tracking_number=f"JD0{order.id}")
    printed = build("labels", [o.id for o in orders])
    pages = text_of(printed.pdf)
    assert len(pages) == 7
    assert all(f"JD0{o.id}" in page for o, page in zip(orders, pages))
    assert sorted(printed.pages_for) == [o.id for o in orders]


def test_a_packing_slip_shows_what_is_in_the_box_and_what_is_still_to_come(shop):
    order, shipment = shipped_order(shop)
    (page,) = text_of(packing_slips_pdf([shipment]))
    box, to_come = page.split("Still to come")
    assert re.search(r"TENT\s+Product TENT\s+1", box) and re.search(r"MUG\s+Product MUG\s+2", box)
    assert re.search(r"TENT\s+Product TENT\s+1", to_come) and re.search(r"MUG\s+Product MUG\s+1", to_come)


def test_a_pick_list_groups_units_by_sku_in_shelf_order(shop):
    tent = shop.product("TENT", in_hand=10)
    mug = shop.product("MUG", in_hand=10)
    tent.bin_location, mug.bin_location = "B-02-1", "A-01-3"
    db.session.commit()
    shop.web_order(("TENT", 2), ("MUG", 1))
    shop.web_order(("TENT", 3))
    (page,) = text_of(build("pick-list", [1, 2]).pdf)
    assert page.index("A-01-3") < page.index("B-02-1")
    assert re.search(r"B-02-1\s+TENT\s+Product TENT\s+5", page)


def test_nothing_to_print_is_refused_with_a_reason(shop):
    shop.product("TENT", in_hand=1)
    order = shop.web_order(("TENT", 1))
    with pytest.raises(NothingToPrint, match="shipment"):
        build("labels", [order.id])
    with pytest.raises(NothingToPrint, match="invoice"):
        build("invoices", [order.id])


# ---------------------------------------------------------------- serving

def test_a_label_download_is_a_named_pdf_and_goes_on_the_timeline(sqlite_app, shop):
    order, shipment = shipped_order(shop)
    response = signed_in(sqlite_app, shop.staff).get(f"/orders/{order.id}/shipments/{shipment.id}/label.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f'filename="label-{shipment.number}.pdf"' in response.headers["Content-Disposition"]
    assert response.data.startswith(b"%PDF")
    db.session.rollback()  # end this session's read snapshot to see what the request committed
    assert [e.message for e in shop.events(order.id) if e.kind == "printed"] == [f"Printed label {shipment.number}"]


def test_documents_need_a_signed_in_user(sqlite_app, shop):
    order, shipment = shipped_order(shop)
    invoice = invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    client = sqlite_app.test_client()
    for path in (f"/orders/{order.id}/shipments/{shipment.id}/label.pdf", f"/orders/{order.id}/invoices/{invoice.id}.pdf",
                 f"/orders/{order.id}/shipments/{shipment.id}/packing-slip.pdf"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_document_cannot_be_reached_through_another_orders_url(sqlite_app, shop):
    order, shipment = shipped_order(shop)
    invoice = invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    other = shop.web_order(("MUG", 1))
    client = signed_in(sqlite_app, shop.staff)
    assert client.get(f"/orders/{other.id}/shipments/{shipment.id}/label.pdf").status_code == 404
    assert client.get(f"/orders/{other.id}/invoices/{invoice.id}.pdf").status_code == 404
    assert client.get(f"/orders/{order.id}/invoices/{invoice.id + 1}.pdf").status_code == 404


def test_bulk_printing_from_the_board_returns_one_pdf(sqlite_app, shop):
    order, shipment = shipped_order(shop)
    client = signed_in(sqlite_app, shop.staff)
    response = client.post("/orders/print/packing-slips", data={"csrf_token": page_token(client), "order_ids": [str(order.id)]})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    nothing = client.post("/orders/print/invoices", data={"csrf_token": page_token(client), "order_ids": [str(order.id)]})
    assert nothing.status_code == 422 and "has an invoice yet" in nothing.get_data(as_text=True)


def test_a_large_batch_runs_as_a_job_that_shows_progress_then_the_pdf(sqlite_app, shop, tmp_path):
    import time

    from oms_web.documents.routes import INLINE_BATCH

    from .queue import Worker

    shop.product("TENT", in_hand=500)
    orders = [shop.web_order(("TENT", 1)) for _ in range(INLINE_BATCH + 5)]
    for order in orders:
        shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="UPS", tracking_number=f"T{order.id}")
    client = signed_in(sqlite_app, shop.staff)
    started = client.post("/orders/print/labels", data={"csrf_token": page_token(client),
                                                         "order_ids": [str(o.id) for o in orders]})
    page = started.get_data(as_text=True)
    assert started.status_code == 200 and "Printing shipping labels" in page and "Waiting for a worker" in page
    job_url = re.search(r'hx-get="(/print-jobs/\d+)"', page).group(1)
    worker = Worker(sqlite_app, tmp_path / "worker.log")  # the web process renders nothing itself
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            progress = client.get(job_url, headers={"HX-Request": "true"}).get_data(as_text=True)
            if "Open the PDF" in progress:
                break
            time.sleep(0.25)
    finally:
        worker.stop()
    pdf = client.get(job_url + ".pdf")
    assert pdf.status_code == 200 and len(PdfReader(io.BytesIO(pdf.data)).pages) == len(orders)
    assert signed_in(sqlite_app, shop.manager).get(job_url + ".pdf").status_code == 404  # another user's batch


def test_an_invoice_shows_the_discounts_the_first_invoice_the_shipping_and_tax_included_prices(shop):
    from oms_web.domain import orders
    from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder

    shop.product("LAMP", in_hand=10, price_cents=100)
    order = orders.create_order(None, NewOrder(
        channel_id=shop.web.id, channel_order_id="5550001", customer=CustomerDetails(name="Lena Vogel"),
        lines=[LineRequest("LAMP", 2, unit_price_cents=19_900, discount_cents=3_980, tax_cents=5_719)],
        shipping_cents=590, shipping_tax_cents=94, tax_included=True))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    first = invoicing.issue_invoice(shop.staff, order.id, shipment.id)

    (page,) = text_of(invoices_pdf([first]))

    assert re.search(r"LAMP\s+Product LAMP\s+1\s+USD 199.00\s+USD 19.90\s+19.00%", page), page  # the rate charged
    assert f"Subtotal {money(19_900)}" in page
    assert f"Discounts −{money(1_990)}" in page
    assert f"Shipping {money(590)}" in page and "Shipping is charged on the order's first invoice" in page
    assert f"Tax included in the prices {money(2_860 + 94)}" in page
    assert f"Total {money(19_900 - 1_990 + 590)}" in page


def test_every_document_writes_the_whole_address_line_2_and_region_included(shop):
    from oms_web.domain import orders
    from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder

    shop.product("TENT", in_hand=10, price_cents=19_999)
    address = {"name": "Mary Jackson", "line1": "12 Langley Rd", "line2": "Building 1244", "city": "Hampton",
               "region": "VA", "postal_code": "23666", "country": "US"}
    order = orders.create_order(None, NewOrder(
        channel_id=shop.web.id, channel_order_id="W-ADDR", lines=[LineRequest("TENT", 1)],
        customer=CustomerDetails(name="Mary Jackson", email="mj@example.com", ship_to=address,
                                 bill_to={**address, "line1": "PO Box 7", "line2": "Attn. accounts"})))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="UPS", tracking_number="1Z1")
    invoice = invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    (invoice_page,) = text_of(invoices_pdf([invoice]))
    for expected in ("PO Box 7 Attn. accounts Hampton VA 23666 US",
                     "12 Langley Rd Building 1244 Hampton VA 23666 US"):
        assert expected in invoice_page
    for document in (labels_pdf([shipment]), packing_slips_pdf([shipment])):
        assert "12 Langley Rd Building 1244 Hampton VA 23666 US" in text_of(document)[0]
