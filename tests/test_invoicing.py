"""Invoicing: per shipment or for the rest of an order, with gapless numbers and totals rounded to the cent."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import invoicing, orders, shipping
from oms_web.domain.errors import InvalidInput, InvalidState, NotFound
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import LineRequest
from oms_web.extensions import db
from oms_web.models import Counter, Invoice, OrderStatus


def invoice_numbers() -> list[int]:
    return db.session.scalars(sa.select(Invoice.number).order_by(Invoice.id)).all()


def invoiced_units(invoice) -> dict[str, int]:
    return {line.sku: line.quantity for line in invoice.lines}


def assert_totals_add_up(invoice) -> None:
    for line in invoice.lines:
        assert line.line_total_cents == line.quantity * line.unit_price_cents
    assert invoice.subtotal_cents == sum(line.line_total_cents for line in invoice.lines)
    assert invoice.discount_cents == sum(line.discount_cents for line in invoice.lines)
    assert invoice.tax_cents == sum(line.tax_cents for line in invoice.lines)  # no shipping tax in these orders
    assert invoice.total_cents == (invoice.subtotal_cents - invoice.discount_cents + invoice.tax_cents
                                   + invoice.shipping_cents)


@pytest.fixture
def two_shipments(shop):
    """An order of A×3 and B×4 (20% tax, 5.95 shipping) with shipment 1 = A×2 + B×1 and shipment 2 = A×1."""
    shop.product("A", in_hand=10, price_cents=1000)
    shop.product("B", in_hand=10, price_cents=250)
    order = shop.channel_order(LineRequest("A", 3), LineRequest("B", 4), shipping_cents=595)
    a, b = shop.line(order.id, "A").id, shop.line(order.id, "B").id
    first = shipping.ship_lines(shop.staff, order.id, {a: 2, b: 1})
    second = shipping.ship_lines(shop.staff, order.id, {a: 1})
    return order, first, second


def test_an_invoice_for_a_shipment_covers_only_its_units(shop, two_shipments):
    order, first, _ = two_shipments

    invoice = invoicing.issue_invoice(shop.staff, order.id, first.id)

    assert invoice.number == 1
    assert invoice.display_number == "INV-0000001"
    assert invoice.shipment_id == first.id
    assert invoiced_units(invoice) == {"A": 2, "B": 1}
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.shipping_cents, invoice.total_cents) == \
        (2250, 450, 595, 3295)
    assert_totals_add_up(invoice)
    assert (shop.line(order.id, "A").invoiced, shop.line(order.id, "B").invoiced) == (2, 1)
    event = shop.events(order.id)[-1]
    assert (event.kind, event.user_id, event.data["invoice_id"]) == ("invoiced", shop.staff.id, invoice.id)
    assert check_invariants() == []


def test_a_rest_of_order_invoice_covers_what_shipped_and_was_not_invoiced(shop, two_shipments):
    order, first, _ = two_shipments
    invoicing.issue_invoice(shop.staff, order.id, first.id)

    rest = invoicing.issue_invoice(shop.staff, order.id)

    assert rest.shipment_id is None
    assert invoiced_units(rest) == {"A": 1}
    assert (rest.subtotal_cents, rest.tax_cents, rest.shipping_cents, rest.total_cents) == (1000, 200, 0, 1200)
    assert_totals_add_up(rest)
    assert check_invariants() == []

    shipping.ship_lines(shop.staff, order.id, {shop.line(order.id, "B").id: 3})
    last = invoicing.issue_invoice(shop.staff, order.id)

    assert invoiced_units(last) == {"B": 3}
    assert [(l.sku, l.ordered, l.shipped, l.invoiced) for l in shop.order_row(order.id).lines] == \
        [("A", 3, 3, 3), ("B", 4, 4, 4)]
    assert invoice_numbers() == [1, 2, 3]
    assert check_invariants() == []


def test_a_first_rest_of_order_invoice_carries_the_shipping_charge(shop, two_shipments):
    order, _, _ = two_shipments

    invoice = invoicing.issue_invoice(shop.staff, order.id)

    assert invoiced_units(invoice) == {"A": 3, "B": 1}
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.shipping_cents, invoice.total_cents) == \
        (3250, 650, 595, 4495)
    assert check_invariants() == []


def test_invoicing_the_same_shipment_twice_is_refused(shop, two_shipments):
    order, first, _ = two_shipments
    invoicing.issue_invoice(shop.staff, order.id, first.id)

    shop.refused(InvalidState, invoicing.issue_invoice, shop.staff, order.id, first.id,
                           match="invoiced already")


def test_a_shipment_whose_units_a_rest_of_order_invoice_covered_cannot_be_invoiced_again(shop, two_shipments):
    order, first, second = two_shipments
    invoicing.issue_invoice(shop.staff, order.id)  # every shipped unit

    for shipment in (first, second):
        shop.refused(InvalidState, invoicing.issue_invoice, shop.staff, order.id, shipment.id,
                               match="invoiced already")


def test_a_rest_of_order_invoice_after_every_shipment_was_invoiced_is_refused(shop, two_shipments):
    order, first, second = two_shipments
    invoicing.issue_invoice(shop.staff, order.id, first.id)
    invoicing.issue_invoice(shop.staff, order.id, second.id)

    shop.refused(InvalidState, invoicing.issue_invoice, shop.staff, order.id,
                           match="no shipped units")


def test_an_order_with_nothing_shipped_has_nothing_to_invoice(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))

    shop.refused(InvalidState, invoicing.issue_invoice, shop.staff, order.id,
                           match="no shipped units")


def test_drafts_and_void_orders_cannot_be_invoiced(shop):
    shop.product("A", in_hand=5)
    draft = shop.draft(("A", 1))
    voided = shop.web_order(("A", 1))
    orders.void_order(shop.admin, voided.id, "customer cancelled")

    for order in (draft, voided):
        shop.refused(InvalidState, invoicing.issue_invoice, shop.staff, order.id,
                               match="nothing to invoice")


def test_a_shipment_of_another_order_cannot_be_invoiced_on_this_one(shop, two_shipments):
    order, first, _ = two_shipments
    other = shop.web_order(("A", 1))

    error = shop.refused(InvalidInput, invoicing.issue_invoice, shop.staff, other.id, first.id)
    assert error.field == "shipment"
    shop.refused(InvalidInput, invoicing.issue_invoice, shop.staff, order.id, 4242)


def test_invoicing_a_missing_order_is_refused(shop):
    shop.refused(NotFound, invoicing.issue_invoice, shop.staff, 4242)


def test_a_fulfilled_order_can_still_be_invoiced(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2})
    shipping.mark_shipped(shop.staff, shipment.id, "UPS", "1Z1")
    shipping.mark_delivered(shop.staff, shipment.id)
    assert shop.order_row(order.id).status is OrderStatus.FULFILLED

    invoice = invoicing.issue_invoice(shop.staff, order.id, shipment.id)

    assert invoiced_units(invoice) == {"A": 2}
    assert check_invariants() == []


def test_invoice_numbers_stay_gapless_across_refused_attempts_and_orders(shop, two_shipments):
    order, first, second = two_shipments
    other = shop.web_order(("A", 1))
    other_shipment = shipping.ship_lines(shop.staff, other.id, {other.lines[0].id: 1})

    assert invoicing.issue_invoice(shop.staff, order.id, first.id).number == 1
    with pytest.raises(InvalidState):
        invoicing.issue_invoice(shop.staff, order.id, first.id)
    assert invoicing.issue_invoice(shop.staff, other.id, other_shipment.id).number == 2
    with pytest.raises(InvalidState):
        invoicing.issue_invoice(shop.staff, other.id)
    with pytest.raises(InvalidInput):
        invoicing.issue_invoice(shop.staff, other.id, second.id)
    assert invoicing.issue_invoice(shop.staff, order.id).number == 3

    assert invoice_numbers() == [1, 2, 3]
    assert db.session.get(Counter, invoicing.INVOICE_COUNTER, populate_existing=True).value == 3
    assert check_invariants() == []


def test_only_the_first_invoice_of_an_order_carries_the_shipping_charge(shop, two_shipments):
    order, first, second = two_shipments

    invoices = [invoicing.issue_invoice(shop.staff, order.id, s.id) for s in (second, first)]

    assert [i.shipping_cents for i in invoices] == [595, 0]
    assert sum(i.shipping_cents for i in shop.order_row(order.id).invoices) == shop.order_row(order.id).shipping_cents


def test_invoice_tax_is_rounded_half_up_per_line_to_the_cent(shop):
    shop.product("P", in_hand=10, price_cents=333, tax_rate_bp=1500)
    shop.product("Q", in_hand=10, price_cents=1999)
    order = shop.channel_order(LineRequest("P", 4), LineRequest("Q", 3), LineRequest("Q", 1, unit_price_cents=1),
                               shipping_cents=101)
    p, q, q_cheap = (line.id for line in shop.order_row(order.id).lines)
    first = shipping.ship_lines(shop.staff, order.id, {p: 1, q: 3, q_cheap: 1})
    second = shipping.ship_lines(shop.staff, order.id, {p: 3})

    one = invoicing.issue_invoice(shop.staff, order.id, first.id)
    two = invoicing.issue_invoice(shop.staff, order.id, second.id)

    assert [(l.sku, l.line_total_cents, l.tax_cents) for l in one.lines] == \
        [("P", 333, 50), ("Q", 5997, 1199), ("Q", 1, 0)]   # 49.95 -> 50, 1199.4 -> 1199, 0.2 -> 0
    assert (one.subtotal_cents, one.tax_cents, one.shipping_cents, one.total_cents) == (6331, 1249, 101, 7681)
    assert [(l.sku, l.line_total_cents, l.tax_cents) for l in two.lines] == [("P", 999, 150)]  # 149.85 -> 150
    assert (two.subtotal_cents, two.tax_cents, two.shipping_cents, two.total_cents) == (999, 150, 0, 1149)
    for invoice in (one, two):
        assert_totals_add_up(invoice)
    assert check_invariants() == []


def test_invoiced_units_never_exceed_shipped_units(shop, two_shipments):
    order, first, second = two_shipments
    invoicing.issue_invoice(shop.staff, order.id, second.id)
    invoicing.issue_invoice(shop.staff, order.id)
    with pytest.raises(InvalidState):
        invoicing.issue_invoice(shop.staff, order.id, first.id)

    for line in shop.order_row(order.id).lines:
        assert 0 <= line.invoiced <= line.shipped
        assert line.invoiced == sum(il.quantity for inv in shop.order_row(order.id).invoices for il in inv.lines
                                    if il.order_line_id == line.id)
    assert check_invariants() == []


# ---------------------------------------------------------------- to the cent (issues 11 and 13)

def invoice_unit_by_unit(shop, order_id: int, line_id: int, units: int) -> list:
    for _ in range(units):
        shipment = shipping.ship_lines(shop.staff, order_id, {line_id: 1})
        invoicing.issue_invoice(shop.staff, order_id, shipment.id)
    return shop.order_row(order_id).invoices


def test_partial_invoices_add_up_to_the_orders_tax_with_no_rounding_drift(shop):
    """3 × 3.33 at 20%: the line's tax is 2.00 (199.8 cents); rounded per invoice, three invoices of one
    unit each would charge 0.67 three times, 2.01."""
    shop.product("PEN", in_hand=10, price_cents=333, tax_rate_bp=2000)
    order = shop.channel_order(LineRequest("PEN", 3), shipping_cents=495)
    assert order.tax_cents == 200

    invoices = invoice_unit_by_unit(shop, order.id, order.lines[0].id, 3)

    assert [i.tax_cents for i in invoices] == [67, 66, 67]
    assert sum(i.tax_cents for i in invoices) == order.tax_cents
    assert sum(i.total_cents for i in invoices) == order.total_cents
    assert [i.shipping_cents for i in invoices] == [495, 0, 0]  # shipping goes on the first invoice
    assert check_invariants() == []


def test_an_order_discount_is_spread_over_the_lines_and_their_invoices_to_the_cent(shop):
    shop.product("A", in_hand=10, price_cents=1000, tax_rate_bp=2000)
    shop.product("B", in_hand=10, price_cents=333, tax_rate_bp=2000)
    order = orders.create_order(None, orders.NewOrder(
        channel_id=shop.web.id, channel_order_id="W-DISCOUNT", lines=[LineRequest("A", 3), LineRequest("B", 3)],
        customer=orders.CustomerDetails(name="Ada Lovelace"), discount_cents=100, shipping_cents=500,
        shipping_tax_cents=100))
    a, b = order.lines
    # 1.00 off 30.00 and 9.99 in proportion: 0.75 and 0.25; tax at 20% on what is left.
    assert (a.discount_cents, b.discount_cents) == (75, 25)
    assert (order.subtotal_cents, order.discount_cents, order.shipping_cents) == (3999, 100, 500)
    assert order.tax_cents == 585 + 195 + 100
    assert order.total_cents == 3999 - 100 + 500 + 880

    invoice_unit_by_unit(shop, order.id, a.id, 3)
    shipment = shipping.ship_lines(shop.staff, order.id, {b.id: 3})
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    invoices = shop.order_row(order.id).invoices

    assert [i.discount_cents for i in invoices] == [25, 25, 25, 25]
    assert sum(i.tax_cents for i in invoices) == order.tax_cents
    assert sum(i.total_cents for i in invoices) == order.total_cents
    assert check_invariants() == []


def test_a_channel_lines_stated_tax_and_discount_follow_a_quantity_cut(shop):
    shop.product("A", in_hand=10, price_cents=1000)
    order = shop.channel_order(LineRequest("A", 4, unit_price_cents=1000, discount_cents=400, tax_cents=720))
    orders.edit_order(shop.staff, order.id, [orders.LineChange(quantity=3, line_id=order.lines[0].id)])
    line = shop.line(order.id, "A")
    assert (line.discount_cents, line.tax_cents) == (300, 540)
    assert shop.order_row(order.id).total_cents == 3000 - 300 + 540


def test_a_line_cut_to_what_was_invoiced_keeps_the_order_equal_to_its_invoices(shop):
    """3 × 1.01 at 20%: the line's tax is 0.61 and two units' share of it 0.41; cut to those two units,
    the line's tax must stay what its invoices charged (at the rate alone it would be 0.40)."""
    shop.product("NUT", in_hand=10, price_cents=101, tax_rate_bp=2000)
    order = shop.channel_order(LineRequest("NUT", 3))
    line_id = order.lines[0].id
    shipment = shipping.ship_lines(shop.staff, order.id, {line_id: 2})
    invoice = invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    assert invoice.tax_cents == 41

    orders.edit_order(shop.staff, order.id, [orders.LineChange(quantity=2, line_id=line_id)])

    order = shop.order_row(order.id)
    assert (order.tax_cents, order.total_cents) == (41, 202 + 41) == (invoice.tax_cents, invoice.total_cents)
    assert check_invariants() == []

    orders.edit_order(shop.staff, order.id, [orders.LineChange(quantity=4, line_id=line_id)])  # and up again
    shipment = shipping.ship_lines(shop.staff, order.id, {line_id: 2})
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    order = shop.order_row(order.id)
    assert order.tax_cents == 41 + 41  # its invoiced figures fixed, the line's tax goes on in proportion
    assert sum(i.total_cents for i in order.invoices) == order.total_cents
    assert check_invariants() == []


# ---------------------------------------------------------------- what each invoice covers (issue 13)

def test_a_rest_of_order_invoice_records_the_shipments_it_covers(shop, two_shipments):
    order, first, second = two_shipments
    invoice = invoicing.issue_invoice(shop.staff, order.id)

    assert invoice.shipment_numbers == [first.number, second.number]
    assert sorted((c.shipment_line.shipment_id, c.quantity) for c in invoice.covered) == \
        [(first.id, 1), (first.id, 2), (second.id, 1)]
    assert check_invariants() == []


def test_a_shipment_a_rest_of_order_invoice_covered_is_refused_even_after_more_units_shipped(shop):
    """The rest-of-order invoice charged for shipment 1; shipment 2 came later with as many units. Counting
    units alone, shipment 1 looked invoiceable again (invoiced 2 + 2 <= shipped 4) and its invoice charged
    for shipment 2's units under shipment 1's name."""
    shop.product("A", in_hand=10, price_cents=1000)
    order = shop.channel_order(LineRequest("A", 4))
    a = shop.line(order.id, "A").id
    first = shipping.ship_lines(shop.staff, order.id, {a: 2})
    rest = invoicing.issue_invoice(shop.staff, order.id)
    second = shipping.ship_lines(shop.staff, order.id, {a: 2})

    error = shop.refused(InvalidState, invoicing.issue_invoice, shop.staff, order.id, first.id)
    assert error.message == f"The units of {first.number} were invoiced already on {rest.display_number} (shipped, not invoiced)"

    later = invoicing.issue_invoice(shop.staff, order.id, second.id)
    assert later.shipment_numbers == [second.number]
    invoices = shop.order_row(order.id).invoices
    assert sum(i.total_cents for i in invoices) == shop.order_row(order.id).total_cents
    assert sum(i.tax_cents for i in invoices) == shop.order_row(order.id).tax_cents
    assert check_invariants() == []


def test_a_rest_of_order_invoice_covers_only_shipments_not_invoiced_on_their_own(shop, two_shipments):
    order, first, second = two_shipments
    invoicing.issue_invoice(shop.staff, order.id, first.id)

    rest = invoicing.issue_invoice(shop.staff, order.id)

    assert rest.shipment_numbers == [second.number]
    assert check_invariants() == []


def test_the_coverage_invariant_finds_a_unit_invoiced_twice(shop, two_shipments):
    order, first, _ = two_shipments
    rest = invoicing.issue_invoice(shop.staff, order.id)
    # What the old service allowed: a per-shipment invoice over units a rest-of-order invoice covered.
    db.session.execute(sa.update(Invoice).where(Invoice.id == rest.id).values(shipment_id=first.id))
    db.session.commit()

    assert {v.rule for v in check_invariants()} == {"8 invoices cover what shipped"}
