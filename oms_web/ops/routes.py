"""/healthz (the process answers), /readyz (it can serve: database, task queue, migrations), /metrics."""
from __future__ import annotations

import ipaddress
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import Response, current_app, jsonify, request
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.exc import SQLAlchemyError

from .. import metrics
from ..extensions import db, login_manager
from ..models import ChannelSync, Job, Role, SalesChannel, ShipmentConfirmation, utcnow
from ..web import PUBLIC, allow, error_response
from . import bp


@bp.route("/healthz")
@allow(PUBLIC)
def healthz():
    """Alive: answers without the database, so a load balancer or systemd can tell a hung process."""
    return jsonify({"status": "ok"})


@bp.route("/readyz")
@allow(PUBLIC)
def readyz():
    """Ready to serve: the database answers and is at the code's migration, the task queue answers.
    503 listing what is not, at once and without a traceback in the log (it is asked every few seconds)."""
    checks = {"database": _database_check(), "task_queue": _queue_check()}
    ready = all(value == "ok" for value in checks.values())
    response = jsonify({"ready": ready, "checks": checks})
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _database_check() -> str:
    try:
        versions = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
        db.session.rollback()
    except SQLAlchemyError as error:
        _forget_connection()
        reason = str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__]
        return f"not answering: {reason[0][:200]}"
    heads = _migration_heads()
    if versions != heads:
        return f"at migration {', '.join(sorted(versions)) or 'none'}, the code needs {', '.join(sorted(heads))}"
    return "ok"


def _forget_connection() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass


def _migration_heads() -> set[str]:
    heads = current_app.extensions.get("oms_migration_heads")
    if heads is None:
        from alembic.script import ScriptDirectory

        from .. import MIGRATIONS

        heads = current_app.extensions["oms_migration_heads"] = set(ScriptDirectory(MIGRATIONS).get_heads())
    return heads


def _queue_check() -> str:
    try:
        current_app.extensions["oms_queue"].huey.pending_count()
    except Exception as error:  # redis' ConnectionError, sqlite3's OperationalError: it does not answer
        return f"not answering: {str(error).strip()[:200] or type(error).__name__}"
    return "ok"


@bp.route("/metrics")
@allow(PUBLIC)
def metrics_page():
    """Prometheus' page: for a scraper on this machine (each node is scraped on its own port, not
    through the load balancer), else for a signed-in admin only."""
    if not from_this_machine():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.has_role(Role.ADMIN):
            return error_response(403, "Your role does not allow this.")
    body = generate_latest(metrics.process_registry())
    shop = CollectorRegistry()
    shop.register(ShopFigures())
    body += generate_latest(shop)
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def from_this_machine() -> bool:
    """The request came over loopback from a process on this machine. Behind a proxy (OMS_PROXIES),
    remote_addr is the client's address the proxy passed on; a request forwarded by a proxy the app
    was not told of is never taken for a local one (every client would look local)."""
    if not int(current_app.config.get("OMS_PROXIES", 0)) and (
            "X-Forwarded-For" in request.headers or "Forwarded" in request.headers):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


class ShopFigures:
    """Read from the database at each scrape, so every node reports the same: jobs by state, the
    queue's waiting messages, each marketplace's time since its last good pull, the confirmations
    still to send. When the database does not answer, oms_database_up is 0 and the rest is left out."""

    def collect(self):
        up = GaugeMetricFamily("oms_database_up", "1 when the database answered this scrape")
        depth = GaugeMetricFamily("oms_task_queue_depth", "Messages waiting on the task queue")
        try:
            depth.add_metric([], current_app.extensions["oms_queue"].huey.pending_count())
            yield depth
        except Exception:  # the queue's storage is down: /readyz says so
            pass
        try:
            figures = list(self._figures())
        except SQLAlchemyError:
            _forget_connection()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures

    def _figures(self):
        now = utcnow()
        jobs = GaugeMetricFamily("oms_jobs", "Jobs by kind and status (failed: every attempt spent)",
                                 labels=["kind", "status"])
        for kind, status, count in db.session.execute(
                sa.select(Job.kind, Job.status, sa.func.count()).group_by(Job.kind, Job.status)):
            jobs.add_metric([kind, status], count)
        retrying = GaugeMetricFamily("oms_jobs_retrying", "Jobs waiting for another attempt after a failure",
                                     labels=["kind"])
        for kind, count in db.session.execute(
                sa.select(Job.kind, sa.func.count()).where(Job.status == "queued", Job.error.is_not(None))
                .group_by(Job.kind)):
            retrying.add_metric([kind], count)
        backlog = GaugeMetricFamily("oms_confirmation_backlog", "Shipment confirmations not yet accepted by their channel",
                                    labels=["channel", "status"])
        oldest = GaugeMetricFamily("oms_confirmation_oldest_seconds", "Age of the oldest pending confirmation",
                                   labels=["channel"])
        for channel, status, count, first in db.session.execute(
                sa.select(ShipmentConfirmation.channel_id, ShipmentConfirmation.status, sa.func.count(),
                          sa.func.min(ShipmentConfirmation.created_at))
                .where(ShipmentConfirmation.status != "sent")
                .group_by(ShipmentConfirmation.channel_id, ShipmentConfirmation.status)):
            backlog.add_metric([str(channel), status], count)
            if status == "pending" and first is not None:
                oldest.add_metric([str(channel)], _seconds(now, first))
        lag = GaugeMetricFamily("oms_channel_sync_lag_seconds",
                                "Time since each active marketplace's last good pull (since it was added, if never)",
                                labels=["channel"])
        from ..channels.manage import MARKETPLACES

        last_pull = sa.select(sa.func.max(ChannelSync.finished_at)).where(
            ChannelSync.channel_id == SalesChannel.id, ChannelSync.status == "ok").scalar_subquery()
        for channel, created, pulled in db.session.execute(
                sa.select(SalesChannel.id, SalesChannel.created_at, last_pull)
                .where(SalesChannel.kind.in_(MARKETPLACES), SalesChannel.active)):
            lag.add_metric([str(channel)], _seconds(now, pulled or created))
        db.session.rollback()
        return [jobs, retrying, backlog, oldest, lag]


def _seconds(now: datetime, then: datetime) -> float:
    now, then = (m.replace(tzinfo=timezone.utc) if m.tzinfo is None else m for m in (now, then))
    return max(0.0, (now - then).total_seconds())
