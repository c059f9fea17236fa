"""The suppliers and purchase orders screens: a manager drafts, fills, sends a PO; staff receive it, part by
part, an over-receipt refused next to its field until confirmed; refusals change nothing; the PO's PDF;
what is on order on the product list and page; the overview's Reorder. On both databases (receiving moves
stock)."""
from __future__ import annotations

import html
import io
import re

import sqlalchemy as sa
from pypdf import PdfReader

from oms_web.domain import purchasing
from oms_web.extensions import db
from oms_web.models import Product, PurchaseOrder, PurchaseOrderState, Supplier, SupplierProduct

from ..helpers import purchasing as buy
from ..helpers.purchasing import MAIN, fresh, line_of
from .conftest import every_row, use_both_backends

web_app = use_both_backends()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_manager_drafts_a_po_adds_lines_by_sku_and_sends_it(shop, as_manager):
    shop.product("A")
    supplier = buy.supplier()
    buy.sells(supplier, shop.product_row("A"), 325)
    response = as_manager.post_form("/purchase-orders/new", {"supplier": str(supplier.id), "location": str(MAIN),
                                                             "expected_on": "2030-05-01", "notes": "Pallets please"})
    assert response.status_code == 302
    po_id = int(re.search(r"/purchase-orders/(\d+)$", response.headers["Location"]).group(1))
    assert as_manager.post_form(f"/purchase-orders/{po_id}/lines", {"sku": "A", "quantity": "12"}).status_code == 302
    page = _text(as_manager.get(f"/purchase-orders/{po_id}"))
    assert "PO-" in page and "Draft" in page and "USD 3.25" in page and "USD 39.00" in page
    assert as_manager.post_form(f"/purchase-orders/{po_id}/send").status_code == 302
    po = fresh(po_id)
    assert po.state is PurchaseOrderState.SENT and po.expected_on.isoformat() == "2030-05-01"
    assert "Arrived now" in _text(as_manager.get(f"/purchase-orders/{po_id}"))


def test_a_negative_cost_is_refused_next_to_its_field_and_changes_nothing(shop, as_manager):
    shop.product("A")
    supplier = buy.supplier()
    po = purchasing.create_purchase_order(shop.manager, supplier.id)
    before = every_row()
    response = as_manager.post_form(f"/purchase-orders/{po.id}/lines", {"sku": "A", "quantity": "1", "unit_cost": "-2.00"})
    assert response.status_code == 422
    assert re.search(r'class="field-error" id="e-unit_cost">A unit cost cannot be negative', _text(response))
    assert every_row() == before


def test_staff_receive_part_of_a_po_and_an_over_receipt_is_refused_until_confirmed(shop, as_staff):
    shop.product("A")
    supplier = buy.supplier()
    po = buy.sent_po(shop.manager, supplier, ("A", 5, 100))
    field = f"units_{po.lines[0].id}"
    assert as_staff.post_form(f"/purchase-orders/{po.id}/receive", {field: "3", "note": "DN-881"}).status_code == 302
    assert shop.stock("A") == (3, 0) and fresh(po.id).state is PurchaseOrderState.PARTIALLY_RECEIVED
    before = every_row()
    refused = as_staff.post_form(f"/purchase-orders/{po.id}/receive", {field: "4"})
    assert refused.status_code == 422
    assert f'id="e-{field}"' in _text(refused) and "confirm over-receipt" in _text(refused)
    assert every_row() == before
    confirmed = as_staff.post_form(f"/purchase-orders/{po.id}/receive", {field: "4", "over_receipt": "y"})
    assert confirmed.status_code == 302
    assert shop.stock("A") == (7, 0) and fresh(po.id).state is PurchaseOrderState.RECEIVED
    assert shop.ledger("A")[0].note == "DN-881"


def test_staff_see_purchase_orders_but_no_drafting_forms(shop, as_staff):
    shop.product("A")
    supplier = buy.supplier()
    draft = purchasing.create_purchase_order(shop.manager, supplier.id)
    page = _text(as_staff.get("/purchase-orders"))
    assert draft.number in page and "New purchase order" not in page
    assert "Add line" not in _text(as_staff.get(f"/purchase-orders/{draft.id}"))


def test_an_admin_adds_a_supplier_and_what_it_sells_and_a_manager_only_looks(shop, as_admin, as_manager):
    shop.product("A")
    response = as_admin.post_form("/suppliers/new", {"name": "Bolt Brothers", "email": "po@bolt.example",
                                                     "lead_time_days": "4", "active": "y"})
    assert response.status_code == 302
    supplier = db.session.scalar(sa.select(Supplier).where(Supplier.name == "Bolt Brothers"))
    assert supplier.lead_time_days == 4
    assert as_admin.post_form(f"/suppliers/{supplier.id}/products",
                              {"sku": "A", "supplier_sku": "BB-1", "unit_cost": "2.40"}).status_code == 302
    row = db.session.get(SupplierProduct, (supplier.id, shop.product_row("A").id))
    assert (row.supplier_sku, row.unit_cost_cents) == ("BB-1", 240)
    taken = as_admin.post_form("/suppliers/new", {"name": "bolt brothers", "lead_time_days": "4"})
    assert taken.status_code == 422 and "exists already" in _text(taken)
    page = _text(as_manager.get(f"/suppliers/{supplier.id}"))
    assert "BB-1" in page and "Save supplier" not in page and "Add or update" not in page


def test_the_po_pdf_names_the_supplier_the_destination_the_lines_and_the_total(shop, as_staff):
    shop.product("A")
    east = buy.warehouse()
    supplier = buy.supplier()
    po = buy.sent_po(shop.manager, supplier, ("A", 4, 1250), location_id=east.id)
    response = as_staff.get(f"/purchase-orders/{po.id}.pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(response.data)).pages)
    for words in (po.number, "Acme Supplies", "9 Dock Street", "Hull", "Product A", "USD 12.50", "USD 50.00"):
        assert words in text, words


def test_the_product_list_and_page_show_what_is_on_order(shop, as_staff):
    shop.product("A")
    supplier = buy.supplier()
    buy.sells(supplier, shop.product_row("A"), 100)
    from datetime import date

    buy.sent_po(shop.manager, supplier, ("A", 6, 100), expected_on=date(2030, 7, 9))
    row = re.search(r'<tr id="product-\d+".*?</tr>', _text(as_staff.get("/products")), re.S).group(0)
    assert "6 <span" in row and "by 09 Jul" in row
    page = _text(as_staff.get(f"/products/{shop.product_row('A').id}"))
    assert "On order" in page and "first by 09 Jul 2030" in page and "Acme Supplies" in page


def test_reorder_on_the_overview_drafts_pos_and_names_the_products_with_no_supplier(shop, as_manager):
    a, b = shop.product("A"), shop.product("B")
    for product in (a, b):
        db.session.get(Product, product.id).reorder_point = 2
    db.session.commit()
    supplier = buy.supplier()
    buy.sells(supplier, a, 100)
    assert "Reorder low stock" in _text(as_manager.get("/overview"))
    response = as_manager.post_form("/purchase-orders/reorder", follow_redirects=True)
    page = _text(response)
    (po,) = db.session.scalars(sa.select(PurchaseOrder)).all()
    assert po.state is PurchaseOrderState.DRAFT and f"Drafted {po.number}" in page
    assert "Skipped (no supplier sells them): B" in page
    assert [(line.product.sku, line.quantity) for line in fresh(po.id).lines] == [("A", 4)]
