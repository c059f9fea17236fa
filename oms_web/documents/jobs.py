"""Print jobs: a batch too large to render within one request is a job on the task queue
(oms_web/tasks.py). A worker renders it, writing its progress to the job's row; the PDF is kept as the
job's result and the orders' "printed" events are written with it, once. Any process can answer the
progress polls, since everything lives in the database."""
from __future__ import annotations

from datetime import timedelta

from ..domain.printing import record_printing
from ..extensions import db
from ..models import Job, User, utcnow
from ..tasks import JobRefused, Outcome, Progress, enqueue
from .render import KINDS, NothingToPrint, build

# A batch still queued after this long is waiting for a worker that is not running: the page says so.
NO_WORKER_AFTER = timedelta(seconds=30)


def start(document: str, order_ids: list[int], user: User, shipment_ids: list[int] | None = None,
          location_id: int | None = None) -> Job:
    """Queue the batch: `document` (a key of render.KINDS) for these orders (only `shipment_ids` of
    their parcels, when given; pick lists: the units at `location_id`), printed by `user`."""
    if document not in KINDS:
        raise KeyError(document)
    params = {"document": document, "order_ids": sorted(order_ids)}
    if location_id is not None:
        params["location_id"] = location_id
    if shipment_ids is not None:
        params["shipment_ids"] = sorted(shipment_ids)
    return enqueue("print", params, user_id=user.id, total=len(order_ids))


def print_documents(job: Job, progress: Progress) -> Outcome:
    """The worker's part: render the batch; its "printed" events go in with the finished job."""
    document, order_ids = job.params["document"], job.order_ids
    user = db.session.get(User, job.user_id)
    try:
        printed = build(document, order_ids, progress, shipment_ids=job.params.get("shipment_ids"),
                        location_id=job.params.get("location_id"))
    except NothingToPrint as nothing:
        raise JobRefused(str(nothing)) from None
    return Outcome(result=printed.pdf, effects=lambda: record_printing(user, printed.pages_for))


def waiting_for_worker(job: Job) -> bool:
    return job.status == "queued" and job.attempts == 0 and utcnow() - job.created_at > NO_WORKER_AFTER
