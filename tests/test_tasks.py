"""The task queue, for real: worker processes on the test's database and queue (a SQLite file, or Redis
when it is reachable); a worker killed with SIGKILL mid-job; retries with back-off; the schedule."""
from __future__ import annotations

import io
import time
import uuid

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from oms_web import tasks
from oms_web.channels.scheduled import queue_due_channel_work
from oms_web.documents import jobs as print_jobs
from oms_web.documents.routes import INLINE_BATCH
from oms_web.domain import shipping
from oms_web.domain.errors import InvalidInput, NotFound
from oms_web.extensions import db
from oms_web.models import ChannelKind, Job, OrderEvent, utcnow

from .queue import REDIS_URL, Worker, job_state, redis_reachable, wait_for
from .shop import Shop

BATCH = INLINE_BATCH + 1  # the smallest batch that is a job


def shipped_orders(shop: Shop, count: int) -> list[int]:
    shop.product("TENT", in_hand=count)
    ids = []
    for _ in range(count):
        order = shop.web_order(("TENT", 1))
        shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="UPS", tracking_number=f"T{order.id}")
        ids.append(order.id)
    return ids


def printed_events(order_ids: list[int]) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(OrderEvent).where(
        OrderEvent.order_id.in_(order_ids), OrderEvent.kind == "printed"))


def pages(job_id: int) -> int:
    pdf = db.session.scalar(sa.select(Job.result).where(Job.id == job_id))
    return len(PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def on_redis(app):
    """The app's queue moved to a queue of its own on Redis (other runs share the server)."""
    app.config.update(OMS_REDIS_URL=REDIS_URL, OMS_QUEUE_NAME=f"oms-test-{uuid.uuid4().hex}")
    tasks.init_app(app)
    yield app
    app.extensions["oms_queue"].huey.storage.flush_all()


@pytest.mark.parametrize("htmx", ["local", "cdn"])
def test_a_print_job_over_40_orders_completes_on_a_worker_in_each_htmx_mode(app, shop, tmp_path, htmx):
    app.config["OMS_HTMX"] = htmx
    ids = shipped_orders(shop, BATCH)
    job = print_jobs.start("labels", ids, shop.staff)
    worker = Worker(app, tmp_path / "worker.log")
    try:
        done = wait_for(job.id, lambda j: j.status in ("done", "failed"), worker)
    finally:
        worker.stop()
    assert (done.status, done.error, done.done, done.total, done.attempts) == ("done", None, BATCH, BATCH, 1)
    assert pages(job.id) == BATCH
    assert printed_events(ids) == BATCH


@pytest.mark.skipif(not redis_reachable(), reason=f"no Redis at {REDIS_URL}")
def test_a_print_job_completes_on_a_worker_sharing_a_redis_queue(on_redis, shop, tmp_path):
    ids = shipped_orders(shop, BATCH)
    job = print_jobs.start("packing-slips", ids, shop.staff)
    assert on_redis.extensions["oms_queue"].huey.pending_count() == 1  # the message is on Redis, not in a file
    worker = Worker(on_redis, tmp_path / "worker.log")
    try:
        done = wait_for(job.id, lambda j: j.status in ("done", "failed"), worker)
    finally:
        worker.stop()
    assert (done.status, done.error, done.attempts) == ("done", None, 1)
    assert pages(job.id) == BATCH and printed_events(ids) == BATCH


def test_a_worker_killed_mid_job_loses_nothing_and_the_job_takes_effect_once(app, shop, tmp_path):
    app.config["OMS_JOB_LEASE_SECONDS"] = 1
    tasks.init_app(app)  # the lease is the queue's setting: a dead worker's job is free after a second
    ids = shipped_orders(shop, BATCH)
    job = print_jobs.start("labels", ids, shop.staff)
    first = Worker(app, tmp_path / "first.log")
    try:
        wait_for(job.id, lambda j: j.status == "running", first)
    finally:
        first.kill()  # SIGKILL mid-render: no chance to clean up
    killed = job_state(job.id)
    assert (killed.status, killed.attempts, killed.done) == ("running", 1, 0)
    assert printed_events(ids) == 0
    # The dead worker's heartbeat lapses; a new worker finds the job on starting and runs it again.
    time.sleep(tasks.queue().lease.total_seconds() + 0.2)
    second = Worker(app, tmp_path / "second.log")
    try:
        done = wait_for(job.id, lambda j: j.status in ("done", "failed"), second)
    finally:
        second.stop()
    assert (done.status, done.attempts, done.error) == ("done", 2, None)
    assert pages(job.id) == BATCH
    assert printed_events(ids) == BATCH  # once per order, not once per run
    assert "queued again" in second.output()


def test_a_worker_stops_on_ctrl_c(app, tmp_path):
    worker = Worker(app, tmp_path / "worker.log")
    worker.wait_until_started()
    assert worker.stop() == 0, worker.output()


# ---------------------------------------------------------------- in this process: the job's states

def failing(job, progress):
    raise RuntimeError("the printer caught fire")


def test_a_failing_job_is_retried_with_back_off_until_its_attempts_are_spent(app, shop, monkeypatch):
    monkeypatch.setitem(tasks.KINDS, "print", "tests.test_tasks:failing")
    job = print_jobs.start("labels", [1, 2], shop.staff)
    retry_task = tasks.queue().run_job
    assert (retry_task.retries, retry_task.retry_delay) == (tasks.MAX_ATTEMPTS - 1, 10)
    assert retry_task.task_class.default_retry_backoff == 2  # each pause twice the last
    for attempt in range(1, tasks.MAX_ATTEMPTS):
        with pytest.raises(tasks._RetryLater):
            tasks.run_job(job.id)
        state = job_state(job.id)
        assert (state.status, state.attempts, state.worker) == ("queued", attempt, None)
        assert state.error == f"Attempt {attempt} failed: the printer caught fire"
    tasks.run_job(job.id)  # the last attempt fails for good: nothing left to retry
    state = job_state(job.id)
    assert (state.status, state.attempts, state.result) == ("failed", tasks.MAX_ATTEMPTS, None)
    tasks.run_job(job.id)  # a late delivery of a failed job does nothing
    assert job_state(job.id).attempts == tasks.MAX_ATTEMPTS

    monkeypatch.setitem(tasks.KINDS, "print", "oms_web.documents.jobs:print_documents")
    tasks.retry(job.id)  # an admin's retry: a fresh set of attempts
    state = job_state(job.id)
    assert (state.status, state.attempts) == ("queued", 0)


def test_a_job_that_cannot_succeed_fails_at_once_saying_why(app, shop):
    shop.product("TENT", in_hand=1)
    unshipped = shop.web_order(("TENT", 1))
    job = print_jobs.start("labels", [unshipped.id], shop.staff)
    tasks.run_job(job.id)
    state = job_state(job.id)
    assert (state.status, state.attempts) == ("failed", 1)
    assert "shipment" in state.error


def test_only_a_failed_job_is_retried(app, shop):
    ids = shipped_orders(shop, 1)
    job = print_jobs.start("labels", ids, shop.staff)
    shop.refused(InvalidInput, tasks.retry, job.id, match="Only a failed job can be retried; this one is queued")
    tasks.run_job(job.id)
    assert job_state(job.id).status == "done"
    shop.refused(InvalidInput, tasks.retry, job.id, match="this one is done")
    shop.refused(NotFound, tasks.retry, job.id + 1000)
    assert printed_events(ids) == 1


def test_a_running_job_whose_heartbeat_lapsed_is_queued_again_and_its_old_run_writes_nothing(app, shop):
    ids = shipped_orders(shop, 1)
    job = print_jobs.start("labels", ids, shop.staff)
    assert tasks._claim(job.id, "dead-worker")
    assert tasks.recover_abandoned() == []  # its heartbeat is fresh: a live worker holds it
    db.session.execute(sa.update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow() - tasks.queue().lease * 2))
    db.session.commit()
    assert tasks.recover_abandoned() == [job.id]
    assert job_state(job.id).status == "queued"
    tasks._finish(job.id, "dead-worker", status="done")  # the old run, had it been only slow
    assert job_state(job.id).status == "queued"
    tasks.run_job(job.id)
    state = job_state(job.id)
    assert (state.status, state.attempts) == ("done", 2)
    assert printed_events(ids) == 1


def test_each_channel_is_pulled_on_its_own_schedule_and_each_slot_once(app, shop):
    from datetime import datetime

    amazon = shop.channel("Amazon", ChannelKind.AMAZON)
    ebay = shop.channel("eBay", ChannelKind.EBAY)
    ebay.settings = {"sync_every_minutes": 15}
    db.session.commit()
    on_the_hour = datetime(2026, 11, 30, 10, 0)
    first = queue_due_channel_work(on_the_hour)
    again = queue_due_channel_work(on_the_hour)  # a second worker's scheduler, the same minute
    assert sorted(j.params["channel_id"] for j in first) == [amazon.id, ebay.id]
    assert [j.id for j in again] == [j.id for j in first]
    five_past = queue_due_channel_work(datetime(2026, 11, 30, 10, 5))
    assert [j.params["channel_id"] for j in five_past] == [amazon.id]  # eBay's next slot is at a quarter past
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 3
    assert {j.kind for j in first + five_past} == {"channel_pull"}
