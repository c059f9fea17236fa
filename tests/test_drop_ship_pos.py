"""Drop-ship POs after their orders change (a cut, a void), the supplier links on a PO, POs emailed to their
suppliers with the PDF, and "reorder low stock" clicked twice. On SQLite and PostgreSQL (the services lock,
and PostgreSQL checks the foreign keys of a removed line)."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from oms_web import tasks
from oms_web.domain import drop_ship, events, purchasing
from oms_web.domain.drop_ship import LinkRefused
from oms_web.domain.errors import InvalidInput
from oms_web.domain.invariants import check_invariants
from oms_web.domain.locations import LocationDetails, update_location
from oms_web.domain.order_actions import LineChange, edit_order, void_order
from oms_web.documents.purchase_orders import purchase_order_pdf
from oms_web.extensions import db
from oms_web.models import (Job, Order, OrderLine, Product, PurchaseOrder, PurchaseOrderEmail, PurchaseOrderLine,
                            PurchaseOrderState)

from .helpers import purchasing as buy
from .helpers.mail_sink import smtp_sink
from .helpers.purchasing import fresh


@pytest.fixture
def acme(shop):
    return buy.supplier()


@pytest.fixture
def sink(app):
    with smtp_sink() as kept:
        app.config.update(OMS_SMTP_HOST="127.0.0.1", OMS_SMTP_PORT=kept.port)
        yield kept


def _drop_ship_po() -> PurchaseOrder:
    (po,) = db.session.scalars(sa.select(PurchaseOrder).where(PurchaseOrder.drop_ship)).all()
    return fresh(po.id)


def _emails() -> list[tuple[str, str | None]]:
    db.session.rollback()
    return [(e.kind, e.note) for e in db.session.scalars(sa.select(PurchaseOrderEmail).order_by(PurchaseOrderEmail.id))]


def _run_po_email_jobs() -> None:
    db.session.rollback()
    for job_id in db.session.scalars(sa.select(Job.id).where(Job.kind == "po_email", Job.status == "queued")).all():
        db.session.rollback()
        try:
            tasks.run_job(job_id)
        except tasks._RetryLater:  # the queue would run it again after its back-off
            pass
    db.session.rollback()


def _order(order_id: int) -> Order:
    db.session.rollback()
    return db.session.get(Order, order_id)


# ---------------------------------------------------------------- a cut or a void takes units off the PO

def test_cutting_a_drop_ship_line_takes_the_units_off_the_sent_po_and_the_supplier_page_offers_the_rest(shop, acme):
    shop.product("D")
    shop.product("A", in_hand=5)
    location = buy.drop_shipped("D", acme)
    order = shop.web_order(("D", 3), ("A", 1))
    line = shop.line(order.id, "D")
    edit_order(shop.staff, order.id, [LineChange(quantity=1, line_id=line.id)])

    po = _drop_ship_po()
    (po_line,) = po.lines
    assert (po_line.quantity, po_line.cancelled, po_line.ordered, po_line.still_open) == (3, 2, 1, 1)
    assert po.state is PurchaseOrderState.SENT and po.total_cents == 0  # D costs 0 at acme: no cost given
    assert drop_ship.open_units(_order(order.id), location.id) == {line.id: 1}
    assert events.DROP_SHIP_CANCELLED in shop.event_kinds(order.id)
    (kind, note), = [e for e in _emails() if e[0] == "changed"]
    assert f"Cancelled for our order {order.number}: 2 × D. Do not ship" in note
    assert check_invariants() == []


def test_voiding_a_drop_ship_order_cancels_every_unit_on_the_po_and_its_link_is_refused(shop, acme):
    shop.product("D")
    location = buy.drop_shipped("D", acme)
    order = shop.web_order(("D", 2))
    void_order(shop.admin, order.id, "Customer changed their mind")
    (po_line,) = _drop_ship_po().lines
    assert (po_line.quantity, po_line.cancelled, po_line.ordered) == (2, 2, 0)
    claim = drop_ship.LinkClaim(order.id, location.id, "0" * 32)
    with pytest.raises(LinkRefused, match="cancelled: do not ship") as refused:
        drop_ship.order_for_link(claim)
    assert refused.value.status == 410
    assert drop_ship.supplier_links(_drop_ship_po()) == {}
    assert "(the order was cancelled)" in _emails()[-1][1]
    assert check_invariants() == []


def test_removing_a_drop_ship_line_keeps_it_at_zero_for_the_po_that_names_it(shop, acme):
    shop.product("D")
    shop.product("A", in_hand=5)
    buy.drop_shipped("D", acme)
    order = shop.web_order(("D", 2), ("A", 1))
    line = shop.line(order.id, "D")
    edit_order(shop.staff, order.id, [LineChange(quantity=0, line_id=line.id)])
    assert db.session.get(OrderLine, line.id).ordered == 0
    (po_line,) = _drop_ship_po().lines
    assert (po_line.order_line_id, po_line.cancelled) == (line.id, 2)
    assert check_invariants() == []


def test_a_cut_then_a_rise_orders_only_the_missing_units_again(shop, acme):
    shop.product("D")
    buy.drop_shipped("D", acme)
    order = shop.web_order(("D", 3))
    line = shop.line(order.id, "D")
    edit_order(shop.staff, order.id, [LineChange(quantity=1, line_id=line.id)])
    edit_order(shop.staff, order.id, [LineChange(quantity=4, line_id=line.id)])
    assert [(l.quantity, l.cancelled) for l in _drop_ship_po().lines] == [(3, 2), (3, 0)]
    assert sum(l.ordered for l in _drop_ship_po().lines) == shop.line(order.id, "D").allocated == 4
    assert check_invariants() == []


def _shipped_in_part(shop, acme, ordered: int, shipped: int) -> tuple[Order, OrderLine]:
    """A drop-ship order of `ordered` D, of which the supplier confirmed `shipped` through its link."""
    location = buy.drop_shipped("D", acme)
    order = shop.web_order(("D", ordered))
    line = shop.line(order.id, "D")
    claim = drop_ship.read_link(drop_ship.link_token(order.id, location.id), order.id, location.id)
    drop_ship.confirm_by_link(claim, 0, [drop_ship.ConfirmRow(line.id, shipped, "UPS", "1Z1")])
    return order, line


def test_cutting_only_units_the_supplier_shipped_is_refused_and_a_shipped_unit_stays_ordered(shop, acme):
    shop.product("D")
    order, line = _shipped_in_part(shop, acme, ordered=3, shipped=2)
    edit_order(shop.staff, order.id, [LineChange(quantity=2, line_id=line.id)])  # the unshipped unit goes
    (po_line,) = _drop_ship_po().lines
    assert (po_line.quantity, po_line.cancelled) == (3, 1)
    assert check_invariants() == []


def test_the_invariant_finds_a_po_line_that_disagrees_with_what_the_supplier_has_left_to_ship(shop, acme):
    shop.product("D")
    order, line = _shipped_in_part(shop, acme, ordered=3, shipped=1)
    assert check_invariants() == []
    (po_line,) = _drop_ship_po().lines
    where = f"order {order.number} line {line.id} (D)"

    po_line.cancelled = 1  # the supplier would be told 1 unit less than the link offers it
    db.session.commit()
    assert [(v.rule, v.where, v.expected, v.found) for v in check_invariants()] == [
        ("drop-ship PO open = supplier's unshipped allocations", where, 2, 1)]

    po_line = fresh(po_line.purchase_order_id).lines[0]
    po_line.cancelled = 0
    db.session.add(PurchaseOrderLine(purchase_order_id=po_line.purchase_order_id, product_id=po_line.product_id,
                                     quantity=2, unit_cost_cents=0, received=0, order_line_id=line.id))
    db.session.commit()  # the same units ordered twice
    assert [(v.where, v.expected, v.found) for v in check_invariants()] == [(where, 2, 4)]


def test_a_drop_ship_location_keeps_its_supplier_while_units_wait_for_it_to_ship(shop, acme):
    shop.product("D")
    location = buy.drop_shipped("D", acme)
    other = buy.supplier("Other Supplies")
    order = shop.web_order(("D", 2))
    details = LocationDetails(name=location.name, priority=location.priority, supplier_id=other.id)
    with pytest.raises(InvalidInput, match="2 unit\\(s\\) at .* still for its present supplier") as refused:
        update_location(shop.admin, location.id, details)
    assert refused.value.field == "supplier"
    db.session.rollback()
    assert db.session.get(type(location), location.id).supplier_id == acme.id

    void_order(shop.admin, order.id, "Customer changed their mind")  # nothing waits now: the change is made
    update_location(shop.admin, location.id, details)
    db.session.rollback()
    assert db.session.get(type(location), location.id).supplier_id == other.id
    assert check_invariants() == []


def test_an_order_without_drop_ship_lines_touches_no_po(shop, acme):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 3))
    edit_order(shop.staff, order.id, [LineChange(quantity=1, line_id=shop.line(order.id, "A").id)])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder)) == 0
    assert _emails() == []


# ---------------------------------------------------------------- the supplier's link on the PO

def test_the_supplier_link_outside_a_request_uses_the_public_url(app, shop, acme):
    shop.product("D")
    location = buy.drop_shipped("D", acme)
    order = shop.web_order(("D", 1))
    link = drop_ship.supplier_link(order, location)
    assert link.startswith(f"http://localhost:5000/supplier/{order.id}/{location.id}/")
    app.config["OMS_PUBLIC_URL"] = "https://oms.example.com/"
    link = drop_ship.supplier_link(order, location)
    assert link.startswith(f"https://oms.example.com/supplier/{order.id}/{location.id}/")
    token = link.rsplit("/", 1)[1]
    assert drop_ship.read_link(token, order.id, location.id).order_id == order.id


def test_the_drop_ship_po_pdf_carries_each_open_orders_link_and_the_cancelled_units(app, shop, acme):
    app.config["OMS_PUBLIC_URL"] = "https://oms.example.com"
    shop.product("D")
    location = buy.drop_shipped("D", acme)
    first, second = shop.web_order(("D", 2)), shop.web_order(("D", 1))
    edit_order(shop.staff, first.id, [LineChange(quantity=1, line_id=shop.line(first.id, "D").id)])
    po = _drop_ship_po()
    links = drop_ship.supplier_links(po)
    assert set(links) == {first.id, second.id}
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(purchase_order_pdf(po))).pages)
    assert "Tell us what you shipped" in text and first.number in text and second.number in text
    assert "1 cancelled: ship 1 only" in text
    assert f"https://oms.example.com/supplier/{first.id}/{location.id}/" in text.replace("\n", "")


# ---------------------------------------------------------------- sent POs are emailed

def test_a_sent_po_is_emailed_to_the_supplier_with_its_pdf(shop, acme, sink):
    shop.product("A")
    po = buy.sent_po(shop.manager, acme, ("A", 5, 250))
    _run_po_email_jobs()
    (message,) = sink.messages
    assert message["To"] == "orders@acme.example" and po.number in message["Subject"]
    parts = list(message.walk())
    (pdf,) = [p for p in parts if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"{po.number}.pdf"
    assert PdfReader(io.BytesIO(pdf.get_payload(decode=True))).pages[0].extract_text().count(po.number) >= 1
    email = db.session.scalar(sa.select(PurchaseOrderEmail))
    assert (email.status, email.attempts) == ("sent", 1) and email.sent_at is not None
    _run_po_email_jobs()  # nothing queued again: sent once
    assert len(sink.messages) == 1


def test_a_supplier_without_email_gets_its_po_sent_and_no_email(shop):
    shop.product("A")
    nomail = buy.supplier("No Mail Ltd", email=None)
    po = buy.sent_po(shop.manager, nomail, ("A", 5, 250))
    assert po.state is PurchaseOrderState.SENT
    assert _emails() == []


def test_a_failing_mail_server_leaves_the_email_waiting_with_its_error(app, shop, acme):
    app.config.update(OMS_SMTP_HOST="127.0.0.1", OMS_SMTP_PORT=1)  # nobody listens
    shop.product("A")
    buy.sent_po(shop.manager, acme, ("A", 5, 250))
    _run_po_email_jobs()
    email = db.session.scalar(sa.select(PurchaseOrderEmail))
    assert email.status == "pending" and email.attempts == 1 and email.last_error


def test_a_drop_ship_order_emails_the_supplier_its_po_with_the_orders_link(app, shop, acme, sink):
    app.config["OMS_PUBLIC_URL"] = "https://oms.example.com"
    shop.product("D")
    location = buy.drop_shipped("D", acme)
    first = shop.web_order(("D", 2))
    second = shop.web_order(("D", 1))
    assert [kind for kind, _ in _emails()] == ["sent", "changed"]
    _run_po_email_jobs()
    assert len(sink.messages) == 2
    (body,) = [part.get_payload(decode=True).decode() for part in sink.messages[1].walk()
               if part.get_content_type() == "text/plain"]
    assert f"Added our order {second.number}: 1 × D" in body
    assert f"https://oms.example.com/supplier/{first.id}/{location.id}/" in body
    assert f"https://oms.example.com/supplier/{second.id}/{location.id}/" in body


# ---------------------------------------------------------------- reorder twice

def _low(shop, sku: str, point: int, in_hand: int = 0) -> Product:
    product = shop.product(sku, in_hand=in_hand)
    db.session.get(Product, product.id).reorder_point = point
    db.session.commit()
    return product


def test_reorder_clicked_twice_drafts_once_and_says_the_units_are_on_drafts(shop, acme):
    a = _low(shop, "A", 10, in_hand=2)
    buy.sells(acme, a, 100)
    first = purchasing.reorder_low_stock(shop.manager)
    (draft,) = first.drafts
    assert [(l.product_id, l.quantity) for l in fresh(draft.id).lines] == [(a.id, 18)]
    second = purchasing.reorder_low_stock(shop.manager)
    assert second.drafts == [] and second.already == ["A"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder)) == 1
    assert [l.quantity for l in fresh(draft.id).lines] == [18]


def test_reorder_adds_only_what_the_drafts_miss_to_the_reorder_draft(shop, acme):
    a = _low(shop, "A", 10)
    b = _low(shop, "B", 5)
    buy.sells(acme, a, 100)
    buy.sells(acme, b, 100)
    manual = purchasing.create_purchase_order(shop.manager, acme.id)
    purchasing.add_line(shop.manager, manual.id, "A", 20)  # A is covered by a draft made by hand
    result = purchasing.reorder_low_stock(shop.manager)
    assert result.already == ["A"]
    (draft,) = result.drafts
    assert [(l.product_id, l.quantity) for l in fresh(draft.id).lines] == [(b.id, 10)]
    db.session.get(Product, b.id).reorder_point = 8
    db.session.commit()
    again = purchasing.reorder_low_stock(shop.manager)
    assert [po.id for po in again.drafts] == [draft.id]
    assert [(l.product_id, l.quantity) for l in fresh(draft.id).lines] == [(b.id, 16)]


def test_a_sent_po_no_longer_counts_as_a_draft_but_as_incoming(shop, acme):
    a = _low(shop, "A", 10)
    buy.sells(acme, a, 100)
    (draft,) = purchasing.reorder_low_stock(shop.manager).drafts
    purchasing.send_purchase_order(shop.manager, draft.id)
    assert purchasing.reorder_low_stock(shop.manager).drafts == []  # 20 on order covers 10 × 2 − 0
