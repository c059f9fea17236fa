"""The demo history after an order is allocated: its parcels planned (packed, handed over, delivered),
invoiced, or the order voided, each written when the simulated clock reaches it.
"""
from __future__ import annotations

from ..domain import events
from ..domain.money import line_tax_cents, share
from ..models import OrderStatus
from .history_model import (DAY, HOUR, P_INVOICE_IN_TRANSIT, P_SPLIT, P_SPLIT_BULKY, TRANSIT_DAYS, Plan,
                            SimLine, SimOrder)


class Fulfilment:
    """History's part from packing on (a mixin: it uses History's clock, ids, rows and stock)."""

    def _plan_shipping(self, order: SimOrder, ready: float, lines: list[SimLine], *, split: bool) -> None:
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
            plan = Plan(order, items, created, shipped, delivered, carrier, self._tracking(carrier), invoice_at)
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

    def _pack(self, when: float, plan: Plan) -> None:
        order, staff = plan.order, self.actors.staff
        plan.id = sid = self.new_id["shipments"]()
        status = "delivered" if plan.delivered is not None else "shipped" if plan.shipped is not None else "packed"
        ts = self.ts
        self.rows["shipments"].append((sid, order.id, self.location_id, status, plan.carrier, order.service_level, plan.tracking,
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
        self._event(order, when, staff, events.SHIPMENT_CREATED, f"SH-{sid:06d} packed: {units} unit(s)",
                    f'{{"shipment_id": {sid}, "lines": {self._numbers(order)}}}')
        if plan.shipped is not None:
            self._at(plan.shipped, self._hand_over, plan)
        if plan.invoice_at is not None:
            self._at(plan.invoice_at, self._invoice, plan)
        if plan.delivered is not None:
            self._at(plan.delivered, self._deliver, plan)

    def _hand_over(self, when: float, plan: Plan) -> None:
        self._event(plan.order, when, self.actors.staff, events.SHIPMENT_SHIPPED,
                    f"SH-{plan.id:06d} handed to {plan.carrier}, tracking {plan.tracking}",
                    f'{{"shipment_id": {plan.id}}}')

    def _deliver(self, when: float, plan: Plan) -> None:
        self._event(plan.order, when, None, events.SHIPMENT_DELIVERED, f"SH-{plan.id:06d} delivered",
                    f'{{"shipment_id": {plan.id}}}')
        if plan.completes:
            self._event(plan.order, when, None, events.FULFILLED, events.FULFILLED_MESSAGE, None)

    def _invoice(self, when: float, plan: Plan) -> None:
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
        self._event(order, when, staff, events.INVOICED, f"INV-{self.invoice_number:07d} issued for {units} unit(s)",
                    f'{{"invoice_id": {invoice_id}}}')

    def _void(self, when: float, order: SimOrder) -> None:
        admin = self.actors.admin
        before = self._numbers(order)
        freed = []
        for line in order.lines:
            if line.product is not None and line.allocated:
                self._move(line.product, 0, -line.allocated, "release", when, order_id=order.id, user_id=admin)
                line.allocated = 0
                freed.append(line.product)
        self._event(order, when, admin, events.VOIDED, f"Voided: {order.void_reason}",
                    f'{{"before": {before}, "after": {self._numbers(order)}}}')
        for p in sorted(freed, key=lambda p: p.id):
            self._fill(p, when, admin)
