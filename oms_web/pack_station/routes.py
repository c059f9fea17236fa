"""The pack station: one scan field, always focused, for a bench with a barcode scanner (it types the
code and Enter). Scan an order's or shipment's number, then its items; when every unit is scanned (or
the packer closes a partial parcel) the shipment is packed and its label opens for printing.

Every scan is one POST that changes nothing until the parcel is packed: the page carries the parcel
(domain.packing explains why) and each response is the station's state again, refused or not.
"""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

import sqlalchemy as sa

from ..domain import labels, packing
from ..domain.errors import DomainError, InvalidInput, InvalidState
from ..domain.packing import Parcel
from ..extensions import db
from ..models import PackagePreset, Role, Shipment
from ..domain.parcels import MAX_PARCEL_GRAMS
from ..web import allow, as_id, is_htmx, page_or_fragment, refreshed, whole_number
from ..work_site.routes import work_site_id
from . import bp
from .forms import StationForm, action_of, posted_parcel


def _station(parcel: Parcel | None = None, *, status: int = 200, error: str | None = None, note: str | None = None,
             outcome: str = "ready", line_id: int | None = None, packed: Shipment | None = None):
    """The station: the page, or for htmx the state below the scan field (message, parcel, buttons)."""
    label_url = url_for("documents.label", order_id=packed.order_id, shipment_id=packed.id) if packed else None
    response = page_or_fragment("pack/index.html", "pack/_state.html", status=status, form=StationForm(formdata=None),
                                parcel=parcel, error=error, note=note, outcome="refused" if error else outcome,
                                line_id=line_id, packed=packed, label_url=label_url, presets=_presets())
    return refreshed(response, "stock-changed") if packed else response


def _presets() -> list[PackagePreset]:
    """The boxes to choose from, when labels are bought (the parcel's size and weight go to the carrier)."""
    if is_htmx() or labels.active_account() is None:
        return []
    return db.session.scalars(sa.select(PackagePreset).order_by(PackagePreset.name)).all()


def _preset_id() -> int | None:
    raw = (request.form.get("preset_id") or "").strip()
    if not raw:
        return None
    preset_id = as_id(raw)
    if preset_id is None:
        raise InvalidInput("Choose one of the boxes", field="code")
    return preset_id


def _weighed_grams() -> int | None:
    raw = (request.form.get("weight_grams") or "").strip()
    if not raw:
        return None
    return whole_number(raw, label="The weighed weight (g)", field="code", minimum=1, maximum=MAX_PARCEL_GRAMS)


@bp.route("/pack")
@allow(Role.STAFF)
def index():
    return _station()


@bp.route("/pack/scan", methods=["POST"])
@allow(Role.STAFF)
def scan():
    code = request.form.get("code") or ""
    try:
        order_id, shown, scanned = posted_parcel(request.form)
        parcel = packing.parcel_as_shown(order_id, shown, scanned, work_site_id()) if order_id is not None else None
    except DomainError as error:
        # The parcel the page holds is not the order's any more (or never was): the packer starts it again.
        return _station(status=422, error=error.message)
    try:
        action = action_of(request.form, code)
        if action == "cancel":
            note = f"{parcel.number} put aside: nothing was packed" if parcel else None
            return _station(note=note)
        if action == "close":
            return _pack(parcel)
        return _scan(parcel, packing.read_scan(code))
    except DomainError as error:
        return _station(parcel, status=422, error=error.message)


def _scan(parcel: Parcel | None, scan: packing.Scan):
    if parcel is None or packing.names_an_order(scan.code):
        if parcel is not None and parcel.scanned_units:
            raise InvalidState(f"{parcel.number} is being packed: finish it, close it as a partial parcel (Alt+P) "
                               "or start over (Alt+X) before the next order", field="code")
        if scan.quantity != 1:
            raise InvalidInput("A keyed quantity goes before an item's code, not an order's", field="code")
        return _station(packing.open_parcel(scan.code, work_site_id()), outcome="opened")
    parcel, line = packing.scan_item(parcel, scan)
    if parcel.complete:
        return _pack(parcel)
    return _station(parcel, outcome="scanned", line_id=line.line_id)


def _pack(parcel: Parcel | None):
    if parcel is None:
        raise InvalidInput("Scan an order first: there is no parcel to close", field="code")
    try:
        shipment = packing.pack_parcel(current_user, parcel.order_id, parcel.shown(), parcel.scanned(),
                                       preset_id=_preset_id(), weighed_grams=_weighed_grams(),
                                       location_id=work_site_id())
    except InvalidState as changed:
        return _station(status=422, error=changed.message)  # packed meanwhile: what the page holds is stale
    return _station(packed=shipment, outcome="packed")
