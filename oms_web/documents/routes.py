"""Downloads: one shipment's label or packing slip, one invoice, and bulk printing from the board.

Each download checks that the document belongs to the order in its URL, so changing a number in the
URL reaches nothing else; every route needs a signed-in user with a role (web.allow).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, make_response, render_template, request
from flask_login import current_user

from ..domain.errors import NotFound
from ..domain.printing import record_printing
from ..extensions import db
from ..board.selection import selected_order_ids
from ..models import CreditNote, Invoice, Job, Role, Shipment
from ..orders_web.loaders import load_shipment
from ..jobs.loaders import finished_pdf, own_job
from ..work_site.routes import work_site_id
from ..web import allow, as_id, error_response, is_htmx
from . import bp, jobs
from .render import (KINDS, NothingToPrint, bought_labels, build, credit_notes_pdf, packed_shipments, invoices_pdf, labels_pdf,
                     packing_slips_pdf)

# Up to this many orders a batch is made within the request; more becomes a print job with progress.
INLINE_BATCH = 40


def pdf_response(pdf: bytes, filename: str) -> Response:
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/orders/<int:order_id>/shipments/<int:shipment_id>/label.pdf")
@allow(Role.STAFF)
def label(order_id: int, shipment_id: int):
    shipment = load_shipment(order_id, shipment_id)
    pdf = labels_pdf([shipment])
    record_printing(current_user, {order_id: [f"label {shipment.number}"]})
    return pdf_response(pdf, f"label-{shipment.number}.pdf")


@bp.route("/orders/<int:order_id>/shipments/<int:shipment_id>/label.zpl")
@allow(Role.STAFF)
def label_zpl(order_id: int, shipment_id: int):
    """The carrier's label as ZPL, for a 4x6 thermal printer (when the shop's account buys ZPL labels)."""
    shipment = load_shipment(order_id, shipment_id)
    zpl = bought_labels([shipment], "ZPL").get(shipment.id)
    if zpl is None:
        raise NotFound(f"{shipment.number} has no ZPL label: print its PDF label")
    record_printing(current_user, {order_id: [f"label {shipment.number} (ZPL)"]})
    response = make_response(zpl)
    response.headers["Content-Type"] = "application/zpl"
    response.headers["Content-Disposition"] = f'attachment; filename="label-{shipment.number}.zpl"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/orders/<int:order_id>/shipments/<int:shipment_id>/packing-slip.pdf")
@allow(Role.STAFF)
def packing_slip(order_id: int, shipment_id: int):
    shipment = load_shipment(order_id, shipment_id)
    pdf = packing_slips_pdf([shipment])
    record_printing(current_user, {order_id: [f"packing slip {shipment.number}"]})
    return pdf_response(pdf, f"packing-slip-{shipment.number}.pdf")


@bp.route("/orders/<int:order_id>/invoices/<int:invoice_id>.pdf")
@allow(Role.STAFF)
def invoice(order_id: int, invoice_id: int):
    document = db.session.get(Invoice, invoice_id)
    if document is None or document.order_id != order_id:
        raise NotFound("That invoice is not part of this order")
    pdf = invoices_pdf([document])
    record_printing(current_user, {order_id: [f"invoice {document.display_number}"]})
    return pdf_response(pdf, f"invoice-{document.display_number}.pdf")


@bp.route("/orders/<int:order_id>/credit-notes/<int:credit_note_id>.pdf")
@allow(Role.STAFF)
def credit_note(order_id: int, credit_note_id: int):
    document = db.session.get(CreditNote, credit_note_id)
    if document is None or document.order_id != order_id:
        raise NotFound("That credit note is not part of this order")
    pdf = credit_notes_pdf([document])
    record_printing(current_user, {order_id: [f"credit note {document.display_number}"]})
    return pdf_response(pdf, f"credit-note-{document.display_number}.pdf")


@bp.route("/orders/print/<kind>", methods=["POST"])
@allow(Role.STAFF)
def bulk(kind: str):
    if kind not in KINDS:
        abort(404)
    ids = selected_order_ids()
    here = work_site_id()  # pick lists list the units where the printer stands
    if len(ids) > INLINE_BATCH:
        job = jobs.start(kind, ids, current_user, location_id=here)
        return render_template("documents/job.html", job=job, kind=KINDS[kind], no_worker=False)
    try:
        printed = build(kind, ids, location_id=here)
    except NothingToPrint as nothing:
        return error_response(422, str(nothing))
    record_printing(current_user, printed.pages_for)
    return pdf_response(printed.pdf, f"{kind}-{len(ids)}-orders.pdf")


@bp.route("/orders/print/labels.zpl", methods=["POST"])
@allow(Role.STAFF)
def bulk_zpl():
    """The selected orders' packed parcels' bought ZPL labels, one after the other in pick order, for a 4x6
    thermal printer (the shop's carrier account buys ZPL)."""
    ids = selected_order_ids()
    shipments = packed_shipments(sorted(set(ids)))
    labels = bought_labels(shipments, "ZPL")
    if not labels:
        return error_response(422, "None of the selected orders has a packed parcel with a ZPL label: print the "
                                   "PDF labels instead")
    chosen = [s for s in shipments if s.id in labels]
    record_printing(current_user, {s.order_id: [f"label {s.number} (ZPL)"] for s in chosen})
    response = make_response(b"\n".join(labels[s.id] for s in chosen))
    response.headers["Content-Type"] = "application/zpl"
    response.headers["Content-Disposition"] = f'attachment; filename="labels-{len(chosen)}.zpl"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# The most shipments one labels-and-slips link names (the result of an inline Create shipments).
MAX_LINKED_SHIPMENTS = 100


@bp.route("/orders/print/shipments.pdf")
@allow(Role.STAFF)
def shipments_pdf():
    """Labels and packing slips of the named packed shipments (`ids`, comma separated), in pick order:
    the PDF that follows Create shipments on the board. A cancelled or handed-over one is left out."""
    texts = request.args.get("ids", "")[:2000].split(",")
    ids = [as_id(text) for text in texts]
    if None in ids or not ids:
        return error_response(422, "Name the shipments to print by their ids, like ids=12,13.")
    if len(ids) > MAX_LINKED_SHIPMENTS:
        return error_response(422, f"At most {MAX_LINKED_SHIPMENTS} shipments are printed from a link; "
                                   "print more with Labels & slips on the board.")
    order_ids = db.session.scalars(sa.select(Shipment.order_id).where(Shipment.id.in_(ids))).all()
    try:
        printed = build("labels-and-slips", order_ids, shipment_ids=ids)
    except NothingToPrint as nothing:
        return error_response(422, str(nothing))
    record_printing(current_user, printed.pages_for)
    return pdf_response(printed.pdf, f"labels-and-slips-{len(ids)}-shipments.pdf")


def _job(job_id: int) -> Job:
    return own_job(job_id, "print", "There is no such print job")


@bp.route("/print-jobs/<int:job_id>")
@allow(Role.STAFF)
def job_status(job_id: int):
    job = _job(job_id)
    template = "documents/_job_progress.html" if is_htmx() else "documents/job.html"
    return render_template(template, job=job, kind=KINDS.get(job.params.get("document"), "documents"),
                           no_worker=jobs.waiting_for_worker(job))


@bp.route("/print-jobs/<int:job_id>.pdf")
@allow(Role.STAFF)
def job_pdf(job_id: int):
    job = _job(job_id)
    pdf = finished_pdf(job, "This batch is not ready")
    return pdf_response(pdf, f"{job.params['document']}-{len(job.order_ids)}-orders.pdf")
