from oms_web.domain import orders, shipping, invoicing
from oms_web.domain.invariants import check_invariants
from oms_web.models import Segment


def test_smoke(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 3))
    assert order.segment is Segment.READY_TO_SHIP
    assert shop.product_row("A").stock_committed == 3
    line = order.lines[0]
    s = shipping.ship_lines(shop.staff, order.id, {line.id: 2})
    inv = invoicing.issue_invoice(shop.staff, order.id, s.id)
    assert inv.number == 1
    assert check_invariants() == []
