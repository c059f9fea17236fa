"""The demo history's simulated objects (products, orders, lines, parcels) and the shares and delays
of an order's life that drive it.
"""
from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field

from ..models import ChannelKind, OrderStatus, PaymentStatus
from . import catalogue

ROWS_PER_ORDER = 18  # with its lines, shipments, invoices, ledger rows and events, on average
HOUR = 3600.0
DAY = 24 * HOUR
HISTORY = 90 * DAY  # orders are spread over the last 90 days; times are seconds relative to now (<= 0)

# How a demo order's life goes: shares and delays, chosen so that most orders are fulfilled and
# each open board segment holds a few percent, as in a shop that ships daily.
P_VOID = 0.02
DRAFT_WINDOW, P_DRAFT = 21 * DAY, 0.30  # manual quotes still waiting for the customer's yes
HELD_WINDOW, P_HELD = 10 * DAY, 0.06  # a channel order with a listing nobody mapped yet
UNPAID_WINDOW, P_UNPAID = 10 * DAY, 0.12  # bank transfer still not in (web store and manual)
P_PAYS_LATER = 0.10  # bank transfer that arrives after a few days
P_SPLIT_BULKY, P_SPLIT = 0.5, 0.06  # shipped in two parcels
P_SHIP_AVAILABLE_FIRST = 0.5  # a backordered order ships its in-stock lines first
P_INVOICE_IN_TRANSIT = 0.5  # delivered parcels are always invoiced, those under way sometimes
P_NOTE = 0.03
LINE_COUNTS = ((1, 0.55), (2, 0.28), (3, 0.12), (4, 0.05))
QUANTITIES = ((1, 0.86), (2, 0.11), (3, 0.03))
CONSUMABLE_QUANTITIES = ((1, 0.35), (2, 0.30), (3, 0.15), (4, 0.10), (6, 0.10))
TRANSIT_DAYS = {"Standard": (2.0, 6.0), "Expedited": (1.0, 3.0), "Overnight": (0.7, 1.3)}
# The last part of a scrambled id; multipliers coprime to 10 make id -> number a bijection, so
# channel order ids made from distinct order ids never collide.
AMAZON_SCRAMBLE, EBAY_SCRAMBLE = 3_141_592_653_589_793, 271_828_182_841


@dataclass
class SimProduct:
    id: int
    sku: str
    name: str
    price_cents: int
    tax_rate_bp: int  # the rate its lines get (the product's, or the shop's default)
    demo: catalogue.DemoProduct
    in_hand: int
    committed: int
    rate: float = 0.0  # expected units ordered per second
    start_in_hand: int = 0
    start_committed: int = 0
    backlog: int = 0  # units on backordered lines
    sku_json: str = ""
    queue: deque = field(default_factory=deque)  # (order, line), oldest finalized first


class SimLine:
    """An order line in the simulation (slots: a million orders' lines stay cheap)."""

    __slots__ = ("id", "product", "sku", "sku_json", "name", "channel_line_id", "ordered", "allocated", "shipped",
                 "invoiced", "price", "tax_bp", "shipped_now", "invoiced_now")

    def __init__(self, id, product, sku, name, ordered, price, tax_bp, channel_line_id=None, allocated=0):
        self.id, self.product, self.sku, self.name = id, product, sku, name
        self.sku_json = product.sku_json if product is not None and product.sku == sku else json.dumps(sku)
        self.channel_line_id = channel_line_id
        self.ordered, self.allocated, self.price, self.tax_bp = ordered, allocated, price, tax_bp
        # shipped/invoiced: what the plan ships and invoices by now; *_now: what the clock has reached.
        self.shipped = self.invoiced = self.shipped_now = self.invoiced_now = 0


class SimOrder:
    """An order in the simulation; it has what `segments.segment_of()` reads, under the same names."""

    __slots__ = ("id", "channel", "customer", "channel_order_id", "created", "finalized", "status",
                 "payment_status", "hold_reason", "lines", "subtotal", "tax", "shipping_cents", "service_level",
                 "updated", "fulfilled", "voided", "void_reason", "paid_at", "shipments", "delivered", "last_plan",
                 "invoices_issued", "pending", "legacy", "handed_over")

    def __init__(self, id, channel):
        self.id, self.channel = id, channel
        self.customer = self.channel_order_id = self.hold_reason = self.void_reason = None
        self.finalized = self.fulfilled = self.voided = self.paid_at = None
        self.status, self.payment_status = OrderStatus.DRAFT, PaymentStatus.PAID
        self.lines: list[SimLine] = []
        self.subtotal = self.tax = self.shipping_cents = 0
        self.service_level = "Standard"
        self.created = self.updated = 0.0
        self.shipments = self.delivered = self.invoices_issued = self.handed_over = 0
        self.last_plan = None
        self.pending = self.legacy = False


class Plan:
    """One parcel: its lines and the times it is packed, handed over and delivered (None: not yet)."""

    __slots__ = ("order", "items", "created", "shipped", "delivered", "carrier", "tracking", "invoice_at",
                 "id", "completes")

    def __init__(self, order, items, created, shipped, delivered, carrier, tracking, invoice_at):
        self.order, self.items = order, items
        self.created, self.shipped, self.delivered = created, shipped, delivered
        self.carrier, self.tracking, self.invoice_at = carrier, tracking, invoice_at
        self.id = None
        self.completes = False


@dataclass
class Actors:
    admin: int
    manager: int
    staff: int


@dataclass
class Channel:
    id: int
    name: str
    kind: ChannelKind
    share: float
    handling_days: int = 2


@dataclass
class HistoryResult:
    orders: int
    rows: int
    invoices: int
    legacy_orders: set[int]


def expected_daily_demand(order_count: int) -> dict[str, float]:
    """Units of each catalogue SKU that `order_count` orders over the 90 days ask for, per day."""
    lines_per_order = sum(k * w for k, w in LINE_COUNTS)
    total_weight = sum(d.popularity for d in catalogue.PRODUCTS)
    mean_qty = sum(k * w for k, w in QUANTITIES)
    mean_consumable = sum(k * w for k, w in CONSUMABLE_QUANTITIES)
    return {d.sku: order_count * lines_per_order * d.popularity / total_weight
            * (mean_consumable if d.consumable else mean_qty) / (HISTORY / DAY) for d in catalogue.PRODUCTS}


def weighted(pairs):
    values = [v for v, _ in pairs]
    total, cumulative = 0.0, []
    for _, weight in pairs:
        total += weight
        cumulative.append(total)
    return values, [c / total for c in cumulative]
