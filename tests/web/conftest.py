"""Fixtures for the web tests: the app on SQLite with CSRF on (as in production), a test client whose
requests run like a server's, an `auth` helper that signs in through the login form, and helpers for
page posts and htmx requests that carry a valid CSRF token."""
from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from oms_web.extensions import db
from oms_web.models import Product, User

from ..shop import Shop

PASSWORD = "correct horse battery"
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token a page carries: its <meta> for htmx, else a form's hidden field."""
    found = _META_TOKEN.search(html) or _FORM_TOKEN.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


class WebClient(FlaskClient):
    """A test client whose every request runs as on a server: in its own app context, `g` and database
    session. (Flask would otherwise reuse the test's app context, and with it Flask-Login's cached user.)

    Every response is checked for a stack trace, and the test's own database session is ended after
    each request, so that what the test reads next is what the request committed.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        assert b"Traceback" not in response.get_data(), "a stack trace reached the browser"
        if has_app_context():
            db.session.rollback()
        return response

    # ------------------------------------------------------------ requests with a CSRF token

    def csrf_token(self) -> str:
        """A fresh token of this client's session, read from a page (the sign-in page, or the board once signed in)."""
        return csrf_from(self.get("/login", follow_redirects=True).get_data(as_text=True))

    def post_form(self, path: str, data: dict | None = None, *, token: str | None = "fresh", **kwargs):
        """A plain browser form post, with the session's CSRF token unless `token` says otherwise (None: no token)."""
        data = dict(data or {})
        if token is not None:
            data["csrf_token"] = self.csrf_token() if token == "fresh" else token
        return self.post(path, data=data, **kwargs)

    def htmx_get(self, path: str, **kwargs):
        return self.get(path, headers={"HX-Request": "true", **kwargs.pop("headers", {})}, **kwargs)

    def htmx_post(self, path: str, data: dict | None = None, *, token: str | None = "fresh", **kwargs):
        """An htmx post: the CSRF token in the X-CSRFToken header, as static/app.js sends it."""
        headers = {"HX-Request": "true", **kwargs.pop("headers", {})}
        if token is not None:
            headers["X-CSRFToken"] = self.csrf_token() if token == "fresh" else token
        return self.post(path, data=data or {}, headers=headers, **kwargs)


class Auth:
    """Sign in and out through the forms, as a person would."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def login(self, email: str, password: str = PASSWORD):
        page = self.client.get("/login")
        return self.client.post("/login", data={"email": email, "password": password,
                                                "csrf_token": csrf_from(page.get_data(as_text=True))})

    def logout(self):
        return self.client.post_form("/logout")


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    """Cheap hashes for the users the tests make; checking a password still runs the real code."""
    monkeypatch.setattr("oms_web.models.generate_password_hash",
                        functools.partial(generate_password_hash, method="pbkdf2:sha256:1000"))


@pytest.fixture
def web_app(sqlite_app):
    """The app on SQLite (these tests check no stock rule), CSRF protection on as in production."""
    assert sqlite_app.config.get("WTF_CSRF_ENABLED", True)
    sqlite_app.test_client_class = WebClient
    return sqlite_app


@pytest.fixture
def web_app_on_both_backends(app):
    """The app on SQLite and, when OMS_TEST_DATABASE_URL is set, on PostgreSQL too (the root conftest's
    `app`), CSRF protection on: for the bad-input tests, as PostgreSQL enforces the column lengths that
    SQLite ignores and refuses a NUL in text. A module takes it with `web_app = use_both_backends()`."""
    assert app.config.get("WTF_CSRF_ENABLED", True)
    app.test_client_class = WebClient
    return app


def use_both_backends():
    """A module's `web_app` fixture that runs its tests on both databases."""

    @pytest.fixture
    def web_app(web_app_on_both_backends):
        return web_app_on_both_backends

    return web_app


@pytest.fixture
def shop(web_app, quick_password_hashes) -> Shop:
    return Shop()


@pytest.fixture
def client(web_app) -> WebClient:
    return web_app.test_client()


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


@pytest.fixture
def sign_in(web_app) -> Callable[[User], WebClient]:
    """sign_in(user): a new client (a browser of its own) signed in as that user."""

    def make(user: User, password: str = PASSWORD) -> WebClient:
        client = web_app.test_client()
        response = Auth(client).login(user.email, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


def state(shop: Shop) -> dict:
    """Every number and row a request could change, read straight from the database (the shop's
    snapshot, plus users and products): two equal states prove a refused request changed nothing."""
    db.session.rollback()
    snap = shop.snapshot()
    snap["users"] = [tuple(r) for r in db.session.execute(
        sa.select(User.id, User.email, User.role, User.active, User.session_version, User.password_hash)
        .order_by(User.id)).all()]
    snap["product rows"] = [tuple(r) for r in db.session.execute(
        sa.select(Product.id, Product.sku, Product.name, Product.price_cents, Product.active).order_by(Product.id)).all()]
    db.session.rollback()
    return snap


def every_row() -> dict[str, list[tuple]]:
    """Every row of every table, read straight from the database: two equal results prove that a refused
    request changed nothing at all (a channel's secret and settings, a customer, an upload included)."""
    db.session.rollback()
    rows = {table.name: [tuple(row) for row in db.session.execute(
        sa.select(table).order_by(*table.primary_key.columns)).all()] for table in db.metadata.sorted_tables}
    db.session.rollback()
    return rows


@pytest.fixture
def as_staff(shop, sign_in) -> WebClient:
    return sign_in(shop.staff)


@pytest.fixture
def as_manager(shop, sign_in) -> WebClient:
    return sign_in(shop.manager)


@pytest.fixture
def as_admin(shop, sign_in) -> WebClient:
    return sign_in(shop.admin)
