"""A refund for a return's units: it names the return (refunds.return_id), proposes the received units'
invoiced amount (tax included), and only follows a receipt of that order's return."""
from __future__ import annotations

import pytest

from oms_web.domain import invoicing, refunds, returns, shipping
from oms_web.domain.errors import InvalidInput, InvalidState
from oms_web.domain.invariants import check_invariants
from oms_web.domain.refunds import RefundRequest
from oms_web.extensions import db
from oms_web.models import Refund, RefundReason


def invoiced_return(shop, received: bool = True, units: int = 2):
    """An order of 3 × A at 10.00 + 20% tax, shipped and invoiced, with a return of `units` (received or not)."""
    shop.product("A", in_hand=10)
    order = shop.web_order(("A", 3))
    line = order.lines[0]
    shipment = shipping.ship_lines(shop.staff, order.id, {line.id: 3})
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    ret = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(line.id, units, "damaged")])
    returns.authorize_return(shop.staff, ret.id)
    if received:
        returns.receive_return(shop.staff, ret.id, {ret.lines[0].id: returns.Receipt(restock=1, write_off=units - 1)})
    db.session.rollback()
    return shop.order_row(order.id), returns.get_return(ret.id)


def test_a_refund_for_a_returns_received_units_names_the_return_and_gives_back_their_invoiced_amount(shop):
    order, ret = invoiced_return(shop)
    units = refunds.units_received(ret)
    assert units == {order.lines[0].id: 2}
    proposal = refunds.refund_proposal(order, units)
    assert proposal == 2 * 1200

    refund = refunds.issue_refund(shop.manager, order.id, RefundRequest(
        reason=RefundReason.RETURNED, units=units, return_id=ret.id))
    assert (refund.amount_cents, refund.return_id) == (proposal, ret.id)
    assert [r.id for r in refunds.refunds_for_return(ret.id)] == [refund.id]
    assert check_invariants() == []


def test_a_refund_for_a_return_not_yet_received_is_refused(shop):
    order, ret = invoiced_return(shop, received=False)
    with pytest.raises(InvalidState, match="refund its units once they are received"):
        refunds.issue_refund(shop.manager, order.id, RefundRequest(units={order.lines[0].id: 1}, return_id=ret.id))
    assert db.session.query(Refund).count() == 0


def test_a_refund_naming_another_orders_return_or_a_bad_id_is_refused(shop):
    order, ret = invoiced_return(shop)
    other = shop.web_order(("A", 1))
    shipment = shipping.ship_lines(shop.staff, other.id, {other.lines[0].id: 1})
    invoicing.issue_invoice(shop.staff, other.id, shipment.id)
    with pytest.raises(InvalidInput, match="not one of"):
        refunds.issue_refund(shop.manager, other.id, RefundRequest(amount_cents=100, return_id=ret.id))
    for bad in ("1", True, -1, 2**40):
        with pytest.raises(InvalidInput) as refused:
            refunds.issue_refund(shop.manager, order.id, RefundRequest(amount_cents=100, return_id=bad))
        assert refused.value.field == "return_id"
    assert db.session.query(Refund).count() == 0
