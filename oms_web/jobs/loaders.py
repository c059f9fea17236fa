"""The jobs a screen shows its user: the board's bulk actions and the documents' print batches load their
jobs, and the PDF a finished one made, here."""
from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user

from ..domain.errors import NotFound
from ..extensions import db
from ..models import Job, Role


def own_job(job_id: int, kind: str, missing: str) -> Job:
    """A job of `kind` the signed-in user started (an admin sees everyone's); NotFound(`missing`) otherwise."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != kind or (job.user_id != current_user.id and not current_user.has_role(Role.ADMIN)):
        raise NotFound(missing)
    return job


def finished_pdf(job: Job, missing: str) -> bytes:
    """The PDF the job made (read on its own: the column is large), once the job is done."""
    pdf = db.session.scalar(sa.select(Job.result).where(Job.id == job.id))
    if job.status != "done" or pdf is None:
        raise NotFound(missing)
    return pdf
