"""The pack station: one scan field, always focused, for a bench with a barcode scanner (it types the
code and Enter). Scan an order's or shipment's number, then its items; when every unit is scanned (or
the packer closes a partial parcel) the shipment is packed and its label opens for printing.

Every scan is one POST that changes nothing until the parcel is packed: the page carries the parcel
(domain.packing explains why) and each response is the station's state again, refused or not.

A return comes back the same way: its slip's barcode (RMA-…) opens its receipt, each item scanned counts
a unit back on its line, the packer picks each line's condition and Alt+R receives it (domain.return_scans).
"""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

import sqlalchemy as sa

from ..domain import labels, packing, return_scans
from ..domain.errors import DomainError, InvalidInput, InvalidState
from ..domain.packing import Parcel
from ..extensions import db
from ..domain.return_scans import ReturnReceipt
from ..models import PackagePreset, Return, Role, Shipment
from ..domain.parcels import MAX_PARCEL_GRAMS
from ..web import allow, as_id, is_htmx, page_or_fragment, refreshed, whole_number
from ..work_site.routes import work_site_id
from . import bp
from .forms import CONDITIONS, StationForm, action_of, posted_parcel, posted_receipt


def _station(parcel: Parcel | None = None, *, status: int = 200, error: str | None = None, note: str | None = None,
             outcome: str = "ready", line_id: int | None = None, packed: Shipment | None = None,
             receipt: ReturnReceipt | None = None, received: Return | None = None):
    """The station: the page, or for htmx the state below the scan field (message, parcel or return being
    received, buttons)."""
    label_url = url_for("documents.label", order_id=packed.order_id, shipment_id=packed.id) if packed else None
    response = page_or_fragment("pack/index.html", "pack/_state.html", status=status, form=StationForm(formdata=None),
                                parcel=parcel, error=error, note=note, outcome="refused" if error else outcome,
                                line_id=line_id, packed=packed, label_url=label_url, presets=_presets(),
                                receipt=receipt, received=received, conditions=CONDITIONS)
    return refreshed(response, "stock-changed") if packed or received else response


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
        held = posted_receipt(request.form)
        if held is not None and order_id is not None:
            raise InvalidInput("The station holds an order and a return at once: scan again", field="code")
        receipt = return_scans.receipt_as_shown(*held) if held is not None else None
        parcel = packing.parcel_as_shown(order_id, shown, scanned, work_site_id()) if order_id is not None else None
    except DomainError as error:
        # The parcel the page holds is not the order's any more (or never was): the packer starts it again.
        return _station(status=422, error=error.message)
    if receipt is not None:
        return _receipt_step(receipt, code)
    try:
        action = action_of(request.form, code)
        if action == "receive":
            raise InvalidInput("Scan a return slip first: there is no return to receive", field="code")
        if action == "cancel":
            note = f"{parcel.number} put aside: nothing was packed" if parcel else None
            return _station(note=note)
        if action == "close":
            return _pack(parcel)
        return _scan(parcel, packing.read_scan(code))
    except DomainError as error:
        return _station(parcel, status=422, error=error.message)


def _scan(parcel: Parcel | None, scan: packing.Scan):
    if return_scans.names_a_return(scan.code):
        if parcel is not None and parcel.scanned_units:
            raise InvalidState(f"{parcel.number} is being packed: finish it, close it as a partial parcel (Alt+P) "
                               "or start over (Alt+X) before receiving a return", field="code")
        return _open_receipt(scan)
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


# ---------------------------------------------------------------- a return coming back

def _open_receipt(scan: packing.Scan):
    if scan.quantity != 1:
        raise InvalidInput("A keyed quantity goes before an item's code, not a return slip's", field="code")
    return _station(receipt=return_scans.open_receipt(scan.code), outcome="opened")


def _receipt_step(receipt: ReturnReceipt, code: str):
    """A scan, a command or a button while a return is on the bench."""
    try:
        action = action_of(request.form, code)
        if action == "cancel":
            return _station(note=f"{receipt.number} put aside: nothing was received")
        if action in ("receive", "close"):
            return _receive(receipt)
        scan = packing.read_scan(code)
        if return_scans.names_a_return(scan.code) or packing.names_an_order(scan.code):
            if receipt.counted_units:
                raise InvalidState(f"{receipt.number} is being received: receive it (Alt+R) or start over (Alt+X) "
                                   "before the next slip or order", field="code")
            if return_scans.names_a_return(scan.code):
                return _open_receipt(scan)
            if scan.quantity != 1:
                raise InvalidInput("A keyed quantity goes before an item's code, not an order's", field="code")
            return _station(packing.open_parcel(scan.code, work_site_id()), outcome="opened")
        receipt, line = return_scans.scan_item(receipt, scan)
        return _station(receipt=receipt, outcome="scanned", line_id=line.line_id)
    except DomainError as error:
        return _station(receipt=receipt, status=422, error=error.message)


def _receive(receipt: ReturnReceipt):
    try:
        received = return_scans.receive(current_user, receipt, work_site_id())
    except InvalidState as changed:
        return _station(status=422, error=changed.message)  # received meanwhile: what the page holds is stale
    return _station(received=received, outcome="received")
