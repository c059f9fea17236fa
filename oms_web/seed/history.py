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

Here: the run, stock and an order's arrival; the simulated objects and the shares and delays are in
`history_model.py`, what follows an allocation (parcels, invoices, a void) in `history_fulfilment.py`,
the rows written (events, orders as they end) in `history_rows.py`.
"""
from __future__ import annotations

import gc
import heapq
import json
import math
import random
from bisect import bisect
from collections.abc import Callable
from datetime import datetime
from itertools import count

import sqlalchemy as sa

from ..domain import events
from ..domain.money import line_tax_cents
from ..domain.stock import plan_allocation
from ..models import ChannelKind, OrderStatus, PaymentStatus
from . import catalogue
from .bulk import BulkWriter
from .history_fulfilment import Fulfilment
from .history_model import (AMAZON_SCRAMBLE, CONSUMABLE_QUANTITIES, DAY, DRAFT_WINDOW, EBAY_SCRAMBLE,
                            HELD_WINDOW, HISTORY, HOUR, LINE_COUNTS, P_DRAFT, P_HELD, P_NOTE, P_PAYS_LATER,
                            P_SHIP_AVAILABLE_FIRST, P_UNPAID, P_VOID, QUANTITIES, ROWS_PER_ORDER,
                            UNPAID_WINDOW, Actors, Channel, HistoryResult, SimLine, SimOrder, SimProduct,
                            expected_daily_demand, weighted)
from .history_rows import Rows


class History(Fulfilment, Rows):
    """Simulate `count` orders over the last 90 days and write them (call `run`, then commit)."""

    def __init__(self, connection: sa.Connection, *, rng: random.Random, now: datetime, actors: Actors,
                 channels: list[Channel], products: list[SimProduct], default_tax_bp: int, location_id: int = 1):
        self.rng = rng
        self.location_id = location_id  # the simulation keeps one location's stock: the default one
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
        self.pending: list[SimOrder] = []
        self.legacy_lines: dict[int, SimLine] = {}
        self.legacy_orders: set[int] = set()
        self.invoice_number = 0
        self.po_number = 0
        self.customers: list[tuple] = []
        self.channel_pick = weighted([(c, c.share) for c in channels])
        self.product_pick = weighted([(p, p.demo.popularity) for p in products])
        self.line_count_pick = weighted(LINE_COUNTS)
        self.quantity_pick = weighted(QUANTITIES)
        self.consumable_pick = weighted(CONSUMABLE_QUANTITIES)
        self.service_pick = weighted(catalogue.SERVICE_LEVELS)
        self.carrier_pick = {level: weighted(carriers) for level, carriers in catalogue.CARRIERS.items()}

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
        self.rows["stock_ledger"].append((self.new_id["stock_ledger"](), p.id, self.location_id, in_hand, committed, reason, note,
                                          order_id, shipment_id, user_id, self.ts(when)))

    def _plan(self, p: SimProduct, need: int) -> int:
        """The units stock's one rule gives a line of `need` units of `p` at the simulated location."""
        takes = plan_allocation([(p.id, need)], [self.location_id], {(p.id, self.location_id): p.in_hand - p.committed})
        return sum(units for _, units in takes[0])

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
            take = self._plan(p, line.ordered - line.allocated)
            self._move(p, 0, take, "allocate", when, order_id=order.id, user_id=actor)
            line.allocated += take
            p.backlog -= take
            if line.allocated == line.ordered:
                queue.popleft()
            self._event(order, when, actor, events.ALLOCATED, events.freed_stock_message(line.sku),
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

    def _allocate(self, order: SimOrder, when: float, actor: int | None) -> tuple[int, int]:
        """Allocate a just-finalized order: (units taken, units backordered)."""
        taken = short = 0
        for line in order.lines:
            p = line.product
            if p is None:
                continue
            need = line.ordered - line.allocated
            if p.in_hand - p.committed < need and not p.demo.scarce:  # plentiful products: restocked just in time
                batch = math.ceil(p.rate * self.rng.uniform(14, 28) * DAY / 10) * 10
                self._receive(p, p.backlog + need - (p.in_hand - p.committed) + batch, when)
            take = self._plan(p, need)
            if take:
                self._move(p, 0, take, "allocate", when, order_id=order.id, user_id=actor)
                line.allocated += take
                taken += take
            short += need - take
        return taken, short

    def _load_backorders(self) -> None:
        """Lines already waiting for stock (from an earlier seed or real use) stay first in the queue."""
        by_id = {p.id: p for p in self.products}
        result = self.writer.connection.execute(sa.text(
            "SELECT l.id, l.order_id, l.product_id, l.sku, l.ordered, l.allocated, l.shipped, l.invoiced "
            "FROM order_lines l "
            "JOIN orders o ON o.id = l.order_id WHERE l.allocated < l.ordered AND l.product_id IS NOT NULL "
            "AND o.status = 'finalized' AND o.hold_reason IS NULL ORDER BY o.finalized_at, o.id, l.id"))
        orders: dict[int, SimOrder] = {}
        for line_id, order_id, product_id, sku, ordered, allocated, shipped, invoiced in result:
            p = by_id.get(product_id)
            if p is None:
                continue
            order = orders.get(order_id)
            if order is None:
                order = orders[order_id] = SimOrder(order_id, None)
                order.legacy = True
            line = SimLine(line_id, p, sku, sku, ordered, 0, 0, allocated=allocated)
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
        order = SimOrder(self.new_id["orders"](), channel)
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
        self._event(order, t, creator, events.CREATED,
                    f"Created from {channel.name}" + (f" order {order.channel_order_id}" if order.channel_order_id
                                                      else "") + (" as a draft" if manual else ""),
                    f'{{"lines": {self._numbers(order)}}}')
        if rng.random() < P_NOTE:
            note_at = min(t + rng.uniform(600, 3 * DAY), 0.0)
            self._event(order, note_at, actors.staff, events.NOTE, rng.choice(catalogue.NOTES), None)

        if order.hold_reason:
            order.status, order.finalized = OrderStatus.FINALIZED, t
            self._event(order, t, None, events.HELD, order.hold_reason, None)
            return self._emit(order)
        if manual:
            finalize_at = t + rng.uniform(300, 3 * HOUR)
            if (age < DRAFT_WINDOW and rng.random() < P_DRAFT) or finalize_at > 0:
                return self._emit(order)
            self._event(order, finalize_at, actors.staff, events.FINALIZED, "Finalized",
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
            self._event(order, finalize_at, creator, events.ALLOCATED,
                        events.allocated_message(taken, short),
                        f'{{"lines": {self._numbers(order)}}}')

        void_at = finalize_at + rng.uniform(1200, 36 * HOUR)
        if rng.random() < P_VOID and void_at <= 0:
            order.status, order.voided, order.updated = OrderStatus.VOID, void_at, void_at
            order.void_reason = rng.choice(catalogue.VOID_REASONS)
            self._at(void_at, self._void, order)
            return self._emit(order)

        if order.payment_status is PaymentStatus.PAID and order.paid_at is not None:
            self._event(order, order.paid_at, actors.staff, events.PAID, "Payment received", None)
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

    def _ready_at(self, order: SimOrder, allocated_at: float) -> float:
        return max(allocated_at, order.paid_at or allocated_at)

    def _on_filled(self, order: SimOrder, when: float) -> None:
        """A backordered order got its last units: ship the rest, if it is paid."""
        if order.payment_status is not PaymentStatus.PAID or order.status is not OrderStatus.FINALIZED:
            return
        rest = [l for l in order.lines if l.shipped < l.ordered]
        if rest:
            self._plan_shipping(order, self._ready_at(order, when), rest, split=False)

    def _add_lines(self, order: SimOrder) -> None:
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
            order.lines.append(SimLine(line_id, p, p.sku, p.name, quantity, p.price_cents, p.tax_rate_bp,
                                     self._channel_line_id(kind, line_id)))

    def _add_unknown_line(self, order: SimOrder) -> None:
        sku, name, price = self.rng.choice(catalogue.UNKNOWN_CHANNEL_SKUS)
        line_id = self.new_id["order_lines"]()
        order.lines.append(SimLine(line_id, None, sku, name, 1, price, self.default_tax_bp,
                                 self._channel_line_id(order.channel.kind, line_id)))
        order.hold_reason = f"Unknown SKU {sku}: map it to a product, then release the order"

    def _set_totals(self, order: SimOrder) -> None:
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
