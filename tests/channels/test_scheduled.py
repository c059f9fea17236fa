"""The marketplaces' work as jobs: a channel's scheduled pull and its due confirmations, run by the
task queue's job runner against the fake Amazon (tests/test_tasks.py runs the same runner in worker
processes)."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from oms_web import tasks
from oms_web.channels.scheduled import queue_due_channel_work
from oms_web.channels.sync import LOCK_FOR
from oms_web.extensions import db
from oms_web.models import ChannelSync, Job, Order, SalesChannel, ShipmentConfirmation, utcnow

from ..queue import job_state
from .fakes import amazon_order
from tests.helpers.confirmations import ship

ON_THE_HOUR = datetime(2026, 11, 30, 10, 0)


def test_a_scheduled_pull_imports_the_channels_orders_once_however_often_it_is_delivered(shop, amazon, amazon_fake):
    shop.product("A", in_hand=10)
    amazon_fake.add(amazon_order("202-0000001-0000001", items=[("A", 2, "25.00")]))
    [job] = queue_due_channel_work(ON_THE_HOUR)
    assert (job.kind, job.params, job.status) == ("channel_pull", {"channel_id": amazon.id}, "queued")
    tasks.run_job(job.id)
    tasks.run_job(job.id)  # delivered twice: the second does nothing
    assert (job_state(job.id).status, job_state(job.id).attempts) == ("done", 1)
    runs = db.session.scalars(sa.select(ChannelSync).where(ChannelSync.channel_id == amazon.id)).all()
    assert [(r.status, r.imported) for r in runs] == [("ok", 1)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.channel_id == amazon.id)) == 1


def test_a_pull_while_another_run_holds_the_channel_is_that_run(shop, amazon, amazon_fake):
    held_until = utcnow() + LOCK_FOR
    db.session.execute(sa.update(SalesChannel).where(SalesChannel.id == amazon.id).values(sync_locked_until=held_until))
    db.session.commit()
    [job] = queue_due_channel_work(ON_THE_HOUR)
    tasks.run_job(job.id)
    assert job_state(job.id).status == "done"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChannelSync)) == 0


def test_a_pull_of_a_switched_off_channel_fails_at_once_saying_why(shop, amazon):
    job = tasks.enqueue("channel_pull", {"channel_id": amazon.id})
    amazon.active = False
    db.session.commit()
    tasks.run_job(job.id)
    state = job_state(job.id)
    assert (state.status, state.attempts, state.error) == ("failed", 1, "Amazon UK is switched off")


def test_a_switched_off_channel_is_not_scheduled(shop, amazon):
    amazon.active = False
    db.session.commit()
    assert queue_due_channel_work(ON_THE_HOUR) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_due_confirmations_are_sent_by_a_job_between_pulls(shop, amazon, amazon_fake):
    shop.product("A", in_hand=10)
    amazon_fake.add(amazon_order("202-0000001-0000001", items=[("A", 2, "25.00")]))
    [pull] = queue_due_channel_work(ON_THE_HOUR)
    tasks.run_job(pull.id)
    order = db.session.scalar(sa.select(Order).where(Order.channel_id == amazon.id))
    confirmation_id = ship(shop, order)
    now = utcnow() + timedelta(minutes=1)
    if now.minute % 5 == 0:
        now += timedelta(minutes=1)  # a minute when no pull is due: the confirmations go on their own
    [job] = queue_due_channel_work(now)
    assert (job.kind, job.params) == ("confirmations", {"channel_id": amazon.id})
    tasks.run_job(job.id)
    assert job_state(job.id).status == "done"
    sent = db.session.get(ShipmentConfirmation, confirmation_id)
    assert sent.status == "sent" and sent.attempts == 1
