"""Purchase orders: their states, receiving (partial, over-receipt refused or confirmed, backorders filled at
the PO's destination), costs, what products have on order, drop-ship POs per supplier and day, and the
reorder of low stock. On SQLite and PostgreSQL (the services lock and move stock)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from oms_web.domain import events, orders, purchasing, suppliers
from oms_web.domain.errors import InvalidInput, InvalidState, NotAllowed, QuantityTooLarge
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.domain.order_actions import finalize_order
from oms_web.extensions import db
from oms_web.models import (LineAllocation, Product, PurchaseOrder, PurchaseOrderLine, PurchaseOrderState, StockMove)

from .helpers import purchasing as buy
from .helpers.purchasing import MAIN, fresh, line_of

S = PurchaseOrderState


@pytest.fixture
def acme(shop):
    return buy.supplier()


def test_a_po_goes_from_draft_to_sent_to_partially_received_to_received_to_closed(shop, acme):
    shop.product("A")
    shop.product("B")
    po = purchasing.create_purchase_order(shop.manager, acme.id, MAIN, date(2030, 1, 15), "Call before delivery")
    assert po.state is S.DRAFT and po.number == f"PO-{po.id:06d}"
    purchasing.add_line(shop.manager, po.id, "A", 5, 250)
    purchasing.add_line(shop.manager, po.id, "B", 2, 1000)
    purchasing.send_purchase_order(shop.manager, po.id)
    po = fresh(po.id)
    assert po.state is S.SENT and po.sent_at is not None and po.total_cents == 5 * 250 + 2 * 1000

    purchasing.receive_purchase_order(shop.staff, po.id, {line_of(po, "A").id: 3})
    po = fresh(po.id)
    assert po.state is S.PARTIALLY_RECEIVED and line_of(po, "A").received == 3
    purchasing.receive_purchase_order(shop.staff, po.id, {line_of(po, "A").id: 2, line_of(po, "B").id: 2})
    po = fresh(po.id)
    assert po.state is S.RECEIVED
    assert shop.stock("A") == (5, 0) and shop.stock("B") == (2, 0)
    purchasing.close_purchase_order(shop.manager, po.id)
    assert fresh(po.id).state is S.CLOSED
    assert check_invariants() == []


def test_each_receipt_is_a_ledger_row_at_the_destination_naming_the_po(shop, acme):
    shop.product("A")
    east = buy.warehouse()
    po = buy.sent_po(shop.manager, acme, ("A", 4, 100), location_id=east.id)
    purchasing.receive_purchase_order(shop.staff, po.id, {po.lines[0].id: 4})
    (row,) = shop.ledger("A")
    assert (row.reason, row.in_hand_delta, row.location_id, row.purchase_order_id) == ("receive", 4, east.id, po.id)


def test_a_draft_a_cancelled_and_a_closed_po_cannot_be_received(shop, acme):
    shop.product("A")
    draft = purchasing.create_purchase_order(shop.manager, acme.id)
    line = purchasing.add_line(shop.manager, draft.id, "A", 3, 100)
    shop.refused(InvalidState, purchasing.receive_purchase_order, shop.staff, draft.id, {line.id: 1}, match="only a sent")
    purchasing.cancel_purchase_order(shop.manager, draft.id)
    shop.refused(InvalidState, purchasing.receive_purchase_order, shop.staff, draft.id, {line.id: 1})
    closed = buy.sent_po(shop.manager, acme, ("A", 3, 100))
    purchasing.close_purchase_order(shop.manager, closed.id)
    shop.refused(InvalidState, purchasing.receive_purchase_order, shop.staff, closed.id, {closed.lines[0].id: 1})
    assert shop.stock("A") == (0, 0)


def test_a_po_with_units_received_cannot_be_cancelled_and_a_draft_cannot_be_closed(shop, acme):
    shop.product("A")
    po = buy.sent_po(shop.manager, acme, ("A", 3, 100))
    purchasing.receive_purchase_order(shop.staff, po.id, {po.lines[0].id: 1})
    shop.refused(InvalidState, purchasing.cancel_purchase_order, shop.manager, po.id, match="close it instead")
    draft = purchasing.create_purchase_order(shop.manager, acme.id)
    shop.refused(InvalidState, purchasing.close_purchase_order, shop.manager, draft.id)
    shop.refused(InvalidState, purchasing.send_purchase_order, shop.manager, draft.id, match="no lines")


def test_receiving_more_than_is_open_is_refused_unless_the_over_receipt_is_confirmed(shop, acme):
    shop.product("A")
    shop.product("B")
    po = buy.sent_po(shop.manager, acme, ("A", 5, 100), ("B", 2, 100))
    a, b = line_of(po, "A"), line_of(po, "B")
    purchasing.receive_purchase_order(shop.staff, po.id, {a.id: 4})
    refusal = shop.refused(QuantityTooLarge, purchasing.receive_purchase_order, shop.staff, po.id, {a.id: 3, b.id: 1})
    assert "confirm over-receipt" in refusal.message and "A: asked for 3, only 1 possible" in refusal.message
    assert refusal.field == f"units_{a.id}"
    purchasing.receive_purchase_order(shop.staff, po.id, {a.id: 3, b.id: 2}, over_receipt=True)
    po = fresh(po.id)
    assert (line_of(po, "A").received, line_of(po, "A").quantity) == (7, 5)
    assert po.state is S.RECEIVED and shop.stock("A") == (7, 0)
    assert check_invariants() == []


def test_a_partial_receipt_at_the_second_warehouse_fills_a_backorder_there(shop, acme):
    shop.product("A")
    east = buy.warehouse()
    order = shop.web_order(("A", 3))
    assert shop.line(order.id, "A").allocated == 0
    po = buy.sent_po(shop.manager, acme, ("A", 10, 100), location_id=east.id)
    purchasing.receive_purchase_order(shop.staff, po.id, {po.lines[0].id: 2})
    line = shop.line(order.id, "A")
    assert line.allocated == 2
    allocations = db.session.execute(sa.select(LineAllocation.location_id, LineAllocation.allocated)
                                     .where(LineAllocation.order_line_id == line.id)).all()
    assert allocations == [(east.id, 2)]
    purchasing.receive_purchase_order(shop.staff, po.id, {po.lines[0].id: 3})
    assert shop.line(order.id, "A").allocated == 3
    assert shop.stock("A") == (5, 3)
    assert fresh(po.id).state is S.PARTIALLY_RECEIVED
    assert check_invariants() == []


def test_a_negative_cost_is_refused_with_a_clear_message(shop, acme):
    product = shop.product("A")
    po = purchasing.create_purchase_order(shop.manager, acme.id)
    shop.refused(InvalidInput, purchasing.add_line, shop.manager, po.id, "A", 1, -1, match="cannot be negative")
    line = purchasing.add_line(shop.manager, po.id, "A", 1, 0)
    shop.refused(InvalidInput, purchasing.change_line, shop.manager, po.id, line.id, 1, -5, match="cannot be negative")
    shop.refused(InvalidInput, suppliers.set_supplier_product, shop.admin, acme.id, "A", None, -1,
                 match="cannot be negative")
    assert db.session.get(PurchaseOrderLine, line.id).unit_cost_cents == 0
    assert product.id


def test_a_line_takes_the_suppliers_cost_unless_one_is_given_and_a_product_added_twice_adds_up(shop, acme):
    product = shop.product("A")
    buy.sells(acme, product, 730, "ACME-A")
    po = purchasing.create_purchase_order(shop.manager, acme.id)
    purchasing.add_line(shop.manager, po.id, "A", 2)
    purchasing.add_line(shop.manager, po.id, "A", 3)
    (line,) = fresh(po.id).lines
    assert (line.quantity, line.unit_cost_cents) == (5, 730)
    purchasing.change_line(shop.manager, po.id, line.id, 0, 730)
    assert fresh(po.id).lines == []


def test_only_a_manager_drafts_and_only_staff_and_above_receive(shop, acme):
    shop.product("A")
    shop.refused(NotAllowed, purchasing.create_purchase_order, shop.staff, acme.id)
    shop.refused(NotAllowed, suppliers.create_supplier, shop.manager, suppliers.SupplierDetails(name="Other"))
    po = buy.sent_po(shop.manager, acme, ("A", 1, 0))
    shop.refused(NotAllowed, purchasing.close_purchase_order, shop.staff, po.id)


def test_a_po_delivers_only_to_one_of_our_warehouses(shop, acme):
    shop.product("A")
    drop = buy.drop_shipped("A", acme)
    shop.refused(InvalidInput, purchasing.create_purchase_order, shop.manager, acme.id, drop.id,
                 match="not one of our warehouses")


def test_products_show_the_units_on_order_and_the_earliest_expected_date(shop, acme):
    a = shop.product("A")
    b = shop.product("B")
    first = buy.sent_po(shop.manager, acme, ("A", 5, 100), expected_on=date(2030, 3, 1))
    buy.sent_po(shop.manager, acme, ("A", 4, 100), expected_on=date(2030, 2, 1))
    draft = purchasing.create_purchase_order(shop.manager, acme.id)
    purchasing.add_line(shop.manager, draft.id, "B", 9, 100)  # a draft is not ordered yet
    purchasing.receive_purchase_order(shop.staff, first.id, {first.lines[0].id: 2})
    assert purchasing.on_order([a.id, b.id]) == {a.id: purchasing.OnOrder(7, date(2030, 2, 1))}


def test_a_drop_ship_order_goes_onto_the_suppliers_drop_ship_po_of_the_day_with_its_ship_to(shop, acme):
    shop.product("D", price_cents=2500)
    buy.sells(acme, shop.product_row("D"), 1200)
    buy.drop_shipped("D", acme)
    first = shop.web_order(("D", 2))
    second = shop.web_order(("D", 1))
    (po,) = db.session.scalars(sa.select(PurchaseOrder)).all()
    po = fresh(po.id)
    assert po.drop_ship and po.state is S.SENT and po.supplier_id == acme.id
    assert po.drop_ship_day == purchasing.shop_today()
    assert [(l.order_line.order_id, l.quantity, l.unit_cost_cents) for l in po.lines] == [
        (first.id, 2, 1200), (second.id, 1, 1200)]
    assert po.lines[0].ship_to["line1"] == "12 St James's Sq"
    assert events.DROP_SHIP_ORDERED in shop.event_kinds(first.id)
    assert purchasing.on_order([shop.product_row("D").id]) == {}  # nothing of it comes to us
    shop.refused(InvalidState, purchasing.receive_purchase_order, shop.staff, po.id, {po.lines[0].id: 1},
                 match="drop-ship")
    assert check_invariants() == []


def test_a_manual_drop_ship_order_goes_on_the_po_when_finalized_and_a_new_day_makes_a_new_po(shop, acme, monkeypatch):
    shop.product("D")
    buy.drop_shipped("D", acme)
    draft = shop.draft(("D", 3))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder)) == 0
    finalize_order(shop.staff, draft.id)
    monkeypatch.setattr(purchasing, "shop_today", lambda: date.today() + timedelta(days=1))
    shop.web_order(("D", 1))
    pos = db.session.scalars(sa.select(PurchaseOrder).order_by(PurchaseOrder.id)).all()
    assert [(po.drop_ship_day - pos[0].drop_ship_day).days for po in pos] == [0, 1]
    assert [[line.quantity for line in fresh(po.id).lines] for po in pos] == [[3], [1]]


def test_a_batch_of_channel_orders_puts_its_drop_ship_lines_on_one_po(shop, acme):
    shop.product("D")
    shop.product("A", in_hand=5)
    buy.drop_shipped("D", acme)
    batch = [NewOrder(channel_id=shop.web.id, channel_order_id=f"B{n}",
                      customer=CustomerDetails(name="Ada", email="ada@example.com",
                                               ship_to={"name": "Ada", "line1": f"{n} Road", "city": "Leeds",
                                                        "country": "GB"}),
                      lines=[LineRequest("D", n), LineRequest("A", 1)]) for n in (1, 2, 3)]
    orders.create_orders(None, batch)
    (po,) = db.session.scalars(sa.select(PurchaseOrder)).all()
    assert sorted((l.quantity, l.ship_to["line1"]) for l in fresh(po.id).lines) == [
        (1, "1 Road"), (2, "2 Road"), (3, "3 Road")]
    assert check_invariants() == []


def test_reorder_drafts_one_po_per_cheapest_supplier_for_the_low_stock_and_lists_the_rest(shop, acme):
    other = buy.supplier("Bolt Brothers", lead_time_days=2)
    a, b, c = shop.product("A", in_hand=2), shop.product("B", in_hand=1), shop.product("C")
    shop.product("OK", in_hand=50)
    for product, point in ((a, 10), (b, 4), (c, 3)):
        db.session.get(Product, product.id).reorder_point = point
    db.session.get(Product, shop.product_row("OK").id).reorder_point = 5
    db.session.commit()
    buy.sells(acme, a, 500)
    buy.sells(other, a, 450)  # cheaper
    buy.sells(acme, b, 100)
    buy.sent_po(shop.manager, acme, ("A", 3, 500))  # 3 on order already
    result = purchasing.reorder_low_stock(shop.manager)
    assert result.skipped == ["C"]
    drafts = {po.supplier_id: fresh(po.id) for po in result.drafts}
    assert {s: po.state for s, po in drafts.items()} == {acme.id: S.DRAFT, other.id: S.DRAFT}
    assert [(l.product.sku, l.quantity, l.unit_cost_cents) for l in drafts[other.id].lines] == [("A", 10 * 2 - 2 - 3, 450)]
    assert [(l.product.sku, l.quantity) for l in drafts[acme.id].lines] == [("B", 4 * 2 - 1)]
    assert drafts[other.id].location_id == MAIN
    shop.refused(NotAllowed, purchasing.reorder_low_stock, shop.staff)
