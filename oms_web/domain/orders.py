"""Order services: create, finalize, allocate, edit, void, take payment, release a hold, add a note.

Each public function is one all-or-nothing action (`@service`): it takes the acting user and plain
values, changes the order and stock under the locks of domain.locking, writes the ledger rows and a
timeline event, and raises a DomainError (changing nothing) when it refuses.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..database import RetryTransaction, may_retry, service
from ..extensions import db
from ..models import (Customer, Order, OrderEvent, OrderLine, OrderStatus, PaymentStatus, Product, Role,
                      SalesChannel, User, utcnow)
from . import bulk_rows, customers, deadlines, events, money, stock
from .errors import (DomainError, DuplicateChannelOrder, InvalidInput, InvalidState, NotAllowed, NotFound,
                     QuantityTooLarge, Shortfall)
from .invoicing import invoiced_money
from .locking import lock_channels, lock_order, lock_orders, lock_product_rows, lock_products
from .money import line_tax_cents  # noqa: F401  (its home is domain.money; imported from here by callers)
from .product_match import unknown_sku
from .segments import is_complete, pending_counts, restore_pending_counts, segment_of, set_segment

# The most units of one order line, on every form, feed and service (stock has its own: inventory.MAX_STOCK_QUANTITY).
MAX_LINE_QUANTITY = 100_000
MAX_NOTE_LENGTH = 2_000
# OrderLine.unit_price_cents is a 32-bit INTEGER on PostgreSQL; no real price or shipping charge comes
# near it, and a total of 100,000 units at it still fits the 64-bit totals.
MAX_PRICE_CENTS = 2**31 - 1


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int
    unit_price_cents: int | None = None  # None: the product's price
    name: str | None = None
    channel_line_id: str | None = None
    discount_cents: int = 0  # the line's discounts, in cents, for all its units
    tax_cents: int | None = None  # the line's tax as the channel charged it; None: at the product's rate


@dataclass(frozen=True)
class CustomerDetails:
    name: str
    email: str | None = None
    phone: str | None = None
    ship_to: dict[str, Any] | None = None
    bill_to: dict[str, Any] | None = None


@dataclass(frozen=True)
class LineChange:
    """Set an existing line's quantity (0 removes it), or add a line when `line_id` is None."""

    quantity: int
    line_id: int | None = None
    sku: str | None = None
    unit_price_cents: int | None = None


@dataclass
class NewOrder:
    channel_id: int
    lines: list[LineRequest]
    customer: CustomerDetails | None = None
    customer_id: int | None = None
    # A new customer whose email is on file: use that customer (channels), ask, or make a new one.
    if_email_on_file: customers.IfEmailOnFile = customers.IfEmailOnFile.USE
    # The ship-to of a manual order: one of the customer's addresses, or a new one kept among them.
    address_id: int | None = None
    new_address: dict[str, Any] | None = None
    channel_order_id: str | None = None
    payment_status: PaymentStatus = PaymentStatus.PAID
    currency: str = "USD"
    shipping_cents: int = 0  # after any shipping discount
    shipping_tax_cents: int = 0
    # An order-wide discount (a coupon the channel does not spread over the lines) and the tax of the
    # lines that state none: each is spread over those lines in proportion to their value.
    discount_cents: int = 0
    tax_cents: int | None = None
    tax_included: bool = False  # the channel's prices include their tax (EU shops)
    # The total the channel states (Shopify's total_price, ...): should ours differ (a charge we do not
    # carry, such as a tip or a duty), the order's timeline says so from the start.
    channel_total_cents: int | None = None
    service_level: str | None = None
    placed_at: datetime | None = None
    # The channel's own deadline (naive UTC); None: placed_at plus the channel's handling days.
    ship_by: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- shared checks and bookkeeping

def require_role(actor: User | None, role: Role, action: str) -> None:
    if actor is None or not actor.has_role(role):
        raise NotAllowed(f"Only a{'n' if role is Role.ADMIN else ''} {role.value} may {action}")


def check_quantity(value: Any, *, field_name: str = "quantity", allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("Quantity must be a whole number", field=field_name)
    low = 0 if allow_zero else 1
    if value < low:
        raise InvalidInput(f"Quantity must be {'zero or more' if allow_zero else 'at least 1'}", field=field_name)
    if value > MAX_LINE_QUANTITY:
        raise InvalidInput(f"Quantity is too large: at most {MAX_LINE_QUANTITY:,}", field=field_name)
    return value


def _check_price(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("Unit price must be zero or more, in cents", field="unit_price")
    if value > MAX_PRICE_CENTS:
        raise InvalidInput(f"Unit price must be at most {MAX_PRICE_CENTS:,} cents", field="unit_price")
    return value


def refresh_order(order: Order) -> None:
    """Recompute what follows from the lines: totals, Fulfilled once complete, and the board segment."""
    figures = money.order_totals(order)
    order.subtotal_cents, order.discount_cents = figures.subtotal_cents, figures.discount_cents
    order.tax_cents, order.total_cents = figures.tax_cents, figures.total_cents
    if is_complete(order):
        order.status = OrderStatus.FULFILLED
        order.fulfilled_at = utcnow()
    set_segment(order, segment_of(order))


def get_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    return order


def default_tax_rate_bp() -> int:
    from flask import current_app, has_app_context  # configuration only; no request state

    return int(current_app.config.get("OMS_DEFAULT_TAX_RATE_BP", 0)) if has_app_context() else 0


def _tax_rate(product: Product | None) -> int:
    if product is not None and product.tax_rate_bp is not None:
        return product.tax_rate_bp
    return default_tax_rate_bp()


def _products_by_sku(channel: SalesChannel | None, skus: set[str]) -> dict[str, Product]:
    """Resolve SKUs to products, through the channel's SKU mapping first."""
    sku_map: dict[str, str] = (channel.settings or {}).get("sku_map", {}) if channel else {}
    wanted = {sku: sku_map.get(sku, sku) for sku in skus}
    found = {p.sku: p for p in db.session.scalars(sa.select(Product).where(Product.sku.in_(set(wanted.values()))))}
    return {sku: found[ours] for sku, ours in wanted.items() if ours in found}


def _allocate_and_describe(order: Order, actor: User | None) -> int:
    taken = stock.allocate_order(order, actor)
    backordered = sum(l.backordered for l in order.lines)
    if taken or backordered:
        events.record(order, actor, "allocated", _allocated_message(taken, backordered),
                      lines=events.line_numbers(order.lines))
    return taken


def _allocated_message(taken: int, backordered: int) -> str:
    return f"Allocated {taken} unit(s)" + (f"; {backordered} backordered" if backordered else "")


def fill_backorders_and_refresh(product_ids: set[int], actor: User | None) -> None:
    """Units were freed: give them to the oldest backorders, and refresh the orders that got some."""
    for product_id in sorted(product_ids):
        for line in stock.fill_backorders(product_id, actor):
            order = line.order
            events.record(order, actor, "allocated", f"Allocated {line.sku} from freed or received stock",
                          lines=events.line_numbers(order.lines))
            refresh_order(order)


# ---------------------------------------------------------------- services

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
    from_channel = _check_new_order(channel, new)
    products = _products_by_sku(channel, {r.sku for r in new.lines})
    unknown = sorted({r.sku for r in new.lines} - products.keys())
    if unknown and not from_channel:
        raise unknown_sku(unknown)
    lock_products(p.id for p in products.values())

    channel_order_id = (new.channel_order_id or "").strip() or None
    if channel_order_id:
        _refuse_duplicate(channel, channel_order_id)
    customer, details = _customer_of(new)
    order = _order_row(channel, new, products, customer, details, utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(order)
            db.session.flush()
    except IntegrityError:
        _refuse_duplicate(channel, channel_order_id)
        raise
    set_segment(order, segment_of(order), is_new=True)
    _record_creation(order, actor, events.line_numbers(order.lines), new.channel_total_cents)
    if not order.hold_reason and from_channel:
        _allocate_and_describe(order, actor)
    refresh_order(order)
    return order


def _check_new_order(channel: SalesChannel | None, new: NewOrder) -> bool:
    """Refuse a new order's bad values (InvalidInput); returns whether it comes from a sales channel."""
    if channel is None or not channel.active:
        raise InvalidInput("Choose an active sales channel", field="channel")
    from_channel = channel.orders_arrive_finalized
    if from_channel and not (new.channel_order_id or "").strip():
        raise InvalidInput("A channel order needs the channel's order id", field="channel_order_id")
    if len((new.channel_order_id or "").strip()) > 64:
        raise InvalidInput("A channel order id has at most 64 characters", field="channel_order_id")
    if from_channel and not new.lines:
        raise InvalidInput("A channel order needs at least one line", field="lines")
    for request in new.lines:
        check_quantity(request.quantity)
        if request.unit_price_cents is not None:
            _check_price(request.unit_price_cents)
        if not (request.sku or "").strip():
            raise InvalidInput("Every line needs a SKU", field="sku")
        if len(request.sku) > 64 or len(request.channel_line_id or "") > 64:
            raise InvalidInput(f"SKU {request.sku[:20]}…: a SKU or a channel line id has at most 64 characters",
                               field="sku")
    _check_cents(new.shipping_cents, "Shipping", "shipping")
    _check_cents(new.shipping_tax_cents, "Shipping tax", "shipping_tax")
    _check_cents(new.discount_cents, "The order's discount", "discount")
    if new.tax_cents is not None:
        _check_cents(new.tax_cents, "Tax", "tax")
    if new.channel_total_cents is not None:
        _check_cents(new.channel_total_cents, "The channel's total", "total")
    if new.ship_by is not None:
        deadlines.check_ship_by(new.ship_by)
    if new.placed_at is not None:
        deadlines.check_placed_at(new.placed_at)
    net: int | None = 0  # None: a line takes the catalogue's price, not known yet
    for request in new.lines:
        _check_cents(request.discount_cents, f"{request.sku[:20]}: the discount", "discount")
        if request.tax_cents is not None:
            _check_cents(request.tax_cents, f"{request.sku[:20]}: the tax", "tax")
        if request.unit_price_cents is None:
            net = None
            continue
        line_gross = request.quantity * request.unit_price_cents
        if request.discount_cents > line_gross:
            raise InvalidInput(f"{request.sku[:20]}: the discount is more than the line's price", field="discount")
        if net is not None:
            net += line_gross - request.discount_cents
    if net is not None and new.discount_cents > net:
        raise InvalidInput("The order's discount is more than its lines' price", field="discount")
    return from_channel


def _check_cents(value: Any, what: str, field_name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{what} must be zero or more, in cents", field=field_name)
    if value > MAX_PRICE_CENTS:
        raise InvalidInput(f"{what} must be at most {MAX_PRICE_CENTS:,} cents", field=field_name)


def _customer_of(new: NewOrder) -> tuple[Customer, CustomerDetails]:
    """The order's customer (domain.customers' rules) and the details it is shipped and billed with."""
    if new.customer_id is not None:
        customer = db.session.get(Customer, new.customer_id)
        if customer is None:
            raise InvalidInput("That customer does not exist", field="customer")
        ship_to = customers.ship_to_for(customer, new.address_id, new.new_address)
        return customer, CustomerDetails(name=customer.name, email=customer.email, ship_to=ship_to)
    if new.customer is not None:
        details = new.customer
        customer = customers.customer_for(details.name, details.email, details.phone, new.if_email_on_file)
        if new.new_address is not None:
            ship_to = customers.ship_to_for(customer, None, new.new_address)
            details = dataclasses.replace(details, ship_to=ship_to, email=customers.normalise_email(details.email))
        return customer, details
    raise InvalidInput("Choose a customer or enter a new one", field="customer")


def _order_row(channel: SalesChannel, new: NewOrder, products: dict[str, Product], customer: Customer,
               details: CustomerDetails, now: datetime) -> Order:
    """The new order and its lines (nothing allocated yet), held when a SKU matches no product."""
    values, lines = _order_values(channel, new, products, details, now)
    order = Order(channel=channel, customer=customer, customer_name=customer.name,
                  email=customer.email or customers.normalise_email(details.email), **values)
    by_id = {p.id: p for p in products.values()}
    order.lines = [OrderLine(product=by_id.get(line["product_id"]), **line) for line in lines]
    return order


def _order_values(channel: SalesChannel, new: NewOrder, products: dict[str, Product], details: CustomerDetails,
                  now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The column values of a new order (but its customer) and of its lines, as create_order makes them."""
    from_channel = channel.orders_arrive_finalized
    unknown = sorted({r.sku for r in new.lines} - products.keys())
    order = dict(
        channel_id=channel.id, channel_order_id=(new.channel_order_id or "").strip() or None,
        ship_to=details.ship_to, bill_to=details.bill_to or details.ship_to,
        currency=(new.currency or "USD").upper()[:3], shipping_cents=new.shipping_cents,
        shipping_tax_cents=new.shipping_tax_cents, tax_included=new.tax_included,
        service_level=new.service_level, payment_status=new.payment_status,
        status=OrderStatus.FINALIZED if from_channel else OrderStatus.DRAFT,
        created_at=new.placed_at or now, finalized_at=now if from_channel else None,
        ship_by=deadlines.ship_by_of_new_order(new.ship_by, new.placed_at or now, channel),
        hold_reason=f"Unknown SKU {', '.join(unknown)}: map it to a product, then release the order" if unknown else None,
    )
    lines = []
    for request in new.lines:
        product = products.get(request.sku)
        lines.append(dict(
            product_id=product.id if product else None, sku=product.sku if product else request.sku,
            name=request.name or (product.name if product else request.sku),
            channel_line_id=request.channel_line_id, ordered=request.quantity, allocated=0, shipped=0, invoiced=0,
            unit_price_cents=request.unit_price_cents if request.unit_price_cents is not None
            else (product.price_cents if product else 0),
            tax_rate_bp=_tax_rate(product), discount_cents=request.discount_cents, tax_cents=request.tax_cents))
    _spread_order_money(new, lines)
    return order, lines


def _spread_order_money(new: NewOrder, lines: list[dict[str, Any]]) -> None:
    """The order-wide discount over all lines, and the order's tax over the lines that state none, each
    in proportion to the lines' value: partial invoices then carry their share, and add up exactly."""
    if new.discount_cents:
        parts = money.spread(new.discount_cents, [l["ordered"] * l["unit_price_cents"] - l["discount_cents"]
                                                  for l in lines])
        for line, part in zip(lines, parts):
            line["discount_cents"] += part
    untaxed = [l for l in lines if l["tax_cents"] is None]
    if new.tax_cents is not None and untaxed:
        parts = money.spread(new.tax_cents, [l["ordered"] * l["unit_price_cents"] - l["discount_cents"]
                                             for l in untaxed])
        for line, part in zip(untaxed, parts):
            line["tax_cents"] = part


def _record_creation(order: Order, actor: User | None, numbers: list[dict[str, Any]],
                     channel_total: int | None = None) -> None:
    for kind, message, data in _creation_events(order.channel, order, numbers, channel_total):
        events.record(order, actor, kind, message, **data)


def _creation_events(channel: SalesChannel, order: Any, numbers: list[dict[str, Any]],
                     channel_total: int | None = None) -> list[tuple[str, str, dict]]:
    """The timeline of a new order: created (with its lines' numbers), held when it is, and a total
    that differs from the one its channel states."""
    made = [("created", f"Created from {channel.name}"
             + (f" order {order.channel_order_id}" if order.channel_order_id else "")
             + (" as a draft" if order.status is OrderStatus.DRAFT else ""), {"lines": numbers})]
    if order.hold_reason:
        made.append(("held", order.hold_reason, {}))
    total = money.order_totals(order).total_cents
    if channel_total is not None and channel_total != total:
        made.append(("total_differs", f"{channel.name} totals this order at "
                     f"{money.amount_text(channel_total, order.currency)}; its lines, discounts, shipping and tax "
                     f"come to {money.amount_text(total, order.currency)} here", {
                         "channel_total_cents": channel_total, "total_cents": total}))
    return made


def _refuse_duplicate(channel: SalesChannel, channel_order_id: str | None) -> None:
    existing = db.session.scalar(sa.select(Order.id).where(
        Order.channel_id == channel.id, Order.channel_order_id == channel_order_id))
    if existing is not None:
        raise DuplicateChannelOrder(channel.name, channel_order_id or "", existing)


@dataclass(frozen=True)
class Created:
    """What became of one order of a batch: its id, or the refusal that left it out."""

    order_id: int | None
    held: bool = False
    duplicate: bool = False  # the channel's order was imported before; order_id is that order
    error: DomainError | None = None
    # A new order's headline as written (ORDER_HEADLINE's columns), for a channel's answer; None for a
    # refusal, and for a repeat until read with ORDER_HEADLINE (channels.arrivals does).
    headline: dict[str, Any] | None = None


ORDER_HEADLINE = sa.select(*(Order.__table__.c[name] for name in (
    "id", "channel_order_id", "status", "segment", "hold_reason", "total_cents", "currency"))
    ).where(Order.__table__.c.id.in_(sa.bindparam("ids", expanding=True)))


@service
def create_orders(actor: User | None, batch: list[NewOrder]) -> list[Created]:
    """Create many channel orders at once (a report file, a page of a marketplace sync), each exactly as
    create_order would: Finalized, allocated in the batch's order, held on an unknown SKU, one order per
    (channel, channel order id). A refused or repeated order leaves the others standing. Returns one
    Created per order, in the batch's order.

    Set-based, for speed (a 100,000-line report file): the checks are create_order's own, the SKUs,
    repeats and customers are read once for the whole batch, the allocation is worked out on the locked
    products' counts in the batch's order, and the rows (orders, lines, events, a ledger row per
    allocated line) go in as a few many-row statements; each product's committed count then moves once,
    by the batch's total, through the guarded update of stock._move.
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
            if not _check_new_order(channel, new):
                raise InvalidInput("Only a sales channel's orders are created in a batch", field="channel")
        except DomainError as refusal:
            results[index] = Created(None, error=refusal)
            continue
        checked.append((index, new, channel))

    products_of, locked = _lock_products_of(channels, checked)
    if len(checked) == 1 and may_retry(create_orders, create_order):
        # One order in a transaction of its own (the order API, a webhook): no savepoint to pay for.
        # Should a concurrent request have made the same order, the redo finds it a repeat.
        try:
            _create_checked(actor, checked, products_of, locked, results)
        except IntegrityError as collision:
            raise RetryTransaction() from collision
        return [result for result in results if result is not None]
    counts = pending_counts()
    try:
        with db.session.begin_nested():
            _create_checked(actor, checked, products_of, locked, results)
    except IntegrityError:
        restore_pending_counts(counts)
        for index, new, _ in checked:
            results[index] = _create_one(actor, new)
    return [result for result in results if result is not None]


# The set-based path's statements, built once: building a statement (and its cache key) costs
# SQLAlchemy several times what running it costs SQLite (measured in bench/run.py).
_EXISTING_ORDERS = (sa.select(Order.__table__.c.channel_order_id, Order.__table__.c.id)
                    .where(Order.__table__.c.channel_id == sa.bindparam("channel_id"),
                           Order.__table__.c.channel_order_id.in_(sa.bindparam("ids", expanding=True))))
_KNOWN_CUSTOMERS = (sa.select(Customer.__table__.c.id, Customer.__table__.c.name, Customer.__table__.c.email)
                    .where(Customer.__table__.c.email.in_(sa.bindparam("emails", expanding=True)))
                    .order_by(Customer.__table__.c.id.desc()))


def _lock_products_of(channels: dict[int, SalesChannel | None], checked: list[tuple[int, NewOrder, SalesChannel]]
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
                 "unit_price_cents", "tax_rate_bp", "discount_cents", "tax_cents", "order_open")


def _create_checked(actor: User | None, checked: list[tuple[int, NewOrder, SalesChannel]],
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

    available = {product_id: row.available for product_id, row in locked.items()}
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
        values, line_values = _order_values(channel, new, products_of[channel.id], details, now)
        order = _Draft(**values, lines=[_Draft(**line) for line in line_values], shipments=[], segment=None,
                       customer=customer, customer_name=customer.name, email=customer.email, updated_at=now)
        existing[key] = order
        numbers = events.line_numbers(order.lines)
        order.moves = []  # (product id, units) per line that takes stock: stock's one rule, on the locked counts
        if not order.hold_reason:
            takes = stock.plan_allocation([(line.product_id, line.ordered) for line in order.lines], available)
            for line, take in zip(order.lines, takes):
                if take:
                    line.allocated = take
                    order.moves.append((line.product_id, take))
        set_segment(order, segment_of(order), is_new=True)
        order.events = _creation_events(channel, order, numbers, new.channel_total_cents)
        taken = sum(units for _, units in order.moves)
        backordered = sum(line.ordered - line.allocated for line in order.lines)
        if not order.hold_reason and (taken or backordered):
            order.events.append(("allocated", _allocated_message(taken, backordered),
                                 {"lines": events.line_numbers(order.lines)}))
        refresh_order(order)
        made.append((index, order))

    bulk_rows.insert_rows(Customer.__table__, new_customers, ("name", "email", "phone"), now)
    for _, order in made:
        order.customer_id = order.customer.id
    bulk_rows.insert_rows(Order.__table__, [order for _, order in made], _ORDER_COLUMNS, now)
    user_id = actor.id if actor else None
    line_rows, event_rows = [], []
    for _, order in made:
        line_rows.extend({"order_id": order.id, **{c: getattr(line, c) for c in _LINE_COLUMNS}} for line in order.lines)
        event_rows.extend({"order_id": order.id, "user_id": user_id, "kind": kind, "message": message,
                           "data": data or None, "created_at": now} for kind, message, data in order.events)
    bulk_rows.insert_many(OrderLine.__table__, line_rows)
    bulk_rows.insert_many(OrderEvent.__table__, event_rows)
    stock.commit_many(((product_id, units, order.id) for _, order in made for product_id, units in order.moves),
                      actor_id=user_id, now=now)
    for index, order in made:
        results[index] = Created(order.id, held=bool(order.hold_reason), headline={
            column.name: getattr(order, column.name) for column in ORDER_HEADLINE.selected_columns})
    for index, order in repeats:
        results[index] = Created(order.id, duplicate=True)


def _batch_customer(new: NewOrder, known: dict[str, Any], made: list[Any]) -> tuple[Any, CustomerDetails]:
    """_customer_of for a batch: the same checks, the customers read beforehand, new ones made as rows later."""
    if new.customer_id is not None or new.customer is None:
        customer, details = _customer_of(new)
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


@service
def record_channel_payment(actor: User | None, order_id: int, ship_to: dict[str, Any] | None = None) -> bool:
    """The channel reports paid an order that awaits payment here: mark it paid, and take the ship-to
    address the channel withholds until payment (when the order has none yet).

    Returns False, changing nothing, when the order is not a finalized order awaiting payment.
    """
    order = lock_order(order_id)
    if order.status is not OrderStatus.FINALIZED or order.payment_status is not PaymentStatus.PENDING:
        return False
    order.payment_status = PaymentStatus.PAID
    if ship_to and not order.ship_to:
        order.ship_to = ship_to
        order.bill_to = order.bill_to or ship_to
    events.record(order, actor, "paid", f"Payment received on {order.channel.name}")
    refresh_order(order)
    return True


@service
def record_channel_cancellation(actor: User | None, order_id: int, message: str) -> bool:
    """The channel reports cancelled an order imported here. Only an admin voids, with a reason, so the
    order is not voided: it is put on hold (Needs attention, with `message` as the reason), which stops
    it being shipped, and `message` goes on its timeline (event "channel_cancelled"). Its stock stays
    committed until it is voided; releasing the hold ships it after all.

    Returns False, changing nothing, when the order is no longer open or its timeline has that event already.
    """
    order = lock_orders([order_id]).get(order_id)
    if order is None or order.status not in (OrderStatus.DRAFT, OrderStatus.FINALIZED):
        return False
    if db.session.scalar(sa.select(OrderEvent.id).where(OrderEvent.order_id == order_id,
                                                        OrderEvent.kind == "channel_cancelled").limit(1)):
        return False
    events.record(order, actor, "channel_cancelled", message)
    if order.status is OrderStatus.FINALIZED and not order.hold_reason:
        order.hold_reason = message[:300]
        refresh_order(order)
    return True


def channel_price_changes(order: Order, requests: list[LineRequest],
                          products: dict[str, Product] | None = None) -> list[tuple[OrderLine, int]]:
    """The lines of a channel order whose unit price the channel now gives otherwise (an Amazon order
    still Pending comes without prices and took the catalogue's), each with the channel's price. A read.

    Empty once anything of the order is invoiced (an invoice's figures are final) or the order is
    closed. A line is matched by the channel's line id, else by its product (or unknown SKU) when that
    appears once in the order and once in what the channel sent. `products`: the channel's SKUs resolved
    already (_products_by_sku), for a caller that looks at many orders.
    """
    if order.status not in (OrderStatus.DRAFT, OrderStatus.FINALIZED) or any(l.invoiced for l in order.lines):
        return []
    if all(r.unit_price_cents is None for r in requests):
        return []
    if products is None:
        products = _products_by_sku(order.channel, {r.sku for r in requests})

    def sent_as(sku: str) -> tuple[str, Any]:
        product = products.get(sku)
        return ("product", product.id) if product else ("sku", sku)

    def held_as(line: OrderLine) -> tuple[str, Any]:
        return ("product", line.product_id) if line.product_id else ("sku", line.sku)

    by_line_id = {r.channel_line_id: r for r in requests if r.channel_line_id}
    sent = [sent_as(r.sku) for r in requests]
    by_product = {key: r for key, r in zip(sent, requests) if sent.count(key) == 1}
    held = [held_as(line) for line in order.lines]
    changes = []
    for line, key in zip(order.lines, held):
        request = by_line_id.get(line.channel_line_id) if line.channel_line_id in by_line_id \
            else by_product.get(key) if held.count(key) == 1 else None
        price = request.unit_price_cents if request else None
        if price is not None and 0 <= price <= MAX_PRICE_CENTS and price != line.unit_price_cents:
            changes.append((line, price))
    return changes


@service
def record_channel_prices(actor: User | None, order_id: int, requests: list[LineRequest]) -> bool:
    """A later delivery of a channel order gives its lines' prices (see channel_price_changes): the
    lines take them, the order's totals follow, and the timeline says what changed (event "repriced").

    Returns False, changing nothing, when no price changes (or the order is invoiced or closed).
    """
    order = lock_order(order_id)
    changes = channel_price_changes(order, requests)
    if not changes:
        return False
    moved = [{"sku": line.sku, "from_cents": line.unit_price_cents, "to_cents": price} for line, price in changes]
    for line, price in changes:
        line.unit_price_cents = price
    events.record(order, actor, "repriced", f"Prices from {order.channel.name} for "
                                            f"{', '.join(m['sku'] for m in moved)}", lines=moved)
    refresh_order(order)
    return True


@service
def finalize_order(actor: User, order_id: int) -> Order:
    """Draft → Finalized, allocating stock (what cannot be covered is backordered).

    Raises InvalidState for a non-draft or empty order.
    """
    order = lock_order(order_id)
    if order.status is not OrderStatus.DRAFT:
        raise InvalidState(f"{order.number} is {order.status.value}, not a draft")
    if not any(line.ordered > 0 for line in order.lines):
        raise InvalidState("An empty order cannot be finalized: add a line first", field="lines")
    order.status = OrderStatus.FINALIZED
    order.finalized_at = utcnow()
    # A manual order is placed when the customer says yes: its handling time runs from here.
    order.ship_by = deadlines.ship_by_for(order.finalized_at, deadlines.handling_days_of(order.channel))
    events.record(order, actor, "finalized", "Finalized", lines=events.line_numbers(order.lines))
    _allocate_and_describe(order, actor)
    refresh_order(order)
    return order


@service
def allocate_now(actor: User, order_id: int) -> int:
    """Allocate available stock to the order's backordered lines. Returns the units allocated."""
    order = lock_order(order_id)
    if order.status is not OrderStatus.FINALIZED:
        raise InvalidState(f"Only a finalized order takes stock; {order.number} is {order.status.value}")
    if order.hold_reason:
        raise InvalidState(f"{order.number} is on hold: {order.hold_reason}")
    taken = _allocate_and_describe(order, actor)
    refresh_order(order)
    return taken


@service
def edit_order(actor: User, order_id: int, changes: list[LineChange]) -> Order:
    """Add lines, change quantities, remove lines (quantity 0) of a draft or finalized order.

    On a finalized order a cut releases the line's allocated-but-unshipped units beyond the new
    quantity (freed units go to other orders' backorders) and a rise or a new line is allocated.
    Raises InvalidInput for a quantity below what was shipped, an unknown SKU or line, an order left empty.
    """
    if not changes:
        raise InvalidInput("Nothing to change", field="lines")
    for change in changes:
        check_quantity(change.quantity, allow_zero=change.line_id is not None)
        if change.unit_price_cents is not None:
            _check_price(change.unit_price_cents)
    changed = [c.line_id for c in changes if c.line_id is not None]
    if len(changed) != len(set(changed)):
        twice = sorted({line_id for line_id in changed if changed.count(line_id) > 1})
        raise InvalidInput(f"Line {', '.join(map(str, twice))} is changed twice in one edit: give one quantity",
                           field="lines")
    new_skus = {c.sku.strip() for c in changes if c.line_id is None and c.sku}
    if any(c.line_id is None and not (c.sku or "").strip() for c in changes):
        raise InvalidInput("A new line needs a SKU", field="sku")
    products = {p.sku: p for p in db.session.scalars(sa.select(Product).where(Product.sku.in_(new_skus)))}
    unknown = sorted(new_skus - products.keys())
    if unknown:
        raise unknown_sku(unknown)

    order = lock_order(order_id, more_products=[p.id for p in products.values()], frees_stock=True)
    if order.status not in (OrderStatus.DRAFT, OrderStatus.FINALIZED):
        raise InvalidState(f"{order.number} is {order.status.value} and can no longer be edited")
    lines = {line.id: line for line in order.lines}
    before = events.line_numbers(order.lines)
    was = {line.id: (line.ordered, line.unit_price_cents) for line in order.lines}
    total_before = order.total_cents
    if order.payment_status is PaymentStatus.PAID and order.paid_cents is None:
        order.paid_cents = total_before  # what was paid stays put; a rise becomes the balance due
    below_shipped = []
    for change in changes:
        if change.line_id is None:
            continue
        line = lines.get(change.line_id)
        if line is None:
            raise InvalidInput(f"Line {change.line_id} is not on {order.number}", field="lines")
        if change.quantity < line.shipped:
            below_shipped.append(Shortfall(line.sku, change.quantity, line.shipped))
    if below_shipped:
        raise InvalidInput("A line cannot go below what has shipped: " + "; ".join(
            f"{s.what}: {s.possible} already shipped" for s in below_shipped), field="quantity")

    finalized = order.status is OrderStatus.FINALIZED
    freed: set[int] = set()
    invoiced_so_far = invoiced_money(order.id) if any(line.invoiced for line in order.lines) else {}
    for change in changes:
        if change.line_id is None:
            product = products[change.sku.strip()]
            line = OrderLine(product=product, sku=product.sku, name=product.name, ordered=change.quantity,
                             allocated=0, shipped=0, invoiced=0, tax_rate_bp=_tax_rate(product), discount_cents=0,
                             unit_price_cents=change.unit_price_cents if change.unit_price_cents is not None
                             else product.price_cents)
            order.lines.append(line)
            continue
        line = lines[change.line_id]
        if change.unit_price_cents is not None:
            line.unit_price_cents = change.unit_price_cents
        if finalized and stock.release_line(line, actor, keep=max(change.quantity - line.shipped, 0)):
            freed.add(line.product_id)
        money.rescale_line(line, change.quantity, invoiced_so_far.get(line.id, (0, 0)))
        line.ordered = change.quantity
        if line.ordered == 0:
            order.lines.remove(line)
    if not any(line.ordered > 0 for line in order.lines) and finalized:
        raise InvalidInput("A finalized order needs at least one unit: void it instead", field="lines")
    db.session.flush()
    # Each changed line, before -> after, so the timeline tells what the edit did without a diff.
    changed_lines = [{"sku": line.sku, "quantity": [ordered, line.ordered],
                      "unit_price_cents": [price, line.unit_price_cents]}
                     for line_id, (ordered, price) in was.items()
                     for line in (lines[line_id],) if (ordered, price) != (line.ordered, line.unit_price_cents)]
    changed_lines += [{"sku": line.sku, "quantity": [0, line.ordered], "unit_price_cents": [None, line.unit_price_cents]}
                      for line in order.lines if line.id not in was]
    total_after = money.order_totals(order).total_cents
    events.record(order, actor, "edited", _edit_message(order, changed_lines, total_before, total_after),
                  before=before, after=events.line_numbers(order.lines), changes=changed_lines,
                  total_cents=[total_before, total_after])
    if finalized and not order.hold_reason:
        _allocate_and_describe(order, actor)
    refresh_order(order)
    if order.status is OrderStatus.FULFILLED:  # a cut down to what was shipped, all of it delivered
        events.record(order, actor, "fulfilled", "Fulfilled: every unit delivered")
    fill_backorders_and_refresh(freed, actor)
    return order


def _edit_message(order: Order, changed_lines: list[dict[str, Any]], total_before: int, total_after: int) -> str:
    """"Lines edited: A: quantity 2 → 5; B removed (was 1). Total USD 20.00 → USD 50.00; balance due USD 30.00"."""
    def amount(cents: int) -> str:
        return money.amount_text(cents, order.currency)

    parts = []
    for entry in changed_lines:
        (q0, q1), (p0, p1) = entry["quantity"], entry["unit_price_cents"]
        if q0 == 0:
            parts.append(f"{entry['sku']} added: {q1} at {amount(p1)}")
        elif q1 == 0:
            parts.append(f"{entry['sku']} removed (was {q0})")
        else:
            part = f"{entry['sku']}: quantity {q0} → {q1}" if q0 != q1 else f"{entry['sku']}:"
            if p0 != p1:
                part += f"{',' if q0 != q1 else ''} price {amount(p0)} → {amount(p1)}"
            parts.append(part)
    message = "Lines edited: " + ("; ".join(parts) if parts else "no change")
    if total_after != total_before:
        message += f". Total {amount(total_before)} → {amount(total_after)}"
    if order.payment_status is PaymentStatus.PAID and total_after > order.amount_paid_cents:
        message += f"; balance due {amount(total_after - order.amount_paid_cents)}"
    return message


def why_not_voidable(order: Order) -> str | None:
    """Why the order cannot be voided, or None when it can: the one rule for void_order and the order page."""
    if order.status not in (OrderStatus.DRAFT, OrderStatus.FINALIZED):
        return f"{order.number} is {order.status.value} and cannot be voided"
    shipped = sum(line.shipped for line in order.lines)
    if shipped:
        return (f"{order.number} has {shipped} unit(s) shipped and cannot be voided; "
                f"remove the remaining units by editing the order instead")
    return None


@service
def void_order(actor: User, order_id: int, reason: str) -> Order:
    """Cancel a draft or finalized order (admin only, with a reason), releasing its committed stock.

    Raises NotAllowed for a non-admin, InvalidInput without a reason, InvalidState once anything shipped.
    """
    require_role(actor, Role.ADMIN, "void an order")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the order is voided", field="reason")
    if len(reason) > 500:
        raise InvalidInput("Keep the reason under 500 characters", field="reason")
    order = lock_order(order_id, frees_stock=True)
    refusal = why_not_voidable(order)
    if refusal:
        raise InvalidState(refusal)
    before = events.line_numbers(order.lines)
    freed = {line.product_id for line in order.lines if stock.release_line(line, actor)}
    order.status = OrderStatus.VOID
    order.voided_at = utcnow()
    order.void_reason = reason
    events.record(order, actor, "voided", f"Voided: {reason}", before=before, after=events.line_numbers(order.lines))
    refresh_order(order)
    fill_backorders_and_refresh(freed, actor)
    return order


@service
def mark_paid(actor: User, order_id: int) -> Order:
    """Record that an order awaiting payment has been paid."""
    order = lock_order(order_id)
    if order.payment_status is PaymentStatus.PAID and order.balance_due_cents:
        events.record(order, actor, "paid", "Balance received: "
                      + money.amount_text(order.balance_due_cents, order.currency), paid_cents=order.balance_due_cents)
        order.paid_cents = order.total_cents
        refresh_order(order)
        return order
    if order.status is not OrderStatus.FINALIZED or order.payment_status is PaymentStatus.PAID:
        raise InvalidState(f"{order.number} is not awaiting payment")
    order.payment_status = PaymentStatus.PAID
    order.paid_cents = None  # paid in full: the total
    events.record(order, actor, "paid", "Payment received")
    refresh_order(order)
    return order


@service
def release_hold(actor: User, order_id: int) -> Order:
    """Resolve the held order's unknown SKUs (by product SKU or the channel's SKU mapping) and allocate.

    Raises InvalidState when the order is not held or a SKU still matches no product.
    """
    order = get_order(order_id)
    unresolved = {line.sku for line in order.lines if line.product_id is None}
    products = _products_by_sku(order.channel, unresolved)
    order = lock_order(order_id, more_products=[p.id for p in products.values()])
    if order.status is not OrderStatus.FINALIZED:
        raise InvalidState(f"{order.number} is {order.status.value}: only a finalized order is released")
    if not order.hold_reason:
        raise InvalidState(f"{order.number} is not on hold")
    still_unknown = sorted({l.sku for l in order.lines if l.product_id is None} - products.keys())
    if still_unknown:
        raise InvalidState(f"No product has the SKU {', '.join(still_unknown)} yet: add it or map it first",
                           field="sku")
    for line in order.lines:
        if line.product_id is None:
            product = products[line.sku]
            line.product = product
            line.product_id = product.id
            line.sku = product.sku
            # Created without a product, the line got the default rate; the product's own rate applies.
            line.tax_rate_bp = _tax_rate(product)
    order.hold_reason = None
    db.session.flush()
    events.record(order, actor, "released", "Hold released")
    _allocate_and_describe(order, actor)
    refresh_order(order)
    return order


@service
def add_note(actor: User, order_id: int, text: str) -> None:
    """Add a note to the order's timeline."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write something first", field="note")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"Keep notes under {MAX_NOTE_LENGTH:,} characters", field="note")
    order = lock_orders([order_id]).get(order_id)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    events.record(order, actor, "note", text)
