"""Bulk shipping from the board: each order all or nothing through the single-order services, the
refused ones listed with their reason, the others done; stock, ledger and invariants hold."""
from __future__ import annotations

import pytest

from oms_web.domain import bulk_shipping, shipping
from oms_web.domain.errors import InvalidInput
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import PaymentStatus, Segment, Shipment, ShipmentStatus

from .stock_checks import idle_stock_beside_backorders


def channel_defaults(monkeypatch, channel, carrier: str, service: str) -> None:
    """The channel's default carrier and service, as the admin sets them on the channel's page."""
    channel.default_carrier, channel.default_service = carrier, service
    db.session.commit()


def reasons(result) -> dict[int, str]:
    return {o.order_id: o.reason for o in result.refused}


def test_a_mixed_batch_packs_the_ready_orders_and_lists_each_refused_one_with_its_reason(shop):
    shop.product("TENT", in_hand=10)
    shop.product("MUG", in_hand=0)
    ready = shop.web_order(("TENT", 2))
    unpaid = shop.web_order(("TENT", 1), payment=PaymentStatus.PENDING)
    held = shop.web_order(("TENT", 1), ("MYSTERY", 1))  # an unknown SKU: held under Needs attention
    waiting = shop.web_order(("MUG", 1))
    already = shop.web_order(("TENT", 1))
    first = bulk_shipping.create_shipments(shop.staff, [already.id])
    assert [o.done for o in first.outcomes] == [True]

    result = bulk_shipping.create_shipments(shop.staff, [waiting.id, held.id, ready.id, unpaid.id, already.id, 999_999])

    assert [o.order_id for o in result.done] == [ready.id]
    why = reasons(result)
    assert "awaiting payment" in why[unpaid.id]
    assert "on hold" in why[held.id] and "MYSTERY" in why[held.id]
    assert "nothing allocated" in why[waiting.id]
    assert "already packed" in why[already.id] and "SH-" in why[already.id]
    assert why[999_999] == "There is no order SO-999999"
    assert [o.order_id for o in result.outcomes] == sorted(o.order_id for o in result.outcomes)  # the lock order
    order = shop.order_row(ready.id)
    (shipment,) = order.shipments
    assert shipment.status is ShipmentStatus.PACKED and shipment.id in result.shipment_ids
    assert [(sl.order_line_id, sl.quantity) for sl in shipment.lines] == [(order.lines[0].id, 2)]
    assert order.segment is Segment.PACKED
    assert shop.stock("TENT")[0] == 10 - 2 - 1  # ready's two units and already's one have left the shelf
    assert check_invariants() == [] and idle_stock_beside_backorders() == []


def test_bulk_create_takes_the_channels_default_carrier_and_else_the_orders_service_level(shop, monkeypatch):
    shop.product("TENT", in_hand=5)
    order = shop.web_order(("TENT", 1))
    order.service_level = "Economy"
    db.session.commit()
    plain = bulk_shipping.create_shipments(shop.staff, [order.id])
    assert [(s.carrier, s.service_level) for s in shop.order_row(order.id).shipments] == [(None, "Economy")]
    shipping.cancel_shipment(shop.staff, plain.shipment_ids[0])
    channel_defaults(monkeypatch, shop.web, "DPD", "Next day")
    result = bulk_shipping.create_shipments(shop.staff, [order.id])
    shipment = db.session.get(Shipment, result.shipment_ids[0])
    assert (shipment.carrier, shipment.service_level) == ("DPD", "Next day")


def test_each_order_is_all_or_nothing_when_handing_over(shop):
    """An order with two packed parcels, one of which cannot go (a marketplace parcel needs a tracking
    number): neither goes; the other order's parcel goes."""
    shop.product("TENT", in_hand=10)
    two = shop.web_order(("TENT", 2))
    line = two.lines[0]
    shipping.ship_lines(shop.staff, two.id, {line.id: 1}, carrier="UPS", tracking_number="1Z1")
    shipping.ship_lines(shop.staff, two.id, {line.id: 1})  # no carrier: it cannot be handed over yet
    one = shop.web_order(("TENT", 1))
    shipping.ship_lines(shop.staff, one.id, {one.lines[0].id: 1}, carrier="DHL")
    before = shop.snapshot()["shipments"]

    result = bulk_shipping.hand_over(shop.staff, [two.id, one.id])

    assert [o.order_id for o in result.done] == [one.id]
    assert "Enter the carrier of SH-" in reasons(result)[two.id]
    statuses = {s.id: s.status for s in shop.order_row(two.id).shipments}
    assert set(statuses.values()) == {ShipmentStatus.PACKED}
    assert [s for s in before if s[0] in statuses] == [s for s in shop.snapshot()["shipments"] if s[0] in statuses]
    assert shop.order_row(one.id).shipments[0].status is ShipmentStatus.SHIPPED
    assert check_invariants() == []


def test_create_hand_over_deliver_takes_a_batch_to_fulfilled_and_refuses_the_steps_out_of_turn(shop, monkeypatch):
    channel_defaults(monkeypatch, shop.web, "UPS", "Ground")
    shop.product("TENT", in_hand=10)
    batch = [shop.web_order(("TENT", 1)) for _ in range(3)]
    ids = [o.id for o in batch]
    early = bulk_shipping.mark_delivered(shop.staff, ids)
    assert not early.done and all("no parcel with the carrier" in r for r in reasons(early).values())
    assert len(bulk_shipping.create_shipments(shop.staff, ids).done) == 3
    not_yet = bulk_shipping.mark_delivered(shop.staff, ids)
    assert all("is packed, not yet handed over" in r for r in reasons(not_yet).values())
    handed = bulk_shipping.hand_over(shop.staff, ids)
    assert len(handed.done) == 3 and len(handed.shipment_ids) == 3
    again = bulk_shipping.hand_over(shop.staff, ids)
    assert all("the carrier already has it" in r for r in reasons(again).values())
    assert len(bulk_shipping.mark_delivered(shop.staff, ids).done) == 3
    assert {shop.order_row(i).segment for i in ids} == {Segment.FULFILLED}
    assert shop.stock("TENT") == (7, 0)
    assert check_invariants() == [] and idle_stock_beside_backorders() == []


def test_progress_is_reported_as_the_orders_are_done(shop):
    shop.product("TENT", in_hand=10)
    ids = [shop.web_order(("TENT", 1)).id for _ in range(5)]
    seen = []
    bulk_shipping.create_shipments(shop.staff, ids, progress=lambda done, total: seen.append((done, total)), every=2)
    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_no_orders_or_too_many_are_refused_before_anything_changes(shop):
    with pytest.raises(InvalidInput, match="Select at least one order"):
        bulk_shipping.create_shipments(shop.staff, [])
    with pytest.raises(InvalidInput, match="at most 5,000"):
        bulk_shipping.hand_over(shop.staff, range(1, bulk_shipping.MAX_ORDERS + 2))
