"""Hand-over to the carrier: the packed parcels per carrier, scanning a label, handing parcels over in one
action with a manifest, and every refusal reported with its reason while the other parcels still go."""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa

from oms_web.domain import handover, orders, shipping
from oms_web.domain.errors import InvalidInput, InvalidState, NotFound
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import (ChannelKind, Manifest, ManifestParcel, OrderEvent, Product, Segment, Shipment,
                            ShipmentConfirmation, ShipmentStatus)


_numbers = itertools.count(1)


def packed(shop, carrier: str | None = "UPS", tracking: str | None = None, sku: str = "A", channel=None):
    """A one-unit order packed in one parcel for `carrier`."""
    if db.session.scalar(sa.select(Product.id).where(Product.sku == sku)) is None:
        shop.product(sku, in_hand=100)
    if channel is None:
        order = shop.web_order((sku, 1))
    else:
        order = orders.create_order(None, NewOrder(
            channel_id=channel.id, channel_order_id=f"111-{next(_numbers):07d}",
            customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com"), lines=[LineRequest(sku, 1)]))
    return shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier=carrier, tracking_number=tracking)


def status_of(shipment_id: int) -> ShipmentStatus:
    status = db.session.scalar(sa.select(Shipment.status).where(Shipment.id == shipment_id))
    db.session.rollback()
    return status


# -------------------------------------------------------------------------------- what waits

def test_carriers_with_packed_parcels_are_listed_with_their_count_and_oldest_first(shop):
    first = packed(shop, "DHL")
    packed(shop, "UPS")
    packed(shop, "UPS")
    packed(shop, None)
    gone = packed(shop, "FedEx")
    shipping.mark_shipped(shop.staff, gone.id)
    db.session.execute(sa.update(Shipment).where(Shipment.id == first.id)
                       .values(created_at=first.created_at - timedelta(days=2)))
    db.session.commit()

    queues = handover.carrier_queues()

    assert [(q.carrier, q.parcels) for q in queues] == [("DHL", 1), ("UPS", 2), (None, 1)]
    assert [s.id for s in handover.packed_parcels("UPS")] == sorted(s.id for s in handover.packed_parcels("UPS"))
    assert handover.packed_parcels("FedEx") == []


# -------------------------------------------------------------------------------- scanning

def test_a_label_is_found_by_its_tracking_number_or_else_its_shipment_number(shop):
    tracked = packed(shop, "UPS", "1Z999AA10123456784")
    untracked = packed(shop, "UPS")

    assert handover.scan("UPS", " 1Z999AA10123456784 ").id == tracked.id
    assert handover.scan("UPS", untracked.number).id == untracked.id
    assert handover.scan("UPS", untracked.number.lower()).id == untracked.id


@pytest.mark.parametrize("code", ["NOPE-1", "SH-999999", "SH-", "x" * 81, "SH-" + "9" * 30, "🙂"])
def test_an_unknown_code_is_refused(shop, code):
    packed(shop, "UPS", "1Z1")
    error = shop.refused(NotFound, handover.scan, "UPS", code, match="No parcel has the code")
    assert error.field == "code"


def test_another_carriers_parcel_or_one_not_packed_is_refused_at_the_scan(shop):
    dhl = packed(shop, "DHL", "JD0001")
    nobody = packed(shop, None)
    gone = packed(shop, "UPS", "1Z2")
    shipping.mark_shipped(shop.staff, gone.id)
    cancelled = packed(shop, "UPS", "1Z3")
    shipping.cancel_shipment(shop.staff, cancelled.id)

    shop.refused(InvalidState, handover.scan, "UPS", "JD0001", match=f"{dhl.number} goes with DHL, not UPS")
    shop.refused(InvalidState, handover.scan, "UPS", nobody.number, match="has no carrier")
    shop.refused(InvalidState, handover.scan, "UPS", "1Z2", match="is shipped: only a packed parcel")
    shop.refused(InvalidState, handover.scan, "UPS", "1Z3", match="is cancelled: only a packed parcel")
    shop.refused(InvalidInput, handover.scan, "UPS", "", match="Scan a parcel")
    shop.refused(InvalidInput, handover.scan, "", "1Z2", match="Choose a carrier")


def test_a_marketplace_parcel_without_tracking_number_is_refused_at_the_scan(shop):
    amazon = shop.channel("Amazon US", ChannelKind.AMAZON)
    parcel = packed(shop, "UPS", channel=amazon)
    shop.refused(InvalidInput, handover.scan, "UPS", parcel.number, match="Amazon is told of the shipment")


# -------------------------------------------------------------------------------- handing over

def test_handing_over_ships_every_chosen_parcel_and_makes_one_manifest(shop):
    parcels = [packed(shop, "UPS", f"1Z{n}") for n in range(3)]
    left = packed(shop, "UPS", "1Z-LEFT")

    result = handover.hand_over(shop.staff, "UPS", [p.id for p in parcels])

    assert result.refused == []
    assert sorted(s.id for s in result.shipped) == [p.id for p in parcels]
    manifest = db.session.get(Manifest, result.manifest.id)
    assert (manifest.carrier, manifest.handed_over_by_id) == ("UPS", shop.staff.id)
    assert [mp.shipment_id for mp in manifest.parcels] == [p.id for p in parcels]
    for parcel in parcels:
        assert status_of(parcel.id) is ShipmentStatus.SHIPPED
        order = shop.order_row(parcel.order_id)
        assert order.segment is Segment.IN_TRANSIT
        assert shop.event_kinds(order.id)[-1] == "shipment_shipped"
    assert status_of(left.id) is ShipmentStatus.PACKED  # not scanned: stays on the bench
    assert shop.order_row(left.order_id).segment is Segment.PACKED
    assert check_invariants() == []


def test_one_refused_parcel_does_not_stop_the_others_and_each_refusal_says_why(shop):
    amazon = shop.channel("Amazon US", ChannelKind.AMAZON)
    good = packed(shop, "UPS", "1Z-GOOD")
    good_amazon = packed(shop, "UPS", "1Z-AMZ", channel=amazon)
    other_carrier = packed(shop, "DHL", "JD1")
    cancelled = packed(shop, "UPS", "1Z-CANCEL")
    shipping.cancel_shipment(shop.staff, cancelled.id)
    shipped = packed(shop, "UPS", "1Z-SHIPPED")
    shipping.mark_shipped(shop.staff, shipped.id)
    no_tracking = packed(shop, "UPS", channel=amazon)
    refused_ids = [other_carrier.id, cancelled.id, shipped.id, no_tracking.id]
    before = {sid: (status_of(sid), shop.event_kinds(db.session.get(Shipment, sid).order_id)) for sid in refused_ids}

    result = handover.hand_over(shop.staff, "UPS", [good.id, good_amazon.id, *refused_ids, 999_999])

    assert sorted(s.id for s in result.shipped) == [good.id, good_amazon.id]
    reasons = {r.shipment_id: r.reason for r in result.refused}
    assert reasons[other_carrier.id] == f"{other_carrier.number} goes with DHL, not UPS"
    assert "is cancelled: only a packed parcel" in reasons[cancelled.id]
    assert "is shipped: only a packed parcel" in reasons[shipped.id]
    assert "Amazon is told of the shipment" in reasons[no_tracking.id]
    assert reasons[999_999] == "There is no shipment 999999"
    for sid in refused_ids:  # nothing changed for a refused parcel: no status, no event
        assert (status_of(sid), shop.event_kinds(db.session.get(Shipment, sid).order_id)) == before[sid]
    manifest = db.session.get(Manifest, result.manifest.id)
    assert [mp.shipment_id for mp in manifest.parcels] == [good.id, good_amazon.id]
    # The marketplace hears of its parcel, queued as a single hand-over queues it.
    confirmations = db.session.scalars(sa.select(ShipmentConfirmation.shipment_id)).all()
    assert confirmations == [good_amazon.id]
    assert check_invariants() == []


def test_when_every_parcel_is_refused_nothing_changes_and_no_manifest_is_made(shop):
    dhl = packed(shop, "DHL", "JD1")
    before = shop.snapshot()

    result = handover.hand_over(shop.staff, "UPS", [dhl.id, 424242])

    assert result.manifest is None and result.shipped == []
    assert [r.shipment_id for r in result.refused] == [dhl.id, 424242]
    assert shop.snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Manifest)) == 0
    assert check_invariants() == []


@pytest.mark.parametrize(("carrier", "ids", "match"), [
    ("", [1], "Choose a carrier"),
    ("   ", [1], "Choose a carrier"),
    ("U" * 61, [1], "at most 60 characters"),
    ("UPS", [], "at least one parcel"),
    ("UPS", range(1, handover.MAX_PARCELS + 2), "At most 500 parcels"),
])
def test_a_hand_over_without_carrier_or_parcels_or_too_many_is_refused_whole(shop, carrier, ids, match):
    parcel = packed(shop, "UPS", "1Z1")
    ids = [parcel.id if i == 1 else i for i in ids]
    error = shop.refused(InvalidInput, handover.hand_over, shop.staff, carrier, ids, match=match)
    assert status_of(parcel.id) is ShipmentStatus.PACKED
    assert error.field in ("carrier", "shipment_ids")


def test_the_same_parcel_twice_goes_once(shop):
    parcel = packed(shop, "UPS", "1Z1")
    result = handover.hand_over(shop.staff, "UPS", [parcel.id, parcel.id, parcel.id])
    assert [s.id for s in result.shipped] == [parcel.id] and result.refused == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ManifestParcel)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderEvent)
                             .where(OrderEvent.kind == "shipment_shipped")) == 1


def test_a_parcel_handed_over_is_refused_the_second_time(shop):
    parcel = packed(shop, "UPS", "1Z1")
    handover.hand_over(shop.staff, "UPS", [parcel.id])
    before = shop.snapshot()
    again = handover.hand_over(shop.staff, "UPS", [parcel.id])
    assert again.manifest is None and "is shipped" in again.refused[0].reason
    assert shop.snapshot() == before


def test_past_manifests_are_listed_newest_first_with_their_parcel_counts(shop):
    first = handover.hand_over(shop.staff, "UPS", [packed(shop, "UPS", "1Z1").id]).manifest
    second = handover.hand_over(shop.staff, "DHL", [packed(shop, "DHL", "J1").id, packed(shop, "DHL", "J2").id]).manifest

    rows, more = handover.manifests_page()

    assert [(m.id, count) for m, count in rows] == [(second.id, 2), (first.id, 1)] and not more
    assert [m.id for m, _ in handover.manifests_page(carrier="UPS")[0]] == [first.id]
    assert [s.tracking_number for s in handover.manifest_parcels(handover.get_manifest(second.id))] == ["J1", "J2"]
    with pytest.raises(NotFound):
        handover.get_manifest(12345)


def test_the_carriers_list_says_which_parcels_cannot_go_as_they_stand(shop):
    amazon = shop.channel("Amazon US", ChannelKind.AMAZON)
    web = packed(shop, "UPS")  # a web store parcel goes without a tracking number
    tracked = packed(shop, "UPS", "1Z-AMZ", channel=amazon)
    untracked = packed(shop, "UPS", channel=amazon)

    held = handover.why_held(handover.packed_parcels("UPS"))

    assert list(held) == [untracked.id] and web.id not in held and tracked.id not in held
    assert held[untracked.id].startswith(f"Enter the tracking number of {untracked.number}")
    refused = handover.hand_over(shop.staff, "UPS", [untracked.id]).refused  # the same rule as the hand-over's
    assert [r.reason for r in refused] == [held[untracked.id]]
