"""The hand-over screen's input: the carrier, a scanned code, the chosen parcels' ids. Each is bounded by
the domain's own limits (the carrier and code by their columns, the parcels by MAX_PARCELS), so the screen
never sends the service what it would refuse; the service checks again."""
from __future__ import annotations

from flask import request

from ..domain.errors import InvalidInput
from ..domain.handover import CODE_LENGTH, MAX_PARCELS, carrier_name
from ..web import as_id


def carrier_from(values) -> str:
    return carrier_name(values.get("carrier"))


def scanned_code() -> str:
    code = (request.form.get("code") or "").strip()
    if len(code) > CODE_LENGTH:
        raise InvalidInput(f"No parcel has a code that long: a label's code has at most {CODE_LENGTH} characters",
                           field="code")
    return code


def chosen_ids(*, required: bool = True) -> list[int]:
    """The ticked or scanned parcels: each a shipment id, at most MAX_PARCELS of them (refused before
    they are read one by one)."""
    raw = request.form.getlist("shipment_ids")
    if len(raw) > MAX_PARCELS:
        raise InvalidInput(f"At most {MAX_PARCELS:,} parcels go in one hand-over ({len(raw):,} chosen)",
                           field="shipment_ids")
    ids = []
    for value in raw:
        shipment_id = as_id(value)
        if shipment_id is None:
            raise InvalidInput("A chosen parcel is not a shipment: reload the page and scan again", field="shipment_ids")
        ids.append(shipment_id)
    if required and not ids:
        raise InvalidInput("Scan or tick at least one parcel to hand over", field="shipment_ids")
    return ids
