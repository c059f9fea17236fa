"""The demo history's rows: timeline events at their time, orders and lines as they end, and the
final state of what was still waiting.
"""
from __future__ import annotations

from ..domain.segments import segment_of
from ..models import ChannelKind, OrderStatus, Segment
from .history_model import DAY, SimOrder


class Rows:
    """History's part that writes rows (a mixin: it uses History's writer, ids and clock)."""

    @staticmethod
    def _numbers(order: SimOrder) -> str:
        """The lines' numbers as JSON, as domain.events.line_numbers() records them (encoded by hand: this
        runs for most events, and the SKUs were JSON-encoded once up front)."""
        return "[" + ", ".join([
            '{"sku": %s, "ordered": %d, "allocated": %d, "shipped": %d, "invoiced": %d}'
            % (l.sku_json, l.ordered, l.allocated, l.shipped_now, l.invoiced_now) for l in order.lines]) + "]"

    def _event(self, order: SimOrder, when: float, user_id: int | None, kind: str, message: str,
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

    def _emit(self, order: SimOrder) -> None:
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
    def _ship_by(order: SimOrder) -> float:
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
