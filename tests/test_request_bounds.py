"""Every request is bounded before it is read, and the order API and the webhooks answer every error
in JSON (on SQLite and PostgreSQL: the `app` fixture runs on both)."""
from __future__ import annotations

import io
import json

import pytest
from flask import abort
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from oms_web import create_app
from oms_web.channels.manage import create_channel
from oms_web.models import ChannelKind

from . import conftest
from .conftest import OwnContextClient
from tests.helpers.webstore import ORDER, SHOPIFY, orders_count, sign
from tests.helpers.amazon_reports import ALL_ORDERS, all_orders_row, tsv

LIMIT = 4 * 1024 * 1024  # the default MAX_CONTENT_LENGTH


class Zeros(io.RawIOBase):
    """A body of `size` bytes made as it is read, counting what the app read of it: a 300 MB body
    costs the test nothing, and the count proves where the app stopped."""

    def __init__(self, size: int, fill: bytes = b"0") -> None:
        self.size, self.fill, self.taken = size, fill, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.taken)
        buffer[:n] = self.fill * n
        self.taken += n
        return n


def post_stream(app, path: str, body: Zeros, *, chunked: bool, content_type: str = "application/json",
                headers: dict | None = None):
    """POST the body as a server hands it to the app: with its Content-Length, or chunked (no length;
    gunicorn and werkzeug's server end the stream for the app and say so: wsgi.input_terminated)."""
    environ = EnvironBuilder(path=path, method="POST", content_type=content_type, headers=headers or {}).get_environ()
    environ["wsgi.input"] = body
    if chunked:
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(body.size)
    return app.test_client().open(Request(environ))


@pytest.fixture
def channels(app, shop):
    shop.product("MUG", in_hand=10, price_cents=999)
    return {"api": create_channel("Store API", ChannelKind.API),
            "shopify": create_channel("Shopify", ChannelKind.SHOPIFY, "shopify-secret").channel,
            "woo": create_channel("Woo", ChannelKind.WOOCOMMERCE, "woo-secret").channel}


def _targets(channels) -> dict[str, tuple[str, dict]]:
    key = channels["api"].api_key
    return {"api": ("/api/v1/orders", {"Authorization": f"Bearer {key}"}),
            "shopify": (f"/webhooks/shopify/{channels['shopify'].id}", {"X-Shopify-Hmac-Sha256": "d3Jvbmc="}),
            "woocommerce": (f"/webhooks/woocommerce/{channels['woo'].id}", {"X-WC-Webhook-Signature": "d3Jvbmc="})}


def assert_json_413(response) -> None:
    assert response.status_code == 413, response.get_data(as_text=True)[:300]
    assert response.is_json and "too large" in response.get_json()["error"]
    assert response.headers["Connection"] == "close"


@pytest.mark.parametrize("target", ["api", "shopify", "woocommerce"])
def test_a_body_declared_over_the_limit_is_refused_with_413_before_a_byte_is_read(app, channels, target):
    path, headers = _targets(channels)[target]
    body = Zeros(300 * 1024 * 1024)
    response = post_stream(app, path, body, chunked=False, headers=headers)
    assert_json_413(response)
    assert body.taken == 0
    assert orders_count() == 0


@pytest.mark.parametrize("target", ["api", "shopify", "woocommerce"])
def test_a_chunked_body_is_refused_with_413_once_it_passes_the_limit(app, channels, target):
    """No Content-Length (Transfer-Encoding: chunked, which gunicorn and werkzeug's server end for the
    app: wsgi.input_terminated): the order API's old check looked only at the header."""
    path, headers = _targets(channels)[target]
    body = Zeros(3 * LIMIT)
    response = post_stream(app, path, body, chunked=True, headers=headers)
    assert_json_413(response)
    assert body.taken <= LIMIT + 64 * 1024
    assert orders_count() == 0


def test_a_signed_order_under_the_limit_still_arrives(app, channels):
    body = json.dumps(ORDER).encode()
    response = app.test_client().post("/api/v1/orders", input_stream=io.BytesIO(body), content_type="application/json",
                                      headers={"Authorization": f"Bearer {channels['api'].api_key}"},
                                      environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 201, response.get_json()


def test_the_limit_is_the_setting(app, channels):
    app.config["MAX_CONTENT_LENGTH"] = 2_000
    path, headers = _targets(channels)["api"]
    padded = json.dumps({**ORDER, "note": "x" * 3_000}).encode()
    response = app.test_client().post(path, data=padded, content_type="application/json", headers=headers)
    assert_json_413(response)
    assert "at most 1.95 KB" in response.get_json()["error"]
    assert orders_count() == 0


def test_a_chunked_form_over_the_limit_gets_the_error_page(app, shop):
    """A form post (here the sign-in form, before any of its fields is looked at) is bounded the same."""
    body = Zeros(3 * LIMIT, fill=b"a")
    response = post_stream(app, "/login", body, chunked=True, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "<html" in response.get_data(as_text=True) and "too large" in response.get_data(as_text=True)
    assert body.taken <= LIMIT + 64 * 1024


def test_a_chunked_plain_form_is_bounded_by_the_form_memory_limit(app, shop):
    """A url-encoded form is all text held in memory: at most MAX_FORM_MEMORY_SIZE, chunked or not
    (werkzeug checks only a declared length; a 3 MB e-mail address once reached Redis as a key)."""
    body = Zeros(1_000_000, fill=b"a")
    response = post_stream(app, "/login", body, chunked=True, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413 and "at most 488 KB" in response.get_data(as_text=True)
    assert body.taken <= 500_000 + 64 * 1024


# ---------------------------------------------------------------- the report upload's own limit

def _admin(app, shop):
    import re

    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": shop.admin.email, "password": "correct horse battery", "csrf_token": token})
    amazon = create_channel("Amazon", ChannelKind.AMAZON).channel
    page = client.get(f"/channels/{amazon.id}").get_data(as_text=True)
    return client, amazon, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_a_report_file_may_be_larger_than_other_requests_up_to_its_own_limit(app, shop):
    app.config.update(MAX_CONTENT_LENGTH=100_000, OMS_MAX_REPORT_BYTES=1_000_000)
    client, amazon, token = _admin(app, shop)
    rows = [all_orders_row(f"202-{n}", "MUG", "1", "9.99") for n in range(2_000)]
    report = tsv(ALL_ORDERS, rows).encode()
    assert 100_000 < len(report) < 1_000_000
    preview = client.post(f"/channels/{amazon.id}/reports", content_type="multipart/form-data", data={
        "csrf_token": token, "kind": "amazon-all-orders", "file": (io.BytesIO(report), "orders.txt")})
    assert preview.status_code == 200, preview.get_data(as_text=True)[:500]

    too_large = report * 6
    refused = client.post(f"/channels/{amazon.id}/reports", content_type="multipart/form-data", data={
        "csrf_token": token, "kind": "amazon-all-orders", "file": (io.BytesIO(too_large), "orders.txt")})
    assert refused.status_code == 413 and "at most 977 KB" in refused.get_data(as_text=True)
    assert orders_count() == 0


def test_the_larger_limit_is_only_for_the_report_upload(app, shop):
    app.config.update(MAX_CONTENT_LENGTH=100_000, OMS_MAX_REPORT_BYTES=1_000_000)
    client, amazon, token = _admin(app, shop)
    response = client.post(f"/channels/{amazon.id}", content_type="multipart/form-data", data={
        "csrf_token": token, "active": "1", "file": (io.BytesIO(b"x" * 200_000), "big.txt")})
    assert response.status_code == 413


# ---------------------------------------------------------------- settings

def test_the_limits_come_from_the_environment(monkeypatch):
    from oms_web.config import byte_count, from_environment

    monkeypatch.setenv("OMS_MAX_REQUEST_BYTES", "8388608")
    monkeypatch.setenv("OMS_MAX_REPORT_BYTES", "104857600")
    assert from_environment()["MAX_CONTENT_LENGTH"] == "8388608"
    assert from_environment()["OMS_MAX_REPORT_BYTES"] == "104857600"
    assert byte_count("MAX_CONTENT_LENGTH", "8388608") == 8 * 1024 * 1024


@pytest.mark.parametrize("value", ["", "8MB", "-1", "0", "1e6", "٣"])
def test_a_limit_that_is_not_a_number_of_bytes_stops_the_app(value, tmp_path):
    with pytest.raises(RuntimeError, match="not a number of bytes"):
        create_app(conftest.test_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", MAX_CONTENT_LENGTH=value))


# ---------------------------------------------------------------- JSON for every error of the machine clients

ERRORS = [400, 401, 403, 404, 405, 413, 415, 422, 429, 500, 503]


@pytest.fixture
def app_with_failing_routes(app):
    """The app with routes under the API's and the webhooks' addresses that fail with each status (the
    real handlers answer; only the failing is made up, as no route fails with every status on demand)."""
    failing = create_app(conftest.test_config(app.config["SQLALCHEMY_DATABASE_URI"], PROPAGATE_EXCEPTIONS=False))
    failing.test_client_class = OwnContextClient

    def fail(code: int):
        if code == 500:
            raise RuntimeError("a bug")
        abort(code)

    from oms_web.web import PUBLIC, allow, csrf

    view = csrf.exempt(allow(PUBLIC)(fail))
    failing.add_url_rule("/api/v1/failing/<int:code>", "api_failing", view, methods=["GET", "POST"])
    failing.add_url_rule("/webhooks/failing/<int:code>", "webhooks_failing", view, methods=["GET", "POST"])
    failing.add_url_rule("/failing/<int:code>", "page_failing", view, methods=["GET", "POST"])
    return failing


@pytest.mark.parametrize("prefix", ["/api/v1", "/webhooks"])
@pytest.mark.parametrize("code", ERRORS)
def test_every_error_of_the_api_and_the_webhooks_is_json(app_with_failing_routes, prefix, code):
    for method in ("get", "post"):
        response = getattr(app_with_failing_routes.test_client(), method)(f"{prefix}/failing/{code}")
        assert response.status_code == code
        assert response.is_json, response.get_data(as_text=True)[:300]
        assert response.get_json()["error"]
        assert "<html" not in response.get_data(as_text=True)


@pytest.mark.parametrize("code", ERRORS)
def test_a_page_error_is_still_the_error_page(app_with_failing_routes, code):
    response = app_with_failing_routes.test_client().get(f"/failing/{code}")
    assert response.status_code == code
    assert "<html" in response.get_data(as_text=True) and not response.is_json


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/api/v1/nothing-here", 404), ("get", "/api/v1/orders", 405), ("put", "/api/v1/orders", 405),
    ("get", "/webhooks/shopify/1", 405), ("post", "/webhooks/nothing-here", 404),
    ("post", "/webhooks/shopify/99999999999999999999", 404)])
def test_an_unknown_address_or_method_under_the_api_or_webhooks_is_json(app, method, path, status):
    response = getattr(app.test_client(), method)(path)
    assert response.status_code == status and response.is_json
    if status == 405:
        assert "POST" in response.headers["Allow"]
    assert "<html" not in response.get_data(as_text=True)


def test_a_signed_webhook_is_still_taken(app, channels):
    raw = json.dumps(SHOPIFY).encode()
    response = app.test_client().post(f"/webhooks/shopify/{channels['shopify'].id}", data=raw,
                                      content_type="application/json",
                                      headers={"X-Shopify-Hmac-Sha256": sign("shopify-secret", raw)})
    assert response.status_code == 200, response.get_json()
