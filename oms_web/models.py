"""The one model layer: every table of the OMS, as typed SQLAlchemy 2.0 models.

Money is integer minor units (cents) everywhere; quantities are whole units. The database itself
guards the per-row invariants with CHECK constraints, so a bug in a service fails loudly instead of
committing an oversold product or a line shipped beyond its allocation.
"""
from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db


# Sums of many lines: 64-bit on PostgreSQL (its integer stops at 21 million in cents); SQLite's
# INTEGER is 64-bit already.
MONEY_TOTAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Role(str, enum.Enum):
    STAFF = "staff"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {"staff": 1, "manager": 2, "admin": 3}[self.value]


class OrderStatus(str, enum.Enum):
    DRAFT = "draft"
    FINALIZED = "finalized"
    FULFILLED = "fulfilled"
    VOID = "void"


class PaymentStatus(str, enum.Enum):
    PENDING = "pending"
    PAID = "paid"


class Segment(str, enum.Enum):
    """The board's segments: the status, and inside Finalized the fulfilment stage."""

    DRAFT = "draft"
    NEEDS_ATTENTION = "needs_attention"
    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_STOCK = "awaiting_stock"
    READY_TO_SHIP = "ready_to_ship"
    PACKED = "packed"  # every unit in parcels awaiting the carrier
    WITH_SUPPLIER = "with_supplier"  # what is left to ship is drop-ship lines the supplier has not confirmed
    PARTIALLY_SHIPPED = "partially_shipped"
    IN_TRANSIT = "in_transit"
    FULFILLED = "fulfilled"
    VOID = "void"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class ShipmentStatus(str, enum.Enum):
    """A parcel's life: packed (label printed, on the bench) → shipped (handed to the carrier) → in transit
    (optional, from tracking) → delivered; or cancelled while still packed (its units back to allocated)."""

    PACKED = "packed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"  # from tracking
    EXCEPTION = "exception"  # from tracking: the carrier reports a problem; the order needs attention
    DELIVERED = "delivered"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def handed_over(self) -> bool:
        """The carrier has it."""
        return self in HANDED_OVER


HANDED_OVER = frozenset({ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY,
                         ShipmentStatus.EXCEPTION, ShipmentStatus.DELIVERED})
# With the carrier and not yet delivered: what "Mark delivered" and tracking may still move.
WITH_CARRIER = frozenset({ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY,
                          ShipmentStatus.EXCEPTION})


class ChannelKind(str, enum.Enum):
    MANUAL = "manual"
    API = "api"
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    AMAZON = "amazon"
    EBAY = "ebay"

    @property
    def confirms_shipments(self) -> bool:
        """A marketplace: it must be told of each shipment, with its carrier and tracking number."""
        return self in (ChannelKind.AMAZON, ChannelKind.EBAY)


class LocationKind(str, enum.Enum):
    """Where stock is: our own warehouse, a 3PL's (both ours to sell), a quarantine area (ours, never sold
    from), or a drop-ship supplier (not ours: its lines are allocated there without counting our stock)."""

    WAREHOUSE = "warehouse"
    THIRD_PARTY = "third_party"
    QUARANTINE = "quarantine"
    DROP_SHIP = "drop_ship"

    @property
    def label(self) -> str:
        return {"third_party": "3PL", "drop_ship": "Drop-ship supplier"}.get(self.value, self.value.capitalize())

    @property
    def sells_from(self) -> bool:
        """Its units count in a product's figures and can be allocated to orders."""
        return self in (LocationKind.WAREHOUSE, LocationKind.THIRD_PARTY)

    @property
    def holds_our_stock(self) -> bool:
        return self is not LocationKind.DROP_SHIP


def _enum(cls: type[enum.Enum], length: int = 20) -> sa.Enum:
    # Stored as the plain value string (no native PG enum type), so adding a value is a simple migration.
    return sa.Enum(cls, values_callable=lambda e: [m.value for m in e], native_enum=False,
                   length=length, validate_strings=True, create_constraint=False)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.STAFF)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on sign-out, password change or disabling: sessions carrying an older value end.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, role: Role) -> bool:
        return self.role.rank >= role.rank

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: the session remembers the version it was made with
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class SignInCount(db.Model):
    """How many password checks one throttling key (an account, an address, or both) has been granted
    in its current window: auth/throttle.py's counts when Redis is not there to keep them, shared by
    every worker process through the database."""

    __tablename__ = "sign_in_counts"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    checks: Mapped[int]
    # When the window ends, in seconds since the epoch: a plain number compares alike on every database.
    window_ends: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"))


POSTGRESQL_ONLY_INDEXES = {"ix_customers_name_trgm"}
# SQLite's full-text table of customer names (migration 0007) and the tables FTS5 keeps for it: made
# and kept by the migration and its triggers, not by the models.
SQLITE_SEARCH_TABLE = "customer_names"


def in_schema(dialect_name: str):
    """Alembic's include_object for comparing the models with a database of that dialect: an index
    made only on PostgreSQL (Index.ddl_if, which autogenerate does not read) is left out elsewhere,
    and SQLite's full-text search tables are left out of the comparison."""
    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table" and reflected and (name or "").startswith(SQLITE_SEARCH_TABLE):
            return False
        return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES and dialect_name != "postgresql")
    return include_object


class Customer(db.Model):
    __tablename__ = "customers"
    # The board's search by part of a name: a trigram index on PostgreSQL serves ILIKE '%part%'.
    # (SQLite reads the customers table through; at a million orders that is about 250,000 rows.)
    __table_args__ = (sa.Index("ix_customers_name_trgm", "name", postgresql_using="gin",
                               postgresql_ops={"name": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # Normalised (domain.customers.normalise_email) before it is written: the unique index is what makes
    # two orders arriving at once with one new email find one customer, not make two.
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True, unique=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    addresses: Mapped[list[Address]] = relationship(back_populates="customer", order_by="Address.id")


class Address(db.Model):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default="shipping")  # shipping | billing
    name: Mapped[str] = mapped_column(sa.String(200))
    line1: Mapped[str] = mapped_column(sa.String(200))
    line2: Mapped[str | None] = mapped_column(sa.String(200))
    city: Mapped[str] = mapped_column(sa.String(100))
    region: Mapped[str | None] = mapped_column(sa.String(100))
    postal_code: Mapped[str] = mapped_column(sa.String(20))
    country: Mapped[str] = mapped_column(sa.String(2))

    customer: Mapped[Customer] = relationship(back_populates="addresses")

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("name", "line1", "line2", "city", "region", "postal_code", "country")}


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        sa.CheckConstraint("stock_committed >= 0 AND stock_committed <= stock_in_hand", name="never_oversold"),
        sa.CheckConstraint("price_cents >= 0", name="price_not_negative"),
        sa.CheckConstraint("reorder_point >= 0", name="reorder_point_not_negative"),
        # Scan-to-pack finds a product by its barcode: two products may not share one (NULLs may repeat).
        sa.Index("uq_products_barcode", "barcode", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    price_cents: Mapped[int] = mapped_column(default=0)
    weight_grams: Mapped[int] = mapped_column(default=0)
    # Its own box's outside size, for the parcel a carrier is asked to rate (domain.parcels).
    length_mm: Mapped[int] = mapped_column(default=0, server_default="0")
    width_mm: Mapped[int] = mapped_column(default=0, server_default="0")
    height_mm: Mapped[int] = mapped_column(default=0, server_default="0")
    # Basis points (2000 = 20%); None means the configured default rate.
    tax_rate_bp: Mapped[int | None] = mapped_column()
    stock_in_hand: Mapped[int] = mapped_column(default=0)
    stock_committed: Mapped[int] = mapped_column(default=0)
    # "Low stock" (is_low_stock) is available <= reorder point.
    reorder_point: Mapped[int] = mapped_column(default=0, server_default="0")
    # A GTIN (EAN-13, UPC-A, EAN-8 or GTIN-14) with its check digit verified, as printed on the product.
    barcode: Mapped[str | None] = mapped_column(sa.String(14))
    # Where it sits in the warehouse (aisle-bay-shelf, e.g. "A-03-2"): pick lists walk the shelves in this order.
    bin_location: Mapped[str | None] = mapped_column(sa.String(20))
    # A drop-shipped product: its order lines are allocated at this supplier's location (no stock of ours).
    drop_ship_location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("locations.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    drop_ship_location: Mapped[Location | None] = relationship()

    @property
    def stock_available(self) -> int:
        return self.stock_in_hand - self.stock_committed

    @hybrid_property
    def is_low_stock(self) -> bool:
        """The low-stock rule, its one home: an active product whose available units are at or below its
        reorder point. In Python on a product; in SQL on the class (the product list's filter, the overview)."""
        return self.active and self.stock_in_hand - self.stock_committed <= self.reorder_point

    @is_low_stock.inplace.expression
    @classmethod
    def _is_low_stock_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.active, cls.stock_in_hand - cls.stock_committed <= cls.reorder_point)


class SalesChannel(db.Model):
    __tablename__ = "sales_channels"
    __table_args__ = (
        # domain.channel_shipping.MAX_HANDLING_DAYS: a month is the longest a shop promises to take.
        sa.CheckConstraint("handling_days >= 0 AND handling_days <= 30", name="handling_days_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[ChannelKind] = mapped_column(_enum(ChannelKind))
    secret: Mapped[str | None] = mapped_column(sa.String(256))
    # Kind-specific settings: API base URL, marketplace, credentials (secret, shown masked), sku_map,
    # and the sync cursor (where the last successful pull stopped).
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    # A sync run holds the channel until then, so overlapping runs (cron) never pull the same page twice.
    sync_locked_until: Mapped[datetime | None] = mapped_column()
    # The days the shop takes to ship an order of this channel: an order whose channel states no
    # ship-by date must ship by its placed time plus these days (domain.deadlines).
    handling_days: Mapped[int] = mapped_column(default=2, server_default="2")
    # What a new shipment of this channel's orders goes by unless someone chooses otherwise
    # (domain.channel_shipping.default_shipping); as long as Shipment.carrier and service_level.
    default_carrier: Mapped[str | None] = mapped_column(sa.String(60))
    default_service: Mapped[str | None] = mapped_column(sa.String(60))
    # How a label is bought for this channel's parcels (domain.rate_rules): "manual" (our own label, a
    # typed tracking number), "cheapest", "cheapest_within" rate_days, or "fixed" (default carrier+service).
    rate_rule: Mapped[str] = mapped_column(sa.String(20), default="manual", server_default="manual")
    rate_days: Mapped[int | None] = mapped_column()
    # Customer emails (marketplaces email their buyers themselves, so both start off).
    ship_email: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    delivered_email: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def orders_arrive_finalized(self) -> bool:
        return self.kind is not ChannelKind.MANUAL


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        # An order's identity on its channel: importing the same order twice yields one order.
        sa.UniqueConstraint("channel_id", "channel_order_id", name="uq_orders_channel_order"),
        # The board: a segment's orders, newest first, by keyset.
        sa.Index("ix_orders_segment_id", "segment", "id"),
        # The work segments' pages, oldest ship-by first, by keyset; and the overview's late and due
        # counts, read from this index alone.
        sa.Index("ix_orders_segment_ship_by", "segment", "ship_by", "id"),
        sa.Index("ix_orders_channel_created", "channel_id", "created_at"),
        sa.Index("ix_orders_created_at", "created_at"),
        sa.Index("ix_orders_email", "email"),
        sa.Index("ix_orders_channel_order_id", "channel_order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_channels.id"))
    channel_order_id: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus), default=OrderStatus.DRAFT)
    payment_status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus), default=PaymentStatus.PAID)
    # Derived from status and the lines' numbers by domain.segments.segment_of(), and only there;
    # kept on the row so that the board can filter a segment through an index.
    segment: Mapped[Segment] = mapped_column(_enum(Segment, 24), default=Segment.DRAFT)
    # Set when the order cannot proceed without a person (an unknown SKU): the "needs attention" segment.
    hold_reason: Mapped[str | None] = mapped_column(sa.String(300))
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    customer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str | None] = mapped_column(sa.String(254))
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    bill_to: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    service_level: Mapped[str | None] = mapped_column(sa.String(40))
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    # The money, all derived from the lines by domain.orders.refresh_order but shipping and its tax:
    # total = subtotal - discount + shipping + tax (tax only when the prices do not include it already).
    subtotal_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0)
    discount_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0, server_default="0")
    # Every tax of the order: its lines' and its shipping's (shipping_tax_cents).
    tax_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0)
    # What the customer pays for shipping, after any shipping discount; tax apart unless tax_included.
    shipping_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0)
    shipping_tax_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0, server_default="0")
    # The channel's prices (lines and shipping) include their tax, as EU shops' do: tax is shown, not added.
    tax_included: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    total_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0)
    # What the customer has paid, once an edit of a paid order changed its total: the balance due is
    # total - paid. None while it is simply the total (a paid order never edited) or nothing (pending).
    paid_cents: Mapped[int | None] = mapped_column(MONEY_TOTAL)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finalized_at: Mapped[datetime | None] = mapped_column()
    # When it must be handed to the carrier (naive UTC): the marketplace's date, else placed + the
    # channel's handling days (domain.deadlines.ship_by_for). The board's work queues sort by it.
    ship_by: Mapped[datetime] = mapped_column()
    fulfilled_at: Mapped[datetime | None] = mapped_column()
    voided_at: Mapped[datetime | None] = mapped_column()
    void_reason: Mapped[str | None] = mapped_column(sa.String(500))

    channel: Mapped[SalesChannel] = relationship(lazy="joined")
    customer: Mapped[Customer | None] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan")
    shipments: Mapped[list[Shipment]] = relationship(back_populates="order", order_by="Shipment.id")
    invoices: Mapped[list[Invoice]] = relationship(back_populates="order", order_by="Invoice.id")
    events: Mapped[list[OrderEvent]] = relationship(back_populates="order", order_by="OrderEvent.id")

    NUMBER_PREFIX = "SO-"

    @property
    def number(self) -> str:
        """The order number staff quote: derived from the id, so it is never stored twice."""
        return self.number_of(self.id)

    @classmethod
    def number_of(cls, order_id: int) -> str:
        return f"{cls.NUMBER_PREFIX}{order_id:06d}"

    @classmethod
    def id_from_number(cls, text: str) -> int | None:
        text = text.strip().upper()
        if text.startswith(cls.NUMBER_PREFIX):
            text = text[len(cls.NUMBER_PREFIX):]
        # ASCII digits that fit an id column: "²" passes isdigit() but not int(), and a longer number overflows.
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None

    @property
    def amount_paid_cents(self) -> int:
        if self.paid_cents is not None:
            return self.paid_cents
        return self.total_cents if self.payment_status is PaymentStatus.PAID else 0

    @property
    def balance_due_cents(self) -> int:
        """What the customer still owes: the whole total while pending, the rise of an edited paid order."""
        return max(self.total_cents - self.amount_paid_cents, 0)

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.DRAFT, OrderStatus.FINALIZED)

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.status.value}/{self.segment.value}>"


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        sa.CheckConstraint("0 <= shipped AND shipped <= allocated AND allocated <= ordered", name="quantities"),
        sa.CheckConstraint("0 <= invoiced AND invoiced <= shipped", name="invoiced_within_shipped"),
        # Returns (issue 15): units received back never re-open the line, and never exceed what shipped.
        sa.CheckConstraint("0 <= returned AND returned <= shipped", name="returned_within_shipped"),
        sa.CheckConstraint("unit_price_cents >= 0", name="price_not_negative"),
        # Lines waiting for stock, per product: what receiving stock fills, oldest first, and the
        # overview's backorders. Only open orders' lines: a void, draft or held order's short lines
        # (four in five of all short lines in the demo data) would be walked past by every receipt.
        # Each predicate as SQLAlchemy writes OrderLine.waits_for_stock, so that the planners match it;
        # the numbers in it too, so that the overview's sum of backorders never reads the table.
        sa.Index("ix_order_lines_backordered", "product_id", "order_id", "ordered", "allocated", "order_open",
                 sqlite_where=sa.text("allocated < ordered AND order_open = 1"),
                 postgresql_where=sa.text("allocated < ordered AND order_open")),
        # The board's search by SKU, newest orders first.
        sa.Index("ix_order_lines_sku_order", "sku", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    # None while the channel's SKU matches no product (the order then needs attention).
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    channel_line_id: Mapped[str | None] = mapped_column(sa.String(64))
    ordered: Mapped[int] = mapped_column()
    allocated: Mapped[int] = mapped_column(default=0)
    shipped: Mapped[int] = mapped_column(default=0)
    invoiced: Mapped[int] = mapped_column(default=0)
    # Units received back on returns (domain.returns): counted apart, so the line stays shipped.
    returned: Mapped[int] = mapped_column(default=0, server_default="0")
    unit_price_cents: Mapped[int] = mapped_column()
    tax_rate_bp: Mapped[int] = mapped_column(default=0)
    # The line's discounts (a channel's promotions, coupons, the order's discounts spread over its lines)
    # and its tax, both for the `ordered` units, to the cent as the channel charged them. tax_cents None:
    # the tax comes from tax_rate_bp (a manual order, a channel that states no tax).
    discount_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0, server_default="0")
    tax_cents: Mapped[int | None] = mapped_column(MONEY_TOTAL)
    # Whether the line's order is open to stock (Finalized and not held): a copy of the order's state,
    # kept by domain.segments.set_segment, so that the backorder index can leave the other lines out.
    order_open: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Its units are allocated at a drop-ship supplier's location: the supplier ships them, not us.
    drop_ship: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product | None] = relationship()
    allocations: Mapped[list[LineAllocation]] = relationship(
        back_populates="line", order_by="LineAllocation.location_id", cascade="all, delete-orphan")

    @property
    def backordered(self) -> int:
        return self.ordered - self.allocated

    @classmethod
    def waits_for_stock(cls) -> sa.ColumnElement[bool]:
        """The backorder test in SQL: short of stock on an open order (what ix_order_lines_backordered holds)."""
        return sa.and_(cls.allocated < cls.ordered, cls.order_open)

    @property
    def to_ship(self) -> int:
        """Allocated units not yet in a shipment."""
        return self.allocated - self.shipped


class Shipment(db.Model):
    __tablename__ = "shipments"
    # The hand-over screen's question: the packed parcels, per carrier.
    __table_args__ = (sa.Index("ix_shipments_status_carrier", "status", "carrier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    # Where it ships from: a shipment's units all come from one location.
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"))
    status: Mapped[ShipmentStatus] = mapped_column(_enum(ShipmentStatus), default=ShipmentStatus.PACKED)
    carrier: Mapped[str | None] = mapped_column(sa.String(60))
    service_level: Mapped[str | None] = mapped_column(sa.String(60))
    tracking_number: Mapped[str | None] = mapped_column(sa.String(80))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    # The carrier's latest word from tracking (its status, its message, when it said it); an older
    # event never moves the parcel back (domain.tracking).
    tracking_status: Mapped[str | None] = mapped_column(sa.String(30))
    tracking_message: Mapped[str | None] = mapped_column(sa.String(300))
    tracking_at: Mapped[datetime | None] = mapped_column()

    order: Mapped[Order] = relationship(back_populates="shipments")
    location: Mapped[Location] = relationship()
    label: Mapped[LabelPurchase | None] = relationship(viewonly=True, uselist=False)
    lines: Mapped[list[ShipmentLine]] = relationship(
        back_populates="shipment", order_by="ShipmentLine.id", cascade="all, delete-orphan")

    @property
    def number(self) -> str:
        return f"SH-{self.id:06d}"


class ShipmentLine(db.Model):
    __tablename__ = "shipment_lines"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int] = mapped_column()

    shipment: Mapped[Shipment] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()


class Manifest(db.Model):
    """A carrier's hand-over: the parcels that went on its truck in one action, who handed them over and
    when. Kept so that the signed sheet can be printed again; a parcel is on one manifest at most."""

    __tablename__ = "manifests"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(sa.String(60))
    handed_over_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    handed_over_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    handed_over_by: Mapped[User | None] = relationship()
    parcels: Mapped[list[ManifestParcel]] = relationship(
        back_populates="manifest", order_by="ManifestParcel.shipment_id", cascade="all, delete-orphan")

    @property
    def number(self) -> str:
        return f"MF-{self.id:06d}"


class ManifestParcel(db.Model):
    __tablename__ = "manifest_parcels"

    manifest_id: Mapped[int] = mapped_column(sa.ForeignKey("manifests.id"), primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id"), primary_key=True, unique=True)

    manifest: Mapped[Manifest] = relationship(back_populates="parcels")
    shipment: Mapped[Shipment] = relationship()


class Invoice(db.Model):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Gapless, in issue order: taken from the invoice_number counter in the issuing transaction.
    number: Mapped[int] = mapped_column(unique=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    shipment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shipments.id"), unique=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    subtotal_cents: Mapped[int] = mapped_column(MONEY_TOTAL)
    discount_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0, server_default="0")
    tax_cents: Mapped[int] = mapped_column(MONEY_TOTAL)
    shipping_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0)
    total_cents: Mapped[int] = mapped_column(MONEY_TOTAL)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="invoices")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id", cascade="all, delete-orphan")
    # A per-shipment invoice covers its shipment (shipment_id); a rest-of-order invoice, these units.
    covered: Mapped[list[InvoicedShipmentUnits]] = relationship(
        back_populates="invoice", order_by="InvoicedShipmentUnits.id", cascade="all, delete-orphan")

    @property
    def shipment_numbers(self) -> list[str]:
        """The shipments whose units this invoice charges for."""
        if self.shipment_id is not None:
            return [f"SH-{self.shipment_id:06d}"]
        return [f"SH-{sid:06d}" for sid in sorted({c.shipment_line.shipment_id for c in self.covered})]

    @property
    def display_number(self) -> str:
        return f"INV-{self.number:07d}"


class InvoiceLine(db.Model):
    __tablename__ = "invoice_lines"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    sku: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[int] = mapped_column()
    unit_price_cents: Mapped[int] = mapped_column()
    tax_rate_bp: Mapped[int] = mapped_column()
    line_total_cents: Mapped[int] = mapped_column(MONEY_TOTAL)  # quantity × unit price, before discounts
    discount_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0, server_default="0")
    tax_cents: Mapped[int] = mapped_column(MONEY_TOTAL)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoicedShipmentUnits(db.Model):
    """Units of one shipment line that a rest-of-order invoice charges for, so that a later per-shipment
    invoice cannot charge for them again (a per-shipment invoice covers its whole shipment: Invoice.shipment_id)."""

    __tablename__ = "invoiced_shipment_units"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    shipment_line_id: Mapped[int] = mapped_column(sa.ForeignKey("shipment_lines.id"), index=True)
    quantity: Mapped[int] = mapped_column()

    invoice: Mapped[Invoice] = relationship(back_populates="covered")
    shipment_line: Mapped[ShipmentLine] = relationship()


class StockMove(db.Model):
    """The stock ledger: one row for every change to a product's in-hand or committed count at a location."""

    __tablename__ = "stock_ledger"
    __table_args__ = (sa.Index("ix_stock_ledger_product_id", "product_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"))
    in_hand_delta: Mapped[int] = mapped_column(default=0)
    committed_delta: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(sa.String(20))  # receive adjust allocate release ship
    note: Mapped[str | None] = mapped_column(sa.String(300))
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    shipment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shipments.id"))
    # The return whose receipt this row records (reasons return, quarantine, write_off).
    return_id: Mapped[int | None] = mapped_column(sa.ForeignKey("returns.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A transfer's rows: transfer_out at its source, transfer_in at its destination (issue 14, transfers).
    transfer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transfers.id"), index=True)
    # Units received against a purchase order (issue 14): which one.
    purchase_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase_orders.id"))

    product: Mapped[Product] = relationship()
    location: Mapped[Location] = relationship()
    user: Mapped[User | None] = relationship()


class OrderEvent(db.Model):
    """The order's timeline: who did what, when, with the numbers before and after."""

    __tablename__ = "order_events"
    __table_args__ = (sa.Index("ix_order_events_order_id", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    message: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()


class SegmentCount(db.Model):
    """How many orders each board segment holds, kept in step by the services in the same transaction.

    Counting a segment of a million orders takes far longer than the board may; check-stock verifies
    these counts against the orders themselves.
    """

    __tablename__ = "segment_counts"

    segment: Mapped[Segment] = mapped_column(_enum(Segment, 24), primary_key=True)
    orders: Mapped[int] = mapped_column(default=0)


class HourlyOrderCount(db.Model):
    """How many orders each channel took in each UTC hour, and how many of its parcels (and units) were
    shipped, kept in step by the services in the same transaction (as the segment counts are), so that
    the overview reads a few thousand counter rows instead of grouping a month of orders and a day's
    shipments on every poll.

    Keyed by UTC hour rather than by the shop's day: the shop's zone (OMS_TIMEZONE) can change and
    moves twice a year, and a row keyed by UTC never has to be rewritten for either; the overview
    puts the hours on the shop's days when it reads them. check-stock verifies these counts against
    the orders themselves.
    """

    __tablename__ = "hourly_order_counts"

    # Whole hours since 1970-01-01 00:00 UTC: an integer compares and groups alike on SQLite (which
    # keeps times as text) and PostgreSQL.
    utc_hour: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_channels.id"), primary_key=True,
                                            autoincrement=False)
    orders: Mapped[int] = mapped_column(default=0)
    parcels_shipped: Mapped[int] = mapped_column(default=0)
    units_shipped: Mapped[int] = mapped_column(default=0)


class Counter(db.Model):
    """Named gapless counters (the invoice number); bumped inside the transaction that uses the value."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class Job(db.Model):
    """A piece of background work (a print batch, a channel's pull, its confirmations) and its state.

    The queue only carries the job's id: what it is, how far it got, its error and its result live
    here, so any web process shows its progress, and a job whose worker died (its heartbeat stopped)
    is found and run again. `worker` is the token of the run that holds it; a run writes its result
    only while it still holds the job, so a job is done once however often it is delivered.
    """

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # print channel_pull confirmations
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # One job per key (a channel's pull in one time slot): a schedule run by every worker adds it once.
    key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")  # queued running done failed
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    result: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    worker: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User | None] = relationship()

    @property
    def order_ids(self) -> list[int]:
        return list(self.params.get("order_ids", []))


class ChannelSync(db.Model):
    """One run of pulling orders from a channel (or importing a report file): what it brought in."""

    __tablename__ = "channel_syncs"
    __table_args__ = (sa.Index("ix_channel_syncs_channel_id", "channel_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_channels.id"))
    source: Mapped[str] = mapped_column(sa.String(20), default="api")  # api | report file name kind
    status: Mapped[str] = mapped_column(sa.String(10), default="running")  # running ok failed
    imported: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    held: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0, server_default="0")  # changes to orders imported before: paid, repriced, cancelled
    errors: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    cursor_before: Mapped[str | None] = mapped_column(sa.String(200))
    cursor_after: Mapped[str | None] = mapped_column(sa.String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()

    channel: Mapped[SalesChannel] = relationship()


class ShipmentConfirmation(db.Model):
    """A shipment to confirm back to its marketplace; retried until the channel accepts it."""

    __tablename__ = "shipment_confirmations"
    __table_args__ = (sa.Index("ix_shipment_confirmations_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id"), unique=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_channels.id"))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")  # pending sent failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    remote_id: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    shipment: Mapped[Shipment] = relationship()
    channel: Mapped[SalesChannel] = relationship()


class ReportUpload(db.Model):
    """A report file uploaded for a channel, kept between its preview and the import the admin confirms
    (so the browser never carries the file twice). Emptied once imported; left unconfirmed, it is
    cleared out a day later."""

    __tablename__ = "report_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_channels.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    filename: Mapped[str] = mapped_column(sa.String(200))
    size: Mapped[int] = mapped_column()
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    uploaded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_at: Mapped[datetime | None] = mapped_column()
    sync_id: Mapped[int | None] = mapped_column(sa.ForeignKey("channel_syncs.id"))  # the import's run


class PackagePreset(db.Model):
    """A box the shop packs in: its outside size and its own weight, added to the contents' weight."""

    __tablename__ = "package_presets"
    __table_args__ = (sa.CheckConstraint("length_mm > 0 AND width_mm > 0 AND height_mm > 0 AND tare_grams >= 0",
                                         name="package_size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    length_mm: Mapped[int] = mapped_column()
    width_mm: Mapped[int] = mapped_column()
    height_mm: Mapped[int] = mapped_column()
    tare_grams: Mapped[int] = mapped_column(default=0)


class CarrierAccount(db.Model):
    """The shop's account at a multi-carrier label service (carriers/): its API key and webhook secret
    (shown masked), where its API is, and the label format the shop's printer takes (PDF or ZPL)."""

    __tablename__ = "carrier_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(sa.String(20), unique=True)  # easypost
    api_key: Mapped[str] = mapped_column(sa.String(200))
    webhook_secret: Mapped[str | None] = mapped_column(sa.String(200))
    base_url: Mapped[str] = mapped_column(sa.String(200))
    label_format: Mapped[str] = mapped_column(sa.String(4), default="PDF")  # PDF | ZPL
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LabelPurchase(db.Model):
    """One label bought (or being bought) from the carrier service, written before the purchase is
    asked for, so that a purchase whose answer was lost (a timeout, a crash) is found again and recorded
    or refunded (domain.labels.reconcile): buying → recorded (its shipment packed) | failed | refunded."""

    __tablename__ = "label_purchases"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    shipment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shipments.id"), unique=True)
    service: Mapped[str] = mapped_column(sa.String(20))
    remote_id: Mapped[str] = mapped_column(sa.String(80), unique=True)  # the service's shipment id
    rate_id: Mapped[str] = mapped_column(sa.String(80))
    carrier: Mapped[str] = mapped_column(sa.String(60))
    carrier_service: Mapped[str] = mapped_column(sa.String(60))
    rate_cents: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(sa.String(3))
    delivery_days: Mapped[int | None] = mapped_column()
    quantities: Mapped[dict[str, int]] = mapped_column(sa.JSON)  # order line id -> units (as JSON keys)
    parcel: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(12), default="buying", index=True)
    tracking_code: Mapped[str | None] = mapped_column(sa.String(80))
    tracker_id: Mapped[str | None] = mapped_column(sa.String(80), index=True)
    tracking_url: Mapped[str | None] = mapped_column(sa.String(500))
    label_format: Mapped[str | None] = mapped_column(sa.String(4))
    label: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    refund_status: Mapped[str | None] = mapped_column(sa.String(20))
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CustomerEmail(db.Model):
    """An email to the order's customer about a shipment (shipped, delivered), sent by the task queue
    and retried; one of each kind per shipment."""

    __tablename__ = "customer_emails"
    __table_args__ = (sa.UniqueConstraint("shipment_id", "kind", name="uq_customer_emails_shipment_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id"))
    kind: Mapped[str] = mapped_column(sa.String(12))  # shipped | delivered
    to_address: Mapped[str] = mapped_column(sa.String(254))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")  # pending sent failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    shipment: Mapped[Shipment] = relationship()


# --- Locations: where stock is (issue 14) -------------------------------------------------------------

class Supplier(db.Model):
    """Who we buy from (purchase orders) and who drop-ships for us."""

    __tablename__ = "suppliers"
    __table_args__ = (sa.CheckConstraint("lead_time_days >= 0 AND lead_time_days <= 365", name="lead_time_in_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    address: Mapped[str | None] = mapped_column(sa.String(500))
    lead_time_days: Mapped[int] = mapped_column(default=7)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Location(db.Model):
    """A place stock is kept: an own warehouse, a 3PL, a quarantine area, or a drop-ship supplier.

    Allocation prefers one location that can fill the whole order, then the highest priority
    (domain.stock.plan_allocation). The ship-from address goes on labels and manifests.
    """

    __tablename__ = "locations"
    __table_args__ = (sa.CheckConstraint("priority >= 0 AND priority <= 1000", name="priority_in_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[LocationKind] = mapped_column(_enum(LocationKind), default=LocationKind.WAREHOUSE)
    priority: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)
    # A drop-ship location is its supplier's.
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"))
    ship_from_name: Mapped[str | None] = mapped_column(sa.String(200))
    line1: Mapped[str | None] = mapped_column(sa.String(200))
    line2: Mapped[str | None] = mapped_column(sa.String(200))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    region: Mapped[str | None] = mapped_column(sa.String(100))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    supplier: Mapped[Supplier | None] = relationship()

    def ship_from(self) -> dict[str, Any] | None:
        """The ship-from address as documents print it, or None (then the seller's from configuration)."""
        if not (self.line1 and self.city):
            return None
        return {"name": self.ship_from_name or self.name, "line1": self.line1, "line2": self.line2,
                "city": self.city, "region": self.region, "postal_code": self.postal_code, "country": self.country}


class LocationStock(db.Model):
    """A product's stock at one location: SPEC's invariants hold per row as they do per product."""

    __tablename__ = "location_stock"
    __table_args__ = (
        sa.CheckConstraint("committed >= 0 AND committed <= in_hand", name="never_oversold"),
        sa.Index("ix_location_stock_location", "location_id", "product_id"),
    )

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), primary_key=True)
    in_hand: Mapped[int] = mapped_column(default=0)
    committed: Mapped[int] = mapped_column(default=0)

    location: Mapped[Location] = relationship()

    @property
    def available(self) -> int:
        return self.in_hand - self.committed


class LineAllocation(db.Model):
    """The units of an order line allocated at one location, and how many of them have shipped from it.
    The line's allocated and shipped counts are the sums of its allocations'."""

    __tablename__ = "line_allocations"
    __table_args__ = (
        sa.CheckConstraint("0 <= shipped AND shipped <= allocated", name="quantities"),
        sa.Index("ix_line_allocations_location", "location_id", "order_line_id"),
    )

    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), primary_key=True)
    allocated: Mapped[int] = mapped_column(default=0)
    shipped: Mapped[int] = mapped_column(default=0)

    line: Mapped[OrderLine] = relationship(back_populates="allocations")
    location: Mapped[Location] = relationship()

    @property
    def to_ship(self) -> int:
        return self.allocated - self.shipped


class ChannelLocation(db.Model):
    """A sales channel limited to some locations (none listed: every location may serve it)."""

    __tablename__ = "channel_locations"

    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_channels.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), primary_key=True)


# ---------------------------------------------------------------- refunds and credit notes (issue 15)

class RefundReason(str, enum.Enum):
    RETURNED = "returned"
    DAMAGED = "damaged"
    NOT_AS_DESCRIBED = "not_as_described"
    NOT_DELIVERED = "not_delivered"
    GOODWILL = "goodwill"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


# ---------------------------------------------------------------- returns (RMA), issue 15

class ReturnState(str, enum.Enum):
    """requested → authorized → received → closed, or rejected (an admin may reopen a closed one)."""

    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    RECEIVED = "received"
    CLOSED = "closed"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return self.value.capitalize()


# Returns whose units are still on their way: their quantities count against what shipped.
RETURNS_EXPECTED = frozenset({ReturnState.REQUESTED, ReturnState.AUTHORIZED})
OPEN_RETURNS = frozenset({ReturnState.REQUESTED, ReturnState.AUTHORIZED, ReturnState.RECEIVED})


class ReturnReason(str, enum.Enum):
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    NO_LONGER_WANTED = "no_longer_wanted"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


# --- Transfers: units moved between own locations (issue 14) ------------------------------------------

class TransferState(str, enum.Enum):
    """created -> shipped -> partially_received -> received, or cancelled while created."""

    CREATED = "created"
    SHIPPED = "shipped"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def in_transit(self) -> bool:
        """Units have left the source and not all arrived: they are available nowhere meanwhile."""
        return self in (TransferState.SHIPPED, TransferState.PARTIALLY_RECEIVED)


class RefundMethod(str, enum.Enum):
    ORIGINAL_PAYMENT = "original_payment"
    STORE_CREDIT = "store_credit"
    BANK_TRANSFER = "bank_transfer"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Refund(db.Model):
    """Money given back to the customer on an order, tax included; each one issued exactly one credit note
    (CreditNote.refund_id) in its transaction. A channel's refund is identified by its id there
    (channel_reference): the same refund delivered twice, or keyed in by staff at the same moment, is one row."""

    __tablename__ = "refunds"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "channel_reference", name="uq_refunds_order_channel_reference"),
        sa.CheckConstraint("amount_cents > 0 AND shipping_cents >= 0 AND shipping_cents <= amount_cents",
                           name="amounts_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(MONEY_TOTAL)  # all of it, tax and shipping included
    shipping_cents: Mapped[int] = mapped_column(MONEY_TOTAL, default=0)  # the shipping part of amount_cents
    currency: Mapped[str] = mapped_column(sa.String(3))
    reason: Mapped[RefundReason] = mapped_column(_enum(RefundReason))
    note: Mapped[str | None] = mapped_column(sa.String(300))
    method: Mapped[RefundMethod] = mapped_column(_enum(RefundMethod))
    # The channel's refund id (Shopify's refund id, WooCommerce's); None for one made by hand with no reference.
    channel_reference: Mapped[str | None] = mapped_column(sa.String(64))
    # The return (RMA) whose received units the refund is for (its page's "Refund these units", or the
    # return a channel's restocking refund made).
    return_id: Mapped[int | None] = mapped_column(sa.ForeignKey("returns.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship()
    created_by: Mapped[User | None] = relationship()
    credit_note: Mapped[CreditNote] = relationship(back_populates="refund", uselist=False)


class CreditNote(db.Model):
    """The document of a refund: its own gapless number series (counter "credit_note", bumped in the
    issuing transaction, as invoices are), the invoices it corrects, and its lines and tax as negative amounts."""

    __tablename__ = "credit_notes"
    __table_args__ = (sa.CheckConstraint("total_cents < 0 AND tax_cents <= 0", name="amounts_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    refund_id: Mapped[int] = mapped_column(sa.ForeignKey("refunds.id"), unique=True)
    # The ids of the invoices it corrects, oldest first.
    invoice_ids: Mapped[list[int]] = mapped_column(sa.JSON)
    currency: Mapped[str] = mapped_column(sa.String(3))
    net_cents: Mapped[int] = mapped_column(MONEY_TOTAL)  # negative: without tax
    tax_cents: Mapped[int] = mapped_column(MONEY_TOTAL)  # negative
    total_cents: Mapped[int] = mapped_column(MONEY_TOTAL)  # negative: net + tax = -refund amount
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship()
    refund: Mapped[Refund] = relationship(back_populates="credit_note")
    lines: Mapped[list[CreditNoteLine]] = relationship(
        back_populates="credit_note", order_by="CreditNoteLine.id", cascade="all, delete-orphan")

    @property
    def display_number(self) -> str:
        return f"CN-{self.number:07d}"


class CreditNoteLine(db.Model):
    """One line of a credit note: units of an order line, the shipping, or another amount; negative."""

    __tablename__ = "credit_note_lines"
    __table_args__ = (sa.CheckConstraint("quantity >= 0 AND net_cents <= 0 AND tax_cents <= 0",
                                         name="amounts_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_notes.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # units | shipping | amount
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    sku: Mapped[str | None] = mapped_column(sa.String(64))
    description: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[int] = mapped_column(default=0)  # units credited (0 for shipping or an amount)
    net_cents: Mapped[int] = mapped_column(MONEY_TOTAL)
    tax_cents: Mapped[int] = mapped_column(MONEY_TOTAL)

    credit_note: Mapped[CreditNote] = relationship(back_populates="lines")

    @property
    def total_cents(self) -> int:
        return self.net_cents + self.tax_cents
class Return(db.Model):
    """A return (RMA) of shipped units of one order; its number is derived from its id."""

    __tablename__ = "returns"
    __table_args__ = (sa.Index("ix_returns_state", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    state: Mapped[ReturnState] = mapped_column(_enum(ReturnState), default=ReturnState.REQUESTED)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    reject_reason: Mapped[str | None] = mapped_column(sa.String(300))
    # An exchange: the replacement order sent for the returned units.
    replacement_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    authorized_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    authorized_at: Mapped[datetime | None] = mapped_column()
    received_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    received_at: Mapped[datetime | None] = mapped_column()
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column()
    rejected_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None] = mapped_column()

    order: Mapped[Order] = relationship(foreign_keys=[order_id])
    replacement_order: Mapped[Order | None] = relationship(foreign_keys=[replacement_order_id])
    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="return_", order_by="ReturnLine.id", cascade="all, delete-orphan")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    authorized_by: Mapped[User | None] = relationship(foreign_keys=[authorized_by_id])
    received_by: Mapped[User | None] = relationship(foreign_keys=[received_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    rejected_by: Mapped[User | None] = relationship(foreign_keys=[rejected_by_id])

    NUMBER_PREFIX = "RMA-"

    @property
    def number(self) -> str:
        return self.number_of(self.id)

    @classmethod
    def number_of(cls, return_id: int) -> str:
        return f"{cls.NUMBER_PREFIX}{return_id:06d}"

    @classmethod
    def id_from_number(cls, text: str) -> int | None:
        text = text.strip().upper()
        if not text.startswith(cls.NUMBER_PREFIX):
            return None
        text = text[len(cls.NUMBER_PREFIX):]
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


class ReturnLine(db.Model):
    __tablename__ = "return_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("restocked >= 0 AND quarantined >= 0 AND written_off >= 0", name="conditions_not_negative"),
        sa.CheckConstraint("restocked + quarantined + written_off = received AND received <= quantity",
                           name="received_split"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(sa.ForeignKey("returns.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int] = mapped_column()
    reason: Mapped[ReturnReason] = mapped_column(_enum(ReturnReason))
    received: Mapped[int] = mapped_column(default=0)
    restocked: Mapped[int] = mapped_column(default=0)
    quarantined: Mapped[int] = mapped_column(default=0)
    written_off: Mapped[int] = mapped_column(default=0)

    return_: Mapped[Return] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()


class Transfer(db.Model):
    """Units moved from one own location to another: shipped all at once out of the source's in hand (in
    transit meanwhile, available nowhere), received at the destination in one or more receipts.
    Each step says who and when; the stock ledger's rows name the transfer."""

    __tablename__ = "transfers"
    __table_args__ = (sa.CheckConstraint("source_id <> destination_id", name="two_places"),
                      sa.Index("ix_transfers_state", "state", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"))
    destination_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"))
    state: Mapped[TransferState] = mapped_column(_enum(TransferState), default=TransferState.CREATED)
    note: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    shipped_at: Mapped[datetime | None] = mapped_column()
    shipped_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The latest receipt (each receipt's own rows are in the ledger).
    received_at: Mapped[datetime | None] = mapped_column()
    received_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    source: Mapped[Location] = relationship(foreign_keys=[source_id])
    destination: Mapped[Location] = relationship(foreign_keys=[destination_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    shipped_by: Mapped[User | None] = relationship(foreign_keys=[shipped_by_id])
    received_by: Mapped[User | None] = relationship(foreign_keys=[received_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    lines: Mapped[list[TransferLine]] = relationship(back_populates="transfer", order_by="TransferLine.id",
                                                     cascade="all, delete-orphan")

    @property
    def number(self) -> str:
        return f"TR-{self.id:06d}"

    @staticmethod
    def number_of(transfer_id: int) -> str:
        return f"TR-{transfer_id:06d}"


class TransferLine(db.Model):
    """One product of a transfer: units asked for, shipped (all at once) and received so far."""

    __tablename__ = "transfer_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0 AND 0 <= received AND received <= shipped AND shipped <= quantity",
                           name="quantities"),
        sa.UniqueConstraint("transfer_id", "product_id", name="uq_transfer_lines_product"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(sa.ForeignKey("transfers.id"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column()
    shipped: Mapped[int] = mapped_column(default=0)
    received: Mapped[int] = mapped_column(default=0)

    transfer: Mapped[Transfer] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def to_receive(self) -> int:
        return self.shipped - self.received


# --- Purchasing: suppliers' products and purchase orders (issue 14) ---------------------------------------

class PurchaseOrderState(str, enum.Enum):
    """A purchase order's life: draft → sent → partially received → received → closed, or cancelled.
    Receiving moves it to partially received / received by itself (domain.purchasing)."""

    DRAFT = "draft"
    SENT = "sent"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_open(self) -> bool:
        """Ordered from the supplier and not yet all in: its open units are on their way."""
        return self in (PurchaseOrderState.SENT, PurchaseOrderState.PARTIALLY_RECEIVED)


class SupplierProduct(db.Model):
    """A product as one supplier sells it: its SKU there and what one unit costs us."""

    __tablename__ = "supplier_products"
    __table_args__ = (
        sa.CheckConstraint("unit_cost_cents >= 0", name="cost_not_negative"),
        sa.Index("ix_supplier_products_product", "product_id", "supplier_id"),
    )

    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), primary_key=True)
    supplier_sku: Mapped[str | None] = mapped_column(sa.String(64))
    unit_cost_cents: Mapped[int] = mapped_column(default=0)

    supplier: Mapped[Supplier] = relationship()
    product: Mapped[Product] = relationship()


class PurchaseOrder(db.Model):
    """What we order from a supplier, delivered to one of our locations; or, for a drop-ship PO, what the
    supplier sends straight to our customers (one per supplier per shop day, its lines naming the orders)."""

    __tablename__ = "purchase_orders"
    __table_args__ = (
        sa.Index("ix_purchase_orders_state_id", "state", "id"),
        sa.Index("ix_purchase_orders_supplier_id", "supplier_id", "id"),
        # One drop-ship PO per supplier and day (NULL for the others, which may repeat).
        sa.UniqueConstraint("supplier_id", "drop_ship_day", name="uq_purchase_orders_drop_ship_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"))
    # Where the goods go: one of our warehouses, or the supplier's drop-ship location for a drop-ship PO.
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"))
    state: Mapped[PurchaseOrderState] = mapped_column(_enum(PurchaseOrderState), default=PurchaseOrderState.DRAFT)
    expected_on: Mapped[date | None] = mapped_column(sa.Date)
    notes: Mapped[str | None] = mapped_column(sa.String(2000))
    drop_ship: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    drop_ship_day: Mapped[date | None] = mapped_column(sa.Date)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()

    supplier: Mapped[Supplier] = relationship()
    location: Mapped[Location] = relationship()
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="purchase_order", order_by="PurchaseOrderLine.id", cascade="all, delete-orphan")

    NUMBER_PREFIX = "PO-"

    @property
    def number(self) -> str:
        return self.number_of(self.id)

    @classmethod
    def number_of(cls, purchase_order_id: int) -> str:
        return f"{cls.NUMBER_PREFIX}{purchase_order_id:06d}"

    @property
    def total_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)


class PurchaseOrderLine(db.Model):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_cost_cents >= 0", name="cost_not_negative"),
        # Over-receipt (confirmed) may take received past quantity.
        sa.CheckConstraint("0 <= received", name="received_not_negative"),
        sa.CheckConstraint("0 <= cancelled AND cancelled <= quantity", name="cancelled_in_range"),
        sa.Index("ix_purchase_order_lines_product", "product_id", "purchase_order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column()
    unit_cost_cents: Mapped[int] = mapped_column(default=0)
    received: Mapped[int] = mapped_column(default=0)
    # A drop-ship PO's line: the order line it fills and where the supplier sends it (the order's ship-to).
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # A drop-ship line's units taken off after the PO was sent (its order line cut, or the order voided):
    # the supplier must not ship them. `quantity` stays what was first ordered, so the PO shows the change.
    cancelled: Mapped[int] = mapped_column(default=0, server_default="0")

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    order_line: Mapped[OrderLine | None] = relationship()

    @property
    def ordered(self) -> int:
        """Units still ordered: the quantity less what was cancelled."""
        return self.quantity - self.cancelled

    @property
    def still_open(self) -> int:
        """Units ordered and not yet received (never below zero after an over-receipt)."""
        return max(self.ordered - self.received, 0)

    @property
    def total_cents(self) -> int:
        return self.ordered * self.unit_cost_cents


# --- Drop shipping: the supplier's confirmation through a signed link (issue 14) -----------------------

class SupplierLinkUse(db.Model):
    """One confirmation sent through a supplier link: the link's nonce and which use of it this was.

    The page's form carries the number of uses it was shown after; the pair is unique, so the same form
    posted twice (a replay, a double click, two tabs racing) records its shipment once
    (domain.drop_ship.confirm_by_link writes this row and the shipment in one transaction).
    """

    __tablename__ = "supplier_link_uses"
    __table_args__ = (sa.UniqueConstraint("nonce", "use_number", name="uq_supplier_link_uses_nonce_use"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(32))
    use_number: Mapped[int] = mapped_column()
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Purchase order emails: a sent PO (and each change to a drop-ship PO) to the supplier (issue 14) -----

class PurchaseOrderEmail(db.Model):
    """An email of a purchase order to its supplier, its PDF attached, sent by the task queue and retried
    (oms_web/purchasing/emails.py). `kind`: "sent" (the PO as ordered) or "changed" (units added to or taken
    off a drop-ship PO; `note` says which)."""

    __tablename__ = "purchase_order_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # sent | changed
    note: Mapped[str | None] = mapped_column(sa.String(500))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")  # pending sent failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    purchase_order: Mapped[PurchaseOrder] = relationship()
