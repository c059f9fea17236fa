"""What a new order is: the values a channel or a screen sends (NewOrder, LineRequest,
CustomerDetails), their checks, the rows and timeline they make, and what became of each (Created).
Both paths of domain.intake build orders from here, so a single order and a batch come out the same.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import Customer, Order, OrderLine, OrderStatus, PaymentStatus, Product, SalesChannel, User
from . import customers, deadlines, events, money
from .errors import DomainError, DuplicateChannelOrder, InvalidInput
from .order_rules import MAX_PRICE_CENTS, check_price, check_quantity, tax_rate_of


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


def check_new_order(channel: SalesChannel | None, new: NewOrder) -> bool:
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
            check_price(request.unit_price_cents)
        if not (request.sku or "").strip():
            raise InvalidInput("Every line needs a SKU", field="sku")
        if len(request.sku) > 64 or len(request.channel_line_id or "") > 64:
            raise InvalidInput(f"SKU {request.sku[:20]}…: a SKU or a channel line id has at most 64 characters",
                               field="sku")
    check_cents(new.shipping_cents, "Shipping", "shipping")
    check_cents(new.shipping_tax_cents, "Shipping tax", "shipping_tax")
    check_cents(new.discount_cents, "The order's discount", "discount")
    if new.tax_cents is not None:
        check_cents(new.tax_cents, "Tax", "tax")
    if new.channel_total_cents is not None:
        check_cents(new.channel_total_cents, "The channel's total", "total")
    if new.ship_by is not None:
        deadlines.check_ship_by(new.ship_by)
    if new.placed_at is not None:
        deadlines.check_placed_at(new.placed_at)
    net: int | None = 0  # None: a line takes the catalogue's price, not known yet
    for request in new.lines:
        check_cents(request.discount_cents, f"{request.sku[:20]}: the discount", "discount")
        if request.tax_cents is not None:
            check_cents(request.tax_cents, f"{request.sku[:20]}: the tax", "tax")
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


def check_cents(value: Any, what: str, field_name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{what} must be zero or more, in cents", field=field_name)
    if value > MAX_PRICE_CENTS:
        raise InvalidInput(f"{what} must be at most {MAX_PRICE_CENTS:,} cents", field=field_name)


def customer_of(new: NewOrder) -> tuple[Customer, CustomerDetails]:
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


def order_row(channel: SalesChannel, new: NewOrder, products: dict[str, Product], customer: Customer,
               details: CustomerDetails, now: datetime) -> Order:
    """The new order and its lines (nothing allocated yet), held when a SKU matches no product."""
    values, lines = order_values(channel, new, products, details, now)
    order = Order(channel=channel, customer=customer, customer_name=customer.name,
                  email=customer.email or customers.normalise_email(details.email), **values)
    by_id = {p.id: p for p in products.values()}
    order.lines = [OrderLine(product=by_id.get(line["product_id"]), **line) for line in lines]
    return order


def order_values(channel: SalesChannel, new: NewOrder, products: dict[str, Product], details: CustomerDetails,
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
            tax_rate_bp=tax_rate_of(product), discount_cents=request.discount_cents, tax_cents=request.tax_cents))
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


def record_creation(order: Order, actor: User | None, numbers: list[dict[str, Any]],
                    channel_total: int | None = None) -> None:
    events.record_entries(order, actor, events.creation_entries(order.channel, order, numbers, channel_total))


def refuse_duplicate(channel: SalesChannel, channel_order_id: str | None) -> None:
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
