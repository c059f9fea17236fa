"""The location a user is standing in: kept in their session, chosen in the top bar (shown once the shop
has two sites or more), and used by the pack station, the board's bulk shipping and its pick lists,
which work on that location's units only. Until chosen, it is the default location (stock.default_location_id).
"""
from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import make_response, redirect, request, session, url_for

from ..domain import stock
from ..domain.errors import DomainError, InvalidInput
from ..extensions import db
from ..models import Location, LocationKind, Role
from ..web import MAX_ID, allow, error_response, form_int, is_htmx
from . import bp

SESSION_KEY = "oms_work_site"


def own_sites() -> dict[int, str]:
    """The active warehouses and 3PLs one can stand in, highest priority first."""
    return dict(db.session.execute(
        sa.select(Location.id, Location.name)
        .where(Location.active, Location.kind.in_([k for k in LocationKind if k.sells_from]))
        .order_by(Location.priority.desc(), Location.id)).all())


def work_site_id() -> int | None:
    """The location the signed-in user stands in: their choice while it is still an active site, else
    the default location (None when the shop has no active site at all)."""
    chosen = session.get(SESSION_KEY)
    if isinstance(chosen, int) and chosen in own_sites():
        return chosen
    try:
        return stock.default_location_id()
    except DomainError:
        return None


@bp.app_context_processor
def _work_site_context() -> dict:
    def work_site_choices() -> dict[int, str]:
        sites = own_sites()
        return sites if len(sites) > 1 else {}

    return {"work_site_choices": work_site_choices, "work_site_id": work_site_id}


@bp.route("/work-site", methods=["POST"])
@allow(Role.STAFF)
def choose():
    try:
        location_id = form_int("location", label="The location", minimum=1, maximum=MAX_ID)
        if location_id not in own_sites():
            raise InvalidInput("Choose one of the active warehouses", field="location")
    except DomainError as error:
        return error_response(422, error.message, error.field)
    session[SESSION_KEY] = location_id
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Refresh"] = "true"  # every screen's figures are the new location's
        return response
    back = urlsplit(request.referrer or "")
    same_site = back.netloc in ("", request.host) and back.path.startswith("/")
    return redirect(back.path + (f"?{back.query}" if back.query else "") if same_site else url_for("board.index"))
