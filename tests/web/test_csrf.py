"""Every state change needs the session's CSRF token: without it, or with a wrong one, 400 and nothing changed.
A token read from a page keeps working as long as the session (a board left open all day)."""
from __future__ import annotations

import time

import pytest
from itsdangerous.timed import TimestampSigner

from .conftest import csrf_from, state

EXPIRED_MESSAGE = "This form has expired or was not sent from this site."


@pytest.fixture
def order(shop):
    shop.product("A", in_hand=10)
    return shop.web_order(("A", 3))


def _posts(shop, order):
    """One state-changing post per area, each fine with a valid token."""
    product = shop.product_row("A")
    return [
        (f"/orders/{order.id}/notes", {"note": "call the customer"}),
        (f"/orders/{order.id}/ship", {f"ship-{order.lines[0].id}": "1"}),
        ("/pack/scan", {"code": "CLOSE", "order_id": str(order.id), f"shown-{order.lines[0].id}": "3",
                        f"scanned-{order.lines[0].id}": "3"}),
        (f"/orders/{order.id}/void", {"reason": "customer asked"}),
        (f"/products/{product.id}/receive", {"quantity": "5"}),
        ("/products/new", {"sku": "NEW-1", "name": "New", "price": "1.00"}),
        ("/users", {"email": "new@example.com", "role": "staff", "password": "long enough password"}),
        (f"/users/{shop.staff.id}", {"role": "staff", "active": "0"}),
        ("/account/password", {"current_password": "correct horse battery", "new_password": "a new long password",
                               "confirm_password": "a new long password"}),
        ("/logout", {}),
    ]


@pytest.mark.parametrize("token", [None, "", "forged-token", "ImFiYyI.ZZZZZZ.abcdefabcdefabcdefabcdefabc"],
                         ids=["missing", "empty", "garbage", "well-formed-but-forged"])
def test_a_post_without_a_valid_token_is_refused_and_changes_nothing(shop, as_admin, order, token):
    for path, data in _posts(shop, order):
        before = state(shop)
        page = as_admin.post_form(path, data, token=token)
        assert page.status_code == 400, path
        assert EXPIRED_MESSAGE in page.get_data(as_text=True)
        fragment = as_admin.htmx_post(path, data, token=token)
        assert fragment.status_code == 400, path
        assert EXPIRED_MESSAGE in fragment.get_data(as_text=True)
        assert "<html" not in fragment.get_data(as_text=True)
        assert state(shop) == before, f"{path} changed something without a valid token"


def test_a_token_of_another_session_is_refused(shop, sign_in, order):
    admin, staff = sign_in(shop.admin), sign_in(shop.staff)
    before = state(shop)
    response = admin.htmx_post(f"/orders/{order.id}/void", {"reason": "customer asked"}, token=staff.csrf_token())
    assert response.status_code == 400
    assert state(shop) == before


def test_the_sign_in_form_needs_its_token(shop, client):
    response = client.post("/login", data={"email": shop.staff.email, "password": "correct horse battery"})
    assert response.status_code == 400
    assert client.get("/orders").status_code == 302, "signed in without a token"


def test_the_token_from_before_sign_in_does_not_work_after_it(shop, client, auth, order):
    """Sign-in starts a new session, so a token planted before it is worthless."""
    planted = client.csrf_token()
    assert auth.login(shop.staff.email).status_code == 302
    before = state(shop)
    assert client.htmx_post(f"/orders/{order.id}/notes", {"note": "x"}, token=planted).status_code == 400
    assert state(shop) == before


def test_a_token_from_a_page_still_works_days_later(shop, as_staff, order, monkeypatch):
    page = as_staff.get(f"/orders/{order.id}")
    token = csrf_from(page.get_data(as_text=True))
    for note in ("first", "second"):  # the same token, over and over
        assert as_staff.htmx_post(f"/orders/{order.id}/notes", {"note": note}, token=token).status_code == 200
    three_days_later = int(time.time()) + 3 * 24 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: three_days_later)
    response = as_staff.htmx_post(f"/orders/{order.id}/notes", {"note": "after the weekend"}, token=token)
    assert response.status_code == 200
    assert "after the weekend" in response.get_data(as_text=True)
