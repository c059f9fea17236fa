"""The marketplaces' work on the task queue: each channel's pull on its own schedule, and the
shipment confirmations that are due between pulls. The same sync that `channels sync` runs from cron
(which stays for sites that prefer cron): its channel hold makes a pull running twice one run, and a
repeated order one order."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask import current_app

from ..domain.errors import DomainError
from ..extensions import db
from ..models import Job, SalesChannel, ShipmentConfirmation, utcnow
from ..tasks import JobRefused, Outcome, Progress, enqueue
from . import amazon
from .manage import MARKETPLACES


def every_minutes(channel: SalesChannel) -> int:
    """How often the channel is pulled: its own setting, else the site's (OMS_SYNC_EVERY_MINUTES)."""
    own = (channel.settings or {}).get("sync_every_minutes")
    if isinstance(own, int) and not isinstance(own, bool):
        return max(1, own)
    return max(1, int(current_app.config["OMS_SYNC_EVERY_MINUTES"]))


def queue_due_channel_work(now: datetime | None = None) -> list[Job]:
    """Queue each active marketplace's pull when its slot comes round, and its confirmations when some
    are due. The jobs are keyed by channel and slot, so every worker's scheduler adds each one once."""
    now = now or utcnow()
    minute = int(now.replace(tzinfo=timezone.utc).timestamp() // 60)  # the database's times are naive UTC
    queued = []
    channels = db.session.scalars(sa.select(SalesChannel).where(SalesChannel.kind.in_(MARKETPLACES),
                                                                SalesChannel.active).order_by(SalesChannel.id)).all()
    confirming = set(db.session.scalars(sa.select(ShipmentConfirmation.channel_id).distinct().where(
        ShipmentConfirmation.status == "pending", ShipmentConfirmation.next_attempt_at <= now)))
    db.session.rollback()
    for channel in channels:
        every = every_minutes(channel)
        if minute % every == 0:
            queued.append(enqueue("channel_pull", {"channel_id": channel.id},
                                  key=f"channel_pull:{channel.id}:{minute // every}"))
        elif channel.id in confirming and not amazon.confirms_by_file(channel):
            queued.append(enqueue("confirmations", {"channel_id": channel.id},
                                  key=f"confirmations:{channel.id}:{minute}"))
    return queued


def pull_orders(job: Job, progress: Progress) -> Outcome:
    """Pull the channel's orders (and send its due confirmations). A run already holding the channel
    (cron, the Sync now button) is this slot's pull; a failed pull is retried with back-off."""
    from .sync import SyncAlreadyRunning, sync_channel

    try:
        run = sync_channel(job.params["channel_id"], progress=lambda done, total: progress(done, total or done))
    except SyncAlreadyRunning:
        return Outcome()
    except DomainError as refusal:  # the channel is gone, switched off or no marketplace
        raise JobRefused(refusal.message) from None
    if run.status == "failed":
        raise RuntimeError("; ".join(run.errors or ["the pull failed"]))
    return Outcome()


def send_confirmations(job: Job, progress: Progress) -> Outcome:
    """Send the channel's due confirmations; each one keeps its own retry schedule (confirmations.retry_delay)."""
    from .confirmations import send_due_confirmations

    send_due_confirmations(job.params["channel_id"])
    return Outcome()
