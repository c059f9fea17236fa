"""Sessions end when they should: sign-out (everywhere), password change, being disabled; and sign-in
starts a new session (no fixation)."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from flask import current_app

from .conftest import Auth, csrf_from


def _cookie(client) -> str | None:
    cookie = client.get_cookie(current_app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def _browser_with_cookie(web_app, value: str):
    other = web_app.test_client()
    other.set_cookie(web_app.config["SESSION_COOKIE_NAME"], value)
    return other


def _signed_in(client) -> bool:
    response = client.get("/orders")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_a_copy_of_the_session_cookie_stops_working_after_sign_out(web_app, shop, client, auth):
    assert auth.login(shop.staff.email).status_code == 302
    copied = _cookie(client)
    assert _signed_in(_browser_with_cookie(web_app, copied))
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not _signed_in(client)
    assert not _signed_in(_browser_with_cookie(web_app, copied)), "the old cookie still signs in"


def test_signing_out_ends_every_session_of_that_user(shop, sign_in):
    laptop, phone = sign_in(shop.staff), sign_in(shop.staff)
    colleague = sign_in(shop.manager)
    Auth(laptop).logout()
    assert not _signed_in(phone)
    assert _signed_in(colleague)


def test_a_password_change_ends_the_other_sessions_but_not_this_one(shop, sign_in):
    laptop, phone = sign_in(shop.staff), sign_in(shop.staff)
    response = laptop.post_form("/account/password", {
        "current_password": "correct horse battery", "new_password": "a brand new password",
        "confirm_password": "a brand new password"})
    assert response.status_code == 302
    assert "Password changed" in laptop.get("/orders").get_data(as_text=True)
    assert _signed_in(laptop)
    assert not _signed_in(phone)
    assert sign_in(shop.staff, "a brand new password")
    assert Auth(phone).login(shop.staff.email).status_code == 401, "the old password still works"


def test_disabling_a_user_ends_their_session_at_their_next_request(shop, sign_in):
    staff, admin = sign_in(shop.staff), sign_in(shop.admin)
    assert _signed_in(staff)
    response = admin.htmx_post(f"/users/{shop.staff.id}", {"role": "staff", "active": "0"})
    assert response.status_code == 200
    assert "Saved" in response.get_data(as_text=True)
    assert not _signed_in(staff)
    assert staff.htmx_post("/orders/new", {}).status_code == 401
    assert Auth(staff).login(shop.staff.email).status_code == 401


def test_a_role_change_takes_effect_at_the_next_request(shop, sign_in):
    manager, admin = sign_in(shop.manager), sign_in(shop.admin)
    assert manager.get("/overview").status_code == 200
    assert admin.post_form(f"/users/{shop.manager.id}", {"role": "staff", "active": "1"}).status_code == 302
    assert not _signed_in(manager), "the session made under the old role goes on"
    demoted = Auth(manager)
    assert demoted.login(shop.manager.email).status_code == 302
    assert manager.get("/overview").status_code == 403


def test_sign_in_issues_a_new_session_cookie(web_app, shop, client, auth):
    client.get("/login")
    before = _cookie(client)
    assert before, "the sign-in page should start a session (it holds the CSRF token)"
    assert auth.login(shop.staff.email).status_code == 302
    after = _cookie(client)
    assert after and after != before
    # A cookie planted before sign-in (session fixation) gives the attacker nothing.
    assert not _signed_in(_browser_with_cookie(web_app, before))
    assert _signed_in(client)


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(shop, client, auth):
    first = client.get("/products?q=A")
    assert first.status_code == 302 and first.headers["Location"].startswith("/login?next=")
    page = client.get(first.headers["Location"])
    assert page.status_code == 200
    response = client.post(first.headers["Location"], data={
        "email": shop.staff.email, "password": "correct horse battery", "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.headers["Location"] == "/products?q=A"
    Auth(client).logout()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        page = client.get("/login", query_string={"next": target})
        response = client.post("/login", query_string={"next": target}, data={
            "email": shop.staff.email, "password": "correct horse battery",
            "csrf_token": csrf_from(page.get_data(as_text=True))})
        assert response.status_code == 302
        location = response.headers["Location"]
        assert not urlsplit(location).netloc and location.startswith("/") and not location.startswith("//"), target
        assert "\\" not in location, target
        Auth(client).logout()


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for(sqlite_app):
    from oms_web import create_app
    from tests.conftest import test_config

    seen = []
    app = create_app(test_config(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], OMS_PROXIES=1))

    @app.before_request
    def remember():
        from flask import request

        seen.append(request.remote_addr)

    app.test_client().get("/login", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    sqlite_app.test_client().get("/login", headers={"X-Forwarded-For": "203.0.113.7"},
                                 environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert seen == ["203.0.113.7"]


def test_failed_sign_ins_are_counted_across_worker_processes_through_redis(sqlite_app, shop):
    """Two app instances (two gunicorn workers) sharing OMS_REDIS_URL share the count of failures, and
    keep it in Redis, not in the database."""
    import uuid

    import redis as redis_client
    import sqlalchemy as sa

    from oms_web import create_app
    from oms_web.extensions import db
    from oms_web.models import SignInCount
    from tests.conftest import test_config

    from .conftest import WebClient

    url = "redis://127.0.0.1:6379/15"
    try:
        redis_client.Redis.from_url(url).ping()
    except redis_client.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379 (the machine starts it; CI has it)")
    # A fresh account and address: Redis's counts outlive a test run.
    address = f"198.51.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 256}"
    shop.staff.email = f"{uuid.uuid4().hex}@example.com"
    db.session.commit()
    workers = []
    for _ in range(2):
        worker = create_app(test_config(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], OMS_REDIS_URL=url))
        worker.test_client_class = WebClient
        client = worker.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        workers.append(Auth(client))
    for attempt in range(5):
        assert workers[attempt % 2].login(shop.staff.email, "a guess").status_code == 401
    refused = workers[1].login(shop.staff.email)
    assert refused.status_code == 401 and "Too many failed sign-ins" in refused.get_data(as_text=True), \
        "five failures over two workers block the account from that address"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignInCount)) == 0, "Redis was there: no row"
