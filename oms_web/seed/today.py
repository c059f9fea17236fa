"""Today's demo orders, made through the real services: their timelines are exactly what the app writes.

The first nine cover every board segment, so even a small demo shows each one; the rest follow the
mix of a working day (most still to ship, some under way, a few delivered already).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from ..domain import inventory, invoicing, orders, shipping
from ..domain.deadlines import ShopDay
from ..domain.errors import DomainError, DuplicateChannelOrder
from ..domain.orders import CustomerDetails, LineRequest, NewOrder
from ..extensions import db
from ..models import (ChannelKind, Location, LocationKind, Supplier, Order, OrderLine, PaymentStatus, Product, SalesChannel, Segment,
                      User, utcnow)
from . import catalogue

# Once every segment has an order: what the rest of today's orders become.
DAY_MIX = [
    (Segment.READY_TO_SHIP, 0.18), (Segment.PACKED, 0.06), (Segment.IN_TRANSIT, 0.18), (Segment.FULFILLED, 0.14),
    (Segment.PARTIALLY_SHIPPED, 0.07), (Segment.AWAITING_STOCK, 0.07), (Segment.AWAITING_PAYMENT, 0.07),
    (Segment.DRAFT, 0.08), (Segment.NEEDS_ATTENTION, 0.07), (Segment.VOID, 0.08),
]
SCARCE_SKUS = [p.sku for p in catalogue.PRODUCTS if p.scarce]
PLENTIFUL_SKUS = [p.sku for p in catalogue.PRODUCTS if not p.scarce]


def seed_today(count: int, *, users: dict[str, User], channels: list[SalesChannel],
               rng: random.Random) -> dict[Segment, int]:
    """Make `count` orders placed in the last few hours, each through the services. Returns their segments."""
    day = _Day(rng, users, {c.kind: c for c in channels})
    targets = list(Segment)[:count]
    segments, weights = zip(*DAY_MIX)
    targets += rng.choices(segments, weights, k=count - len(targets))
    made: dict[Segment, int] = {}
    for target in targets:
        order = day.make(target)
        if order is not None:
            db.session.refresh(order)
            made[order.segment] = made.get(order.segment, 0) + 1
    return made


class _Day:
    def __init__(self, rng: random.Random, users: dict[str, User], channels: dict[ChannelKind, SalesChannel]):
        self.rng = rng
        self.admin, self.manager, self.staff = users["admin"], users["manager"], users["staff"]
        self.channels = channels
        self.now = utcnow()

    def make(self, target: Segment) -> Order | None:
        build: dict[Segment, Callable[[], Order | None]] = {
            Segment.DRAFT: self.draft, Segment.NEEDS_ATTENTION: self.needs_attention,
            Segment.AWAITING_PAYMENT: self.awaiting_payment, Segment.AWAITING_STOCK: self.awaiting_stock,
            Segment.READY_TO_SHIP: self.ready_to_ship, Segment.PACKED: self.packed,
            Segment.WITH_SUPPLIER: self.with_supplier,
            Segment.PARTIALLY_SHIPPED: self.partially_shipped,
            Segment.IN_TRANSIT: self.in_transit, Segment.FULFILLED: self.fulfilled, Segment.VOID: self.void,
        }
        order = build[target]()
        if order is not None and self.rng.random() < 0.1:
            orders.add_note(self.staff, order.id, self.rng.choice(catalogue.NOTES))
        return order

    # ---------------------------------------------------------------- one per segment

    def draft(self) -> Order:
        return orders.create_order(self.staff, self._new(ChannelKind.MANUAL, self._in_stock_lines()))

    def needs_attention(self) -> Order:
        sku, name, price = self.rng.choice(catalogue.UNKNOWN_CHANNEL_SKUS)
        lines = self._in_stock_lines(most=2) + [LineRequest(sku, 1, unit_price_cents=price, name=name)]
        return self._channel_order(lines)

    def awaiting_payment(self) -> Order:
        lines = self._in_stock_lines()
        if self.rng.random() < 0.5:  # keyed in by phone, paid by bank transfer
            order = orders.create_order(self.staff, self._new(ChannelKind.MANUAL, lines, PaymentStatus.PENDING))
            return orders.finalize_order(self.staff, order.id)
        return self._channel_order(lines, kind=ChannelKind.API, payment=PaymentStatus.PENDING)

    def awaiting_stock(self) -> Order | None:
        """An order for a scarce product beyond what is left of it, so part of it is backordered."""
        scarce = db.session.scalars(sa.select(Product).where(Product.sku.in_(SCARCE_SKUS))
                                    .execution_options(populate_existing=True)).all()
        product = min(scarce, key=lambda p: p.stock_available, default=None)
        if product is None or product.stock_available > 50:
            return None
        return self._channel_order([LineRequest(product.sku, product.stock_available + self.rng.randint(1, 2))])

    def ready_to_ship(self) -> Order:
        return self._channel_order(self._in_stock_lines())

    def with_supplier(self) -> Order:
        """A garden bench its maker ships straight to the customer."""
        return self._channel_order([LineRequest(drop_shipped_product().sku, 1)])

    def partially_shipped(self) -> Order:
        order = self._channel_order(self._in_stock_lines(least=2))
        first = order.lines[0]
        self._ship(order, {first.id: first.allocated}, hand_over=True)
        return order

    def packed(self) -> Order:
        """Packed on the bench, waiting for the carrier's pick-up."""
        order = self._channel_order(self._in_stock_lines())
        self._ship(order, {line.id: line.allocated for line in order.lines}, hand_over=False)
        return order

    def in_transit(self) -> Order:
        order = self._channel_order(self._in_stock_lines())
        parcels = self._ship(order, {line.id: line.allocated for line in order.lines}, hand_over=True)
        if self.rng.random() < 0.5:
            invoicing.issue_invoice(self.staff, order.id, parcels[0])
        return order

    def fulfilled(self) -> Order:
        order = self._channel_order(self._in_stock_lines(), service_level="Overnight")
        for shipment in self._ship(order, {line.id: line.allocated for line in order.lines}, hand_over=True):
            invoicing.issue_invoice(self.staff, order.id, shipment)
            shipping.mark_delivered(self.staff, shipment)
        return order

    def void(self) -> Order:
        if self.rng.random() < 0.3:
            order = orders.create_order(self.staff, self._new(ChannelKind.MANUAL, self._in_stock_lines()))
        else:
            order = self._channel_order(self._in_stock_lines())
        return orders.void_order(self.admin, order.id, self.rng.choice(catalogue.VOID_REASONS))

    # ---------------------------------------------------------------- helpers

    def _ship(self, order: Order, quantities: dict[int, int], *, hand_over: bool) -> list[int]:
        """The units asked, one parcel per location they are allocated at. Returns the shipments."""
        parcels: dict[int, dict[int, int]] = {}
        for line in order.lines:
            left = quantities.get(line.id, 0)
            for allocation in line.allocations:
                take = min(left, allocation.to_ship)
                if take:
                    parcels.setdefault(allocation.location_id, {})[line.id] = take
                    left -= take
        shipments = []
        for location_id, units in sorted(parcels.items()):
            carrier = self.rng.choice(["UPS", "USPS", "FedEx"])
            shipment = shipping.ship_lines(self.staff, order.id, units, carrier=carrier, location_id=location_id)
            if hand_over:
                shipping.mark_shipped(self.staff, shipment.id, carrier, self._tracking(carrier))
            shipments.append(shipment.id)
        return shipments

    def _tracking(self, carrier: str) -> str:
        if carrier == "UPS":
            return f"1Z{self.rng.randrange(16**6):06X}03{self.rng.randrange(10**8):08d}"
        if carrier == "USPS":
            return f"9400{self.rng.randrange(10**18):018d}"
        return f"{self.rng.randrange(10**11, 10**12)}"

    def _channel_order(self, lines: list[LineRequest], *, kind: ChannelKind | None = None,
                       payment: PaymentStatus = PaymentStatus.PAID, service_level: str | None = None) -> Order:
        kind = kind or self.rng.choices([ChannelKind.API, ChannelKind.AMAZON, ChannelKind.EBAY], [0.5, 0.33, 0.17])[0]
        for _attempt in range(5):
            try:
                return orders.create_order(None, self._new(kind, lines, payment, service_level))
            except DuplicateChannelOrder:
                continue
        raise DomainError("could not find a free channel order id")

    def _new(self, kind: ChannelKind, lines: list[LineRequest], payment: PaymentStatus = PaymentStatus.PAID,
             service_level: str | None = None) -> NewOrder:
        rng = self.rng
        first, last = rng.choice(catalogue.FIRST_NAMES), rng.choice(catalogue.LAST_NAMES)
        city, region, zip_prefix, area = rng.choice(catalogue.CITIES)
        name = f"{first} {last}"
        ship_to = {"name": name, "line1": f"{rng.randrange(1, 9900)} {rng.choice(catalogue.STREETS)} "
                                          f"{rng.choice(catalogue.STREET_KINDS)}", "line2": None,
                   "city": city, "region": region, "postal_code": f"{zip_prefix}{rng.randrange(100):02d}",
                   "country": "US"}
        customer = CustomerDetails(name=name, email=f"{first}.{last}.{rng.randrange(10**6)}@example.com".lower()
                                   .replace("'", ""), phone=f"+1 {area}-555-01{rng.randrange(100):02d}",
                                   ship_to=ship_to)
        placed_at = self.now - timedelta(minutes=rng.uniform(5, 600))
        return NewOrder(channel_id=self.channels[kind].id, lines=lines, customer=customer,
                        channel_order_id=self._channel_order_id(kind), payment_status=payment,
                        shipping_cents=rng.choice([0, 0, 595, 995]),
                        service_level=service_level or rng.choice(["Standard", "Standard", "Expedited"]),
                        placed_at=placed_at, ship_by=self._amazon_ship_by(placed_at) if kind is ChannelKind.AMAZON else None)

    @staticmethod
    def _amazon_ship_by(placed_at: datetime) -> datetime:
        """As Amazon states a same-day handling time: the last second of the shop's day it was placed on
        (so the demo's board has orders due today, and, just after midnight, late ones)."""
        from flask import current_app

        zone = current_app.config["OMS_TIMEZONE"]
        day = ShopDay.of(placed_at.replace(tzinfo=timezone.utc).astimezone(zone).date(), zone)
        return day.ends - timedelta(seconds=1)

    def _channel_order_id(self, kind: ChannelKind) -> str | None:
        # Outside the ranges the history derives from order ids (Amazon 1xx-, eBay 10- to 99-, WS-1xxxxxx).
        rng = self.rng
        if kind is ChannelKind.AMAZON:
            return f"2{rng.randrange(100):02d}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
        if kind is ChannelKind.EBAY:
            return f"0{rng.randrange(10)}-{rng.randrange(10**5):05d}-{rng.randrange(10**5):05d}"
        if kind is ChannelKind.API:
            return f"WS-9{rng.randrange(10**8):08d}"
        return None

    def _in_stock_lines(self, *, least: int = 1, most: int = 3) -> list[LineRequest]:
        """Lines of plentiful products, restocked first where needed so that they allocate in full."""
        products = db.session.scalars(sa.select(Product).where(Product.sku.in_(PLENTIFUL_SKUS))
                                      .execution_options(populate_existing=True)).all()
        chosen = self.rng.sample(products, self.rng.randint(least, most))
        lines = []
        for product in chosen:
            quantity = self.rng.choice([1, 1, 1, 2, 3])
            if product.stock_available < quantity:
                inventory.receive_stock(self.manager, product.id, quantity + _backordered(product.id) + 20,
                                        "Same-day restock from the supplier")
            lines.append(LineRequest(product.sku, quantity))
        db.session.rollback()  # end the read: the next service opens its own write
        return lines


def _backordered(product_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(OrderLine.ordered - OrderLine.allocated), 0))
        .where(OrderLine.product_id == product_id, OrderLine.waits_for_stock()))


DROP_SHIP_SUPPLIER = "Oakline Furniture"
DROP_SHIP_SKU = "DS-BENCH-OAK"


def drop_shipped_product() -> Product:
    """The demo's drop-shipped product and its supplier (made the first time)."""
    product = db.session.scalar(sa.select(Product).where(Product.sku == DROP_SHIP_SKU))
    if product is not None:
        return product
    supplier = Supplier(name=DROP_SHIP_SUPPLIER, email="orders@oakline.example", lead_time_days=5,
                        address="Unit 4, Mill Lane, Hebden Bridge HX7 8AD, GB")
    location = Location(name=f"{DROP_SHIP_SUPPLIER} (drop-ship)", kind=LocationKind.DROP_SHIP, priority=0,
                        supplier=supplier, ship_from_name=DROP_SHIP_SUPPLIER, line1="Unit 4, Mill Lane",
                        city="Hebden Bridge", postal_code="HX7 8AD", country="GB")
    product = Product(sku=DROP_SHIP_SKU, name="Oak garden bench, 150 cm (ships from maker)", price_cents=34900,
                      weight_grams=28000, drop_ship_location=location)
    db.session.add_all([supplier, location, product])
    db.session.commit()
    return product
