"""The order board: segments with their counts, search, filters, keyset pages, bulk actions."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain import orders as order_services
from ..domain.board import (NAME_SEARCH_FROM, PAGE_SIZE, BoardFilter, Sort, after_from_text, board_page,
                            can_sort_by_ship_by)
from ..domain.deadlines import Due
from ..domain.errors import DomainError, InvalidInput
from ..domain.segments import segment_counts
from ..extensions import db
from ..models import Role, SalesChannel, Segment
from ..web import allow, as_id, error_response, is_htmx, page_or_fragment, refreshed
from . import bp

SEGMENT_ORDER = list(Segment)
DEFAULT_SEGMENT = "all"
# The days the date filter takes: Python's calendar ends at 9999-12-31, and the filter reaches a day
# past its "to" in the shop's time zone, so a day at either end would overflow instead of matching nothing.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
DATE_LABELS = {"from": "The From date", "to": "The To date"}


def _date(name: str) -> date | None:
    """The day of a date filter; text that is no date is ignored, as the browser's date field never sends it."""
    try:
        day = date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(f"{DATE_LABELS[name]} must be a day from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}, "
                           "written like 2026-01-31", field=name)
    return day


def _filters() -> tuple[str, BoardFilter, dict]:
    segment_name = request.args.get("segment", DEFAULT_SEGMENT)
    segment = next((s for s in Segment if s.value == segment_name), None)
    if segment is None:
        segment_name = "all"
    channel = request.args.get("channel", "")
    # Like the segment, a quick filter or a sort the board does not offer is no filter and the default sort.
    due = next((d for d in Due if d.value == request.args.get("due")), None)
    sort = next((s for s in Sort if s.value == request.args.get("sort")), None)
    filters = BoardFilter(segment=segment, search=request.args.get("q", "")[:100],
                          channel_id=as_id(channel),
                          created_from=_date("from"), created_to=_date("to"), zone=current_app.config["OMS_TIMEZONE"],
                          due=due, sort=sort)
    args = {"segment": segment_name, "q": filters.search, "channel": channel,
            "from": request.args.get("from", ""), "to": request.args.get("to", ""),
            "due": due.value if due else "", "sort": sort.value if sort else ""}
    return segment_name, filters, {k: v for k, v in args.items() if v}


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
    return page_or_fragment("board/index.html", "board/_list.html", page=page, channels=channels,
                            first_page=not (before or after), name_search_from=NAME_SEARCH_FROM,
                            can_sort_by_ship_by=can_sort_by_ship_by(filters), dues=list(Due),
                            **_counts_context(segment_name, args))


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
    ids = sorted({as_id(i) for i in request.form.getlist("order_ids")} - {None})
    if not ids:
        return error_response(422, "Select at least one order first.")
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
