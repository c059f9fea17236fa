"""The set-based part of create_orders: a batch of checked channel orders written as a few
many-row statements (domain.bulk_rows), allocated by stock.plan_allocation on the counts of products
locked by domain.locking, the ledger and committed counts moved by stock.commit_many.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import Customer, Order, OrderEvent, OrderLine, SalesChannel, User, utcnow
from . import bulk_rows, customers, events, stock
from .errors import DomainError
from .locking import lock_product_rows
from .new_orders import ORDER_HEADLINE, Created, CustomerDetails, NewOrder, customer_of, order_values
from .order_rules import refresh_order
from .segments import segment_of, set_segment

# Its statements, built once: building a statement (and its cache key) costs SQLAlchemy several times
# what running it costs SQLite (measured in bench/run.py).
_EXISTING_ORDERS = (sa.select(Order.__table__.c.channel_order_id, Order.__table__.c.id)
                    .where(Order.__table__.c.channel_id == sa.bindparam("channel_id"),
                           Order.__table__.c.channel_order_id.in_(sa.bindparam("ids", expanding=True))))
_KNOWN_CUSTOMERS = (sa.select(Customer.__table__.c.id, Customer.__table__.c.name, Customer.__table__.c.email)
                    .where(Customer.__table__.c.email.in_(sa.bindparam("emails", expanding=True)))
                    .order_by(Customer.__table__.c.id.desc()))


def lock_products_of(channels: dict[int, SalesChannel | None], checked: list[tuple[int, NewOrder, SalesChannel]]
                      ) -> tuple[dict[int, dict[str, Any]], dict[int, Any]]:
    """Every product the batch names (through each channel's SKU mapping), locked in id order in one
    statement. Returns, per channel, the products by the channel's SKU, and the products by id (rows
    with id, sku, name, price_cents, tax_rate_bp and available)."""
    wanted_of: dict[int, dict[str, str]] = {}
    for channel_id, channel in channels.items():
        if channel is None:
            continue
        sku_map: dict[str, str] = (channel.settings or {}).get("sku_map", {})
        skus = {r.sku for _, n, c in checked if c is channel for r in n.lines}
        wanted_of[channel_id] = {sku: sku_map.get(sku, sku) for sku in skus}
    locked = lock_product_rows(sku for wanted in wanted_of.values() for sku in wanted.values())
    by_sku = {row.sku: row for row in locked.values()}
    products_of = {channel_id: {sku: by_sku[our] for sku, our in wanted.items() if our in by_sku}
                   for channel_id, wanted in wanted_of.items()}
    return products_of, locked


class _Draft(SimpleNamespace):
    """A batch's order or line before it has a row: what refresh_order and segment_of read and set."""


_ORDER_COLUMNS = ("channel_id", "channel_order_id", "status", "payment_status", "segment", "hold_reason",
                  "customer_id", "customer_name", "email", "ship_to", "bill_to", "service_level", "currency",
                  "subtotal_cents", "discount_cents", "tax_cents", "shipping_cents", "shipping_tax_cents",
                  "tax_included", "total_cents", "created_at", "updated_at", "finalized_at", "ship_by")
_LINE_COLUMNS = ("product_id", "sku", "name", "channel_line_id", "ordered", "allocated", "shipped", "invoiced",
                 "unit_price_cents", "tax_rate_bp", "discount_cents", "tax_cents", "order_open", "drop_ship")


def create_checked(actor: User | None, checked: list[tuple[int, NewOrder, SalesChannel]],
                    products_of: dict[int, dict[str, Any]], locked: dict[int, Any],
                    results: list[Created | None]) -> None:
    """The set-based part of create_orders: repeats, customers, rows, allocation, events, ledger."""
    connection = db.session.connection()
    wanted = {(channel.id, new.channel_order_id.strip()) for _, new, channel in checked}
    existing: dict[tuple[int, str], int | _Draft] = {}
    for channel_id in {key[0] for key in wanted}:
        ids = sorted(key[1] for key in wanted if key[0] == channel_id)
        for start in range(0, len(ids), 500):
            existing.update(((channel_id, coid), order_id) for coid, order_id in connection.execute(
                _EXISTING_ORDERS, {"channel_id": channel_id, "ids": ids[start:start + 500]}))
    emails = sorted({(n.customer.email or "").strip().lower() for _, n, _ in checked if n.customer} - {""})
    known: dict[str, Any] = {}
    for start in range(0, len(emails), 500):
        for row in connection.execute(_KNOWN_CUSTOMERS, {"emails": emails[start:start + 500]}):
            known[row.email] = _Draft(id=row.id, name=row.name, email=row.email)  # descending: the first made wins

    available = stock.available_at(locked)
    drop_ship_of = (stock.drop_ship_locations(locked)
                    if any(row.drop_ship_location_id for row in locked.values()) else {})
    sites_of = stock.sites_by_channel(channel.id for _, _, channel in checked)
    now = utcnow()
    made: list[tuple[int, _Draft]] = []
    repeats: list[tuple[int, _Draft]] = []
    new_customers: list[_Draft] = []
    for index, new, channel in checked:
        key = (channel.id, new.channel_order_id.strip())
        if key in existing:
            earlier = existing[key]
            if isinstance(earlier, _Draft):
                repeats.append((index, earlier))
            else:
                results[index] = Created(earlier, duplicate=True)
            continue
        try:
            customer, details = _batch_customer(new, known, new_customers)
        except DomainError as refusal:
            results[index] = Created(None, error=refusal)
            continue
        values, line_values = order_values(channel, new, products_of[channel.id], details, now)
        order = _Draft(**values, lines=[_Draft(**line) for line in line_values], shipments=[], segment=None,
                       customer=customer, customer_name=customer.name, email=customer.email, updated_at=now)
        existing[key] = order
        numbers = events.line_numbers(order.lines)
        # (line, product id, location id, units) per allocation: stock's one rule, on the locked counts
        order.moves = []
        for line in order.lines:
            line.drop_ship = False
        if not order.hold_reason:
            takes = stock.plan_allocation([(line.product_id, line.ordered) for line in order.lines],
                                          sites_of[channel.id], available, drop_ship_of)
            for line, line_takes in zip(order.lines, takes):
                for location_id, units in line_takes:
                    line.allocated = line.allocated + units
                    line.drop_ship = line.drop_ship or line.product_id in drop_ship_of
                    order.moves.append((line, line.product_id, location_id, units))
        set_segment(order, segment_of(order), is_new=True)
        order.events = events.creation_entries(channel, order, numbers, new.channel_total_cents)
        taken = sum(units for *_, units in order.moves)
        backordered = sum(line.ordered - line.allocated for line in order.lines)
        if not order.hold_reason and (taken or backordered):
            order.events.append(events.allocation_entry(order, taken, backordered))
        refresh_order(order)
        made.append((index, order))

    bulk_rows.insert_rows(Customer.__table__, new_customers, ("name", "email", "phone"), now)
    for _, order in made:
        order.customer_id = order.customer.id
    bulk_rows.insert_rows(Order.__table__, [order for _, order in made], _ORDER_COLUMNS, now)
    user_id = actor.id if actor else None
    line_drafts, event_rows = [], []
    for _, order in made:
        for line in order.lines:
            line.order_id = order.id
            line_drafts.append(line)
        event_rows.extend(events.entry_rows(order.id, user_id, order.events, now))
    bulk_rows.insert_rows(OrderLine.__table__, line_drafts, ("order_id", *_LINE_COLUMNS), now)
    bulk_rows.insert_many(OrderEvent.__table__, event_rows)
    stock.commit_many(((product_id, location_id, units, line.id, order.id) for _, order in made
                       for line, product_id, location_id, units in order.moves), actor_id=user_id, now=now)
    drop_shipped = [order.id for _, order in made if any(line.drop_ship for line in order.lines)]
    if drop_shipped:  # their suppliers' drop-ship POs of the day (issue 14)
        from .purchasing import add_drop_ship_orders  # purchasing builds on the order rules

        add_drop_ship_orders(drop_shipped, actor)
    for index, order in made:
        results[index] = Created(order.id, held=bool(order.hold_reason), headline={
            column.name: getattr(order, column.name) for column in ORDER_HEADLINE.selected_columns})
    for index, order in repeats:
        results[index] = Created(order.id, duplicate=True)


def _batch_customer(new: NewOrder, known: dict[str, Any], made: list[Any]) -> tuple[Any, CustomerDetails]:
    """customer_of for a batch: the same checks, the customers read beforehand, new ones made as rows later."""
    if new.customer_id is not None or new.customer is None:
        customer, details = customer_of(new)
        return _Draft(id=customer.id, name=customer.name, email=customer.email), details
    details = new.customer
    name, email, phone = customers.check_new_customer(details.name, details.email, details.phone)
    if new.if_email_on_file is customers.IfEmailOnFile.NEW:
        email = None
    if email and email in known:
        if new.if_email_on_file is customers.IfEmailOnFile.ASK and known[email].id is not None:
            raise customers.EmailOnFile(known[email].id, known[email].name, email)
        return known[email], details
    customer = _Draft(id=None, name=name, email=email, phone=phone)
    made.append(customer)
    if email:
        known[email] = customer
    return customer, details
