"""Background work on a task queue (Huey): print batches, bulk shipping, report imports, channel pulls on a
schedule, confirmations.

The queue carries only a job's id; the job itself (kind, parameters, progress, attempts, error,
result) is a row of the jobs table, so every web process shows its progress and nothing is lost when
a worker dies. Huey takes a message off the queue before running it, so a worker killed mid-job
takes the message with it: the job's row still says "running", its heartbeat stops, and the
scheduler (every worker runs it each minute, and once when it starts) queues it again. A run holds
its job by a token; it writes progress, the result and the job's effects (the "printed" events) only
while it still holds it, in one transaction with the status "done", so a job delivered twice, or
run again after a crash, takes effect once.

The queue's storage is a SQLite file under instance/ by default (no server to run), or Redis with
OMS_REDIS_URL, so that workers on other machines share it. `flask --app oms_web worker` runs one.
"""
from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey

from .database import write_transaction
from .extensions import db
from .models import Job, utcnow

log = logging.getLogger(__name__)

# Every kind of job and the function that does it: (job, progress) -> Outcome.
KINDS = {
    "print": "oms_web.documents.jobs:print_documents",
    "channel_pull": "oms_web.channels.scheduled:pull_orders",
    "confirmations": "oms_web.channels.scheduled:send_confirmations",
    "bulk_shipping": "oms_web.board.jobs:run",
    "report_import": "oms_web.channels.report_jobs:run",
    "customer_email": "oms_web.mail:send_customer_email",
    "carrier_sync": "oms_web.domain.labels:carrier_sync",
    "po_email": "oms_web.purchasing.emails:send_po_email",
}
KIND_NAMES = {"print": "Print batch", "channel_pull": "Channel pull", "confirmations": "Shipment confirmations",
              "bulk_shipping": "Bulk shipping", "report_import": "Report import",
              "customer_email": "Customer email", "carrier_sync": "Carrier tracking and labels",
              "po_email": "Purchase order email"}

# A failing job runs at most this many times, its retries after RETRY_DELAY, doubling each time.
MAX_ATTEMPTS = 5
# A queued job nobody has taken for this long lost its message (the queue's storage was emptied):
# it is queued again. A delivery of a job that is already held or done does nothing.
QUEUED_GRACE = timedelta(minutes=10)
# Finished jobs are kept this long for the Jobs screen (a print batch's PDF with them).
KEEP_FINISHED = timedelta(days=7)

Progress = Callable[[int, int], None]


@dataclass
class Outcome:
    """What a job made: a result to keep (a PDF), and its effects on the shop, written in the same
    transaction that marks the job done (and so only once)."""

    result: bytes | None = None
    effects: Callable[[], None] | None = None


class JobRefused(Exception):
    """A job that cannot succeed however often it runs (nothing to print): it fails at once, saying why."""


class LostJob(Exception):
    """This run no longer holds its job: its heartbeat lapsed and another worker took it over."""


class _RetryLater(Exception):
    """Raised to the queue so that it runs the job again after its back-off."""


# ---------------------------------------------------------------- the queue

@dataclass
class Queue:
    huey: Huey
    run_job: Any  # huey TaskWrapper: run_job(job_id) queues it
    lease: timedelta


def init_app(app: Flask) -> None:
    """Make the app's queue: SQLite storage (OMS_QUEUE_PATH) or Redis (OMS_REDIS_URL), and its tasks."""
    name = app.config["OMS_QUEUE_NAME"]
    if app.config.get("OMS_REDIS_URL"):
        huey: Huey = RedisHuey(name, url=app.config["OMS_REDIS_URL"], results=False)
    else:
        huey = SqliteHuey(name, filename=app.config["OMS_QUEUE_PATH"], results=False)
    lease = timedelta(seconds=float(app.config["OMS_JOB_LEASE_SECONDS"]))
    retry_delay = float(app.config["OMS_JOB_RETRY_DELAY_SECONDS"])

    @huey.task(retries=MAX_ATTEMPTS - 1, retry_delay=retry_delay, retry_backoff=2, name="oms.run_job")
    def run_job_task(job_id: int, request_id: str | None = None) -> None:
        # The id of the request that queued the job: in this run's log lines (ops/request_log.py).
        from .ops.request_log import job_line, job_request_id

        reset, started = job_request_id.set(request_id), time.perf_counter()
        kind, outcome = None, "failed, to be retried"
        with app.app_context():
            try:
                run_job(job_id)
                kind, outcome = db.session.execute(sa.select(Job.kind, Job.status).where(Job.id == job_id)).first() \
                    or (None, "gone")
            finally:
                db.session.remove()
                job_line(job_id, kind, outcome, time.perf_counter() - started)
                job_request_id.reset(reset)

    @huey.periodic_task(crontab(minute="*"), name="oms.schedule")
    def schedule_task() -> None:
        with app.app_context():
            try:
                schedule()
            finally:
                db.session.remove()

    app.extensions["oms_queue"] = Queue(huey=huey, run_job=run_job_task, lease=lease)


def queue() -> Queue:
    return current_app.extensions["oms_queue"]


def enqueue(kind: str, params: dict[str, Any], *, user_id: int | None = None, total: int = 0,
            key: str | None = None) -> Job:
    """Add a job and queue it. With a key, a job with the same key is that job (a schedule that several
    workers run adds each slot's job once). Raises KeyError for an unknown kind."""
    if kind not in KINDS:
        raise KeyError(kind)
    if key is not None:
        existing = db.session.scalar(sa.select(Job).where(Job.key == key))
        if existing is not None:
            return existing
    try:
        with write_transaction():
            job = Job(kind=kind, params=params, user_id=user_id, total=total, key=key, heartbeat_at=utcnow())
            db.session.add(job)
            db.session.flush()
            job_id = job.id
    except sa.exc.IntegrityError:  # another worker's schedule added the same key a moment ago
        return db.session.scalars(sa.select(Job).where(Job.key == key)).one()
    _send(job_id)
    return db.session.get(Job, job_id)


_TO_SEND = "oms_jobs_to_send"


def enqueue_with_transaction(kind: str, params: dict[str, Any]) -> Job:
    """Add a job inside the current write transaction: it exists only if that transaction commits, and is
    queued once it has (a job lost on the way is queued again by recover_abandoned)."""
    if kind not in KINDS:
        raise KeyError(kind)
    job = Job(kind=kind, params=params, heartbeat_at=utcnow())
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(_TO_SEND, []).append(job.id)
    return job


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _send_committed_jobs(session: sa.orm.Session) -> None:
    for job_id in session.info.pop(_TO_SEND, []):
        _send(job_id)


@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _forget_rolled_back_jobs(session: sa.orm.Session) -> None:
    session.info.pop(_TO_SEND, None)


def _send(job_id: int) -> None:
    from .ops.request_log import current_request_id

    try:
        queue().run_job(job_id, request_id=current_request_id())
    except Exception:  # the queue's storage is down: the row stays queued and the scheduler sends it later
        current_app.extensions["oms_failures"].record(
            sys.exc_info(), f"job {job_id} could not be queued; the scheduler will queue it again")


# ---------------------------------------------------------------- running a job (in a worker)

def run_job(job_id: int) -> None:
    """Run the job if nobody holds it: a repeated delivery of a job that is running, done or failed
    does nothing. Raises _RetryLater after a failure that another attempt may cure."""
    token = uuid.uuid4().hex
    if not _claim(job_id, token):
        return
    job = db.session.get(Job, job_id)
    attempts = job.attempts
    app = current_app._get_current_object()
    stop = threading.Event()
    keeper = threading.Thread(target=_keep_alive, args=(app, job_id, token, stop), daemon=True,
                              name=f"job-{job_id}-heartbeat")
    keeper.start()
    try:
        outcome = handler(job.kind)(job, lambda done, total: _progress(job_id, token, done, total))
    except LostJob:
        return
    except JobRefused as refused:
        db.session.rollback()
        _finish(job_id, token, status="failed", error=str(refused)[:500], finished_at=utcnow())
        return
    except Exception as error:
        db.session.rollback()
        app.extensions["oms_failures"].record(sys.exc_info(), f"job {job_id} ({job.kind}) failed on attempt {attempts}")
        message = f"Attempt {attempts} failed: {error}"[:500]
        if attempts >= MAX_ATTEMPTS:
            _finish(job_id, token, status="failed", error=message, finished_at=utcnow())
            return
        _finish(job_id, token, status="queued", worker=None, error=message, heartbeat_at=utcnow())
        raise _RetryLater(message) from None
    finally:
        stop.set()
        keeper.join()
    db.session.rollback()
    _finish(job_id, token, status="done", error=None, result=outcome.result, finished_at=utcnow(),
            effects=outcome.effects, done=sa.case((Job.total > Job.done, Job.total), else_=Job.done))


def handler(kind: str) -> Callable[[Job, Progress], Outcome]:
    module, name = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def _claim(job_id: int, token: str) -> bool:
    now = utcnow()
    with write_transaction():
        return db.session.execute(
            sa.update(Job).where(
                Job.id == job_id, Job.attempts < MAX_ATTEMPTS,
                sa.or_(Job.status == "queued",
                       sa.and_(Job.status == "running", Job.heartbeat_at < now - queue().lease)))
            .values(status="running", worker=token, attempts=Job.attempts + 1, heartbeat_at=now,
                    started_at=sa.func.coalesce(Job.started_at, now))
            .execution_options(synchronize_session=False)).rowcount == 1


def _held(job_id: int, token: str) -> sa.Update:
    return sa.update(Job).where(Job.id == job_id, Job.worker == token, Job.status == "running") \
        .execution_options(synchronize_session=False)


def _progress(job_id: int, token: str, done: int, total: int) -> None:
    with write_transaction():
        if db.session.execute(_held(job_id, token).values(done=done, total=total, heartbeat_at=utcnow())).rowcount != 1:
            raise LostJob(job_id)


def _finish(job_id: int, token: str, effects: Callable[[], None] | None = None, **values: Any) -> None:
    with write_transaction():
        if db.session.execute(_held(job_id, token).values(**values)).rowcount == 1 and effects is not None:
            effects()


def _keep_alive(app: Flask, job_id: int, token: str, stop: threading.Event) -> None:
    """Beat the job's heart while its work runs, so a long step is not taken for a dead worker."""
    with app.app_context():
        every = app.extensions["oms_queue"].lease.total_seconds() / 3
        try:
            while not stop.wait(every):
                with write_transaction():
                    db.session.execute(_held(job_id, token).values(heartbeat_at=utcnow()))
        finally:
            db.session.remove()


# ---------------------------------------------------------------- the schedule (every minute)

def schedule() -> None:
    """What every worker's scheduler does each minute: queue again the jobs whose worker died, queue
    the channels' pulls and confirmations that are due, and forget jobs finished long ago."""
    from .channels.scheduled import queue_due_channel_work

    recover_abandoned()
    queue_due_channel_work()
    from .domain.labels import queue_carrier_sync

    queue_carrier_sync()
    with write_transaction():
        db.session.execute(sa.delete(Job).where(Job.status.in_(("done", "failed")),
                                                Job.finished_at < utcnow() - KEEP_FINISHED))


def recover_abandoned() -> list[int]:
    """Queue again each running job whose worker stopped beating its heart (killed, or its machine
    lost) and each queued job whose message was lost; fail those that have used up their attempts.
    A worker that was only slow finds the job taken from it (LostJob) and writes nothing."""
    now = utcnow()
    lease = queue().lease
    abandoned = sa.or_(sa.and_(Job.status == "running", Job.heartbeat_at < now - lease),
                       sa.and_(Job.status == "queued", Job.heartbeat_at < now - max(lease, QUEUED_GRACE)))
    with write_transaction():
        db.session.execute(sa.update(Job).where(abandoned, Job.attempts >= MAX_ATTEMPTS).values(
            status="failed", finished_at=now, worker=None,
            error=f"Its worker stopped {MAX_ATTEMPTS} times before it was finished")
            .execution_options(synchronize_session=False))
        ids = db.session.scalars(sa.select(Job.id).where(abandoned).order_by(Job.id)).all()
        if ids:
            db.session.execute(sa.update(Job).where(Job.id.in_(ids)).values(status="queued", worker=None,
                                                                              heartbeat_at=now)
                               .execution_options(synchronize_session=False))
    for job_id in ids:
        log.warning("job %s lost its worker or its message: queued again", job_id)
        _send(job_id)
    return list(ids)


def retry(job_id: int) -> Job:
    """Queue a failed job again with a fresh set of attempts. Raises NotFound, or InvalidInput when the
    job has not failed (a queued, running or done job is not run twice)."""
    from .domain.errors import InvalidInput, NotFound

    with write_transaction():
        job = db.session.get(Job, job_id)
        if job is None:
            raise NotFound("There is no such job")
        if job.status != "failed":
            raise InvalidInput(f"Only a failed job can be retried; this one is {job.status}")
        job.status, job.attempts, job.worker, job.finished_at = "queued", 0, None, None
        job.heartbeat_at = utcnow()
    _send(job_id)
    return db.session.get(Job, job_id)


# ---------------------------------------------------------------- the worker process

def run_worker(app: Flask, threads: int) -> None:
    """Consume the queue until SIGINT (finishing the jobs in hand) or SIGTERM, with the scheduler."""
    consumer = app.extensions["oms_queue"].huey.create_consumer(
        workers=threads, worker_type="thread", periodic=True, initial_delay=0.1, max_delay=1.0,
        check_worker_health=True)
    try:
        recover_abandoned()
        consumer.run()
    except KeyboardInterrupt:
        # A Ctrl-C before the consumer has put in its own signal handlers (it is still starting): nothing
        # was taken yet, so stopping here is as clean as its own graceful stop.
        pass
