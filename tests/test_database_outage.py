"""While the database cannot be reached, a page is the app's own error page (503), the API and the
webhooks answer JSON, and the log says so once per few seconds with a count, not a traceback a request.

The outage is real: the app points at a PostgreSQL port where nothing listens, or at an SQLite file
in a folder that does not exist; every request then fails to connect, as during an outage.
"""
from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from oms_web import create_app

from . import conftest
from .conftest import OwnContextClient


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


# ---------------------------------------------------------------- PostgreSQL going away mid-run, and back

class Proxy:
    """A TCP relay on loopback in front of PostgreSQL: stop() drops every connection and refuses new
    ones, as a database that went down; start() lets them through again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, _closed_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (a close alone would not, on Linux)
            self._listener.close()
            self._listener = None
        for connection in self._open:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.mark.skipif(not conftest.PG_URL, reason=conftest.PG_SKIP_REASON)
@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_going_away_under_a_signed_in_user_and_coming_back(app, caplog):
    """The pool holds live connections when the server goes: every request until it is back gets the
    error page, the whole log (every logger) has one line, and the next request after it is served."""
    import sqlalchemy as sa

    from .shop import Shop

    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    admin = Shop().admin.email  # the signed-in user
    real = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    served = create_app(conftest.test_config(via_proxy, PROPAGATE_EXCEPTIONS=False, WTF_CSRF_ENABLED=False))
    served.test_client_class = OwnContextClient
    client = served.test_client()
    try:
        signed_in_page = client.post("/login", data={"email": admin, "password": "correct horse battery"})
        assert signed_in_page.status_code == 302
        assert client.get("/orders").status_code == 200

        caplog.clear()
        caplog.set_level(logging.WARNING)
        proxy.stop()
        for _ in range(10):
            response = client.get("/orders")
            assert response.status_code == 503 and "The database is not answering" in response.get_data(as_text=True)
        written = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(written) == 1, [(r.name, r.getMessage()[:200]) for r in written]
        assert written[0].exc_info is None

        proxy.start()
        assert client.get("/orders").status_code == 200  # back without a restart, still signed in
    finally:
        proxy.stop()
        with served.app_context():
            from oms_web.extensions import db

            db.engine.dispose()
