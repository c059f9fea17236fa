"""Bulk shipping jobs: a bulk action on more orders than a request should take (INLINE_ORDERS) runs on
the task queue (oms_web/tasks.py) with progress. The worker runs the action order by order (each order's
own transaction, domain.bulk_shipping); after Create shipments it renders the new parcels' labels and
packing slips as one PDF, kept as the job's result. What happened to each order is written on the job's
row with the result, so the board shows the done and the refused orders when it finishes.

A job run again after its worker died finds the orders it had done no longer able to take the action
(already packed, already handed over): they are listed as refused with that reason, and nothing is done twice.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..documents.render import NothingToPrint, build_labels_and_slips
from ..domain import bulk_shipping
from ..domain.bulk_shipping import BulkResult, OrderOutcome
from ..domain.printing import record_printing
from ..extensions import db
from ..models import Job, User
from ..tasks import Outcome, Progress, enqueue

# Up to this many orders a bulk action runs within the request; more becomes a job with progress.
INLINE_ORDERS = 50


def start(action: str, order_ids: list[int], user: User, location_id: int | None = None) -> Job:
    """Queue `action` (a key of bulk_shipping.ACTIONS) on these orders, done by `user` standing in
    `location_id` (Create shipments packs that location's units)."""
    if action not in bulk_shipping.ACTIONS:
        raise KeyError(action)
    ids = bulk_shipping.check_order_ids(order_ids)
    # Create shipments has two steps per order: packing it, then printing its label and slip.
    steps = len(ids) * (2 if action == "create" else 1)
    return enqueue("bulk_shipping", {"action": action, "order_ids": ids, "location_id": location_id},
                   user_id=user.id, total=steps)


def run(job: Job, progress: Progress) -> Outcome:
    """The worker's part: the action, then (after Create shipments) the labels and slips of the new parcels."""
    action, order_ids, job_id, params = job.params["action"], job.order_ids, job.id, dict(job.params)
    user = db.session.get(User, job.user_id)
    steps = len(order_ids) * (2 if action == "create" else 1)
    result = bulk_shipping.ACTIONS[action](user, order_ids, lambda done, _: progress(done, steps),
                                           location_id=job.params.get("location_id"))
    pdf, printed = None, {}
    if action == "create" and result.shipment_ids:
        try:
            made = build_labels_and_slips([o.order_id for o in result.done], result.shipment_ids,
                                          lambda done, _: progress(len(order_ids) + done, steps))
        except NothingToPrint:  # every new parcel was cancelled meanwhile
            made = None
        if made is not None:
            pdf, printed = made.pdf, made.pages_for
    outcomes = [o.as_json() for o in result.outcomes]

    def effects() -> None:
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(params={**params, "outcomes": outcomes})
                           .execution_options(synchronize_session=False))
        if printed:
            record_printing(user, printed)

    return Outcome(result=pdf, effects=effects)


def result_of(job: Job) -> BulkResult | None:
    """The finished job's outcome per order (None while it runs)."""
    if "outcomes" not in job.params:
        return None
    return BulkResult(job.params["action"], [OrderOutcome.from_json(row) for row in job.params["outcomes"]])
