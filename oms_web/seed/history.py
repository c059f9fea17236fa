"""Ninety days of order history, simulated in memory and written in bulk.

Orders arrive in time order. Each is allocated the moment it is finalized, by the domain's own rule
(`domain.stock.plan_allocation`: every line takes min(still needed, available); what is short is
backordered), and everything that follows (payment, packing, hand-over, delivery, invoices, a void)
is planned from then on. Every planned row is written when the simulated clock reaches its time, so
ids, shipment numbers, invoice numbers and the ledger run in time order, and invoice numbers are
gapless in issue order.

Stock changes only in `_move`, which writes the ledger row with it; received or freed units go to the
oldest backordered lines first, as `domain.stock.fill_backorders` does. So the result satisfies
`check_invariants()` for the same reasons service-made data does:
- in hand and committed are the sums of the ledger rows, by construction;
- a line's allocated and shipped counts move together with the ledger rows that move its product;
- a backorder exists only while its product has nothing available (restocks fill the queue first).

Plentiful products are restocked just in time and never backorder; scarce ones get a small delivery
every two or three weeks and run dry in between, which is where the awaiting-stock orders come from.
"""
from __future__ import annotations

import gc
import heapq
import json
import math
import random
from bisect import bisect
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count

import sqlalchemy as sa

from ..models import ChannelKind, OrderStatus, PaymentStatus, Segment
from ..domain.money import line_tax_cents, share
from ..domain.segments import segment_of
from ..domain.stock import plan_allocation
from . import catalogue
from .bulk import BulkWriter

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


class _Line:
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


class _Order:
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
        self.lines: list[_Line] = []
        self.subtotal = self.tax = self.shipping_cents = 0
        self.service_level = "Standard"
        self.created = self.updated = 0.0
        self.shipments = self.delivered = self.invoices_issued = self.handed_over = 0
        self.last_plan = None
        self.pending = self.legacy = False


class _Plan:
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


def _weighted(pairs):
    values = [v for v, _ in pairs]
    total, cumulative = 0.0, []
    for _, weight in pairs:
        total += weight
        cumulative.append(total)
    return values, [c / total for c in cumulative]


class History:
    """Simulate `count` orders over the last 90 days and write them (call `run`, then commit)."""

    def __init__(self, connection: sa.Connection, *, rng: random.Random, now: datetime, actors: Actors,
                 channels: list[Channel], products: list[SimProduct], default_tax_bp: int):
        self.rng = rng
        self.default_tax_bp = default_tax_bp  # what a line without a product is taxed at
        self.actors = actors
        self.channels = channels
        self.products = products
        self.writer = BulkWriter(connection)
        self.ts: Callable[[float], object] = self.writer.timestamp(now)
        self.rows = self.writer.rows
        self.new_id = {table: count(start).__next__ for table, start in self.writer.next_ids().items()}
        self.heap: list = []
        self.seq = count()
        self.clock = -HISTORY - 2 * DAY
        self.pending: list[_Order] = []
        self.legacy_lines: dict[int, _Line] = {}
        self.legacy_orders: set[int] = set()
        self.invoice_number = 0
        self.po_number = 0
        self.customers: list[tuple] = []
        self.channel_pick = _weighted([(c, c.share) for c in channels])
        self.product_pick = _weighted([(p, p.demo.popularity) for p in products])
        self.line_count_pick = _weighted(LINE_COUNTS)
        self.quantity_pick = _weighted(QUANTITIES)
        self.consumable_pick = _weighted(CONSUMABLE_QUANTITIES)
        self.service_pick = _weighted(catalogue.SERVICE_LEVELS)
        self.carrier_pick = {level: _weighted(carriers) for level, carriers in catalogue.CARRIERS.items()}

    # ------------------------------------------------------------------ the run

    def run(self, order_count: int, *, invoice_number: int) -> HistoryResult:
        self.invoice_number = invoice_number
        self._set_rates(order_count)
        self._load_backorders()
        # The run makes millions of short-lived objects and no reference cycles that outlive an order
        # (see _plan_shipping), so the cyclic collector would only rescan the live ones: at 100,000
        # orders it took half the time, at a million far more.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.writer.start(rows_expected=ROWS_PER_ORDER * order_count)
            self._make_customers(max(20, min(order_count // 4, 250_000)))
            self._opening_stock()
            self._schedule_restocks()
            for number, t in enumerate(self._arrival_times(order_count)):
                self._advance(t)
                self._arrive(t)
                if number % 500 == 0:
                    self.writer.maybe_flush()
            self._advance(0.0)
            self._write_final_state()
            self.writer.finish()
        finally:
            if collecting:
                gc.enable()
        return HistoryResult(order_count, self.writer.written, self.invoice_number, self.legacy_orders)

    def _pick(self, picker):
        values, cumulative = picker
        return values[bisect(cumulative, self.rng.random())]

    def _arrival_times(self, n: int):
        """n times over the last 90 days, oldest first, with the shop growing a little over the period."""
        growth = 0.4  # order rate rises 40% from the first day to the last
        uniform = sorted(self.rng.random() for _ in range(n))
        end = -0.25 * HOUR
        for u in uniform:
            s = (math.sqrt(1 + 2 * growth * u * (1 + growth / 2)) - 1) / growth
            yield -HISTORY + s * (HISTORY + end)

    def _set_rates(self, order_count: int) -> None:
        daily = expected_daily_demand(order_count)
        for p in self.products:
            p.rate = daily[p.sku] / DAY
            p.start_in_hand, p.start_committed = p.in_hand, p.committed
            p.sku_json = json.dumps(p.sku)

    def _advance(self, t: float) -> None:
        heap = self.heap
        while heap and heap[0][0] <= t:
            when, _, action, arg = heapq.heappop(heap)
            self.clock = when
            action(when, arg)
        self.clock = t

    def _at(self, when: float, action, arg) -> None:
        heapq.heappush(self.heap, (when, next(self.seq), action, arg))

    # ------------------------------------------------------------------ stock

    def _move(self, p: SimProduct, in_hand: int, committed: int, reason: str, when: float, *,
              order_id=None, shipment_id=None, user_id=None, note=None) -> None:
        p.in_hand += in_hand
        p.committed += committed
        if not 0 <= p.committed <= p.in_hand:
            raise AssertionError(f"seed bug: {p.sku} would hold {p.committed} committed of {p.in_hand}")
        self.rows["stock_ledger"].append((self.new_id["stock_ledger"](), p.id, in_hand, committed, reason, note,
                                          order_id, shipment_id, user_id, self.ts(when)))

    def _receive(self, p: SimProduct, quantity: int, when: float, note: str | None = None) -> None:
        if note is None:
            self.po_number += 1
            note = f"PO-{4100 + self.po_number} received"
        self._move(p, quantity, 0, "receive", when, user_id=self.actors.manager, note=note)
        self._fill(p, when, self.actors.manager)

    def _fill(self, p: SimProduct, when: float, actor: int | None) -> None:
        """Give available units to the oldest backordered lines (domain.stock.fill_backorders)."""
        queue = p.queue
        while queue and p.in_hand - p.committed > 0:
            order, line = queue[0]
            take = plan_allocation([(p.id, line.ordered - line.allocated)], {p.id: p.in_hand - p.committed})[0]
            self._move(p, 0, take, "allocate", when, order_id=order.id, user_id=actor)
            line.allocated += take
            p.backlog -= take
            if line.allocated == line.ordered:
                queue.popleft()
            self._event(order, when, actor, "allocated", f"Allocated {line.sku} from freed or received stock",
                        f'{{"lines": {self._numbers(order)}}}')
            if order.legacy:
                self.legacy_orders.add(order.id)
                continue
            order.updated = max(order.updated, when)
            if all(l.allocated == l.ordered for l in order.lines):
                self._on_filled(order, when)

    def _opening_stock(self) -> None:
        when = -HISTORY - DAY
        for p in self.products:
            if p.in_hand or p.committed:
                continue  # seeded before: it has its stock
            days = self.rng.uniform(5, 10) if p.demo.scarce else self.rng.uniform(20, 35)
            quantity = math.ceil(p.rate * days * DAY) + (1 if p.demo.scarce else 5)
            self._receive(p, quantity, when, note="Opening stock count")

    def _schedule_restocks(self) -> None:
        """Scarce products: a small delivery every two or three weeks, the last one a week or two ago."""
        rng = self.rng
        for p in self.products:
            if not p.demo.scarce:
                continue
            every = rng.uniform(12, 20) * DAY
            last = -rng.uniform(6, 14) * DAY
            times, t = [], -HISTORY + rng.uniform(0.3, 1.0) * every
            while t <= last:
                times.append(t)
                t += every * rng.uniform(0.8, 1.2)
            for i, t in enumerate(times):
                final = i == len(times) - 1
                horizon = (0.0 if final else times[i + 1]) - t
                cover = rng.uniform(0.3, 0.6) if final else rng.uniform(0.55, 0.85)
                self._at(t, self._restock, (p, horizon * cover))

    def _restock(self, when: float, arg) -> None:
        p, covered_seconds = arg
        quantity = p.backlog + math.ceil(p.rate * covered_seconds)
        if quantity > 0:
            self._receive(p, quantity, when)

    def _allocate(self, order: _Order, when: float, actor: int | None) -> tuple[int, int]:
        """Allocate a just-finalized order: (units taken, units backordered)."""
        lines = [line for line in order.lines if line.product is not None]
        for line in lines:  # plentiful products are restocked just in time
            p, need = line.product, line.ordered - line.allocated
            if p.in_hand - p.committed < need and not p.demo.scarce:
                batch = math.ceil(p.rate * self.rng.uniform(14, 28) * DAY / 10) * 10
                self._receive(p, p.backlog + need - (p.in_hand - p.committed) + batch, when)
        available = {line.product.id: line.product.in_hand - line.product.committed for line in lines}
        takes = plan_allocation([(line.product.id, line.ordered - line.allocated) for line in lines], available)
        for line, take in zip(lines, takes):
            if take:
                self._move(line.product, 0, take, "allocate", when, order_id=order.id, user_id=actor)
                line.allocated += take
        taken = sum(takes)
        return taken, sum(line.ordered - line.allocated for line in lines)

    def _load_backorders(self) -> None:
        """Lines already waiting for stock (from an earlier seed or real use) stay first in the queue."""
        by_id = {p.id: p for p in self.products}
        result = self.writer.connection.execute(sa.text(
            "SELECT l.id, l.order_id, l.product_id, l.sku, l.ordered, l.allocated, l.shipped, l.invoiced "
            "FROM order_lines l "
            "JOIN orders o ON o.id = l.order_id WHERE l.allocated < l.ordered AND l.product_id IS NOT NULL "
            "AND o.status = 'finalized' AND o.hold_reason IS NULL ORDER BY o.finalized_at, o.id, l.id"))
        orders: dict[int, _Order] = {}
        for line_id, order_id, product_id, sku, ordered, allocated, shipped, invoiced in result:
            p = by_id.get(product_id)
            if p is None:
                continue
            order = orders.get(order_id)
            if order is None:
                order = orders[order_id] = _Order(order_id, None)
                order.legacy = True
            line = _Line(line_id, p, sku, sku, ordered, 0, 0, allocated=allocated)
            line.shipped = line.shipped_now = shipped
            line.invoiced = line.invoiced_now = invoiced
            order.lines.append(line)
            self.legacy_lines[line_id] = line
            p.queue.append((order, line))
            p.backlog += ordered - allocated

    # ------------------------------------------------------------------ customers

    def _make_customers(self, n: int) -> None:
        rng = self.rng
        first_names, last_names = catalogue.FIRST_NAMES, catalogue.LAST_NAMES
        for _ in range(n):
            cid = self.new_id["customers"]()
            first, last = rng.choice(first_names), rng.choice(last_names)
            name = f"{first} {last}"
            email = f"{first}.{last}{cid}@{rng.choice(catalogue.EMAIL_DOMAINS)}".lower().replace("'", "")
            city, region, zip_prefix, area = rng.choice(catalogue.CITIES)
            phone = f"+1 {area}-555-01{rng.randrange(100):02d}"
            since = self.ts(-HISTORY - rng.uniform(1, 720) * DAY)
            address = {"name": name, "line1": f"{rng.randrange(1, 9900)} {rng.choice(catalogue.STREETS)} "
                                              f"{rng.choice(catalogue.STREET_KINDS)}",
                       "line2": f"Apt {rng.randrange(1, 40)}" if rng.random() < 0.2 else None,
                       "city": city, "region": region, "postal_code": f"{zip_prefix}{rng.randrange(100):02d}",
                       "country": "US"}
            self.rows["customers"].append((cid, name, email, phone, since))
            self.rows["addresses"].append((self.new_id["addresses"](), cid, "shipping", address["name"],
                                           address["line1"], address["line2"], address["city"], address["region"],
                                           address["postal_code"], address["country"]))
            ship_to = json.dumps(address)
            bill_to = ship_to
            if rng.random() < 0.1:
                billing = dict(address, line1=f"PO Box {rng.randrange(100, 9999)}", line2=None)
                self.rows["addresses"].append((self.new_id["addresses"](), cid, "billing", name, billing["line1"],
                                               None, city, region, billing["postal_code"], "US"))
                bill_to = json.dumps(billing)
            self.customers.append((cid, name, email, ship_to, bill_to))
        self.writer.flush()

    # ------------------------------------------------------------------ an order arrives

    def _arrive(self, t: float) -> None:
        rng, actors = self.rng, self.actors
        channel: Channel = self._pick(self.channel_pick)
        order = _Order(self.new_id["orders"](), channel)
        order.created = order.updated = t
        order.customer = self.customers[int(len(self.customers) * rng.random() ** 1.6)]
        order.service_level = self._pick(self.service_pick)
        order.channel_order_id = self._channel_order_id(channel.kind, order.id)
        self._add_lines(order)
        manual = channel.kind is ChannelKind.MANUAL
        age = -t
        if not manual and age < HELD_WINDOW and rng.random() < P_HELD:
            self._add_unknown_line(order)
        self._set_totals(order)

        creator = actors.staff if manual else None
        self._event(order, t, creator, "created",
                    f"Created from {channel.name}" + (f" order {order.channel_order_id}" if order.channel_order_id
                                                      else "") + (" as a draft" if manual else ""),
                    f'{{"lines": {self._numbers(order)}}}')
        if rng.random() < P_NOTE:
            note_at = min(t + rng.uniform(600, 3 * DAY), 0.0)
            self._event(order, note_at, actors.staff, "note", rng.choice(catalogue.NOTES), None)

        if order.hold_reason:
            order.status, order.finalized = OrderStatus.FINALIZED, t
            self._event(order, t, None, "held", order.hold_reason, None)
            return self._emit(order)
        if manual:
            finalize_at = t + rng.uniform(300, 3 * HOUR)
            if (age < DRAFT_WINDOW and rng.random() < P_DRAFT) or finalize_at > 0:
                return self._emit(order)
            self._event(order, finalize_at, actors.staff, "finalized", "Finalized",
                        f'{{"lines": {self._numbers(order)}}}')
        else:
            finalize_at = t
        order.status, order.finalized = OrderStatus.FINALIZED, finalize_at
        order.updated = finalize_at

        if channel.kind in (ChannelKind.MANUAL, ChannelKind.API):
            if age < UNPAID_WINDOW and rng.random() < P_UNPAID:
                order.paid_at = math.inf
            elif rng.random() < P_PAYS_LATER:
                order.paid_at = finalize_at + rng.uniform(2 * HOUR, 4 * DAY)
            if order.paid_at is not None and order.paid_at > 0:
                order.payment_status = PaymentStatus.PENDING
        taken, short = self._allocate(order, finalize_at, creator)
        if taken or short:
            self._event(order, finalize_at, creator, "allocated",
                        f"Allocated {taken} unit(s)" + (f"; {short} backordered" if short else ""),
                        f'{{"lines": {self._numbers(order)}}}')

        void_at = finalize_at + rng.uniform(1200, 36 * HOUR)
        if rng.random() < P_VOID and void_at <= 0:
            order.status, order.voided, order.updated = OrderStatus.VOID, void_at, void_at
            order.void_reason = rng.choice(catalogue.VOID_REASONS)
            self._at(void_at, self._void, order)
            return self._emit(order)

        if order.payment_status is PaymentStatus.PAID and order.paid_at is not None:
            self._event(order, order.paid_at, actors.staff, "paid", "Payment received", None)
            order.updated = max(order.updated, order.paid_at)
        if short:
            order.pending = True
            self.pending.append(order)
            for line in order.lines:
                if line.product is not None and line.allocated < line.ordered:
                    line.product.queue.append((order, line))
                    line.product.backlog += line.ordered - line.allocated
            in_stock = [l for l in order.lines if l.allocated == l.ordered]
            if (in_stock and order.payment_status is PaymentStatus.PAID
                    and rng.random() < P_SHIP_AVAILABLE_FIRST):
                self._plan_shipping(order, self._ready_at(order, finalize_at), in_stock, split=False)
        elif order.payment_status is PaymentStatus.PAID:
            self._plan_shipping(order, self._ready_at(order, finalize_at), order.lines, split=True)
        self._emit(order)

    def _ready_at(self, order: _Order, allocated_at: float) -> float:
        return max(allocated_at, order.paid_at or allocated_at)

    def _on_filled(self, order: _Order, when: float) -> None:
        """A backordered order got its last units: ship the rest, if it is paid."""
        if order.payment_status is not PaymentStatus.PAID or order.status is not OrderStatus.FINALIZED:
            return
        rest = [l for l in order.lines if l.shipped < l.ordered]
        if rest:
            self._plan_shipping(order, self._ready_at(order, when), rest, split=False)

    def _add_lines(self, order: _Order) -> None:
        rng = self.rng
        wanted = self._pick(self.line_count_pick)
        chosen: list[SimProduct] = []
        for _ in range(wanted * 3):
            p = self._pick(self.product_pick)
            if p not in chosen:
                chosen.append(p)
                if len(chosen) == wanted:
                    break
        kind = order.channel.kind
        new_line_id = self.new_id["order_lines"]
        for p in chosen:
            line_id = new_line_id()
            quantity = self._pick(self.consumable_pick if p.demo.consumable else self.quantity_pick)
            order.lines.append(_Line(line_id, p, p.sku, p.name, quantity, p.price_cents, p.tax_rate_bp,
                                     self._channel_line_id(kind, line_id)))

    def _add_unknown_line(self, order: _Order) -> None:
        sku, name, price = self.rng.choice(catalogue.UNKNOWN_CHANNEL_SKUS)
        line_id = self.new_id["order_lines"]()
        order.lines.append(_Line(line_id, None, sku, name, 1, price, self.default_tax_bp,
                                 self._channel_line_id(order.channel.kind, line_id)))
        order.hold_reason = f"Unknown SKU {sku}: map it to a product, then release the order"

    def _set_totals(self, order: _Order) -> None:
        """As domain.orders.refresh_order works them out, plus a shipping charge by channel and speed."""
        order.subtotal = subtotal = sum(l.ordered * l.price for l in order.lines)
        order.tax = sum(line_tax_cents(l.ordered, l.price, l.tax_bp) for l in order.lines)
        kind, level = order.channel.kind, order.service_level
        if kind is ChannelKind.API:
            shipping = 0 if subtotal >= 7500 else 595
        elif kind is ChannelKind.MANUAL:
            shipping = 0 if subtotal >= 25000 else 995
        else:
            shipping = 0 if self.rng.random() < 0.7 else 499
        shipping += {"Standard": 0, "Expedited": 1200, "Overnight": 2900}[level]
        order.shipping_cents = shipping

    @staticmethod
    def _channel_order_id(kind: ChannelKind, order_id: int) -> str | None:
        if kind is ChannelKind.AMAZON:
            x = order_id * AMAZON_SCRAMBLE % 10**16
            return f"1{x // 10**14:02d}-{x // 10**7 % 10**7:07d}-{x % 10**7:07d}"
        if kind is ChannelKind.EBAY:
            x = 10**11 + order_id * EBAY_SCRAMBLE % (9 * 10**11)
            return f"{x // 10**10:02d}-{x // 10**5 % 10**5:05d}-{x % 10**5:05d}"
        if kind is ChannelKind.MANUAL:
            return None
        return f"WS-{1_000_000 + order_id}"

    @staticmethod
    def _channel_line_id(kind: ChannelKind, line_id: int) -> str | None:
        if kind is ChannelKind.AMAZON:
            return f"{(line_id * AMAZON_SCRAMBLE) % 10**14:014d}"
        if kind is ChannelKind.EBAY:
            return f"{10**11 + line_id * EBAY_SCRAMBLE % (9 * 10**11)}"
        if kind is ChannelKind.MANUAL:
            return None
        return f"li_{line_id}"

    # ------------------------------------------------------------------ shipping plans

    def _plan_shipping(self, order: _Order, ready: float, lines: list[_Line], *, split: bool) -> None:
        rng = self.rng
        groups = [lines]
        if split and len(lines) >= 2:
            bulky = [l for l in lines if l.product is not None and l.product.demo.bulky]
            if bulky and len(bulky) < len(lines) and rng.random() < P_SPLIT_BULKY:
                groups = [[l for l in lines if l not in bulky], bulky]
            elif rng.random() < P_SPLIT:
                cut = rng.randrange(1, len(lines))
                groups = [lines[:cut], lines[cut:]]
        r = rng.random
        for index, group in enumerate(groups):
            start = ready + ((1 + 5 * r()) * DAY if index else 0.0)
            pick = (1 + 19 * r()) * HOUR if r() < 0.8 else (20 + 40 * r()) * HOUR
            created = start + pick
            if created > 0:
                break  # not packed yet: the order waits on the board
            shipped = created + (0.5 + 7.5 * r()) * HOUR
            low, high = TRANSIT_DAYS[order.service_level]
            delivered = shipped + (low + (high - low) * r()) * DAY
            if shipped > 0:
                shipped = delivered = None
            elif delivered > 0:
                delivered = None
            items = [(line, line.ordered - line.shipped) for line in group if line.ordered > line.shipped]
            for line, quantity in items:
                line.shipped += quantity
            invoice_at = None
            if shipped is not None and (delivered is not None or r() < P_INVOICE_IN_TRANSIT):
                invoice_at = min(shipped + 60 + (2 * HOUR - 60) * r(), 0.0)
                for line, quantity in items:
                    line.invoiced += quantity
            carrier = self._pick(self.carrier_pick[order.service_level])
            plan = _Plan(order, items, created, shipped, delivered, carrier, self._tracking(carrier), invoice_at)
            order.shipments += 1
            if shipped is not None:
                order.handed_over += sum(quantity for _, quantity in items)
            order.updated = max(order.updated, created, shipped or created, delivered or created,
                                invoice_at or created)
            if delivered is not None:
                order.delivered += 1
                if order.last_plan is None or delivered > order.last_plan.delivered:
                    order.last_plan = plan
            self._at(created, self._pack, plan)
        if (order.delivered == order.shipments and order.last_plan is not None
                and all(l.shipped == l.ordered for l in order.lines)):
            order.status, order.fulfilled = OrderStatus.FULFILLED, order.last_plan.delivered
            order.last_plan.completes = True
        if not order.pending:
            order.last_plan = None  # order <-> plan is the one cycle: break it, the plan is complete

    def _tracking(self, carrier: str) -> str:
        bits = self.rng.getrandbits
        if carrier == "UPS":  # 1Z, six characters of shipper account, service 03, eight digits
            return f"1Z{bits(24):06X}03{bits(26) % 10**8:08d}"
        if carrier == "USPS":
            return f"9400{bits(60) % 10**18:018d}"
        return f"{10**11 + bits(40) % (9 * 10**11)}"

    def _pack(self, when: float, plan: _Plan) -> None:
        order, staff = plan.order, self.actors.staff
        plan.id = sid = self.new_id["shipments"]()
        status = "delivered" if plan.delivered is not None else "shipped" if plan.shipped is not None else "packed"
        ts = self.ts
        self.rows["shipments"].append((sid, order.id, status, plan.carrier, order.service_level, plan.tracking,
                                       staff, ts(plan.created), None if plan.shipped is None else ts(plan.shipped),
                                       None if plan.delivered is None else ts(plan.delivered)))
        units = 0
        new_line_id = self.new_id["shipment_lines"]
        for line, quantity in plan.items:
            self.rows["shipment_lines"].append((new_line_id(), sid, line.id, quantity))
            self._move(line.product, -quantity, -quantity, "ship", when, order_id=order.id, shipment_id=sid,
                       user_id=staff)
            line.shipped_now += quantity
            units += quantity
        self._event(order, when, staff, "shipment_created", f"SH-{sid:06d} packed: {units} unit(s)",
                    f'{{"shipment_id": {sid}, "lines": {self._numbers(order)}}}')
        if plan.shipped is not None:
            self._at(plan.shipped, self._hand_over, plan)
        if plan.invoice_at is not None:
            self._at(plan.invoice_at, self._invoice, plan)
        if plan.delivered is not None:
            self._at(plan.delivered, self._deliver, plan)

    def _hand_over(self, when: float, plan: _Plan) -> None:
        self._event(plan.order, when, self.actors.staff, "shipment_shipped",
                    f"SH-{plan.id:06d} handed to {plan.carrier}, tracking {plan.tracking}",
                    f'{{"shipment_id": {plan.id}}}')

    def _deliver(self, when: float, plan: _Plan) -> None:
        self._event(plan.order, when, None, "shipment_delivered", f"SH-{plan.id:06d} delivered",
                    f'{{"shipment_id": {plan.id}}}')
        if plan.completes:
            self._event(plan.order, when, None, "fulfilled", "Fulfilled: every unit delivered", None)

    def _invoice(self, when: float, plan: _Plan) -> None:
        order, staff = plan.order, self.actors.staff
        invoice_id = self.new_id["invoices"]()
        self.invoice_number += 1
        shipping = order.shipping_cents if order.invoices_issued == 0 else 0
        order.invoices_issued += 1
        subtotal = tax = units = 0
        new_line_id = self.new_id["invoice_lines"]
        for line, quantity in sorted(plan.items, key=lambda item: item[0].id):
            line_total = quantity * line.price
            # As invoicing.issue_invoice: the line's tax shared by units, so partial invoices add up to it.
            whole_tax = line_tax_cents(line.ordered, line.price, line.tax_bp)
            line_tax = (share(whole_tax, line.invoiced_now + quantity, line.ordered)
                        - share(whole_tax, line.invoiced_now, line.ordered))
            self.rows["invoice_lines"].append((new_line_id(), invoice_id, line.id, line.sku,
                                               line.name, quantity, line.price, line.tax_bp, line_total, line_tax))
            line.invoiced_now += quantity
            subtotal, tax, units = subtotal + line_total, tax + line_tax, units + quantity
        self.rows["invoices"].append((invoice_id, self.invoice_number, order.id, plan.id, "USD", subtotal, tax,
                                      shipping, subtotal + tax + shipping, staff, self.ts(when)))
        self._event(order, when, staff, "invoiced", f"INV-{self.invoice_number:07d} issued for {units} unit(s)",
                    f'{{"invoice_id": {invoice_id}}}')

    def _void(self, when: float, order: _Order) -> None:
        admin = self.actors.admin
        before = self._numbers(order)
        freed = []
        for line in order.lines:
            if line.product is not None and line.allocated:
                self._move(line.product, 0, -line.allocated, "release", when, order_id=order.id, user_id=admin)
                line.allocated = 0
                freed.append(line.product)
        self._event(order, when, admin, "voided", f"Voided: {order.void_reason}",
                    f'{{"before": {before}, "after": {self._numbers(order)}}}')
        for p in sorted(freed, key=lambda p: p.id):
            self._fill(p, when, admin)

    # ------------------------------------------------------------------ rows

    @staticmethod
    def _numbers(order: _Order) -> str:
        """The lines' numbers as JSON, as domain.events.line_numbers() records them (encoded by hand: this
        runs for most events, and the SKUs were JSON-encoded once up front)."""
        return "[" + ", ".join([
            '{"sku": %s, "ordered": %d, "allocated": %d, "shipped": %d, "invoiced": %d}'
            % (l.sku_json, l.ordered, l.allocated, l.shipped_now, l.invoiced_now) for l in order.lines]) + "]"

    def _event(self, order: _Order, when: float, user_id: int | None, kind: str, message: str,
               data: str | None) -> None:
        """An event of the order's timeline at `when`, `data` already JSON-encoded."""
        if when > self.clock:
            self._at(when, self._write_event, (order.id, user_id, kind, message, data))
        else:
            self.rows["order_events"].append((self.new_id["order_events"](), order.id, user_id, kind, message, data,
                                              self.ts(when)))

    def _write_event(self, when: float, event: tuple) -> None:
        order_id, user_id, kind, message, data = event
        self.rows["order_events"].append((self.new_id["order_events"](), order_id, user_id, kind, message, data,
                                          self.ts(when)))

    def _emit(self, order: _Order) -> None:
        """Write the order and its lines as they stand at the end (or, if still pending, as they stand now)."""
        ts = self.ts
        customer_id, name, email, ship_to, bill_to = order.customer
        void = order.status is OrderStatus.VOID
        subtotal, tax = order.subtotal, order.tax
        segment = Segment.VOID if void else segment_of(order, order.handed_over)  # type: ignore[arg-type]
        self.rows["orders"].append((
            order.id, order.channel.id, order.channel_order_id, order.status.value, order.payment_status.value,
            segment.value, order.hold_reason, customer_id, name, email, ship_to, bill_to, order.service_level,
            "USD", subtotal, tax, order.shipping_cents, subtotal + tax + order.shipping_cents, ts(order.created),
            ts(min(order.updated, 0.0)), _opt(ts, order.finalized), _opt(ts, order.fulfilled), _opt(ts, order.voided),
            order.void_reason, ts(self._ship_by(order))))
        for l in order.lines:
            self.rows["order_lines"].append((
                l.id, order.id, l.product.id if l.product is not None else None, l.sku, l.name, l.channel_line_id,
                l.ordered, 0 if void else l.allocated, l.shipped, l.invoiced, l.price, l.tax_bp))

    @staticmethod
    def _ship_by(order: _Order) -> float:
        """As domain.deadlines sets it: placed (a manual order: finalized) plus the channel's handling days;
        the orders of the last few days that are still open are then due today or late, as in a real shop."""
        placed = order.finalized if order.channel.kind is ChannelKind.MANUAL and order.finalized is not None \
            else order.created
        return placed + order.channel.handling_days * DAY

    def _write_final_state(self) -> None:
        """Orders that were still waiting when first written, legacy lines, stock, the invoice counter."""
        self.writer.flush()
        ts = self.ts
        self.writer.executemany(
            "UPDATE orders SET status = %s, payment_status = %s, segment = %s, fulfilled_at = %s, updated_at = %s "
            "WHERE id = %s",
            [(o.status.value, o.payment_status.value, segment_of(o, o.handed_over).value, _opt(ts, o.fulfilled),  # type: ignore
              ts(min(o.updated, 0.0)), o.id) for o in self.pending])
        self.writer.executemany(
            "UPDATE order_lines SET allocated = %s, shipped = %s, invoiced = %s WHERE id = %s",
            [(l.allocated, l.shipped, l.invoiced, l.id) for o in self.pending for l in o.lines])
        self.writer.executemany(
            "UPDATE order_lines SET allocated = %s WHERE id = %s",
            [(l.allocated, l.id) for l in self.legacy_lines.values()])
        self.writer.executemany(
            "UPDATE products SET stock_in_hand = stock_in_hand + %s, stock_committed = stock_committed + %s "
            "WHERE id = %s",
            [(p.in_hand - p.start_in_hand, p.committed - p.start_committed, p.id) for p in self.products])


def _opt(convert, value):
    return None if value is None else convert(value)
