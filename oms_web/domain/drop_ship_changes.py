"""A drop-ship order changes after its lines went on the supplier's drop-ship PO: a line's quantity is cut,
or the order is voided. The units no longer wanted are taken off the PO in the same transaction.

A drop-ship PO is sent when it is made, so its lines are never shrunk: each PO line keeps the quantity
first ordered and counts the units taken off in `cancelled`, which the PO page and PDF show, and the
supplier is emailed the change. The supplier's page (domain.drop_ship) offers only what is still allocated
at its location, so a cut line shows there with what is left, and a voided order is refused.

Locks (domain.locking's one order): the caller holds the order's products and the order; the POs carrying
its lines are locked after them, in id order. A PO's lines of one order change only under that order's
lock (the drop-ship path adds them under it too), so only the PO rows are locked here, never all of a
busy day's lines.
"""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from ..extensions import db
from ..models import (Location, LocationKind, Order, OrderStatus, PurchaseOrder, PurchaseOrderLine, PurchaseOrderState,
                      User)
from . import events
from .locking import lock_purchase_order_row
from .purchase_order_emails import queue_po_email


def units_wanted(order: Order) -> dict[tuple[int, int], int]:
    """Per (order line id, supplier id): the units the order still wants from that drop-ship supplier
    (allocated at its drop-ship locations, shipped ones included)."""
    supplier_of = dict(db.session.execute(sa.select(Location.id, Location.supplier_id).where(
        Location.kind == LocationKind.DROP_SHIP, Location.supplier_id.is_not(None))).all())
    wanted: dict[tuple[int, int], int] = defaultdict(int)
    for line in order.lines:
        for allocation in line.allocations:
            supplier_id = supplier_of.get(allocation.location_id)
            if supplier_id is not None and allocation.allocated > 0:
                wanted[(line.id, supplier_id)] += allocation.allocated
    return wanted


def on_drop_ship_pos(order_line_ids: list[int]) -> set[int]:
    """The order lines (of those given) that are on a drop-ship PO: kept, at 0, when removed from an order."""
    return set(db.session.scalars(sa.select(PurchaseOrderLine.order_line_id).where(
        PurchaseOrderLine.order_line_id.in_(order_line_ids))))


def take_off_drop_ship_pos(order: Order, actor: User | None) -> list[PurchaseOrder]:
    """Take the units the order no longer wants off the drop-ship POs its lines are on (newest PO line
    first): each such PO line's `cancelled` rises, an event goes on the order's timeline, and the supplier
    is emailed the change. Runs in the caller's transaction after its release, with the order and its
    products locked. Returns the POs changed."""
    line_ids = [line.id for line in order.lines]
    if not line_ids:
        return []
    on_pos = db.session.execute(
        sa.select(PurchaseOrderLine.id, PurchaseOrder.id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrderLine.order_line_id.in_(line_ids), PurchaseOrder.drop_ship,
               PurchaseOrder.state != PurchaseOrderState.CANCELLED,
               PurchaseOrderLine.quantity > PurchaseOrderLine.cancelled)).all()
    if not on_pos:
        return []
    for purchase_order_id in sorted({po_id for _, po_id in on_pos}):
        lock_purchase_order_row(purchase_order_id)
    po_lines = db.session.scalars(
        sa.select(PurchaseOrderLine).where(PurchaseOrderLine.id.in_([line_id for line_id, _ in on_pos]))
        .order_by(PurchaseOrderLine.id.desc()).execution_options(populate_existing=True)).all()
    wanted = units_wanted(order)
    ordered: dict[tuple[int, int], int] = defaultdict(int)
    for po_line in po_lines:
        ordered[(po_line.order_line_id, po_line.purchase_order.supplier_id)] += po_line.ordered
    sku_of = {line.id: line.sku for line in order.lines}
    taken: dict[int, list[dict]] = defaultdict(list)  # PO id -> what was taken off it
    for po_line in po_lines:  # newest first: the last units ordered are the first taken off
        key = (po_line.order_line_id, po_line.purchase_order.supplier_id)
        excess = ordered[key] - wanted.get(key, 0)
        units = min(excess, po_line.ordered)
        if units <= 0:
            continue
        po_line.cancelled = po_line.cancelled + units
        ordered[key] -= units
        taken[po_line.purchase_order_id].append({"sku": sku_of.get(po_line.order_line_id, po_line.product.sku),
                                                 "units": units})
    changed = []
    for purchase_order_id in sorted(taken):
        purchase_order = db.session.get(PurchaseOrder, purchase_order_id)
        lines = taken[purchase_order_id]
        events.drop_ship_cancelled(order, actor, purchase_order.number, purchase_order.supplier.name, lines)
        what = ", ".join(f"{line['units']} × {line['sku']}" for line in lines)
        queue_po_email(purchase_order, "changed",
                       f"Cancelled for our order {order.number}: {what}. Do not ship these units"
                       + (" (the order was cancelled)." if order.status is OrderStatus.VOID else "."))
        changed.append(purchase_order)
    db.session.flush()
    return changed
