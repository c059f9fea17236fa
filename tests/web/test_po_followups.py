"""The purchasing screens after issue 14's loose ends: a drop-ship PO's page shows the units taken off and each
order's supplier link (which offers only what is still open), sending a PO says whether it was emailed,
"Reorder" clicked twice, and the PO list's pages. On both databases (the drop-ship path locks and allocates)."""
from __future__ import annotations

import html
import re
from datetime import date

import sqlalchemy as sa

from oms_web.domain.order_actions import LineChange, edit_order
from oms_web.extensions import db
from oms_web.models import Product, PurchaseOrder, PurchaseOrderState

from ..helpers import purchasing as buy
from ..helpers.drop_ship import as_path
from ..helpers.purchasing import MAIN
from .conftest import use_both_backends

web_app = use_both_backends()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_cut_drop_ship_line_shows_cancelled_on_the_po_and_its_supplier_link_offers_the_rest(shop, as_staff):
    shop.product("D")
    supplier = buy.supplier()
    location = buy.drop_shipped("D", supplier)
    order = shop.web_order(("D", 3))
    line = shop.line(order.id, "D")
    edit_order(shop.staff, order.id, [LineChange(quantity=1, line_id=line.id)])
    (po,) = db.session.scalars(sa.select(PurchaseOrder)).all()

    page = _text(as_staff.get(f"/purchase-orders/{po.id}"))
    assert re.search(r'<th scope="col" class="num">Cancelled</th>', page)
    assert re.search(r'<td class="num">3</td><td class="num warn">2</td>', page)
    link = re.search(rf'href="(http://localhost/supplier/{order.id}/{location.id}/[^"]+)"', page).group(1)
    supplier_page = _text(as_staff.get(as_path(link)))
    assert f'max="1"' in supplier_page and f'name="qty-{line.id}"' in supplier_page
    timeline = _text(as_staff.get(f"/orders/{order.id}"))
    assert f"Taken off {po.number} (Acme Supplies): 2 × D" in timeline


def test_sending_a_po_says_it_was_emailed_or_that_there_is_no_email_on_file(shop, as_manager):
    shop.product("A")
    with_email, without = buy.supplier(), buy.supplier("No Mail Ltd", email=None)
    for supplier, said in ((with_email, "sent: emailed to orders@acme.example with its PDF"),
                           (without, "No email on file: send the PDF yourself")):
        draft = as_manager.post_form("/purchase-orders/new", {"supplier": str(supplier.id), "location": str(MAIN)})
        po_id = int(draft.headers["Location"].rsplit("/", 1)[1])
        as_manager.post_form(f"/purchase-orders/{po_id}/lines", {"sku": "A", "quantity": "2"})
        page = _text(as_manager.post_form(f"/purchase-orders/{po_id}/send", follow_redirects=True))
        assert said in page
        assert db.session.get(PurchaseOrder, po_id).state is PurchaseOrderState.SENT
        if supplier is with_email:
            assert "Purchase order to orders@acme.example:" in page and "waiting to be sent" in page
        else:
            assert "No email on file for No Mail Ltd: send the PDF yourself" in page
        db.session.rollback()


def test_reorder_clicked_twice_adds_nothing_the_second_time_and_says_so(shop, as_manager):
    product = shop.product("A")
    db.session.get(Product, product.id).reorder_point = 5
    db.session.commit()
    buy.sells(buy.supplier(), product, 100)
    first = _text(as_manager.post_form("/purchase-orders/reorder", follow_redirects=True))
    assert "Drafted PO-" in first
    second = _text(as_manager.post_form("/purchase-orders/reorder", follow_redirects=True))
    assert "Nothing added: the low-stock products' units are on order or on draft purchase orders already" in second
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder)) == 1


def test_the_po_list_pages_by_keyset_and_keeps_its_filter(shop, as_staff):
    supplier = buy.supplier()
    db.session.add_all([PurchaseOrder(supplier_id=supplier.id, location_id=MAIN, state=PurchaseOrderState.DRAFT,
                                      expected_on=date(2030, 1, 1)) for _ in range(53)])
    db.session.commit()
    ids = sorted(db.session.scalars(sa.select(PurchaseOrder.id)), reverse=True)
    first = _text(as_staff.get("/purchase-orders?state=draft"))
    shown = [int(n) for n in re.findall(r'href="/purchase-orders/(\d+)"', first)]
    assert shown == ids[:50]
    older = re.search(r'<a href="([^"]+)" rel="next">Older »</a>', first).group(1)
    assert "state=draft" in older and f"before={ids[49]}" in older
    second = _text(as_staff.get(older))
    assert [int(n) for n in re.findall(r'href="/purchase-orders/(\d+)"', second)] == ids[50:]
    assert "rel=\"next\"" not in second and "« Newest" in second
