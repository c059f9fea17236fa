"""A drop-ship PO in the browser after one of its orders was cut: the line shows the units cancelled, the
order's supplier link opens the supplier's page with only what is left to ship, and the page says the
supplier has no email on file."""
from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from oms_web.domain.order_actions import LineChange, edit_order
from oms_web.extensions import db
from oms_web.models import PurchaseOrder
from tests.helpers.drop_ship import drop_shipped, supplier_location

from .conftest import screenshot, sign_in


def test_a_cut_drop_ship_order_shows_on_its_po_and_its_link_offers_what_is_left(page: Page, open_page, shop):
    location = supplier_location()
    location.supplier.email = None
    db.session.commit()
    drop_shipped(shop, "BENCH-OAK", location)
    order = shop.order_for("Ada Lovelace", ("BENCH-OAK", 3))
    line_id = order.lines[0].id
    edit_order(shop.staff, order.id, [LineChange(quantity=1, line_id=line_id)])
    po_id = db.session.scalar(sa.select(PurchaseOrder.id))

    sign_in(page, shop.manager, f"/purchase-orders/{po_id}")
    row = page.locator("table.po-lines tbody tr").first
    expect(row).to_contain_text(order.number)
    expect(row.locator("td.warn")).to_have_text("2")
    expect(page.locator(".po-emails")).to_contain_text("No email on file for Oakline Furniture: send the PDF yourself")
    screenshot(page, "drop-ship-po-with-a-cut")
    link = row.get_by_role("link", name="supplier link").get_attribute("href")

    supplier = open_page()
    supplier.goto(link)
    expect(supplier.get_by_label("Units of BENCH-OAK shipped now")).to_have_value("1")
