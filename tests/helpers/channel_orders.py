"""A channel's orders as the tests read them back, and a marketplace sync whose pauses are recorded."""
from __future__ import annotations

import sqlalchemy as sa

from oms_web.channels.sync import sync_channel
from oms_web.extensions import db
from oms_web.models import ChannelSync, Order, SalesChannel


def orders_of(channel: SalesChannel) -> dict[str, Order]:
    """The channel's orders by channel order id, read afresh."""
    db.session.rollback()
    found = db.session.scalars(sa.select(Order).where(Order.channel_id == channel.id).order_by(Order.id)
                               .execution_options(populate_existing=True)).all()
    return {order.channel_order_id: order for order in found}


def sync(channel: SalesChannel, pauses: list | None = None) -> ChannelSync:
    """A sync whose back-off pauses are recorded instead of slept."""
    run = sync_channel(channel.id, sleep=(pauses if pauses is not None else []).append)
    db.session.rollback()
    return run
