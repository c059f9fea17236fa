"""What every screen shares: who may open a route, how large a request may be, page-or-fragment
rendering, errors, security headers.

Routes are closed by default: a view without `@allow(...)` answers 403, and a test walks the URL map
to prove every rule carries a role. Page or fragment is decided by the HX-Request header only.
Every request body is bounded before it is read (`bound_request`); the order API and the webhooks
answer every error in JSON, never a page (`answers_json`).
"""
from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import flask
from flask import Flask, Response, abort, current_app, jsonify, make_response, redirect, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import FileStorage, ImmutableMultiDict
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from .columns import column_length  # the forms' limits; screens import it from here with the form helpers
from .domain import money
from .domain.errors import DomainError, NotAllowed, NotFound
from .extensions import db, login_manager
from .failures import is_outage
from .models import Role

csrf = CSRFProtect()
PUBLIC = "public"

# htmx ships with the project (static/vendor/htmx.min.js, this version and hash) and is served from
# there unless OMS_HTMX is "cdn". Either way the browser checks the integrity hash.
HTMX_VERSION = "2.0.11"
HTMX_CDN = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
HTMX_INTEGRITY = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def htmx_from_cdn(config) -> bool:
    return config.get("OMS_HTMX") == "cdn"


def allow(role: Role | str) -> Callable:
    """Mark who may open a view: a Role (that role or above) or PUBLIC."""

    def mark(view: Callable) -> Callable:
        view.oms_role = role  # type: ignore[attr-defined]
        return view

    return mark


def body_limit(setting: str) -> Callable:
    """Mark a view that takes a body of another size than MAX_CONTENT_LENGTH: at most the named setting."""

    def mark(view: Callable) -> Callable:
        view.oms_body_limit = setting  # type: ignore[attr-defined]
        return view

    return mark


def request_limit() -> int:
    """The most bytes this request's body may have: its view's own setting, else MAX_CONTENT_LENGTH."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    setting = getattr(view, "oms_body_limit", None)
    limit = current_app.config[setting] if setting is not None else current_app.config["MAX_CONTENT_LENGTH"]
    if request.mimetype == "application/x-www-form-urlencoded":
        # Such a body is nothing but text fields, all held in memory: werkzeug bounds it by
        # MAX_FORM_MEMORY_SIZE when it has a Content-Length, and not at all when it is chunked.
        limit = min(limit, current_app.config["MAX_FORM_MEMORY_SIZE"])
    return limit


def bound_request() -> None:
    """Runs before anything reads the body (the CSRF check parses forms). A body declared larger than
    its limit is refused now, unread; a chunked one (no Content-Length) as soon as its reading passes
    the limit."""
    limit = request_limit()
    if request.content_length is not None:
        request.max_content_length = limit
        if request.content_length > limit:
            raise RequestEntityTooLarge()
    elif "wsgi.input_terminated" in request.environ:
        # werkzeug's own cap would stop reading a chunked body at the limit and hand over the bytes read
        # so far as if they were all of it (a cut order, a signature that fails for no clear reason):
        # this one refuses the body instead, on the byte past the limit (werkzeug's, a byte further, is
        # never reached).
        request.environ["wsgi.input"] = _Capped(request.environ["wsgi.input"], limit)
        request.max_content_length = limit + 1


class _Capped(io.RawIOBase):
    """A chunked body that raises 413 when more than `limit` bytes arrive."""

    def __init__(self, stream: Any, limit: int) -> None:
        self._stream, self._left = stream, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(min(len(buffer), self._left + 1))
        if len(data) > self._left:
            raise RequestEntityTooLarge()
        self._left -= len(data)
        buffer[:len(data)] = data
        return len(data)


# The machine clients' addresses: the order API and the store webhooks.
JSON_PATHS = ("/api/", "/webhooks/")


def answers_json() -> bool:
    """The order API and the webhooks answer every error in JSON (a store's client cannot read a page)."""
    return request.path.startswith(JSON_PATHS)


def json_error(status: int, message: str, problems: list[dict] | None = None) -> Response:
    response = jsonify({"error": message, "problems": problems or []})
    response.status_code = status
    return response


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
    htmx_source = " https://cdn.jsdelivr.net" if htmx_from_cdn(current_app.config) else ""
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
    if answers_json():
        return json_error(status, message, [{"field": field, "message": message}] if field else None)
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


def _size(size: int) -> str:
    return f"{size / 1048576:.3g} MB" if size >= 1048576 else f"{size / 1024:.3g} KB"


def _http_message(error: HTTPException) -> str:
    if isinstance(error, RequestEntityTooLarge):
        return f"The request is too large (at most {_size(request_limit())}); nothing was saved."
    return HTTP_MESSAGES.get(error.code or 500, error.description or "The request could not be understood.")


HTTP_MESSAGES = {
    400: "The request could not be understood.", 401: "Sign in or send a valid key first.",
    403: "Your role does not allow this.", 404: "There is nothing here.", 405: "That action is not available here.",
    415: "The body must be JSON (Content-Type: application/json).",
    429: "Too many attempts: wait a moment and try again.",
    503: "The database is not answering; nothing was changed. Try again in a moment.",
}


def _outage_response() -> Response:
    """The error page without the database: the signed-in user is not loaded (the page header would
    ask the database for them, and the error page itself would fail)."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass  # its connection went with the database; the pool makes a new one once it is back
    login_manager._update_request_context_with_user()  # anonymous for this response only; the session stays
    return error_response(503, HTTP_MESSAGES[503])


class NulInText(BadRequest):
    """A form or query value holding a NUL character: PostgreSQL refuses it in any text, so the request
    is refused before a view reads it, on every database alike."""

    def __init__(self, field: str) -> None:
        name = field[:60].replace("\x00", "")
        super().__init__(f"The field “{name}” holds a NUL character (\\0), which no text may contain: "
                         "remove it and send again.")
        self.field = field


class TextValues(ImmutableMultiDict):
    """The one place every form and query value passes (Werkzeug builds `request.args`, `request.form` and
    `request.files` with the request's parameter_storage_class): a NUL in a name, a value or an uploaded
    file's name is a 400 for every route at once. (A file's content is not text, and is not looked at.)"""

    def __init__(self, mapping=None) -> None:
        super().__init__(mapping)
        for key, value in self.items(multi=True):
            text = (value.filename or "") if isinstance(value, FileStorage) else value
            if "\x00" in key or "\x00" in text:
                raise NulInText(key)


class Request(flask.Request):
    parameter_storage_class = TextValues


def register_web(app: Flask) -> None:
    app.request_class = Request
    app.url_map.converters["int"] = DatabaseIdConverter  # before the blueprints add their rules
    # In this order: the role first (nobody unknown gets a larger limit or a form parsed), then the
    # body's bound, then the CSRF check that reads the form.
    app.before_request(_check_role)
    app.before_request(bound_request)
    csrf.init_app(app)
    app.add_template_filter(format_money, "money")
    app.add_template_filter(local_time, "local_time")
    app.after_request(_security_headers)

    @app.context_processor
    def _shared() -> dict[str, Any]:
        # The local address is made in base.html: a context processor also runs for the PDFs, where
        # there may be no request to build a URL from.
        return {"Role": Role, "htmx_cdn": HTMX_CDN if htmx_from_cdn(app.config) else None,
                "htmx_integrity": HTMX_INTEGRITY}

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        status = 404 if isinstance(error, NotFound) else 403 if isinstance(error, NotAllowed) else 422
        return error_response(status, error.message, error.field)

    @app.errorhandler(NulInText)
    def _nul_in_text(error: NulInText) -> Response:
        return error_response(400, error.description, error.field)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Response:
        return error_response(400, "This form has expired or was not sent from this site. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        response = error_response(error.code or 500, _http_message(error))
        for name, value in error.get_headers():  # Allow of a 405, Retry-After of a 429, ...
            if name.lower() != "content-type":
                response.headers[name] = value
        if isinstance(error, RequestEntityTooLarge):
            # The rest of the body is never read: the server must not wait for it to keep the connection.
            response.headers["Connection"] = "close"
        return response

    @app.errorhandler(500)
    def _server_error(error: InternalServerError) -> Response:
        if is_outage(error.original_exception):
            return _outage_response()
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
    return whole_number(raw, label=label, field=name, minimum=minimum, maximum=maximum)


def whole_number(raw: str, *, label: str, field: str, minimum: int = 0, maximum: int) -> int:
    """A typed whole number within [minimum, maximum], raising a DomainError naming the field (form_int's
    rule, for a field read from a list: the manual order's repeated quantity boxes)."""
    from .domain.errors import InvalidInput

    raw = raw.strip()
    # ASCII digits only: str.isdigit() also admits "²", which int() refuses; "--1" passed lstrip("-").
    if not re.fullmatch(r"-?[0-9]+", raw):
        raise InvalidInput(f"{label} must be a whole number", field=field)
    # Past 18 digits it is out of range anyway (and int() refuses over 4,300 digits).
    value = int(raw) if len(raw.lstrip("-0")) <= 18 else maximum + 1
    return in_range(value, label=label, field=field, minimum=minimum, maximum=maximum)


def in_range(value: int, *, label: str, field: str, minimum: int, maximum: int) -> int:
    """Refuse a number outside [minimum, maximum]; one too large says so and gives the most allowed,
    since "must be a whole number of at least 1" sends the user hunting for the wrong mistake."""
    from .domain.errors import InvalidInput

    if value > maximum:
        raise InvalidInput(f"{label} is too large: at most {maximum:,}", field=field)
    if value < minimum:
        raise InvalidInput(f"{label} must be between {minimum:,} and {maximum:,}", field=field)
    return value


def checked_text(text: str | None, column: Any = None, *, field: str, label: str, required: bool = False,
                 maximum: int | None = None) -> str | None:
    """A text value stripped, None when empty. Raises a DomainError naming the field when it is required
    and empty, or longer than its column holds (or than `maximum`, for text kept outside a column)."""
    from .domain.errors import InvalidInput

    text = (text or "").strip()
    limit = maximum if maximum is not None else column_length(column)
    if len(text) > limit:
        raise InvalidInput(f"{label} has at most {limit:,} characters ({len(text):,} given)", field=field)
    if not text and required:
        raise InvalidInput(f"{label} is required", field=field)
    return text or None


def form_text(name: str, column: Any = None, *, label: str, required: bool = False,
              maximum: int | None = None) -> str | None:
    """The form's text field `name`, checked against its column as checked_text() does."""
    return checked_text(request.form.get(name), column, field=name, label=label, required=required, maximum=maximum)
