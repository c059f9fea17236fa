"""What operators and the load balancer read: /healthz, /readyz (failing cleanly while the database,
the task queue or the migrations are not right), /metrics (this machine or admins only, with the named
figures), one JSON log line per request with its id (which the jobs it queues carry), and a failure
that repeats written once per window."""
from __future__ import annotations

import json
import logging
import re
import socket

import pytest
import sqlalchemy as sa

from oms_web import create_app
from oms_web.channels.manage import create_channel
from oms_web.extensions import db
from oms_web.models import ChannelKind, Role
from oms_web.ops.request_log import jobs_log
from oms_web.ops.request_log import log as request_log

from .. import conftest
from ..conftest import OwnContextClient

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}  # a browser on another machine


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def json(self) -> list[dict]:
        return [json.loads(self.format(r)) for r in self.records]


@pytest.fixture
def logged():
    """What the request and job loggers write, each record formatted as the JSON line it becomes."""
    from oms_web.ops.request_log import JsonLines

    handler = Lines()
    handler.setFormatter(JsonLines())
    for logger in (request_log, jobs_log):
        logger.addHandler(handler)
    yield handler
    for logger in (request_log, jobs_log):
        logger.removeHandler(handler)


# ---------------------------------------------------------------- health and readiness

def _closed_port() -> int:
    with socket.socket() as probe:  # a port just freed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# A database that does not answer, as during an outage (see test_database_outage.py).
UNREACHABLE = {
    "postgresql": lambda tmp_path: f"postgresql://postgres@127.0.0.1:{_closed_port()}/oms",
    "sqlite": lambda tmp_path: f"sqlite:///{tmp_path / 'no-such-folder' / 'oms.sqlite3'}",
}


def test_healthz_answers_without_a_sign_in(client):
    response = client.get("/healthz", environ_base=REMOTE)
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_is_ready_when_the_database_the_queue_and_the_migrations_are(client):
    response = client.get("/readyz", environ_base=REMOTE)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"ready": True, "checks": {"database": "ok", "task_queue": "ok"}}


@pytest.fixture(params=sorted(UNREACHABLE))
def down(request, tmp_path):
    app = create_app(conftest.test_config(UNREACHABLE[request.param](tmp_path), PROPAGATE_EXCEPTIONS=False))
    app.test_client_class = OwnContextClient
    return app


def test_readyz_fails_cleanly_while_the_database_is_down_and_healthz_still_answers(down, caplog):
    caplog.set_level(logging.INFO)
    client = down.test_client()
    for _ in range(3):
        response = client.get("/readyz")
        assert response.status_code == 503 and response.is_json
        body = response.get_json()
        assert body["ready"] is False and body["checks"]["database"].startswith("not answering: ")
        assert body["checks"]["task_queue"] == "ok"
    assert client.get("/healthz").status_code == 200
    assert not [r for r in caplog.records if r.exc_info], "a readiness probe must not write tracebacks"


def test_readyz_fails_while_the_database_is_behind_the_codes_migrations(web_app, client):
    current = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0001_old'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
    finally:
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": current})
        db.session.commit()
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == f"at migration 0001_old, the code needs {current}"


def test_readyz_fails_while_the_task_queues_redis_is_down(web_app):
    config = dict(web_app.config, OMS_REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    app = create_app(conftest.test_config(config["SQLALCHEMY_DATABASE_URI"], OMS_REDIS_URL=config["OMS_REDIS_URL"]))
    app.test_client_class = OwnContextClient
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == "ok" and checks["task_queue"].startswith("not answering: ")


# ---------------------------------------------------------------- metrics

def _orders_posted(app, store, count: int, repeats: int = 0) -> None:
    client = app.test_client()
    for number in list(range(count)) + list(range(repeats)):
        response = client.post("/api/v1/orders", headers={"Authorization": f"Bearer {store.api_key}"},
                               json={"order_id": f"M-{number}", "customer": {"name": "Ada"},
                                     "lines": [{"sku": "MUG", "quantity": 1, "unit_price": "9.00"}]})
        assert response.status_code in (200, 201), response.get_json()


def _counted(text: str, name: str, **labels: str) -> float:
    try:
        return _value(text, name, **labels)
    except AssertionError:
        return 0.0


def _value(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.search(rf"^{name}{{{re.escape(wanted)}}} ([0-9.e+-]+)$" if labels else rf"^{name} ([0-9.e+-]+)$",
                      text, re.MULTILINE)
    assert found, f"no {name}{{{wanted}}} in the metrics"
    return float(found.group(1))


def test_metrics_from_this_machine_name_every_figure_an_operator_watches(web_app, shop, client):
    shop.product("MUG", in_hand=50)
    store = create_channel("Metrics store", ChannelKind.API)
    channel = store.channel.id
    before = client.get("/metrics").get_data(as_text=True)
    _orders_posted(web_app, store, 3, repeats=2)  # a repeat is not a new order
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert _value(text, "oms_orders_created_total", channel=str(channel)) \
        == _counted(before, "oms_orders_created_total", channel=str(channel)) + 3
    assert _value(text, "oms_stock_moves_total", reason="allocate") \
        == _counted(before, "oms_stock_moves_total", reason="allocate") + 3
    assert _value(text, "oms_http_request_duration_seconds_count", endpoint="api.create_order", method="POST") >= 3
    assert _value(text, "oms_http_responses_total", endpoint="api.create_order", method="POST", status="201") >= 3
    assert _value(text, "oms_database_up") == 1
    assert _value(text, "oms_task_queue_depth") == 0
    for name in ("oms_jobs", "oms_jobs_retrying", "oms_confirmation_backlog", "oms_confirmation_oldest_seconds",
                 "oms_channel_sync_lag_seconds", "oms_log_lines_held_back_total"):
        assert f"# TYPE {name} " in text, name


def test_metrics_count_the_queue_backlog_and_a_marketplaces_sync_lag(web_app, shop, client, monkeypatch):
    from oms_web.documents import routes as document_routes

    amazon = shop.channel("Amazon US", ChannelKind.AMAZON)
    monkeypatch.setattr(document_routes, "INLINE_BATCH", 0)
    ids = _shipped(shop, 1)
    staff = _signed_in(web_app, shop.staff)
    assert staff.post_form("/orders/print/labels", {"order_ids": [str(i) for i in ids]}).status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    assert _value(text, "oms_task_queue_depth") == 1
    assert _value(text, "oms_jobs", kind="print", status="queued") == 1
    assert _value(text, "oms_channel_sync_lag_seconds", channel=str(amazon.id)) >= 0


@pytest.mark.parametrize("role, status", [(Role.STAFF, 403), (Role.MANAGER, 403), (Role.ADMIN, 200)])
def test_metrics_from_another_machine_are_for_admins_only(web_app, shop, role, status):
    client = _signed_in(web_app, {Role.STAFF: shop.staff, Role.MANAGER: shop.manager, Role.ADMIN: shop.admin}[role])
    response = client.get("/metrics", environ_base=REMOTE)
    assert response.status_code == status
    assert ("oms_http_request_duration_seconds" in response.get_data(as_text=True)) == (status == 200)


def test_metrics_are_not_shown_to_a_signed_out_visitor_from_another_machine(client):
    response = client.get("/metrics", environ_base=REMOTE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_request_forwarded_by_a_proxy_the_app_was_not_told_of_is_not_taken_for_a_local_one(client):
    # A load balancer on this machine, with OMS_PROXIES unset: its requests come from 127.0.0.1.
    response = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 302


def test_behind_a_trusted_proxy_the_clients_address_decides(web_app):
    app = create_app(conftest.test_config(web_app.config["SQLALCHEMY_DATABASE_URI"], OMS_PROXIES=1))
    app.test_client_class = OwnContextClient
    client = app.test_client()
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 302
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


# ---------------------------------------------------------------- the request log and its id

def test_each_request_is_one_json_line_with_its_request_id(client, logged):
    given = client.get("/login", headers={"X-Request-ID": "lb-42.abc"})
    made = client.get("/login", headers={"X-Request-ID": "not an id; it has spaces"})
    lines = logged.json()
    assert [line["request_id"] for line in lines] == ["lb-42.abc", made.headers["X-Request-ID"]]
    assert given.headers["X-Request-ID"] == "lb-42.abc"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    first = lines[0]
    assert (first["method"], first["path"], first["endpoint"], first["status"]) == ("GET", "/login", "auth.login", 200)
    assert first["level"] == "info" and first["logger"] == "oms_web.requests" and first["ms"] >= 0
    assert "\n" not in logged.format(logged.records[0])


def test_a_successful_health_check_is_not_logged_but_a_refused_page_is(client, logged):
    client.get("/healthz")
    client.get("/readyz")
    client.get("/orders", environ_base=REMOTE)  # signed out: sent to the sign-in page
    assert [(line["path"], line["status"]) for line in logged.json()] == [("/orders", 302)]


def test_the_request_id_goes_with_the_job_the_request_queued_and_into_its_log_line(web_app, shop, logged, monkeypatch):
    from oms_web.documents import routes as document_routes

    monkeypatch.setattr(document_routes, "INLINE_BATCH", 0)
    ids = _shipped(shop, 2)
    staff = _signed_in(web_app, shop.staff)
    response = staff.post_form("/orders/print/labels", {"order_ids": [str(i) for i in ids]},
                               headers={"X-Request-ID": "print-request-7"})
    assert response.status_code == 200
    huey = web_app.extensions["oms_queue"].huey
    [message] = huey.pending()
    assert message.kwargs == {"request_id": "print-request-7"}
    huey.execute(message)  # as a worker would
    [job_line] = [line for line in logged.json() if line["logger"] == "oms_web.jobs"]
    assert job_line["request_id"] == "print-request-7"
    assert (job_line["kind"], job_line["outcome"]) == ("print", "done")


# ---------------------------------------------------------------- repeated failures

def test_a_task_queue_outage_is_one_log_line_per_window_not_a_traceback_per_request(web_app, shop, caplog):
    app = create_app(conftest.test_config(web_app.config["SQLALCHEMY_DATABASE_URI"],
                                          OMS_REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0",
                                          OMS_FAILURE_LOG_SECONDS=60))
    from oms_web import tasks
    from oms_web.models import Job

    caplog.set_level(logging.INFO, logger=app.logger.name)
    with app.test_request_context("/orders/print/labels", headers={"X-Request-ID": "during-outage"}):
        app.preprocess_request()
        for _ in range(20):
            tasks.enqueue("print", {"document": "labels", "order_ids": [1]})
    lines = [r for r in caplog.records if r.name == app.logger.name]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].exc_info is None and "\n" not in lines[0].getMessage()
    assert lines[0].getMessage().startswith("The task queue is not answering on GET /orders/print/labels (job ")
    assert "[request during-outage]" in lines[0].getMessage()
    db.session.rollback()
    # Nothing is lost: each job stays queued for the scheduler to send once the queue is back.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.status == "queued")) == 20
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert _value(text, "oms_log_lines_held_back_total", kind="task queue outage") >= 19


# ---------------------------------------------------------------- helpers

def _signed_in(app, user):
    from .conftest import PASSWORD, Auth

    client = app.test_client()
    assert Auth(client).login(user.email, PASSWORD).status_code == 302
    return client


def _shipped(shop, count: int) -> list[int]:
    """Orders with a shipment each (a print job needs something to print)."""
    from oms_web.domain import shipping

    shop.product("TENT", in_hand=count)
    ids = []
    for _ in range(count):
        order = shop.web_order(("TENT", 1))
        shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="UPS", tracking_number=f"T{order.id}")
        ids.append(order.id)
    return ids
