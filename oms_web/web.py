"""What every screen shares: who may open a route, page-or-fragment rendering, errors, security headers.

Routes are closed by default: a view without `@allow(...)` answers 403, and a test walks the URL map
to prove every rule carries a role. Page or fragment is decided by the HX-Request header only.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.routing import IntegerConverter

from .domain import money
from .domain.errors import DomainError, NotAllowed, NotFound
from .extensions import db
from .models import Role

csrf = CSRFProtect()
PUBLIC = "public"

HTMX_VERSION = "2.0.11"
HTMX_CDN = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
HTMX_INTEGRITY = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def allow(role: Role | str) -> Callable:
    """Mark who may open a view: a Role (that role or above) or PUBLIC."""

    def mark(view: Callable) -> Callable:
        view.oms_role = role  # type: ignore[attr-defined]
        return view

    return mark


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def page_or_fragment(page_template: str, fragment_template: str, status: int = 200, **context: Any) -> Response:
    """The full page for a browser load, just the fragment the page includes for an htmx request."""
    return make_response(render_template(fragment_template if is_htmx() else page_template, **context), status)


def refreshed(response: Response, *events: str) -> Response:
    """Tell the widgets elsewhere on screen (counts, stock figures) that something changed."""
    response.headers["HX-Trigger"] = ", ".join(("orders-changed",) + events)
    return response


def redirect_to(url: str) -> Response:
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Location"] = url
        return response
    return redirect(url)


def _check_role() -> Response | None:
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    role = getattr(view, "oms_role", None)
    if role == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    if role is None or not current_user.has_role(role):
        abort(403)
    return None


def _security_headers(response: Response) -> Response:
    htmx_source = "" if current_app.config.get("OMS_HTMX") == "local" else " https://cdn.jsdelivr.net"
    response.headers.setdefault("Content-Security-Policy",
                                f"default-src 'self'; script-src 'self'{htmx_source}; style-src 'self'; "
                                "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
                                "frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.vary.add("HX-Request")
    if current_user and getattr(current_user, "is_authenticated", False):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def error_response(status: int, message: str, field: str | None = None) -> Response:
    if is_htmx():
        response = make_response(render_template("errors/_message.html", message=message, field=field), status)
        # Shown in the page's message area unless the route re-renders its own form with the error.
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return make_response(render_template("errors/error.html", status=status, message=message), status)


def local_time(moment: datetime | None, style: str = "%d %b %H:%M") -> str:
    """A UTC time from the database, shown in the shop's time zone (OMS_TIMEZONE); with its zone's
    abbreviation when the style shows the hour."""
    if moment is None:
        return ""
    zone = current_app.config["OMS_TIMEZONE"]
    here = moment.replace(tzinfo=timezone.utc).astimezone(zone)
    return here.strftime(style) + (f" {here.tzname()}" if "%H" in style else "")


def format_money(cents: int, currency: str = "USD") -> str:
    return money.amount_text(cents, currency)


MAX_ID = 2**63 - 1  # the largest integer SQLite (and a PostgreSQL bigint) stores


class DatabaseIdConverter(IntegerConverter):
    """<int:...> in a URL: a number past MAX_ID matches no route (404) instead of overflowing the query."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def as_id(text: str | None) -> int | None:
    """An id from a query string or form value: ASCII digits within MAX_ID, else None."""
    text = (text or "").strip()
    return int(text) if re.fullmatch(r"[0-9]{1,18}", text) else None


def register_web(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseIdConverter  # before the blueprints add their rules
    csrf.init_app(app)
    app.add_template_filter(format_money, "money")
    app.add_template_filter(local_time, "local_time")
    app.before_request(_check_role)
    app.after_request(_security_headers)

    @app.context_processor
    def _shared() -> dict[str, Any]:
        local = app.config.get("OMS_HTMX") == "local"
        return {"Role": Role, "htmx_src": url_for("static", filename="vendor/htmx.min.js") if local else HTMX_CDN,
                "htmx_integrity": None if local else HTMX_INTEGRITY}

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        status = 404 if isinstance(error, NotFound) else 403 if isinstance(error, NotAllowed) else 422
        return error_response(status, error.message, error.field)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Response:
        return error_response(400, "This form has expired or was not sent from this site. Reload the page and try again.")

    for status, message in ((403, "Your role does not allow this."), (404, "There is nothing here."),
                            (405, "That action is not available here."), (400, "The request could not be understood.")):
        app.register_error_handler(status, functools.partial(lambda m, s, e: error_response(s, m), message, status))

    @app.errorhandler(500)
    def _server_error(error: Exception) -> Response:
        db.session.rollback()
        return error_response(500, "Something went wrong on our side; nothing was changed. Try again.")


def form_int(name: str, *, label: str, minimum: int = 0, maximum: int = 1_000_000, required: bool = True) -> int | None:
    """Parse a whole number from the form, raising a DomainError naming the field."""
    from .domain.errors import InvalidInput

    raw = (request.form.get(name) or "").strip()
    if not raw:
        if required:
            raise InvalidInput(f"{label} is required", field=name)
        return None
    # ASCII digits only: str.isdigit() also admits "²", which int() refuses; "--1" passed lstrip("-").
    if not re.fullmatch(r"-?[0-9]+", raw):
        raise InvalidInput(f"{label} must be a whole number", field=name)
    # Past 18 digits it is out of range anyway (and int() refuses over 4,300 digits).
    value = int(raw) if len(raw.lstrip("-0")) <= 18 else maximum + 1
    if value < minimum or value > maximum:
        raise InvalidInput(f"{label} must be between {minimum:,} and {maximum:,}", field=name)
    return value
