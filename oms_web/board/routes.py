"""The order board: segments with their counts, search, filters, keyset pages, bulk actions."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain import bulk_shipping, labels
from ..domain import orders as order_services
from ..domain.board import (NAME_SEARCH_FROM, PAGE_SIZE, BoardFilter, after_from_text, board_page,
                            can_sort_by_ship_by)
from ..domain.deadlines import Due
from ..domain.errors import DomainError
from ..domain.segments import segment_counts
from ..extensions import db
from ..models import Job, Role, SalesChannel, Segment
from ..web import allow, as_id, is_htmx, page_or_fragment, refreshed
from ..jobs.loaders import finished_pdf, own_job
from ..work_site.routes import work_site_id
from . import bp, jobs
from .selection import MATCH_PREFIX, board_filters, count_matching, selected_order_ids

SEGMENT_ORDER = list(Segment)
DEFAULT_SEGMENT = "all"


def _filters() -> tuple[str, BoardFilter, dict]:
    return board_filters()


def _counts_context(segment_name: str, args: dict) -> dict:
    counts = segment_counts()
    return {"counts": counts, "total": sum(counts.values()), "segments": SEGMENT_ORDER,
            "segment_name": segment_name, "args": args}


@bp.route("/")
@allow(Role.STAFF)
def home():
    return redirect(url_for("board.index"))


@bp.route("/orders")
@allow(Role.STAFF)
def index():
    segment_name, filters, args = _filters()
    before, after = request.args.get("before", ""), request.args.get("after", "")
    page = board_page(filters, before_id=as_id(before), after=after_from_text(after))
    channels = db.session.scalars(sa.select(SalesChannel).order_by(SalesChannel.name)).all()
    # With more than one page, the bulk bar offers every order the filter finds (counted up to the most
    # a bulk action takes), not only the ticked rows of this one.
    matching = count_matching(filters) if page.next_before_id or page.next_after_text or before or after else None
    return page_or_fragment("board/index.html", "board/_list.html", page=page, channels=channels,
                            first_page=not (before or after), name_search_from=NAME_SEARCH_FROM,
                            can_sort_by_ship_by=can_sort_by_ship_by(filters), dues=list(Due), matching=matching,
                            max_orders=bulk_shipping.MAX_ORDERS, match_prefix=MATCH_PREFIX,
                            zpl_labels=labels.buys_zpl(), **_counts_context(segment_name, args))


@bp.route("/orders/counts")
@allow(Role.STAFF)
def counts():
    """The segment tabs, and the stage and units of the rows the board shows (`shown`), swapped in place."""
    segment_name, _, args = _filters()
    shown = tuple(sorted({as_id(i) for i in request.args.getlist("shown")[:PAGE_SIZE]} - {None}))
    rows = board_page(BoardFilter(order_ids=shown, zone=current_app.config["OMS_TIMEZONE"]),
                      limit=len(shown)).rows if shown else []
    return render_template("board/_tabs.html", rows=rows, **_counts_context(segment_name, args))


@bp.route("/orders/bulk/allocate", methods=["POST"])
@allow(Role.STAFF)
def bulk_allocate():
    ids = selected_order_ids()
    units, refused = 0, []
    for order_id in ids:  # each order is its own all-or-nothing action
        try:
            units += order_services.allocate_now(current_user, order_id)
        except DomainError as error:
            refused.append(error.message)
    message = f"Allocated {units} unit(s) across {len(ids) - len(refused)} order(s)."
    if refused:
        message += f" Not allocated: {'; '.join(refused[:5])}" + (" …" if len(refused) > 5 else "")
    if not is_htmx():  # the board's form posted without its script: back to the board, the message on top
        flash(message)
        return redirect(url_for("board.index"))
    response = make_response(render_template("board/_bulk_result.html", message=message, refused=refused))
    response.headers["HX-Retarget"] = "#flash"
    return refreshed(response)


@bp.route("/orders/bulk/shipping/<action>", methods=["POST"])
@allow(Role.STAFF)
def bulk_shipping_action(action: str):
    """Create shipments, hand over or mark delivered: the selected orders (or all matching the filter),
    each all or nothing; up to INLINE_ORDERS at once, more as a job with progress."""
    if action not in bulk_shipping.ACTIONS:
        abort(404)
    ids = selected_order_ids()
    # Labels bought in bulk call the carrier service many times: always on the task queue.
    buying = action == "create" and labels.active_account() is not None
    if len(ids) > jobs.INLINE_ORDERS or (buying and ids):
        job = jobs.start(action, ids, current_user, work_site_id())
        if not is_htmx():
            return redirect(url_for("board.job_status", job_id=job.id))
        return _in_flash(render_template("board/_bulk_job.html", job=job, name=bulk_shipping.ACTION_NAMES[action],
                                         result=None, no_worker=False))
    result = bulk_shipping.ACTIONS[action](current_user, ids, location_id=work_site_id())
    if not is_htmx():
        flash(_summary(result))
        return redirect(url_for("board.index"))
    return _in_flash(render_template("board/_bulk_shipping_result.html", result=result, summary=_summary(result),
                                     name=bulk_shipping.ACTION_NAMES[action], pdf_url=_pdf_url(result)))


def _in_flash(html: str):
    response = make_response(html)
    response.headers["HX-Retarget"] = "#flash"
    response.headers["HX-Reswap"] = "innerHTML"
    return refreshed(response)


def _summary(result: bulk_shipping.BulkResult) -> str:
    done, refused = len(result.done), len(result.refused)
    words = bulk_shipping.DONE_WORDS[result.action]
    text = f"{done} order(s) {words}." if done else f"No order {words}."
    return text + (f" {refused} refused: see why below." if refused else "")


def _pdf_url(result: bulk_shipping.BulkResult) -> str | None:
    if result.action != "create" or not result.shipment_ids:
        return None
    return url_for("documents.shipments_pdf", ids=",".join(str(i) for i in sorted(result.shipment_ids)))


def _job(job_id: int) -> Job:
    return own_job(job_id, "bulk_shipping", "There is no such bulk action")


@bp.route("/orders/bulk/jobs/<int:job_id>")
@allow(Role.STAFF)
def job_status(job_id: int):
    job = _job(job_id)
    from ..documents.jobs import waiting_for_worker

    context = {"job": job, "name": bulk_shipping.ACTION_NAMES[job.params["action"]], "result": jobs.result_of(job),
               "no_worker": waiting_for_worker(job)}
    if is_htmx():
        response = make_response(render_template("board/_bulk_job.html", **context))
        return refreshed(response) if job.status == "done" else response
    return render_template("board/job.html", **context)


@bp.route("/orders/bulk/jobs/<int:job_id>.pdf")
@allow(Role.STAFF)
def job_pdf(job_id: int):
    from ..documents.routes import pdf_response

    job = _job(job_id)
    pdf = finished_pdf(job, "This batch has no PDF")
    return pdf_response(pdf, f"labels-and-slips-{len(job.order_ids)}-orders.pdf")
