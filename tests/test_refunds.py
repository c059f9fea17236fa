"""Refunds and credit notes, through the services: the cap, an order with no invoice, the cents of a
line refunded in several goes, the proposal for returned units, the roles and the credit note series."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.database import write_transaction
from oms_web.domain import events, invoicing, refunds, shipping
from oms_web.domain.errors import InvalidInput, InvalidState, NotAllowed, QuantityTooLarge
from oms_web.domain.invariants import check_credit_notes, check_invariants
from oms_web.domain.orders import LineRequest
from oms_web.domain.refunds import DuplicateRefund, RefundRequest
from oms_web.extensions import db
from oms_web.models import Counter, CreditNote, CreditNoteLine, Invoice, Product, RefundMethod, RefundReason


def _invoiced(shop, *lines: LineRequest, shipping_cents: int = 0, ship: dict[str, int] | None = None):
    """An order of these lines, shipped (all, or `ship`: SKU -> units) and invoiced."""
    for line in lines:  # at the default tax rate (20%) unless the test made the product first
        if db.session.scalar(sa.select(Product.id).where(Product.sku == line.sku)) is None:
            shop.product(line.sku, in_hand=50)
    order = shop.channel_order(*lines, shipping_cents=shipping_cents)
    quantities = {l.id: (ship or {}).get(l.sku, l.ordered) for l in order.lines}
    shipment = shipping.ship_lines(shop.staff, order.id, {k: v for k, v in quantities.items() if v})
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    return shop.order_row(order.id)


def _credit_notes() -> list[CreditNote]:
    db.session.rollback()
    return db.session.scalars(sa.select(CreditNote).order_by(CreditNote.id)).all()


def test_a_refund_of_invoiced_units_issues_a_credit_note_with_negative_lines_and_tax(shop):
    order = _invoiced(shop, LineRequest("A", 3, unit_price_cents=1000))
    line = order.lines[0]
    refund = refunds.issue_refund(shop.manager, order.id, RefundRequest(
        reason=RefundReason.DAMAGED, method=RefundMethod.ORIGINAL_PAYMENT, units={line.id: 1}))

    assert refund.amount_cents == 1200  # one unit of 10.00 at 20% tax
    (note,) = _credit_notes()
    assert (note.number, note.display_number) == (1, "CN-0000001")
    assert (note.net_cents, note.tax_cents, note.total_cents) == (-1000, -200, -1200)
    assert [(l.kind, l.sku, l.quantity, l.net_cents, l.tax_cents) for l in note.lines] == [
        ("units", "A", 1, -1000, -200)]
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.order_id == order.id))
    assert note.invoice_ids == [invoice.id]
    assert events.REFUNDED in shop.event_kinds(order.id)
    assert check_invariants() == []


def test_a_line_refunded_unit_by_unit_gives_back_exactly_what_it_was_invoiced(shop):
    # 3 units at 3.33 with 0.01 discount and 20% tax: 9.98 net, 2.00 tax; a third of it does not divide.
    order = _invoiced(shop, LineRequest("A", 3, unit_price_cents=333, discount_cents=1))
    line = order.lines[0]
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.order_id == order.id))
    amounts = [refunds.issue_refund(shop.manager, order.id, RefundRequest(units={line.id: 1})).amount_cents
               for _ in range(3)]
    assert sum(amounts) == invoice.total_cents
    assert max(amounts) - min(amounts) <= 1
    notes = _credit_notes()
    assert -sum(n.tax_cents for n in notes) == invoice.tax_cents
    assert check_invariants() == []


def test_the_proposal_for_returned_units_is_their_invoiced_amount_tax_included(shop):
    shop.product("B", in_hand=10, tax_rate_bp=500)
    order = _invoiced(shop, LineRequest("A", 2, unit_price_cents=1000),
                      LineRequest("B", 4, unit_price_cents=250))
    a, b = order.lines
    assert refunds.refund_proposal(order, {a.id: 1}) == 1200
    assert refunds.refund_proposal(order, {a.id: 1, b.id: 2}) == 1200 + 525
    assert refunds.refund_proposal(order, {a.id: 5}) == 2400  # only the invoiced units propose an amount
    refund = refunds.issue_refund(shop.manager, order.id, RefundRequest(units={a.id: 1, b.id: 2}))
    assert refund.amount_cents == 1725
    assert refunds.refund_proposal(shop.order_row(order.id), {a.id: 2}) == 1200  # one unit is left to refund


def test_a_refund_never_exceeds_what_was_invoiced_less_what_was_refunded(shop):
    order = _invoiced(shop, LineRequest("A", 2, unit_price_cents=1000), shipping_cents=500)
    invoiced = db.session.scalar(sa.select(Invoice.total_cents).where(Invoice.order_id == order.id))
    assert invoiced == 2 * 1200 + 500
    refunds.issue_refund(shop.manager, order.id, RefundRequest(amount_cents=2000))
    shop.refused(InvalidInput, refunds.issue_refund, shop.manager, order.id, RefundRequest(amount_cents=901),
                 match="at most USD 9.00")
    shop.refused(QuantityTooLarge, refunds.issue_refund, shop.manager, order.id,
                 RefundRequest(units={order.lines[0].id: 3}), match="asked for 3, only 2 possible")
    refunds.issue_refund(shop.manager, order.id, RefundRequest(amount_cents=900))
    shop.refused(InvalidInput, refunds.issue_refund, shop.manager, order.id, RefundRequest(amount_cents=1),
                 match="at most USD 0.00")
    assert sum(n.total_cents for n in _credit_notes()) == -invoiced
    assert check_credit_notes() == []


def test_shipping_is_refunded_within_the_shipping_invoiced_with_its_tax(shop):
    order = _invoiced(shop, LineRequest("A", 1, unit_price_cents=1000), shipping_cents=500)
    db.session.rollback()
    shop.refused(InvalidInput, refunds.issue_refund, shop.manager, order.id, RefundRequest(shipping_cents=601),
                 match="shipping")
    refund = refunds.issue_refund(shop.manager, order.id, RefundRequest(shipping_cents=order.shipping_cents
                                                                        + order.shipping_tax_cents))
    (note,) = _credit_notes()
    assert refund.shipping_cents == refund.amount_cents == 500 + order.shipping_tax_cents
    assert [(l.kind, l.tax_cents) for l in note.lines] == [("shipping", -order.shipping_tax_cents)]


def test_a_credit_note_on_an_order_with_no_invoice_is_refused(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 1))
    shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    shop.refused(InvalidState, refunds.issue_refund, shop.manager, order.id, RefundRequest(amount_cents=100),
                 match="no invoice")


def test_only_a_manager_or_an_admin_refunds(shop):
    order = _invoiced(shop, LineRequest("A", 1, unit_price_cents=1000))
    shop.refused(NotAllowed, refunds.issue_refund, shop.staff, order.id, RefundRequest(amount_cents=100))
    refunds.issue_refund(shop.admin, order.id, RefundRequest(amount_cents=100))


@pytest.mark.parametrize("request_, field", [
    (RefundRequest(), "amount"),
    (RefundRequest(amount_cents=-5), "amount"),
    (RefundRequest(amount_cents=refunds.MAX_REFUND_CENTS + 1), "amount"),
    (RefundRequest(amount_cents=1.5), "amount"),  # type: ignore[arg-type]
    (RefundRequest(amount_cents=True), "amount"),  # type: ignore[arg-type]
    (RefundRequest(shipping_cents=-1), "shipping"),
    (RefundRequest(amount_cents=100, note="x" * 301), "note"),
    (RefundRequest(amount_cents=100, note="a\x00b"), "note"),
    (RefundRequest(amount_cents=100, channel_reference="r" * 65), "channel_reference"),
    (RefundRequest(amount_cents=100, reason="damaged"), "reason"),  # type: ignore[arg-type]
])
def test_bad_values_are_refused_naming_their_field(shop, request_, field):
    order = _invoiced(shop, LineRequest("A", 1, unit_price_cents=1000))
    error = shop.refused(InvalidInput, refunds.issue_refund, shop.manager, order.id, request_)
    assert error.field == field


def test_units_of_another_orders_line_are_refused(shop):
    order = _invoiced(shop, LineRequest("A", 1, unit_price_cents=1000))
    other = _invoiced(shop, LineRequest("A", 1, unit_price_cents=1000))
    shop.refused(InvalidInput, refunds.issue_refund, shop.manager, order.id,
                 RefundRequest(units={other.lines[0].id: 1}), match="not part of")


def test_the_same_reference_twice_is_recorded_once(shop):
    order = _invoiced(shop, LineRequest("A", 2, unit_price_cents=1000))
    first = refunds.issue_refund(shop.manager, order.id, RefundRequest(amount_cents=100, channel_reference="R-1"))
    error = shop.refused(DuplicateRefund, refunds.issue_refund, shop.manager, order.id,
                         RefundRequest(amount_cents=100, channel_reference="R-1"))
    assert error.refund_id == first.id
    refunds.issue_refund(shop.manager, order.id, RefundRequest(amount_cents=100))  # no reference: no identity
    refunds.issue_refund(shop.manager, order.id, RefundRequest(amount_cents=100))
    assert len(_credit_notes()) == 3


def test_a_rolled_back_refund_gives_its_credit_note_number_back(shop):
    order = _invoiced(shop, LineRequest("A", 2, unit_price_cents=1000))
    with pytest.raises(RuntimeError):
        with write_transaction():
            refunds.issue_refund(shop.manager, order.id, RefundRequest(amount_cents=100))
            raise RuntimeError("the larger action failed")
    refunds.issue_refund(shop.manager, order.id, RefundRequest(amount_cents=100))
    assert [n.number for n in _credit_notes()] == [1]
    assert db.session.get(Counter, refunds.CREDIT_NOTE_COUNTER).value == 1


def test_a_channel_refund_paying_back_less_than_its_units_spreads_what_it_paid(shop):
    order = _invoiced(shop, LineRequest("A", 2, unit_price_cents=1000),
                      LineRequest("B", 1, unit_price_cents=500))
    a, b = order.lines
    refund = refunds.record_channel_refund(shop.web, order.channel_order_id, RefundRequest(
        units={a.id: 1, b.id: 1}, fit_to_cents=900, channel_reference="77"))
    assert refund.amount_cents == 900 and refund.created_by_id is None
    (note,) = _credit_notes()
    assert sum(l.total_cents for l in note.lines) == -900
    assert [l.quantity for l in note.lines] == [1, 1]
    assert check_invariants() == []


def test_the_invariant_finds_a_credit_note_beyond_the_invoices_and_a_gap(shop):
    order = _invoiced(shop, LineRequest("A", 1, unit_price_cents=1000))
    refunds.issue_refund(shop.manager, order.id, RefundRequest(amount_cents=1000))
    db.session.execute(sa.update(CreditNoteLine).values(net_cents=CreditNoteLine.net_cents - 1))
    db.session.execute(sa.update(CreditNote).values(total_cents=CreditNote.total_cents - 5000, number=2))
    db.session.commit()
    rules = {v.rule for v in check_credit_notes()}
    assert rules == {"7 credited <= invoiced", "credit note = its refund", "5 gapless credit note numbers"}
