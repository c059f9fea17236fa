"""Print jobs: a batch too large to render within one request is rendered by a worker thread of
this process, which writes its progress and the finished PDF to the print_jobs row. Any process
can answer the progress polls, since everything lives in the database."""
from __future__ import annotations

import threading
from datetime import timedelta

from flask import Flask, current_app

import sqlalchemy as sa

from ..database import write_transaction
from ..domain.printing import record_printing
from ..extensions import db
from ..models import PrintJob, User, utcnow
from .render import NothingToPrint, build

STALE_AFTER = timedelta(minutes=15)


def start(kind: str, order_ids: list[int], user: User) -> PrintJob:
    with write_transaction():
        job = PrintJob(kind=kind, order_ids=sorted(order_ids), user_id=user.id, total=len(order_ids))
        db.session.add(job)
        db.session.flush()
        job_id = job.id
    job = db.session.get(PrintJob, job_id)
    app = current_app._get_current_object()
    threading.Thread(target=_run, args=(app, job_id), daemon=True, name=f"print-job-{job_id}").start()
    return job


def _update(job_id: int, **values) -> None:
    with write_transaction():
        db.session.execute(sa.update(PrintJob).where(PrintJob.id == job_id).values(**values))


def _run(app: Flask, job_id: int) -> None:
    with app.app_context():
        job = db.session.get(PrintJob, job_id)
        kind, order_ids, user_id = job.kind, list(job.order_ids), job.user_id
        _update(job_id, status="running")
        try:
            printed = build(kind, order_ids, lambda done, total: _update(job_id, done=done, total=total))
            record_printing(db.session.get(User, user_id), printed.pages_for)
            _update(job_id, pdf=printed.pdf, status="done", done=len(order_ids), finished_at=utcnow())
        except NothingToPrint as nothing:
            _update(job_id, status="failed", message=str(nothing), finished_at=utcnow())
        except Exception:  # the user sees that it failed; the log has why
            app.logger.exception("print job %s failed", job_id)
            _update(job_id, status="failed", message="The documents could not be made; nothing was printed.",
                    finished_at=utcnow())
        finally:
            db.session.remove()


def is_stale(job: PrintJob) -> bool:
    """A job whose worker process died (a restart) stays queued or running forever: give up on it."""
    return job.status in ("queued", "running") and utcnow() - job.created_at > STALE_AFTER
