"""The order page's actions through htmx: each answers 200 with the section its form sits in, every other
section it changed as an out-of-band swap (exactly as a reload would show it), and an HX-Trigger for the
widgets elsewhere; the order's numbers move as they should."""
from __future__ import annotations

import re

import pytest

from oms_web.database import write_transaction
from oms_web.domain import orders, shipping, stock
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.models import OrderStatus, PaymentStatus, Segment, ShipmentStatus

from .conftest import use_both_backends

# The order page moves stock (ship, cancel, edit, void): each action is tried on PostgreSQL too.
web_app = use_both_backends()


_SECTION = re.compile(r'<section id="order-(\w+)"([^>]*)>.*?</section>', re.S)


def _normal(section_html: str) -> str:
    """A section's markup without what differs between two renderings of the same state."""
    text = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', section_html)
    text = text.replace('hx-swap-oob="true"', "")
    return re.sub(r"\s+", " ", text).strip()


def sections(html: str) -> dict[str, str]:
    return {m.group(1): _normal(m.group(0)) for m in _SECTION.finditer(html)}


def order_action(client, order_id: int, path: str, data: dict | None = None, *, first: str):
    """Post one action as htmx and check its response against the page before and after."""
    before = sections(client.get(f"/orders/{order_id}").get_data(as_text=True))
    response = client.htmx_post(path, data or {})
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:600]
    assert "<html" not in body
    assert "orders-changed" in response.headers.get("HX-Trigger", "")
    returned = [(m.group(1), 'hx-swap-oob="true"' in m.group(2)) for m in _SECTION.finditer(body)]
    assert returned[0] == (first, False), f"the first section is the form's own, swapped in place: {returned}"
    assert all(oob for _, oob in returned[1:]), f"the other sections come out of band: {returned}"
    after = sections(client.get(f"/orders/{order_id}").get_data(as_text=True))
    changed = {name for name in after if before.get(name) != after[name]}
    missing = changed - {name for name, _ in returned}
    assert not missing, f"sections changed by the action but left stale on screen: {sorted(missing)}"
    for name, markup in sections(body).items():
        assert markup == after[name], f"the {name} section differs from what a reload shows"
    assert check_invariants() == []
    return response


@pytest.fixture
def stocked(shop):
    shop.product("A", in_hand=10)
    shop.product("B", in_hand=10)
    shop.product("C", in_hand=10)
    return shop


def test_finalize_commits_stock_to_the_draft(shop, as_staff, stocked):
    draft = shop.draft(("A", 2), ("B", 1))
    order_action(as_staff, draft.id, f"/orders/{draft.id}/finalize", first="header")
    order = shop.order_row(draft.id)
    assert order.status is OrderStatus.FINALIZED
    assert [(l.sku, l.allocated) for l in order.lines] == [("A", 2), ("B", 1)]
    assert shop.stock("A") == (10, 2)


def test_allocate_now_fills_a_backorder_from_available_stock(shop, as_staff):
    shop.product("W")
    order = shop.web_order(("W", 3))
    with write_transaction():  # units in hand that no backorder was given yet
        stock.receive(shop.product_row("W"), 2, shop.manager, "found on a shelf")
    order_action(as_staff, order.id, f"/orders/{order.id}/allocate", first="header")
    line = shop.line(order.id, "W")
    assert (line.allocated, line.backordered) == (2, 1)
    assert shop.order_row(order.id).segment is Segment.AWAITING_STOCK


def test_mark_paid_lets_the_order_ship(shop, as_staff, stocked):
    order = shop.web_order(("A", 1), payment=PaymentStatus.PENDING)
    assert order.segment is Segment.AWAITING_PAYMENT
    response = order_action(as_staff, order.id, f"/orders/{order.id}/paid", first="header")
    assert 'id="order-ship"' in response.get_data(as_text=True)
    order = shop.order_row(order.id)
    assert order.payment_status is PaymentStatus.PAID and order.segment is Segment.READY_TO_SHIP


def test_ship_part_of_an_order(shop, as_staff, stocked):
    order = shop.web_order(("A", 3), ("B", 2))
    a, b = order.lines
    order_action(as_staff, order.id, f"/orders/{order.id}/ship",
                 {f"ship-{a.id}": "1", f"ship-{b.id}": "0", "carrier": "UPS"}, first="ship")
    assert (shop.line(order.id, "A").shipped, shop.line(order.id, "B").shipped) == (1, 0)
    assert shop.stock("A") == (9, 2)
    assert shop.order_row(order.id).segment is Segment.READY_TO_SHIP  # one unit packed, the rest to pick
    (shipment,) = shop.order_row(order.id).shipments
    assert shipment.status is ShipmentStatus.PACKED and shipment.carrier == "UPS"


def test_cancel_a_packed_shipment_from_the_order_page(shop, as_staff, stocked):
    order = shop.web_order(("A", 2))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2})
    page = as_staff.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Cancel shipment" in page and "its label becomes void" in page

    order_action(as_staff, order.id, f"/orders/{order.id}/shipments/{shipment.id}/cancel", first="shipments")

    order = shop.order_row(order.id)
    assert order.shipments[0].status is ShipmentStatus.CANCELLED and order.segment is Segment.READY_TO_SHIP
    assert (order.lines[0].allocated, order.lines[0].shipped) == (2, 0) and shop.stock("A") == (10, 2)
    again = as_staff.htmx_post(f"/orders/{order.id}/shipments/{shipment.id}/cancel", {})
    assert "only a packed parcel can be cancelled" in again.get_data(as_text=True)
    assert shop.stock("A") == (10, 2)


def test_a_cancelled_parcels_label_says_void_and_l_opens_the_next_live_label(shop, as_staff, stocked):
    order = shop.web_order(("A", 2))
    cancelled = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2})
    shipping.cancel_shipment(shop.staff, cancelled.id)
    packed = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2})

    page = as_staff.get(f"/orders/{order.id}").get_data(as_text=True)

    void_link = re.search(rf'<a [^>]*href="/orders/{order.id}/shipments/{cancelled.id}/label.pdf"[^>]*>([^<]*)</a>', page)
    live_link = re.search(rf'<a [^>]*href="/orders/{order.id}/shipments/{packed.id}/label.pdf"[^>]*>([^<]*)</a>', page)
    assert void_link[1] == "Void label (PDF)" and 'data-shortcut="l"' not in void_link[0]
    assert live_link[1] == "Label (PDF)" and 'data-shortcut="l"' in live_link[0]


def test_mark_a_shipment_shipped_then_delivered(shop, as_staff, stocked):
    order = shop.web_order(("A", 2))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2})
    order_action(as_staff, order.id, f"/orders/{order.id}/shipments/{shipment.id}/shipped",
                 {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}, first="shipments")
    order = shop.order_row(order.id)
    assert order.shipments[0].status is ShipmentStatus.SHIPPED
    assert order.shipments[0].tracking_number == "1Z999AA10123456784"
    assert order.segment is Segment.IN_TRANSIT
    order_action(as_staff, order.id, f"/orders/{order.id}/shipments/{shipment.id}/delivered", first="shipments")
    order = shop.order_row(order.id)
    assert order.shipments[0].status is ShipmentStatus.DELIVERED
    assert order.status is OrderStatus.FULFILLED


def test_invoice_one_shipment_then_the_rest(shop, as_staff, stocked):
    order = shop.web_order(("A", 3))
    line = order.lines[0]
    first = shipping.ship_lines(shop.staff, order.id, {line.id: 1})
    shipping.ship_lines(shop.staff, order.id, {line.id: 2})
    order_action(as_staff, order.id, f"/orders/{order.id}/invoice", {"shipment_id": str(first.id)}, first="invoices")
    assert shop.line(order.id, "A").invoiced == 1
    order_action(as_staff, order.id, f"/orders/{order.id}/invoice", {}, first="invoices")
    assert shop.line(order.id, "A").invoiced == 3
    assert [i.number for i in shop.order_row(order.id).invoices] == [1, 2]


def test_edit_lines_changes_removes_and_adds_in_one_go(shop, as_staff, stocked):
    order = shop.web_order(("A", 3), ("B", 2))
    a, b = order.lines
    order_action(as_staff, order.id, f"/orders/{order.id}/lines",
                 {f"qty-{a.id}": "5", f"qty-{b.id}": "2", f"remove-{b.id}": "1", "new_sku": "C", "new_qty": "4"},
                 first="lines")
    lines = {l.sku: (l.ordered, l.allocated) for l in shop.order_row(order.id).lines}
    assert lines == {"A": (5, 5), "C": (4, 4)}
    assert shop.stock("B") == (10, 0), "the removed line's stock is released"
    assert shop.order_row(order.id).total_cents == 9 * 1000 * 120 // 100


def test_edit_a_draft_line(shop, as_staff, stocked):
    draft = shop.draft(("A", 1))
    order_action(as_staff, draft.id, f"/orders/{draft.id}/lines", {f"qty-{draft.lines[0].id}": "7"}, first="lines")
    line = shop.line(draft.id, "A")
    assert (line.ordered, line.allocated) == (7, 0)


def test_add_a_note(shop, as_staff, stocked):
    order = shop.web_order(("A", 1))
    response = order_action(as_staff, order.id, f"/orders/{order.id}/notes",
                            {"note": "Leave with the neighbour <b>please</b>"}, first="timeline")
    assert "Leave with the neighbour &lt;b&gt;please&lt;/b&gt;" in response.get_data(as_text=True)
    assert shop.event_kinds(order.id)[-1] == "note"


def test_void_as_admin_releases_the_stock(shop, as_admin, stocked):
    order = shop.web_order(("A", 4))
    order_action(as_admin, order.id, f"/orders/{order.id}/void", {"reason": "customer cancelled"}, first="header")
    order = shop.order_row(order.id)
    assert order.status is OrderStatus.VOID and order.void_reason == "customer cancelled"
    assert shop.stock("A") == (10, 0)


def test_release_a_held_order_once_its_sku_exists(shop, as_staff, stocked):
    order = orders.create_order(None, NewOrder(
        channel_id=shop.web.id, channel_order_id="H1", customer=CustomerDetails(name="Ada", email="ada@example.com"),
        lines=[LineRequest("NEWSKU", 2)]))
    assert order.segment is Segment.NEEDS_ATTENTION
    shop.product("NEWSKU", in_hand=5)
    order_action(as_staff, order.id, f"/orders/{order.id}/release", first="header")
    order = shop.order_row(order.id)
    assert order.hold_reason is None and order.lines[0].allocated == 2


def test_a_plain_post_of_an_action_redirects_back_to_the_order(shop, as_staff, stocked):
    order = shop.web_order(("A", 1))
    response = as_staff.post_form(f"/orders/{order.id}/notes", {"note": "by phone"})
    assert response.status_code == 302 and response.headers["Location"] == f"/orders/{order.id}"
    assert "by phone" in as_staff.get(f"/orders/{order.id}").get_data(as_text=True)


def test_the_order_page_shows_only_the_actions_the_role_may_take(shop, as_staff, as_admin, stocked):
    order = shop.web_order(("A", 1))
    assert f"/orders/{order.id}/void" not in as_staff.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f"/orders/{order.id}/void" in as_admin.get(f"/orders/{order.id}").get_data(as_text=True)


def test_the_order_page_shows_subtotal_discounts_shipping_tax_and_total(shop, as_staff):
    shop.product("A", in_hand=10)
    order = orders.create_order(None, NewOrder(
        channel_id=shop.web.id, channel_order_id="W-MONEY", customer=CustomerDetails(name="Ada Lovelace"),
        lines=[LineRequest("A", 3, unit_price_cents=1999, discount_cents=600, tax_cents=479)],
        shipping_cents=499, shipping_tax_cents=44))

    page = re.sub(r"<[^>]+>", " ", as_staff.get(f"/orders/{order.id}").get_data(as_text=True))
    page = re.sub(r"\s+", " ", page)

    assert "Subtotal USD 59.97 Discounts −USD 6.00 Shipping USD 4.99 Tax USD 5.23 Total USD 64.19" in page
