"""The carrier's manifest: the sheet the driver signs for the parcels of one hand-over, each with its
tracking number as a Code 128 barcode (the shipment number when it has none, as on its label)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..models import Manifest, Shipment
from .barcodes import NotEncodable, code128_data_uri
from .render import render_pdf


@dataclass
class ManifestRow:
    shipment: Shipment
    code: str  # what the barcode says: the tracking number, else the shipment number
    barcode: str | None


def manifest_rows(parcels: Sequence[Shipment]) -> list[ManifestRow]:
    rows = []
    for parcel in parcels:
        code = parcel.tracking_number or parcel.number
        try:
            barcode = code128_data_uri(code)
        except NotEncodable:
            barcode = None  # printed as text only: a tracking number no Code 128 can carry
        rows.append(ManifestRow(parcel, code, barcode))
    return rows


def manifest_pdf(manifest: Manifest, parcels: Sequence[Shipment]) -> bytes:
    # The parcels' location's ship-from address (the seller's when they left from several, or it has none).
    locations = {parcel.location_id: parcel.location for parcel in parcels}
    location_from = next(iter(locations.values())).ship_from() if len(locations) == 1 else None
    return render_pdf("documents/manifest.html", manifest=manifest, rows=manifest_rows(parcels),
                      location_from=location_from)
