"""The manifest PDF, read back: carrier, date in the shop's time zone, parcel count, every parcel's shipment and
order number, and each barcode decoded to its tracking number (or shipment number when it has none)."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from pypdf import PdfReader

from oms_web.documents.manifests import manifest_pdf
from oms_web.domain import handover, shipping
from oms_web.extensions import db
from oms_web.models import Manifest

from .shop import Shop
from tests.helpers.barcodes import barcodes_by_page
from tests.helpers.signing_in import signed_in


@pytest.fixture
def shop(sqlite_app) -> Shop:
    return Shop()


def handed_over(shop: Shop, trackings: list[str | None]) -> Manifest:
    shop.product("A", in_hand=100)
    ids = []
    for tracking in trackings:
        order = shop.web_order(("A", 1))
        ids.append(shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="UPS",
                                       tracking_number=tracking).id)
    return handover.hand_over(shop.staff, "UPS", ids).manifest


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_manifest_names_carrier_date_count_and_every_parcel(sqlite_app, shop):
    sqlite_app.config["OMS_TIMEZONE"] = __import__("zoneinfo").ZoneInfo("America/New_York")
    manifest = handed_over(shop, ["1Z999AA10123456784", None, "1Z999AA10123456785"])
    manifest.handed_over_at = datetime(2026, 1, 15, 2, 30)  # 21:30 the day before in New York
    db.session.commit()
    parcels = handover.manifest_parcels(manifest)

    text = text_of(manifest_pdf(manifest, parcels))

    assert "UPS" in text and "3 parcels" in text and manifest.number in text
    assert "14 Jan 2026 21:30" in text
    for parcel in parcels:
        assert parcel.number in text and parcel.order.number in text
    assert "1Z999AA10123456784" in text and "1Z999AA10123456785" in text
    assert "Driver's signature" in text


def test_every_barcode_on_the_manifest_scans_back_to_its_parcels_label_code(sqlite_app, shop, tmp_path):
    manifest = handed_over(shop, ["1Z999AA10123456784", None, "JD014600003828501234"])
    client = signed_in(sqlite_app, shop.staff)

    response = client.get(f"/handover/manifests/{manifest.id}.pdf")

    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(response.data)).pages) == 1
    (scanned,) = barcodes_by_page(response.data, tmp_path)
    untracked = handover.manifest_parcels(manifest)[1]
    assert scanned == sorted(["1Z999AA10123456784", untracked.number, "JD014600003828501234"])
    # The same sheet again, later: a manifest is kept and prints the same parcels.
    assert client.get(f"/handover/manifests/{manifest.id}.pdf").data.count(b"/Image") == response.data.count(b"/Image")
