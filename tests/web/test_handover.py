"""The hand-over screen through the test client: the carriers, a scan answered with the parcel's row or a
refusal, handing over with its manifest, and every kind of bad input refused with nothing changed."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from oms_web.domain import handover, orders, shipping
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import ChannelKind, Manifest, Shipment, ShipmentStatus

from .conftest import every_row, use_both_backends

web_app = use_both_backends()


def packed(shop, carrier="UPS", tracking=None):
    if db.session.scalar(sa.select(sa.func.count()).select_from(Shipment)) == 0:
        shop.product("A", in_hand=100)
    order = shop.web_order(("A", 1))
    return shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier=carrier, tracking_number=tracking)


def status_of(shipment_id):
    status = db.session.scalar(sa.select(Shipment.status).where(Shipment.id == shipment_id))
    db.session.rollback()
    return status


def scan(client, code, carrier="UPS", on_list=()):
    return client.htmx_post("/handover/scan", {"carrier": carrier, "code": code, "shipment_ids": list(on_list)})


def hand_over(client, ids, carrier="UPS", **kwargs):
    return client.post_form("/handover/hand-over", {"carrier": carrier, "shipment_ids": [str(i) for i in ids]}, **kwargs)


def test_the_nav_leads_to_the_carriers_of_packed_parcels_with_their_counts(shop, as_staff):
    packed(shop, "UPS", "1Z1")
    packed(shop, "UPS", "1Z2")
    packed(shop, "DHL", "J1")
    packed(shop, None)

    board = as_staff.get("/orders").get_data(as_text=True)
    assert 'href="/handover"' in board
    page = as_staff.get("/handover").get_data(as_text=True)

    assert re.search(r"<strong>UPS</strong>\s*<span>2 packed parcels</span>", page)
    assert re.search(r"<strong>DHL</strong>\s*<span>1 packed parcel</span>", page)
    assert "No carrier" in page and "Set their carrier on the order" in page
    assert 'href="/handover/carrier?carrier=UPS"' in page


def test_a_carriers_page_lists_its_packed_parcels_with_their_age(shop, as_staff):
    mine = packed(shop, "UPS", "1Z1")
    other = packed(shop, "DHL", "J1")

    page = as_staff.get("/handover/carrier?carrier=UPS").get_data(as_text=True)

    assert mine.number in page and other.number not in page
    assert re.search(r'class="age"[^>]*>\d+ min<', page)
    assert "Hand over <span id=\"handover-count\">0</span> parcel" in page


def test_a_parcel_that_cannot_go_as_it_stands_shows_why_and_cannot_be_ticked(shop, as_staff):
    ready = packed(shop, "UPS", "1Z1")
    amazon = shop.channel("Amazon US", ChannelKind.AMAZON)
    order = orders.create_order(None, NewOrder(channel_id=amazon.id, channel_order_id="111-0000001",
                                               customer=CustomerDetails(name="Ada", email="ada@example.com"),
                                               lines=[LineRequest("A", 1)]))
    held = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="UPS")  # no tracking number

    page = as_staff.get("/handover/carrier?carrier=UPS").get_data(as_text=True)

    row = re.search(rf'<tr data-parcel="{held.id}".*?</tr>', page, re.S)[0]
    assert re.search(r'<input type="checkbox"[^>]*\bdisabled\b', row)
    assert f"Enter the tracking number of {held.number}" in row and f'href="/orders/{held.order_id}"' in row
    ready_row = re.search(rf'<tr data-parcel="{ready.id}".*?</tr>', page, re.S)[0]
    assert "disabled" not in ready_row
    assert 'Put all <span id="tick-all-count">1</span> on the truck' in page


def test_a_scan_answers_the_parcels_row_for_the_truck_list(shop, as_staff):
    parcel = packed(shop, "UPS", "1Z999AA10123456784")
    before = every_row()

    response = scan(as_staff, "1Z999AA10123456784")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert f'data-parcel="{parcel.id}"' in body and "checked" in body
    assert every_row() == before  # a scan is only a look
    assert scan(as_staff, parcel.number).status_code == 200


@pytest.mark.parametrize(("code", "message"), [
    ("NOPE", "No parcel has the code NOPE"),
    ("J1", "goes with DHL, not UPS"),
    ("1Z-SHIPPED", "is shipped: only a packed parcel"),
    ("1Z-CANCELLED", "is cancelled: only a packed parcel"),
    ("x" * 81, "code has at most 80 characters"),
    ("SH-" + "9" * 40, "No parcel has the code SH-"),
    ("' OR 1=1 --", "No parcel has the code"),
    ("<script>alert(1)</script>", "No parcel has the code &lt;script&gt;"),
    ("1Z1", "already on the truck list"),
])
def test_a_refused_scan_says_why_beside_the_field_and_changes_nothing(shop, as_staff, code, message):
    first = packed(shop, "UPS", "1Z1")
    packed(shop, "DHL", "J1")
    shipping.mark_shipped(shop.staff, packed(shop, "UPS", "1Z-SHIPPED").id)
    shipping.cancel_shipment(shop.staff, packed(shop, "UPS", "1Z-CANCELLED").id)
    before = every_row()

    response = scan(as_staff, code, on_list=[first.id] if code == "1Z1" else [])

    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#scan-message"
    assert message in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True)
    assert every_row() == before


def test_handing_over_ships_the_chosen_parcels_and_opens_their_manifest(shop, as_staff):
    chosen = [packed(shop, "UPS", f"1Z{n}") for n in range(3)]
    left = packed(shop, "UPS", "1Z-LEFT")

    response = hand_over(as_staff, [p.id for p in chosen])

    assert response.status_code == 302
    manifest = db.session.scalars(sa.select(Manifest)).one()
    assert response.headers["Location"] == f"/handover/manifests/{manifest.id}?handed_over=1"
    assert [status_of(p.id) for p in chosen] == [ShipmentStatus.SHIPPED] * 3
    assert status_of(left.id) is ShipmentStatus.PACKED
    page = as_staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 parcels handed over to UPS." in page
    assert f'href="/handover/manifests/{manifest.id}.pdf"' in page and "autofocus" in page
    pdf = as_staff.get(f"/handover/manifests/{manifest.id}.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert manifest.number in as_staff.get("/handover").get_data(as_text=True)


def test_refused_parcels_are_listed_as_errors_and_the_others_go(shop, as_staff):
    good = packed(shop, "UPS", "1Z1")
    dhl = packed(shop, "DHL", "J1")

    response = hand_over(as_staff, [good.id, dhl.id], follow_redirects=True)

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(rf'class="flash error" role="alert">Not handed over: {dhl.number} goes with DHL, not UPS', body)
    assert (status_of(good.id), status_of(dhl.id)) == (ShipmentStatus.SHIPPED, ShipmentStatus.PACKED)


def test_when_every_parcel_is_refused_the_page_says_so_with_422_and_nothing_changes(shop, as_staff):
    dhl = packed(shop, "DHL", "J1")
    before = every_row()

    response = hand_over(as_staff, [dhl.id, 987654])

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Nothing was handed over" in body and "goes with DHL, not UPS" in body and "no shipment 987654" in body
    assert every_row() == before


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"carrier": "UPS"}, 422, "Scan or tick at least one parcel"),
    ({"carrier": "", "shipment_ids": ["1"]}, 422, "Choose a carrier"),
    ({"shipment_ids": ["1"]}, 422, "Choose a carrier"),
    ({"carrier": "U" * 61, "shipment_ids": ["1"]}, 422, "at most 60 characters"),
    ({"carrier": "UPS", "shipment_ids": ["abc"]}, 422, "is not a shipment"),
    ({"carrier": "UPS", "shipment_ids": ["-1"]}, 422, "is not a shipment"),
    ({"carrier": "UPS", "shipment_ids": ["9" * 40]}, 422, "is not a shipment"),
    ({"carrier": "UPS", "shipment_ids": ["1.5"]}, 422, "is not a shipment"),
    ({"carrier": "UPS", "shipment_ids": [str(i) for i in range(1, 502)]}, 422, "At most 500 parcels"),
    ({"carrier": "UPS\x00", "shipment_ids": ["1"]}, 400, "NUL character"),
])
def test_bad_hand_over_input_is_refused_and_changes_nothing(shop, as_staff, data, status, message):
    packed(shop, "UPS", "1Z1")
    before = every_row()

    response = as_staff.post_form("/handover/hand-over", data)

    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert every_row() == before


def test_a_huge_body_is_refused_before_it_is_read(shop, as_staff):
    packed(shop, "UPS", "1Z1")
    before = every_row()
    response = as_staff.post_form("/handover/hand-over", {"carrier": "UPS", "shipment_ids": ["1" * 17] * 40_000})
    assert response.status_code == 413
    assert every_row() == before


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_hand_over_or_scan_without_a_valid_csrf_token_is_refused(shop, as_staff, token):
    parcel = packed(shop, "UPS", "1Z1")
    before = every_row()

    assert hand_over(as_staff, [parcel.id], token=token).status_code == 400
    assert as_staff.htmx_post("/handover/scan", {"carrier": "UPS", "code": "1Z1"}, token=token).status_code == 400
    assert every_row() == before


def test_signed_out_nobody_hands_over(web_app, shop):
    parcel = packed(shop, "UPS", "1Z1")
    response = web_app.test_client().post("/handover/hand-over", data={"carrier": "UPS", "shipment_ids": [parcel.id]})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert status_of(parcel.id) is ShipmentStatus.PACKED


@pytest.mark.parametrize("path", ["/handover/manifests/424242", "/handover/manifests/424242.pdf",
                                  "/handover/manifests/99999999999999999999999"])
def test_an_unknown_manifest_is_404(as_staff, path):
    assert as_staff.get(path).status_code == 404


@pytest.mark.parametrize("query", ["", "?carrier=", "?carrier=" + "U" * 61, "?page=0", "?page=x"])
def test_bad_query_values_are_refused_with_a_message(as_staff, query):
    path = "/handover" + ("/carrier" if "carrier" in query or not query else "") + query
    response = as_staff.get(path)
    assert response.status_code == 422
    assert "Traceback" not in response.get_data(as_text=True)


def test_every_role_may_hand_over(shop, sign_in):
    for user in (shop.staff, shop.manager, shop.admin):
        parcel = packed(shop, "UPS", f"1Z-{user.id}")
        assert hand_over(sign_in(user), [parcel.id]).status_code == 302
        assert status_of(parcel.id) is ShipmentStatus.SHIPPED
    assert len(handover.manifests_page()[0]) == 3
