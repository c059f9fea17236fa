"""Report imports on the task queue (oms_web/tasks.py): a confirmed upload of more than INLINE_ROWS rows
is imported by a worker, with progress, instead of within the request.

The job is idempotent and can be run again after its worker died part way. The upload records the
import: `imported_at` (when it was confirmed, before anything was written) and `sync_id` (the run's
ChannelSync row, made once, by the first run); the job keeps the last order id before it was queued.
Orders are unique by channel order id, so a run again makes none of the orders the stopped run made:
they come back as repeats, and those with a later id are counted as this import's (reports.import_file's
`ours_after`). The upload's content is let go of in the transaction that marks the job done.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..database import write_transaction
from ..extensions import db
from ..models import ChannelSync, Job, Order, ReportUpload, SalesChannel, User
from ..tasks import JobRefused, Outcome, Progress, enqueue
from . import reports

# Up to this many lines a confirmed file is imported within the request (a fraction of a second);
# a longer one becomes a job with progress.
INLINE_ROWS = 500
# The orders the result page names (the counts cover them all).
SHOWN_ORDERS = 50


def inline(upload: ReportUpload) -> bool:
    """Whether the kept upload is small enough to import within the request."""
    content = db.session.scalar(sa.select(ReportUpload.content).where(ReportUpload.id == upload.id)) or b""
    return content.count(b"\n") <= INLINE_ROWS


def start(channel: SalesChannel, upload: ReportUpload, user: User) -> Job:
    """Queue the import of an upload claimed already (reports.claim_upload), one job per upload."""
    last_order_id = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Order.id), 0)))
    return enqueue("report_import", {"channel_id": channel.id, "upload_id": upload.id, "filename": upload.filename,
                                     "orders_after": last_order_id}, user_id=user.id, key=f"report-import-{upload.id}")


def run(job: Job, progress: Progress) -> Outcome:
    """The worker's part: the import, into the run row the upload names (made by the first run)."""
    job_id, upload_id, channel_id = job.id, job.params["upload_id"], job.params["channel_id"]
    upload = db.session.get(ReportUpload, upload_id)
    channel = db.session.get(SalesChannel, channel_id)
    if upload is None or channel is None or upload.channel_id != channel_id or upload.content is None:
        raise JobRefused("The uploaded file is no longer here: upload it again")
    kind, content, last_order_id = upload.kind, upload.content, job.params["orders_after"]
    with write_transaction():
        upload = db.session.get(ReportUpload, upload_id)
        if upload.sync_id is None:
            first = ChannelSync(channel_id=channel_id, source=kind[:20], status="running")
            db.session.add(first)
            db.session.flush()
            upload.sync_id = first.id
        run_id = upload.sync_id
    reports.import_file(db.session.get(SalesChannel, channel_id), kind, content,
                        progress=lambda done, total: progress(done, total or 0), run_id=run_id, ours_after=last_order_id)

    params = {**job.params, "orders_through": db.session.scalar(sa.select(sa.func.max(Order.id)))}
    db.session.rollback()  # end the read

    def effects() -> None:
        db.session.execute(sa.update(ReportUpload).where(ReportUpload.id == upload_id).values(content=None)
                           .execution_options(synchronize_session=False))
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(params=params)
                           .execution_options(synchronize_session=False))

    return Outcome(effects=effects)


def upload_of(job: Job) -> ReportUpload | None:
    return db.session.get(ReportUpload, job.params.get("upload_id"))


def summary_of(job: Job) -> ChannelSync | None:
    """The import's run (counts and row errors), once the job is done."""
    upload = upload_of(job)
    if job.status != "done" or upload is None or upload.sync_id is None:
        return None
    return db.session.get(ChannelSync, upload.sync_id)


def orders_made(job: Job, summary: ChannelSync) -> list[tuple[int, str, str | None, bool]]:
    """The first SHOWN_ORDERS orders the channel took in while the import ran (the import's own, unless
    a pull or the channel's API brought one in at the same time): id, number, channel order id, held."""
    query = sa.select(Order.id, Order.channel_order_id, Order.hold_reason.is_not(None)).where(
        Order.channel_id == summary.channel_id, Order.id > job.params.get("orders_after", 0))
    if "orders_through" in job.params:
        query = query.where(Order.id <= job.params["orders_through"])
    return [(order_id, Order.number_of(order_id), channel_order_id, held)
            for order_id, channel_order_id, held in db.session.execute(query.order_by(Order.id).limit(SHOWN_ORDERS))]
