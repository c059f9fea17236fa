"""Orders coming in: create_order (a screen's draft, or one channel order) and create_orders (a
batch of channel orders: a report file, a page of a marketplace sync, the arrivals of one moment).

A channel order goes through the set-based path of domain.batch_intake, a batch of one or many; a
manual order, and a batch that collided with a concurrent order, through the ORM row by row.
"""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from .. import metrics
from ..database import RetryTransaction, may_retry, service
from ..extensions import db
from ..models import Order, SalesChannel, User, utcnow
from . import events
from .batch_intake import create_checked, lock_products_of
from .errors import DomainError, DuplicateChannelOrder, InvalidInput
from .locking import lock_channels, lock_products
from .new_orders import (Created, NewOrder, check_new_order, customer_of, order_row, record_creation,
                         refuse_duplicate)
from .order_rules import allocate_and_describe, get_order, products_by_sku, refresh_order
from .product_match import unknown_sku
from .segments import pending_counts, restore_pending_counts, segment_of, set_segment


@service
def create_order(actor: User | None, new: NewOrder) -> Order:
    """Create an order. From a sales channel it arrives Finalized and is allocated at once (lines whose
    SKU matches no product hold it under Needs attention); a manual order is saved as a Draft.

    Raises DuplicateChannelOrder when the channel's order was imported before, InvalidInput on bad lines.

    A channel order (the order API, a webhook, one order of a sync) goes through create_orders' set-based
    path as a batch of one: the same checks, locks and rows, in about a third of the statements and a
    tenth of the time of the ORM's unit of work (measured in bench/run.py).
    """
    channel = db.session.get(SalesChannel, new.channel_id)
    if channel is not None and channel.active and channel.orders_arrive_finalized:
        created = create_orders(actor, [new])[0]
        if created.error is not None:
            raise created.error
        if created.duplicate:
            raise DuplicateChannelOrder(channel.name, (new.channel_order_id or "").strip(), created.order_id)
        return get_order(created.order_id)
    return _create_order_row_by_row(actor, channel, new)


def _create_order_row_by_row(actor: User | None, channel: SalesChannel | None, new: NewOrder) -> Order:
    """create_order through the ORM: a manual order, and create_orders' fallback for a batch that
    collided with a concurrent order."""
    from_channel = check_new_order(channel, new)
    products = products_by_sku(channel, {r.sku for r in new.lines})
    unknown = sorted({r.sku for r in new.lines} - products.keys())
    if unknown and not from_channel:
        raise unknown_sku(unknown)
    lock_products(p.id for p in products.values())

    channel_order_id = (new.channel_order_id or "").strip() or None
    if channel_order_id:
        refuse_duplicate(channel, channel_order_id)
    customer, details = customer_of(new)
    order = order_row(channel, new, products, customer, details, utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(order)
            db.session.flush()
    except IntegrityError:
        refuse_duplicate(channel, channel_order_id)
        raise
    set_segment(order, segment_of(order), is_new=True)
    record_creation(order, actor, events.line_numbers(order.lines), new.channel_total_cents)
    if not order.hold_reason and from_channel:
        allocate_and_describe(order, actor)
    refresh_order(order)
    return order


@service
def create_orders(actor: User | None, batch: list[NewOrder]) -> list[Created]:
    """Create many channel orders at once (a report file, a page of a marketplace sync), each exactly as
    create_order would: Finalized, allocated in the batch's order, held on an unknown SKU, one order per
    (channel, channel order id). A refused or repeated order leaves the others standing. Returns one
    Created per order, in the batch's order.

    Set-based, for speed (a 100,000-line report file): the checks are create_order's own, the SKUs,
    repeats and customers are read once for the whole batch, the allocation is worked out by
    stock.plan_allocation on the locked products' counts in the batch's order, and the rows (orders, lines, events, a ledger row per
    allocated line) go in as a few many-row statements; each product's committed count then moves once,
    by the batch's total, through the guarded update of stock._move (stock.commit_many).
    The channels' rows are locked first (two batches into one channel run one after the other), then
    every product of the batch in id order. Should a concurrent single order still collide with one of
    the batch, the batch is redone one order at a time, each in a savepoint. Manual orders are refused.
    """
    results: list[Created | None] = [None] * len(batch)
    channel_ids = sorted({new.channel_id for new in batch})
    if len(batch) > 1:
        lock_channels(channel_ids)
    channels = {channel_id: db.session.get(SalesChannel, channel_id) for channel_id in channel_ids}
    checked: list[tuple[int, NewOrder, SalesChannel]] = []
    for index, new in enumerate(batch):
        channel = channels.get(new.channel_id)
        try:
            if not check_new_order(channel, new):
                raise InvalidInput("Only a sales channel's orders are created in a batch", field="channel")
        except DomainError as refusal:
            results[index] = Created(None, error=refusal)
            continue
        checked.append((index, new, channel))

    products_of, locked = lock_products_of(channels, checked)
    if len(checked) == 1 and may_retry(create_orders, create_order):
        # One order in a transaction of its own (the order API, a webhook): no savepoint to pay for.
        # Should a concurrent request have made the same order, the redo finds it a repeat.
        try:
            create_checked(actor, checked, products_of, locked, results)
        except IntegrityError as collision:
            raise RetryTransaction() from collision
        metrics.count_orders(batch, results)
        return [result for result in results if result is not None]
    counts = pending_counts()
    try:
        with db.session.begin_nested():
            create_checked(actor, checked, products_of, locked, results)
    except IntegrityError:
        restore_pending_counts(counts)
        for index, new, _ in checked:
            results[index] = _create_one(actor, new)
    metrics.count_orders(batch, results)
    return [result for result in results if result is not None]


def _create_one(actor: User | None, new: NewOrder) -> Created:
    counts = pending_counts()
    try:
        with db.session.begin_nested():
            order = _create_order_row_by_row(actor, db.session.get(SalesChannel, new.channel_id), new)
        return Created(order.id, held=bool(order.hold_reason))
    except DuplicateChannelOrder as repeat:
        restore_pending_counts(counts)
        return Created(repeat.order_id, duplicate=True)
    except DomainError as refusal:
        restore_pending_counts(counts)
        return Created(None, error=refusal)
