"""Order services: create, finalize, allocate, edit, void, take payment, release a hold, add a note.

Each public function is one all-or-nothing action (`@service`): it takes the acting user and plain
values, changes the order and stock under the locks of domain.locking, writes the ledger rows and a
timeline event, and raises a DomainError (changing nothing) when it refuses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..database import service
from ..extensions import db
from ..models import (Customer, Order, OrderLine, OrderStatus, PaymentStatus, Product, Role, SalesChannel,
                      User, utcnow)
from . import events, stock
from .errors import (DuplicateChannelOrder, InvalidInput, InvalidState, NotAllowed, NotFound, QuantityTooLarge,
                     Shortfall)
from .locking import lock_order, lock_orders, lock_products
from .segments import is_complete, segment_of, set_segment

MAX_LINE_QUANTITY = 100_000
MAX_NOTE_LENGTH = 2_000


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int
    unit_price_cents: int | None = None  # None: the product's price
    name: str | None = None
    channel_line_id: str | None = None


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
    channel_order_id: str | None = None
    payment_status: PaymentStatus = PaymentStatus.PAID
    currency: str = "USD"
    shipping_cents: int = 0
    service_level: str | None = None
    placed_at: datetime | None = None
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
        raise InvalidInput(f"Quantity must be at most {MAX_LINE_QUANTITY:,}", field=field_name)
    return value


def _check_price(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("Unit price must be zero or more, in cents", field="unit_price")
    return value


def line_tax_cents(quantity: int, unit_price_cents: int, tax_rate_bp: int) -> int:
    """Tax on a line, rounded half up to the cent."""
    return (quantity * unit_price_cents * tax_rate_bp + 5_000) // 10_000


def refresh_order(order: Order) -> None:
    """Recompute what follows from the lines: totals, Fulfilled once complete, and the board segment."""
    order.subtotal_cents = sum(l.ordered * l.unit_price_cents for l in order.lines)
    order.tax_cents = sum(line_tax_cents(l.ordered, l.unit_price_cents, l.tax_rate_bp) for l in order.lines)
    order.total_cents = order.subtotal_cents + order.tax_cents + order.shipping_cents
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


def _customer_for(details: CustomerDetails) -> Customer:
    name = (details.name or "").strip()
    if not name:
        raise InvalidInput("Customer name is required", field="customer_name")
    email = (details.email or "").strip().lower() or None
    if email and ("@" not in email or len(email) > 254):
        raise InvalidInput("That email address does not look right", field="customer_email")
    if email:
        existing = db.session.scalars(sa.select(Customer).where(Customer.email == email).order_by(Customer.id)).first()
        if existing is not None:
            return existing
    customer = Customer(name=name, email=email, phone=(details.phone or "").strip() or None)
    db.session.add(customer)
    return customer


def _allocate_and_describe(order: Order, actor: User | None) -> int:
    taken = stock.allocate_order(order, actor)
    backordered = sum(l.backordered for l in order.lines)
    if taken or backordered:
        events.record(order, actor, "allocated",
                      f"Allocated {taken} unit(s)" + (f"; {backordered} backordered" if backordered else ""),
                      lines=events.line_numbers(order.lines))
    return taken


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
    """
    channel = db.session.get(SalesChannel, new.channel_id)
    if channel is None or not channel.active:
        raise InvalidInput("Choose an active sales channel", field="channel")
    from_channel = channel.orders_arrive_finalized
    if from_channel and not (new.channel_order_id or "").strip():
        raise InvalidInput("A channel order needs the channel's order id", field="channel_order_id")
    if from_channel and not new.lines:
        raise InvalidInput("A channel order needs at least one line", field="lines")
    for request in new.lines:
        check_quantity(request.quantity)
        if request.unit_price_cents is not None:
            _check_price(request.unit_price_cents)
        if not (request.sku or "").strip():
            raise InvalidInput("Every line needs a SKU", field="sku")
    if isinstance(new.shipping_cents, bool) or not isinstance(new.shipping_cents, int) or new.shipping_cents < 0:
        raise InvalidInput("Shipping must be zero or more, in cents", field="shipping")

    products = _products_by_sku(channel, {r.sku for r in new.lines})
    unknown = sorted({r.sku for r in new.lines} - products.keys())
    if unknown and not from_channel:
        raise InvalidInput(f"No product has the SKU {', '.join(unknown)}", field="sku")
    lock_products(p.id for p in products.values())

    channel_order_id = (new.channel_order_id or "").strip() or None
    if channel_order_id:
        _refuse_duplicate(channel, channel_order_id)

    if new.customer_id is not None:
        customer = db.session.get(Customer, new.customer_id)
        if customer is None:
            raise InvalidInput("That customer does not exist", field="customer")
        details = CustomerDetails(name=customer.name, email=customer.email)
    elif new.customer is not None:
        details = new.customer
        customer = _customer_for(details)
    else:
        raise InvalidInput("Choose a customer or enter a new one", field="customer")

    now = utcnow()
    order = Order(
        channel=channel, channel_order_id=channel_order_id, customer=customer, customer_name=customer.name,
        email=customer.email, ship_to=details.ship_to, bill_to=details.bill_to or details.ship_to,
        currency=(new.currency or "USD").upper()[:3], shipping_cents=new.shipping_cents,
        service_level=new.service_level, payment_status=new.payment_status,
        status=OrderStatus.FINALIZED if from_channel else OrderStatus.DRAFT,
        created_at=new.placed_at or now, finalized_at=now if from_channel else None,
        hold_reason=f"Unknown SKU {', '.join(unknown)}: map it to a product, then release the order" if unknown else None,
    )
    for request in new.lines:
        product = products.get(request.sku)
        order.lines.append(OrderLine(
            product=product, sku=product.sku if product else request.sku,
            name=request.name or (product.name if product else request.sku),
            channel_line_id=request.channel_line_id, ordered=request.quantity, allocated=0, shipped=0, invoiced=0,
            unit_price_cents=request.unit_price_cents if request.unit_price_cents is not None
            else (product.price_cents if product else 0),
            tax_rate_bp=_tax_rate(product)))
    try:
        with db.session.begin_nested():
            db.session.add(order)
            db.session.flush()
    except IntegrityError:
        _refuse_duplicate(channel, channel_order_id)
        raise
    set_segment(order, segment_of(order), is_new=True)
    events.record(order, actor, "created",
                  f"Created from {channel.name}" + (f" order {channel_order_id}" if channel_order_id else "")
                  + (" as a draft" if not from_channel else ""), lines=events.line_numbers(order.lines))
    if order.hold_reason:
        events.record(order, actor, "held", order.hold_reason)
    elif from_channel:
        _allocate_and_describe(order, actor)
    refresh_order(order)
    return order


def _refuse_duplicate(channel: SalesChannel, channel_order_id: str | None) -> None:
    existing = db.session.scalar(sa.select(Order.id).where(
        Order.channel_id == channel.id, Order.channel_order_id == channel_order_id))
    if existing is not None:
        raise DuplicateChannelOrder(channel.name, channel_order_id or "", existing)


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
    new_skus = {c.sku.strip() for c in changes if c.line_id is None and c.sku}
    if any(c.line_id is None and not (c.sku or "").strip() for c in changes):
        raise InvalidInput("A new line needs a SKU", field="sku")
    products = {p.sku: p for p in db.session.scalars(sa.select(Product).where(Product.sku.in_(new_skus)))}
    unknown = sorted(new_skus - products.keys())
    if unknown:
        raise InvalidInput(f"No product has the SKU {', '.join(unknown)}", field="sku")

    order = lock_order(order_id, more_products=[p.id for p in products.values()], frees_stock=True)
    if order.status not in (OrderStatus.DRAFT, OrderStatus.FINALIZED):
        raise InvalidState(f"{order.number} is {order.status.value} and can no longer be edited")
    lines = {line.id: line for line in order.lines}
    before = events.line_numbers(order.lines)
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
    for change in changes:
        if change.line_id is None:
            product = products[change.sku.strip()]
            line = OrderLine(product=product, sku=product.sku, name=product.name, ordered=change.quantity,
                             allocated=0, shipped=0, invoiced=0, tax_rate_bp=_tax_rate(product),
                             unit_price_cents=change.unit_price_cents if change.unit_price_cents is not None
                             else product.price_cents)
            order.lines.append(line)
            continue
        line = lines[change.line_id]
        if change.unit_price_cents is not None:
            line.unit_price_cents = change.unit_price_cents
        if finalized and stock.release_line(line, actor, keep=max(change.quantity - line.shipped, 0)):
            freed.add(line.product_id)
        line.ordered = change.quantity
        if line.ordered == 0:
            order.lines.remove(line)
    if not any(line.ordered > 0 for line in order.lines) and finalized:
        raise InvalidInput("A finalized order needs at least one unit: void it instead", field="lines")
    db.session.flush()
    events.record(order, actor, "edited", "Lines edited", before=before, after=events.line_numbers(order.lines))
    if finalized and not order.hold_reason:
        _allocate_and_describe(order, actor)
    refresh_order(order)
    fill_backorders_and_refresh(freed, actor)
    return order


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
    if order.status not in (OrderStatus.DRAFT, OrderStatus.FINALIZED):
        raise InvalidState(f"{order.number} is {order.status.value} and cannot be voided")
    shipped = sum(line.shipped for line in order.lines)
    if shipped:
        raise InvalidState(f"{order.number} has {shipped} unit(s) shipped and cannot be voided; "
                           f"remove the remaining units by editing the order instead")
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
    if order.status is not OrderStatus.FINALIZED or order.payment_status is PaymentStatus.PAID:
        raise InvalidState(f"{order.number} is not awaiting payment")
    order.payment_status = PaymentStatus.PAID
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
            if line.tax_rate_bp == 0:
                line.tax_rate_bp = _tax_rate(product)
    order.hold_reason = None
    db.session.flush()
    events.record(order, actor, "released", "Hold released: every SKU matches a product")
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
