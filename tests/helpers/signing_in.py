"""A test client signed in through the sign-in form, with the page's CSRF token."""
from __future__ import annotations

import re


def page_token(client, path: str = "/orders") -> str:
    """The CSRF token of the page at `path`, as its forms and htmx send it."""
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def signed_in(app, user):
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": "correct horse battery",
                                "csrf_token": page_token(client, "/login")})
    return client


def admin_client(app, shop):
    return signed_in(app, shop.admin)
