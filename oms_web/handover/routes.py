"""Hand-over to the carrier: pick a carrier, scan (or tick) its packed parcels as they go on the truck, hand
them over in one action, and print the manifest to sign; past manifests can be printed again.

A scan is a read: it answers the parcel's row for the truck list, or a refusal that changes nothing. The
list lives in the page until "Hand over" sends it; the service checks every parcel again under its locks.
"""
from __future__ import annotations

from datetime import datetime

from flask import flash, make_response, render_template, request, url_for
from flask_login import current_user

from ..documents.manifests import manifest_pdf
from ..documents.routes import pdf_response
from ..domain import handover
from ..domain.errors import DomainError, InvalidInput, NotFound
from ..models import Role, utcnow
from ..web import allow, as_id, error_response, is_htmx, redirect_to, refreshed
from . import bp
from .forms import carrier_from, chosen_ids, scanned_code

MANIFESTS_PER_PAGE = 25


@bp.app_template_filter("age")
def age(moment: datetime | None, now: datetime | None = None) -> str:
    """How long a parcel has waited, as a packer says it: 40 min, 5 h, 2 d 3 h."""
    if moment is None:
        return ""
    minutes = max(0, int(((now or utcnow()) - moment).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h"
    return f"{hours // 24} d {hours % 24} h" if hours % 24 else f"{hours // 24} d"


def _page_number() -> int:
    page = as_id(request.args.get("page", "1"))
    if page is None or not 1 <= page <= 100_000:
        raise InvalidInput("The page is a whole number from 1", field="page")
    return page


@bp.route("/handover")
@allow(Role.STAFF)
def index():
    page = _page_number()
    manifests, more = handover.manifests_page(page, MANIFESTS_PER_PAGE)
    return render_template("handover/index.html", queues=handover.carrier_queues(), manifests=manifests,
                           page=page, more=more)


def _carrier_page(carrier: str, *, status: int = 200, refused: list | None = None, chosen: set[int] | None = None):
    parcels = handover.packed_parcels(carrier)
    chosen = chosen or set()
    response = make_response(render_template(
        "handover/carrier.html", carrier=carrier, waiting=[p for p in parcels if p.id not in chosen],
        on_truck=[p for p in parcels if p.id in chosen], refused=refused or [], limit=handover.MAX_PARCELS,
        held=handover.why_held(parcels),
        queues=handover.carrier_queues()), status)
    return response


@bp.route("/handover/carrier")
@allow(Role.STAFF)
def carrier():
    return _carrier_page(carrier_from(request.args))


@bp.route("/handover/scan", methods=["POST"])
@allow(Role.STAFF)
def scan():
    """One scanned label: the parcel's row for the truck list, or a refusal (422) shown beside the scan field."""
    try:
        carrier = carrier_from(request.form)
        code = scanned_code()
        on_list = chosen_ids(required=False)
        parcel = handover.scan(carrier, code)
        if parcel.id in on_list:
            raise InvalidInput(f"{parcel.number} is already on the truck list", field="code")
    except DomainError as refusal:
        if not is_htmx():
            return error_response(404 if isinstance(refusal, NotFound) else 422, refusal.message, "code")
        response = make_response(render_template("handover/_scan_refused.html", message=refusal.message), 422)
        response.headers["HX-Retarget"] = "#scan-message"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    if not is_htmx():  # without the page's script: back to the page, the parcel ticked
        return _carrier_page(carrier, chosen={parcel.id, *on_list})
    response = make_response(render_template("handover/_parcel_row.html", parcel=parcel, on_truck=True, scanned=True))
    response.headers["HX-Trigger"] = "parcel-scanned"
    return response


@bp.route("/handover/hand-over", methods=["POST"])
@allow(Role.STAFF)
def hand_over():
    carrier = carrier_from(request.form)
    ids = chosen_ids()
    result = handover.hand_over(current_user, carrier, ids)
    if result.manifest is None:
        return _carrier_page(carrier, status=422, refused=result.refused)
    for refusal in result.refused:
        flash(f"Not handed over: {refusal.reason}", "error")
    flash(f"{len(result.shipped)} parcel{'s' if len(result.shipped) != 1 else ''} handed over to {carrier}.")
    response = redirect_to(url_for("handover.manifest", manifest_id=result.manifest.id, handed_over=1))
    return refreshed(response) if is_htmx() else response


@bp.route("/handover/manifests/<int:manifest_id>")
@allow(Role.STAFF)
def manifest(manifest_id: int):
    found = handover.get_manifest(manifest_id)
    return render_template("handover/manifest.html", manifest=found, parcels=handover.manifest_parcels(found),
                           just_handed_over=request.args.get("handed_over") == "1")


@bp.route("/handover/manifests/<int:manifest_id>.pdf")
@allow(Role.STAFF)
def manifest_document(manifest_id: int):
    found = handover.get_manifest(manifest_id)
    parcels = handover.manifest_parcels(found)
    pdf = manifest_pdf(found, parcels)
    return pdf_response(pdf, f"manifest-{found.number}.pdf")
