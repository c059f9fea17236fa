"""While the database cannot be reached, a page is the app's own error page (503), the API and the
webhooks answer JSON, and the log says so once per few seconds with a count, not a traceback a request.

The outage is real: the app points at a PostgreSQL port where nothing listens, or at an SQLite file
in a folder that does not exist; every request then fails to connect, as during an outage.
"""
from __future__ import annotations

import logging
import socket
import time

import pytest

from oms_web import create_app

from .conftest import OwnContextClient
from . import conftest


def _closed_port() -> int:
    with socket.socket() as probe:  # a port just freed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


UNREACHABLE = {
    "postgresql": lambda tmp_path: f"postgresql://postgres@127.0.0.1:{_closed_port()}/oms",
    "sqlite": lambda tmp_path: f"sqlite:///{tmp_path / 'no-such-folder' / 'oms.sqlite3'}",
}


@pytest.fixture(params=sorted(UNREACHABLE))
def down(request, tmp_path):
    app = create_app(conftest.test_config(UNREACHABLE[request.param](tmp_path), PROPAGATE_EXCEPTIONS=False,
                                          OMS_FAILURE_LOG_SECONDS=1))
    app.test_client_class = OwnContextClient
    return app


def signed_in(app):
    """A browser with a session of a signed-in user (made when the database was still up)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:0"
        session["_fresh"] = True
    return client


def test_a_page_during_an_outage_is_the_apps_error_page(down):
    response = signed_in(down).get("/orders")
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert "<html" in body and "· oms_web</title>" in body
    assert "The database is not answering" in body
    assert "Internal Server Error" not in body and "Traceback" not in body


def test_a_signed_out_page_and_an_htmx_request_during_an_outage(down):
    client = down.test_client()
    assert client.get("/login").status_code == 200  # the sign-in page needs no database
    fragment = signed_in(down).get("/orders", headers={"HX-Request": "true"})
    assert fragment.status_code == 503
    assert "<html" not in fragment.get_data(as_text=True)
    assert "The database is not answering" in fragment.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/orders", "/webhooks/shopify/1", "/webhooks/woocommerce/1"])
def test_the_api_and_the_webhooks_answer_json_during_an_outage(down, path):
    response = down.test_client().post(path, json={"order_id": "W-1"},
                                       headers={"Authorization": "Bearer some-key", "X-Shopify-Hmac-Sha256": "x"})
    assert response.status_code == 503 and response.is_json
    assert "The database is not answering" in response.get_json()["error"]


def test_the_log_has_one_line_per_few_seconds_with_a_count_not_a_traceback_per_request(down, caplog):
    client = signed_in(down)
    caplog.set_level(logging.INFO, logger=down.logger.name)
    for _ in range(20):
        assert client.get("/orders").status_code == 503
    lines = [r for r in caplog.records if r.name == down.logger.name]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].exc_info is None and "\n" not in lines[0].getMessage()
    assert lines[0].getMessage().startswith("The database is not answering on GET /orders")

    time.sleep(1.1)  # OMS_FAILURE_LOG_SECONDS=1 here
    client.get("/orders")
    lines = [r for r in caplog.records if r.name == down.logger.name]
    assert len(lines) == 2
    assert "19 more like it" in lines[1].getMessage()


def test_a_bug_is_still_logged_with_its_traceback_once_per_window(caplog, tmp_path):
    app = create_app(conftest.test_config(f"sqlite:///{tmp_path / 'oms.sqlite3'}", PROPAGATE_EXCEPTIONS=False,
                                          OMS_FAILURE_LOG_SECONDS=60))
    from oms_web.web import PUBLIC, allow

    def broken():
        raise ZeroDivisionError("a bug")

    app.add_url_rule("/broken", "broken", allow(PUBLIC)(broken))
    client = app.test_client()
    caplog.set_level(logging.INFO, logger=app.logger.name)
    for _ in range(5):
        response = client.get("/broken")
        assert response.status_code == 500 and "Something went wrong" in response.get_data(as_text=True)
    lines = [r for r in caplog.records if r.name == app.logger.name]
    assert len(lines) == 1 and lines[0].exc_info is not None and lines[0].exc_info[0] is ZeroDivisionError
