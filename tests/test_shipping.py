"""Shipping services: packing allocated units into shipments, handing them over, seeing them delivered."""
from __future__ import annotations

import pytest

from oms_web.domain import invoicing, orders, shipping
from oms_web.domain.errors import InvalidInput, InvalidState, NotFound, QuantityTooLarge, Shortfall
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineChange, LineRequest, NewOrder
from oms_web.models import ChannelKind, OrderStatus, PaymentStatus, Segment, ShipmentStatus


def ship_and_deliver(shop, order_id: int, quantities: dict[int, int]):
    shipment = shipping.ship_lines(shop.staff, order_id, quantities)
    shipping.mark_shipped(shop.staff, shipment.id, "UPS", f"1Z{shipment.id:08d}")
    shipping.mark_delivered(shop.staff, shipment.id)
    return shipment


# -------------------------------------------------------------------------------------------- pack

def test_a_shipment_can_carry_some_units_of_some_lines(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = shop.web_order(("A", 3), ("B", 2))
    a, b = shop.line(order.id, "A").id, shop.line(order.id, "B").id

    first = shipping.ship_lines(shop.staff, order.id, {a: 2})

    assert first.status is ShipmentStatus.PACKED
    assert [(sl.order_line_id, sl.quantity) for sl in first.lines] == [(a, 2)]
    assert (shop.line(order.id, "A").shipped, shop.line(order.id, "B").shipped) == (2, 0)
    assert shop.stock("A") == (3, 1)
    assert shop.stock("B") == (5, 2)
    assert shop.order_row(order.id).segment is Segment.READY_TO_SHIP  # packed, not shipped: more to pick
    row = shop.ledger("A")[-1]
    assert (row.reason, row.in_hand_delta, row.committed_delta, row.shipment_id, row.order_id, row.user_id) == \
        ("ship", -2, -2, first.id, order.id, shop.staff.id)
    event = shop.events(order.id)[-1]
    assert (event.kind, event.user_id, event.data["shipment_id"]) == ("shipment_created", shop.staff.id, first.id)
    assert check_invariants() == []

    second = shipping.ship_lines(shop.staff, order.id, {a: 1, b: 2})

    assert [(sl.order_line_id, sl.quantity) for sl in second.lines] == [(a, 1), (b, 2)]
    assert shop.stock("A") == (2, 0)
    assert shop.stock("B") == (3, 0)
    order = shop.order_row(order.id)
    assert order.segment is Segment.PACKED  # on the bench until the carrier has them
    assert order.status is OrderStatus.FINALIZED
    assert check_invariants() == []


def test_lines_left_at_zero_are_not_part_of_the_shipment(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = shop.web_order(("A", 3), ("B", 2))
    a, b = shop.line(order.id, "A").id, shop.line(order.id, "B").id

    shipment = shipping.ship_lines(shop.staff, order.id, {a: 0, b: 1})

    assert [(sl.order_line_id, sl.quantity) for sl in shipment.lines] == [(b, 1)]
    assert check_invariants() == []


def test_a_backordered_line_ships_what_is_allocated(shop):
    shop.product("A", in_hand=2)
    order = shop.web_order(("A", 5))
    a = order.lines[0].id

    shipping.ship_lines(shop.staff, order.id, {a: 2})

    assert (shop.line(order.id, "A").allocated, shop.line(order.id, "A").shipped) == (2, 2)
    assert shop.stock("A") == (0, 0)
    assert shop.order_row(order.id).segment is Segment.PACKED  # nothing more to pick until stock comes
    assert check_invariants() == []


def test_shipping_more_than_allocated_is_refused_with_every_shortfall_and_changes_nothing(shop):
    shop.product("A", in_hand=2)
    shop.product("B", in_hand=1)
    shop.product("C", in_hand=9)
    order = shop.web_order(("A", 3), ("B", 2), ("C", 1))
    a, b, c = (shop.line(order.id, sku).id for sku in "ABC")

    error = shop.refused(QuantityTooLarge, shipping.ship_lines, shop.staff, order.id,
                                   {a: 3, b: 2, c: 1})

    assert error.shortfalls == [Shortfall("A", 3, 2), Shortfall("B", 2, 1)]
    assert "A: asked for 3, only 2 possible" in error.message
    assert "B: asked for 2, only 1 possible" in error.message
    assert error.field == "quantities"


def test_units_already_shipped_cannot_ship_again(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 3))
    a = order.lines[0].id
    shipping.ship_lines(shop.staff, order.id, {a: 2})

    error = shop.refused(QuantityTooLarge, shipping.ship_lines, shop.staff, order.id, {a: 2})
    assert error.shortfalls == [Shortfall("A", 2, 1)]


def test_shipping_a_line_of_another_order_is_refused(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 1))
    other = shop.web_order(("A", 1))

    shop.refused(InvalidInput, shipping.ship_lines, shop.staff, order.id,
                           {order.lines[0].id: 1, other.lines[0].id: 1}, match="not on")
    shop.refused(InvalidInput, shipping.ship_lines, shop.staff, order.id, {4242: 1})


@pytest.mark.parametrize("quantities", [{}, "zero"])
def test_a_shipment_of_no_units_is_refused(shop, quantities):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 1))
    if quantities == "zero":
        quantities = {order.lines[0].id: 0}

    shop.refused(InvalidInput, shipping.ship_lines, shop.staff, order.id, quantities,
                           match="at least one unit")


@pytest.mark.parametrize("quantity", [-1, 1.5, "1", None, True, 10**9])
def test_shipping_a_bad_quantity_is_refused(shop, quantity):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    a = order.lines[0].id

    error = shop.refused(InvalidInput, shipping.ship_lines, shop.staff, order.id, {a: quantity})
    assert error.field == f"qty-{a}"


def test_shipping_a_missing_order_is_refused(shop):
    shop.refused(NotFound, shipping.ship_lines, shop.staff, 4242, {1: 1})


def _awaiting_payment(shop):
    return shop.web_order(("A", 1), payment=PaymentStatus.PENDING)


def _held(shop):
    return shop.web_order(("A", 1), ("MYSTERY", 1))


def _draft(shop):
    return shop.draft(("A", 1))


def _void(shop):
    order = shop.web_order(("A", 1))
    orders.void_order(shop.admin, order.id, "customer cancelled")
    return order


def _fulfilled(shop):
    order = shop.web_order(("A", 1))
    ship_and_deliver(shop, order.id, {order.lines[0].id: 1})
    return order


@pytest.mark.parametrize("make, error", [(_awaiting_payment, "awaiting payment"), (_held, "on hold"),
                                         (_draft, "draft"), (_void, "void"), (_fulfilled, "fulfilled")])
def test_orders_that_may_not_ship(shop, make, error):
    shop.product("A", in_hand=5)
    order = make(shop)
    line_id = shop.order_row(order.id).lines[0].id

    shop.refused(InvalidState, shipping.ship_lines, shop.staff, order.id, {line_id: 1}, match=error)


# ----------------------------------------------------------------------------- hand over, deliver

@pytest.mark.parametrize("carrier", ["", "  ", None])
def test_handing_a_parcel_over_needs_a_carrier(shop, carrier):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 1))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})

    error = shop.refused(InvalidInput, shipping.mark_shipped, shop.staff, shipment.id, carrier, "1Z1")
    assert error.field == "carrier"


@pytest.mark.parametrize("tracking", ["", "   ", None])
def test_a_marketplace_parcel_is_handed_over_only_with_a_tracking_number(shop, tracking):
    amazon = shop.channel("Amazon US", ChannelKind.AMAZON)
    shop.product("A", in_hand=5)
    order = orders.create_order(None, NewOrder(
        channel_id=amazon.id, channel_order_id="111-0000001-0000001",
        customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com"), lines=[LineRequest("A", 1)]))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="UPS")

    error = shop.refused(InvalidInput, shipping.mark_shipped, shop.staff, shipment.id, "UPS", tracking,
                         match="Amazon is told of the shipment")
    assert error.field == "tracking_number"


def test_a_web_store_parcel_can_be_handed_over_with_the_carrier_it_was_packed_for(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 1))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="DPD")

    shipping.mark_shipped(shop.staff, shipment.id)

    shipment = shop.order_row(order.id).shipments[0]
    assert (shipment.status, shipment.carrier, shipment.tracking_number) == (ShipmentStatus.SHIPPED, "DPD", None)
    assert shop.order_row(order.id).segment is Segment.IN_TRANSIT


def test_marking_a_shipment_shipped_records_carrier_and_tracking(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 1))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})

    shipping.mark_shipped(shop.manager, shipment.id, " UPS ", " 1Z999AA10123456784 ")

    shipment = shop.order_row(order.id).shipments[0]
    assert shipment.status is ShipmentStatus.SHIPPED
    assert (shipment.carrier, shipment.tracking_number) == ("UPS", "1Z999AA10123456784")
    assert shipment.shipped_at is not None
    event = shop.events(order.id)[-1]
    assert (event.kind, event.user_id) == ("shipment_shipped", shop.manager.id)
    assert "1Z999AA10123456784" in event.message
    assert check_invariants() == []

    shop.refused(InvalidState, shipping.mark_shipped, shop.staff, shipment.id, "FedEx", "123")


def test_a_shipment_is_delivered_only_after_it_has_shipped(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 1))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})

    shop.refused(InvalidState, shipping.mark_delivered, shop.staff, shipment.id,
                           match="only a parcel with the carrier can be delivered")

    shipping.mark_shipped(shop.staff, shipment.id, "UPS", "1Z1")
    shipping.mark_delivered(shop.staff, shipment.id)
    assert shop.order_row(order.id).shipments[0].status is ShipmentStatus.DELIVERED
    assert shop.order_row(order.id).shipments[0].delivered_at is not None
    assert check_invariants() == []

    shop.refused(InvalidState, shipping.mark_delivered, shop.staff, shipment.id)


def test_handing_over_or_delivering_a_missing_shipment_is_refused(shop):
    shop.refused(NotFound, shipping.mark_shipped, shop.staff, 4242, "UPS", "1Z1")
    shop.refused(NotFound, shipping.mark_delivered, shop.staff, 4242)


# ---------------------------------------------------------------------------------------- fulfilled

def test_an_order_is_fulfilled_only_once_every_unit_shipped_and_every_shipment_delivered(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 4))
    a = order.lines[0].id

    ship_and_deliver(shop, order.id, {a: 2})
    assert shop.order_row(order.id).status is OrderStatus.FINALIZED  # 2 units not shipped yet
    assert shop.order_row(order.id).segment is Segment.PARTIALLY_SHIPPED

    second = shipping.ship_lines(shop.staff, order.id, {a: 2})
    assert shop.order_row(order.id).status is OrderStatus.FINALIZED
    assert shop.order_row(order.id).segment is Segment.PARTIALLY_SHIPPED  # the second parcel is on the bench
    shipping.mark_shipped(shop.staff, second.id, "UPS", "1Z2")
    assert shop.order_row(order.id).segment is Segment.IN_TRANSIT
    assert shop.order_row(order.id).status is OrderStatus.FINALIZED  # handed over, not received
    assert check_invariants() == []

    shipping.mark_delivered(shop.manager, second.id)

    order = shop.order_row(order.id)
    assert order.status is OrderStatus.FULFILLED
    assert order.segment is Segment.FULFILLED
    assert order.fulfilled_at is not None
    assert [(e.kind, e.user_id) for e in shop.events(order.id)][-2:] == \
        [("shipment_delivered", shop.manager.id), ("fulfilled", shop.manager.id)]
    assert check_invariants() == []


def test_an_order_is_not_fulfilled_while_an_earlier_shipment_is_still_on_its_way(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    a = order.lines[0].id
    first = shipping.ship_lines(shop.staff, order.id, {a: 1})
    shipping.mark_shipped(shop.staff, first.id, "UPS", "1Z1")

    ship_and_deliver(shop, order.id, {a: 1})
    assert shop.order_row(order.id).status is OrderStatus.FINALIZED
    assert shop.order_row(order.id).segment is Segment.IN_TRANSIT

    shipping.mark_delivered(shop.staff, first.id)
    assert shop.order_row(order.id).status is OrderStatus.FULFILLED
    assert check_invariants() == []


def test_cutting_a_quantity_down_to_what_shipped_fulfils_an_order_whose_shipments_are_delivered(shop):
    shop.product("A", in_hand=2)
    shop.product("B", in_hand=1)
    order = shop.web_order(("A", 5), ("B", 1))  # A: 2 allocated, 3 backordered
    a, b = shop.line(order.id, "A").id, shop.line(order.id, "B").id
    ship_and_deliver(shop, order.id, {a: 2, b: 1})
    assert shop.order_row(order.id).status is OrderStatus.FINALIZED

    orders.edit_order(shop.staff, order.id, [LineChange(2, line_id=a)])

    order = shop.order_row(order.id)
    assert order.status is OrderStatus.FULFILLED
    assert order.segment is Segment.FULFILLED
    assert order.fulfilled_at is not None
    assert [(e.kind, e.user_id) for e in shop.events(order.id)][-2:] == \
        [("edited", shop.staff.id), ("fulfilled", shop.staff.id)]
    assert check_invariants() == []


def test_removing_the_unshipped_line_fulfils_an_order_whose_shipments_are_delivered(shop):
    shop.product("A", in_hand=1)
    shop.product("B")
    order = shop.web_order(("A", 1), ("B", 1))
    ship_and_deliver(shop, order.id, {shop.line(order.id, "A").id: 1})

    orders.edit_order(shop.staff, order.id, [LineChange(0, line_id=shop.line(order.id, "B").id)])

    assert shop.order_row(order.id).status is OrderStatus.FULFILLED
    assert check_invariants() == []


# -------------------------------------------------------------------------------------------- cancel

def test_cancelling_a_packed_parcel_puts_its_units_back_allocated_and_says_so(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = shop.web_order(("A", 3), ("B", 2))
    a, b = shop.line(order.id, "A").id, shop.line(order.id, "B").id
    parcel = shipping.ship_lines(shop.staff, order.id, {a: 3, b: 1})
    assert shop.stock("A") == (2, 0)

    shipping.cancel_shipment(shop.manager, parcel.id)

    assert shop.stock("A") == (5, 3) and shop.stock("B") == (5, 2)
    line_a, line_b = shop.line(order.id, "A"), shop.line(order.id, "B")
    assert (line_a.allocated, line_a.shipped, line_b.allocated, line_b.shipped) == (3, 0, 2, 0)
    order_row = shop.order_row(order.id)
    assert order_row.segment is Segment.READY_TO_SHIP
    assert order_row.shipments[0].status is ShipmentStatus.CANCELLED and order_row.shipments[0].cancelled_at
    row = shop.ledger("A")[-1]
    assert (row.reason, row.in_hand_delta, row.committed_delta, row.shipment_id, row.user_id) == \
        ("unpack", 3, 3, parcel.id, shop.manager.id)
    event = shop.events(order.id)[-1]
    assert (event.kind, event.user_id, event.data["shipment_id"]) == ("shipment_cancelled", shop.manager.id, parcel.id)
    assert "label is void" in event.message
    assert check_invariants() == []

    again = shipping.ship_lines(shop.staff, order.id, {a: 3, b: 2})  # packed again, right this time
    assert shop.order_row(order.id).segment is Segment.PACKED and again.id != parcel.id
    assert check_invariants() == []


def test_a_parcel_the_carrier_has_cannot_be_cancelled_and_nothing_changes(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    parcel = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2})
    shipping.mark_shipped(shop.staff, parcel.id, "UPS", "1Z1")

    shop.refused(InvalidState, shipping.cancel_shipment, shop.staff, parcel.id, match="only a packed parcel")
    shipping.mark_delivered(shop.staff, parcel.id)
    shop.refused(InvalidState, shipping.cancel_shipment, shop.staff, parcel.id, match="delivered")
    shop.refused(NotFound, shipping.cancel_shipment, shop.staff, 4242)


def test_a_cancelled_parcel_cannot_be_cancelled_handed_over_or_invoiced(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    parcel = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2})
    shipping.cancel_shipment(shop.staff, parcel.id)

    shop.refused(InvalidState, shipping.cancel_shipment, shop.staff, parcel.id, match="cancelled")
    shop.refused(InvalidState, shipping.mark_shipped, shop.staff, parcel.id, "UPS", "1Z1", match="cancelled")
    shop.refused(InvalidState, invoicing.issue_invoice, shop.staff, order.id, parcel.id, match="cancelled")
    shop.refused(InvalidState, invoicing.issue_invoice, shop.staff, order.id, match="")


def test_an_invoiced_parcel_cannot_be_cancelled(shop):
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    parcel = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2})
    invoicing.issue_invoice(shop.staff, order.id)  # the rest-of-order invoice covers the packed units

    shop.refused(InvalidState, shipping.cancel_shipment, shop.staff, parcel.id, match="invoiced on invoice 1")


def test_a_parcel_takes_its_channels_default_carrier_and_service_unless_the_packer_chose_others(shop):
    shop.web.default_carrier, shop.web.default_service = "DPD", "Next day"
    shop.product("A", in_hand=5)
    order = shop.web_order(("A", 2))
    line_id = order.lines[0].id

    defaulted = shipping.ship_lines(shop.staff, order.id, {line_id: 1})
    chosen = shipping.ship_lines(shop.staff, order.id, {line_id: 1}, carrier="UPS", service_level="Ground")

    assert (defaulted.carrier, defaulted.service_level) == ("DPD", "Next day")
    assert (chosen.carrier, chosen.service_level) == ("UPS", "Ground")


def test_a_line_a_cancelled_parcel_carried_can_still_be_cut_to_nothing(shop):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = shop.web_order(("A", 2), ("B", 1))
    a = shop.line(order.id, "A").id
    parcel = shipping.ship_lines(shop.staff, order.id, {a: 2})
    shipping.cancel_shipment(shop.staff, parcel.id)

    orders.edit_order(shop.staff, order.id, [LineChange(0, line_id=a)])

    line = shop.line(order.id, "A")  # kept at 0 for the cancelled parcel's record
    assert (line.ordered, line.allocated, line.shipped) == (0, 0, 0)
    assert shop.stock("A") == (5, 0)
    assert [(sl.order_line_id, sl.quantity) for sl in shop.order_row(order.id).shipments[0].lines] == [(a, 2)]
    assert shop.order_row(order.id).segment is Segment.READY_TO_SHIP
    assert check_invariants() == []
