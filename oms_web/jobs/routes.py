"""Jobs (admin only): the task queue's work, queued, running, failed and done, with progress and
errors; a failed job can be retried. The state is the jobs table's (oms_web/tasks.py), so this screen
shows every worker's jobs, on this machine or another."""
from __future__ import annotations

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from sqlalchemy.orm import joinedload

from .. import tasks
from ..documents.render import KINDS as DOCUMENTS
from ..extensions import db
from ..models import Job, Role, SalesChannel
from ..web import allow, error_response, is_htmx, page_or_fragment
from . import bp

STATUSES = ("queued", "running", "failed", "done")
SHOWN = 100


def describe(job: Job, channels: dict[int, str]) -> str:
    if job.kind == "print":
        return f"{DOCUMENTS.get(job.params.get('document'), 'documents')} for {len(job.order_ids)} order(s)"
    if job.kind == "bulk_shipping":
        from ..domain.bulk_shipping import ACTION_NAMES

        return f"{ACTION_NAMES.get(job.params.get('action'), 'Bulk shipping')} for {len(job.order_ids)} order(s)"
    if job.kind == "report_import":
        channel = channels.get(job.params.get("channel_id"), "a channel")
        return f"{job.params.get('filename', 'A report file')} into {channel}"
    if "channel_id" in job.params:
        return channels.get(job.params["channel_id"], f"channel {job.params['channel_id']}")
    return ""


def _context(status: str | None) -> dict:
    query = sa.select(Job).options(joinedload(Job.user)).order_by(Job.id.desc()).limit(SHOWN)
    if status:
        query = query.where(Job.status == status)
    jobs = db.session.scalars(query).all()
    counts = dict(db.session.execute(sa.select(Job.status, sa.func.count()).group_by(Job.status)).all())
    channels = dict(db.session.execute(sa.select(SalesChannel.id, SalesChannel.name)).all())
    return {"jobs": jobs, "counts": counts, "status": status, "statuses": STATUSES, "describe": describe,
            "channels": channels, "kind_names": tasks.KIND_NAMES, "shown": SHOWN}


@bp.route("/jobs")
@allow(Role.ADMIN)
def index():
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        return error_response(422, "Show queued, running, failed or done jobs.")
    return page_or_fragment("jobs/index.html", "jobs/_table.html", **_context(status))


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@allow(Role.ADMIN)
def retry(job_id: int):
    job = tasks.retry(job_id)
    if is_htmx():
        channels = dict(db.session.execute(sa.select(SalesChannel.id, SalesChannel.name)).all())
        return render_template("jobs/_row.html", job=job, describe=describe, channels=channels,
                               kind_names=tasks.KIND_NAMES, retried=True)
    return redirect(url_for("jobs.index"))
