"""Purchase orders: what we order from suppliers, and how it arrives.

A PO's life: draft (its lines are edited) → sent (ordered: its open units count as incoming) → partially
received → received (set by receiving itself) → closed (nothing more is expected), or cancelled (before
anything arrived). Managers create, edit, send, cancel and close; staff receive.

Receiving is the normal way stock arrives: each line's units go into the PO's destination through
stock.receive (a ledger row naming the PO) and fill the backorders that may use that location. Its locks
follow domain.locking's one order: the lines' products by id, the orders those units will fill, then the
PO itself, under whose lock its state and open quantities are read again, so that two receipts at the
same moment never receive the same units twice.

Drop-ship POs (add_to_drop_ship_po) are made as orders are finalized: one per supplier and shop day,
sent at once, one line per order line carrying the customer's ship-to. They are never received into our
stock (the supplier confirms the shipment instead).

The overview's "Reorder" (reorder_low_stock) drafts POs for the low-stock products, one per supplier.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from ..database import RetryTransaction, service
from ..extensions import db
from ..models import (Location, LocationKind, Order, Product, PurchaseOrder, PurchaseOrderLine, PurchaseOrderState,
                      Role, Supplier, SupplierProduct, User, utcnow)
from . import events, stock
from .errors import InvalidInput, InvalidState, NotFound, QuantityTooLarge, Shortfall
from .inventory import MAX_STOCK_QUANTITY, check_stock_quantity
from .locking import (lock_backorders_for_units, lock_destination, lock_products, lock_purchase_order,
                      lock_purchase_order_row, lock_supplier)
from .order_rules import fill_backorders_and_refresh, require_role
from .purchase_order_emails import queue_po_email
from .suppliers import check_cost

MAX_NOTES_LENGTH = PurchaseOrder.__table__.c.notes.type.length
MAX_LINES = 500  # lines on one purchase order: more is a slip (and a PDF no supplier reads)
FIRST_EXPECTED = date(2000, 1, 1)
LAST_EXPECTED = date(2100, 12, 31)
OPEN = (PurchaseOrderState.SENT, PurchaseOrderState.PARTIALLY_RECEIVED)
RECEIVABLE = (PurchaseOrderState.SENT, PurchaseOrderState.PARTIALLY_RECEIVED, PurchaseOrderState.RECEIVED)


def shop_today() -> date:
    """Today in the shop's time zone (OMS_TIMEZONE), as its staff count days."""
    from flask import current_app, has_app_context  # configuration only; no request state

    zone = current_app.config.get("OMS_TIMEZONE") if has_app_context() else None
    return datetime.now(zone if zone is not None and not isinstance(zone, str) else timezone.utc).date()


# --- Checks -----------------------------------------------------------------------------------------------

def check_expected(value: object) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput("The expected date is a date such as 2026-12-24", field="expected_on")
    if not FIRST_EXPECTED <= value <= LAST_EXPECTED:
        raise InvalidInput(f"The expected date must be between {FIRST_EXPECTED:%Y} and {LAST_EXPECTED:%Y}",
                           field="expected_on")
    return value


def _check_notes(notes: object) -> str | None:
    if notes is not None and not isinstance(notes, str):
        raise InvalidInput("The notes must be text", field="notes")
    text = (notes or "").strip()
    if len(text) > MAX_NOTES_LENGTH:
        raise InvalidInput(f"The notes have at most {MAX_NOTES_LENGTH:,} characters ({len(text):,} given)", field="notes")
    return text or None


def check_destination(location_id: object) -> Location:
    """Where a PO delivers: one of our active warehouses or 3PLs (a drop-ship supplier holds none of ours)."""
    if isinstance(location_id, bool) or not isinstance(location_id, int):
        raise InvalidInput("Choose where the goods are delivered", field="location")
    location = lock_destination(location_id)  # a location being deactivated is not delivered to meanwhile
    if location is None:
        raise InvalidInput("That location does not exist", field="location")
    if not location.kind.sells_from:
        raise InvalidInput(f"{location.name} is not one of our warehouses: deliver to a warehouse or 3PL",
                           field="location")
    if not location.active:
        raise InvalidInput(f"{location.name} is not active", field="location")
    return location


def destinations() -> list[Location]:
    """The locations a PO may deliver to, highest priority first (the form's choices)."""
    return list(db.session.scalars(sa.select(Location).where(
        Location.active, Location.kind.in_([k for k in LocationKind if k.sells_from]))
        .order_by(Location.priority.desc(), Location.id)))


STILL_TO_DELIVER = (PurchaseOrderState.DRAFT, *OPEN)


def purchase_orders_delivering_to(location_id: int) -> list[PurchaseOrder]:
    """The POs still to deliver to this location (draft, sent, partially received), oldest first: while any
    is, the location stays active. Drop-ship POs apart: their goods go to customers, and their open lines
    are the supplier location's allocations."""
    return list(db.session.scalars(sa.select(PurchaseOrder).where(
        PurchaseOrder.location_id == location_id, PurchaseOrder.state.in_(STILL_TO_DELIVER), ~PurchaseOrder.drop_ship)
        .order_by(PurchaseOrder.id)))


def _active_supplier(supplier_id: object) -> Supplier:
    if isinstance(supplier_id, bool) or not isinstance(supplier_id, int):
        raise InvalidInput("Choose a supplier", field="supplier")
    supplier = db.session.get(Supplier, supplier_id)
    if supplier is None:
        raise InvalidInput("That supplier does not exist", field="supplier")
    if not supplier.active:
        raise InvalidInput(f"{supplier.name} is not active: no new purchase orders", field="supplier")
    return supplier


def get_purchase_order(purchase_order_id: int) -> PurchaseOrder:
    found = db.session.get(PurchaseOrder, purchase_order_id)
    if found is None:
        raise NotFound(f"Purchase order {purchase_order_id} does not exist")
    return found


def _draft(purchase_order_id: int) -> PurchaseOrder:
    found = lock_purchase_order(purchase_order_id)
    if found.state is not PurchaseOrderState.DRAFT:
        raise InvalidState(f"{found.number} is {found.state.label.lower()}: only a draft can be changed")
    return found


# --- Drafting ---------------------------------------------------------------------------------------------

@service
def create_purchase_order(actor: User, supplier_id: int, location_id: int | None = None,
                          expected_on: date | None = None, notes: str | None = None) -> PurchaseOrder:
    """A new draft PO to an active supplier, delivered to one of our warehouses (the default one unless
    given); expected by the date given, else today plus the supplier's lead time.
    Raises NotAllowed below manager, InvalidInput for a bad supplier, location, date or notes."""
    require_role(actor, Role.MANAGER, "create purchase orders")
    supplier = _active_supplier(supplier_id)
    location = check_destination(location_id if location_id is not None else stock.default_location_id())
    expected_on = check_expected(expected_on)
    notes = _check_notes(notes)
    purchase_order = PurchaseOrder(supplier_id=supplier.id, location_id=location.id, state=PurchaseOrderState.DRAFT,
                                   expected_on=expected_on or shop_today() + timedelta(days=supplier.lead_time_days),
                                   notes=notes, created_by_id=actor.id)
    db.session.add(purchase_order)
    db.session.flush()
    return purchase_order


@service
def update_purchase_order(actor: User, purchase_order_id: int, location_id: int, expected_on: date | None,
                          notes: str | None) -> PurchaseOrder:
    """Change a draft's destination, expected date and notes. Raises InvalidState unless a draft."""
    require_role(actor, Role.MANAGER, "edit purchase orders")
    location = check_destination(location_id)
    expected_on = check_expected(expected_on)
    notes = _check_notes(notes)
    purchase_order = _draft(purchase_order_id)
    purchase_order.location_id, purchase_order.expected_on, purchase_order.notes = location.id, expected_on, notes
    return purchase_order


@service
def add_line(actor: User, purchase_order_id: int, sku: str, quantity: int,
             unit_cost_cents: int | None = None) -> PurchaseOrderLine:
    """Add units of a product (by our SKU) to a draft; its cost is the one given, else the supplier's
    (0 when the supplier has none). A product already on the draft gets the units added to its line.
    Raises InvalidInput for an unknown SKU, a quantity out of range or a negative cost."""
    require_role(actor, Role.MANAGER, "edit purchase orders")
    sku = (sku or "").strip() if isinstance(sku, str) else ""
    if not sku:
        raise InvalidInput("Enter the SKU of the product to order", field="sku")
    quantity = check_stock_quantity(quantity, field="quantity", label="Quantity", minimum=1)
    cost = check_cost(unit_cost_cents) if unit_cost_cents is not None else None
    product = db.session.scalar(sa.select(Product).where(Product.sku == sku[:200]))
    if product is None:
        raise InvalidInput(f"No product has the SKU {sku[:64]}", field="sku")
    purchase_order = _draft(purchase_order_id)
    line = next((l for l in purchase_order.lines if l.product_id == product.id), None)
    if line is None:
        if len(purchase_order.lines) >= MAX_LINES:
            raise InvalidInput(f"A purchase order has at most {MAX_LINES} lines", field="sku")
        if cost is None:
            cost = db.session.scalar(sa.select(SupplierProduct.unit_cost_cents).where(
                SupplierProduct.supplier_id == purchase_order.supplier_id, SupplierProduct.product_id == product.id)) or 0
        line = PurchaseOrderLine(product_id=product.id, quantity=quantity, unit_cost_cents=cost, received=0)
        purchase_order.lines.append(line)
    else:
        line.quantity = check_stock_quantity(line.quantity + quantity, field="quantity", label="The line's quantity", minimum=1)
        if cost is not None:
            line.unit_cost_cents = cost
    db.session.flush()
    return line


@service
def change_line(actor: User, purchase_order_id: int, line_id: int, quantity: int, unit_cost_cents: int) -> None:
    """Set a draft line's quantity (0 removes it) and unit cost. Raises InvalidInput for a quantity out of
    range, a negative cost or a line of another PO."""
    require_role(actor, Role.MANAGER, "edit purchase orders")
    quantity = check_stock_quantity(quantity, field="quantity", label="Quantity", minimum=0)
    cost = check_cost(unit_cost_cents)
    purchase_order = _draft(purchase_order_id)
    line = next((l for l in purchase_order.lines if l.id == line_id), None)
    if line is None:
        raise NotFound("That line is not on this purchase order")
    if quantity == 0:
        purchase_order.lines.remove(line)
    else:
        line.quantity, line.unit_cost_cents = quantity, cost


# --- Sending, cancelling, closing -------------------------------------------------------------------------

@service
def send_purchase_order(actor: User, purchase_order_id: int) -> PurchaseOrder:
    """Draft → sent: the supplier has it (emailed with its PDF when the supplier has an email), and its
    units count as incoming. Raises InvalidState for a PO that is not a draft or has no lines, InvalidInput
    when its supplier is no longer active."""
    require_role(actor, Role.MANAGER, "send purchase orders")
    purchase_order = _draft(purchase_order_id)
    if not purchase_order.lines:
        raise InvalidState(f"{purchase_order.number} has no lines: add what to order first", field="sku")
    if not purchase_order.supplier.active:
        raise InvalidInput(f"{purchase_order.supplier.name} is not active", field="supplier")
    purchase_order.state, purchase_order.sent_at = PurchaseOrderState.SENT, utcnow()
    queue_po_email(purchase_order, "sent")
    return purchase_order


@service
def cancel_purchase_order(actor: User, purchase_order_id: int) -> PurchaseOrder:
    """A draft or a sent PO of which nothing has arrived → cancelled. Raises InvalidState otherwise (a
    PO with units received is closed instead)."""
    require_role(actor, Role.MANAGER, "cancel purchase orders")
    purchase_order = lock_purchase_order(purchase_order_id)
    if purchase_order.drop_ship:
        raise InvalidState(f"{purchase_order.number} is a drop-ship PO: its orders' lines are on it")
    if purchase_order.state not in (PurchaseOrderState.DRAFT, PurchaseOrderState.SENT) or any(
            line.received for line in purchase_order.lines):
        raise InvalidState(f"{purchase_order.number} is {purchase_order.state.label.lower()}: "
                           "only a draft or a sent PO with nothing received can be cancelled; close it instead")
    purchase_order.state, purchase_order.closed_at = PurchaseOrderState.CANCELLED, utcnow()
    return purchase_order


@service
def close_purchase_order(actor: User, purchase_order_id: int) -> PurchaseOrder:
    """A sent or (partly) received PO → closed: nothing more is expected, its open units no longer count
    as incoming. Raises InvalidState for a draft (cancel it), a cancelled or a closed PO."""
    require_role(actor, Role.MANAGER, "close purchase orders")
    purchase_order = lock_purchase_order(purchase_order_id)
    if purchase_order.state not in RECEIVABLE:
        raise InvalidState(f"{purchase_order.number} is {purchase_order.state.label.lower()}: "
                           "only a sent or received PO can be closed")
    purchase_order.state, purchase_order.closed_at = PurchaseOrderState.CLOSED, utcnow()
    return purchase_order


# --- Receiving --------------------------------------------------------------------------------------------

def _check_receivable(purchase_order: PurchaseOrder) -> None:
    if purchase_order.drop_ship:
        raise InvalidState(f"{purchase_order.number} is a drop-ship PO: its supplier ships to the customers, "
                           "nothing arrives here")
    if purchase_order.state not in RECEIVABLE:
        raise InvalidState(f"{purchase_order.number} is {purchase_order.state.label.lower()}: "
                           "only a sent PO can be received")


def receipt_field(line_id: int) -> str:
    """The name of a line's "units arrived now" field (the screen's and the refusals')."""
    return f"units_{line_id}"


@service
def receive_purchase_order(actor: User, purchase_order_id: int, units: Mapping[int, int], *,
                           over_receipt: bool = False, note: str | None = None) -> PurchaseOrder:
    """Units of a sent PO arrived (`units`: per PO line id, the units arrived now; 0 or absent for none):
    each line's units go into the PO's destination (a ledger row naming the PO), its received count
    rises, the PO becomes partially received or received, and the units fill backorders that may use
    that location, oldest first.

    More than a line still has open is refused (QuantityTooLarge, every such line listed) unless
    `over_receipt` confirms it. Raises NotAllowed below staff, InvalidState for a draft, cancelled,
    closed or drop-ship PO, InvalidInput for a bad quantity or a line of another PO."""
    require_role(actor, Role.STAFF, "receive purchase orders")
    arrived: dict[int, int] = {}
    for line_id, count in units.items():
        count = check_stock_quantity(count, field=receipt_field(line_id), label="Units arrived", minimum=0)
        if count:
            arrived[line_id] = count
    if not arrived:
        raise InvalidInput("Enter the units that arrived on at least one line", field="units")
    note = (note or "").strip()[:300] or None

    # A read, to know what to lock: the lines' products and where they go.
    purchase_order = get_purchase_order(purchase_order_id)
    _check_receivable(purchase_order)
    product_of = {line.id: line.product_id for line in purchase_order.lines}
    unknown = set(arrived) - product_of.keys()
    if unknown:
        raise InvalidInput("That line is not on this purchase order", field=receipt_field(min(unknown)))
    location_id = purchase_order.location_id
    incoming: dict[int, int] = defaultdict(int)
    for line_id, count in arrived.items():
        incoming[product_of[line_id]] += count
    products = lock_products(incoming)
    lock_backorders_for_units({product_id: {location_id: count} for product_id, count in incoming.items()})
    purchase_order = lock_purchase_order(purchase_order_id)

    # Again under the lock: another receipt may have come first.
    _check_receivable(purchase_order)
    lines = {line.id: line for line in purchase_order.lines}
    if purchase_order.location_id != location_id or any(
            lines.get(line_id) is None or lines[line_id].product_id != product_of[line_id] for line_id in arrived):
        raise RetryTransaction()
    over = [(lines[line_id], count) for line_id, count in sorted(arrived.items()) if count > lines[line_id].still_open]
    if over and not over_receipt:
        first = over[0][0]
        raise QuantityTooLarge(
            "More than is still open on the purchase order (tick “confirm over-receipt” to receive it anyway)",
            [Shortfall(line.product.sku, count, line.still_open) for line, count in over], field=receipt_field(first.id))
    for line_id, count in sorted(arrived.items()):
        line = lines[line_id]
        stock.receive(products[line.product_id], count, actor, note or purchase_order.number, location_id,
                      reason="receive", purchase_order_id=purchase_order.id)
        line.received = line.received + count
    purchase_order.state = (PurchaseOrderState.RECEIVED if all(l.received >= l.quantity for l in purchase_order.lines)
                            else PurchaseOrderState.PARTIALLY_RECEIVED)
    fill_backorders_and_refresh(set(incoming), actor)
    return purchase_order


# --- What is on order -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OnOrder:
    units: int
    expected_on: date | None  # the earliest of the open POs that carry them


def on_order(product_ids: Iterable[int]) -> dict[int, OnOrder]:
    """Per product, the units still open on sent POs (ordered − received, a line over-received counting
    none) and the earliest expected date among them. Drop-ship POs bring nothing here."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(PurchaseOrderLine.product_id, sa.func.sum(PurchaseOrderLine.quantity - PurchaseOrderLine.received),
                  sa.func.min(PurchaseOrder.expected_on))
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrderLine.product_id.in_(ids), PurchaseOrder.state.in_(OPEN), ~PurchaseOrder.drop_ship,
               PurchaseOrderLine.quantity > PurchaseOrderLine.received)
        .group_by(PurchaseOrderLine.product_id)).all()
    return {product_id: OnOrder(int(units), expected) for product_id, units, expected in rows}


# --- Drop shipping ----------------------------------------------------------------------------------------

def add_to_drop_ship_po(order: Order, actor: User | None) -> list[PurchaseOrder]:
    """Put the order's drop-ship units not yet on a drop-ship PO onto that day's drop-ship PO of each
    supplier (made, sent, when it is the day's first): one PO line per order line, with the order's
    ship-to and the order line. Runs in the caller's transaction, after the order's allocation, with the
    order (and its products) locked; locks the suppliers, then makes or adds to their POs.
    Returns the POs added to. A drop-ship location with no supplier gets no PO."""
    lines = [line for line in order.lines if line.drop_ship and line.product_id is not None]
    if not lines:
        return []
    wanted: dict[int, dict[int, int]] = defaultdict(dict)  # location -> order line id -> units allocated there
    for line in lines:
        for allocation in line.allocations:
            if allocation.allocated > 0 and stock.kind_of(allocation.location_id) is LocationKind.DROP_SHIP:
                wanted[allocation.location_id][line.id] = allocation.allocated
    if not wanted:
        return []
    ordered = dict(db.session.execute(
        sa.select(PurchaseOrderLine.order_line_id, sa.func.sum(PurchaseOrderLine.quantity - PurchaseOrderLine.cancelled))
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrderLine.order_line_id.in_([line.id for line in lines]), PurchaseOrder.drop_ship,
               PurchaseOrder.state != PurchaseOrderState.CANCELLED)
        .group_by(PurchaseOrderLine.order_line_id)).all())
    supplier_of = dict(db.session.execute(sa.select(Location.id, Location.supplier_id)
                                          .where(Location.id.in_(list(wanted)))).all())
    by_supplier: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # supplier -> (location, line, units)
    for location_id, units_of in sorted(wanted.items()):
        supplier_id = supplier_of.get(location_id)
        if supplier_id is None:
            continue
        for line_id, units in sorted(units_of.items()):
            missing = units - int(ordered.pop(line_id, 0) or 0)
            if missing > 0:
                by_supplier[supplier_id].append((location_id, line_id, missing))
    line_of = {line.id: line for line in lines}
    day, touched = shop_today(), []
    for supplier_id in sorted(by_supplier):
        supplier = lock_supplier(supplier_id)
        purchase_order = db.session.scalar(sa.select(PurchaseOrder).where(
            PurchaseOrder.supplier_id == supplier_id, PurchaseOrder.drop_ship_day == day))
        is_new = purchase_order is None
        if purchase_order is None:
            purchase_order = PurchaseOrder(
                supplier_id=supplier_id, location_id=by_supplier[supplier_id][0][0], state=PurchaseOrderState.SENT,
                drop_ship=True, drop_ship_day=day, expected_on=day + timedelta(days=supplier.lead_time_days),
                notes=f"Drop-ship orders of {day:%d %b %Y}: ship each line to the address given", sent_at=utcnow(),
                created_by_id=actor.id if actor else None)
            db.session.add(purchase_order)
            db.session.flush()
        else:
            # Its row only: the day's lines are not read (a busy day's PO grows by a line per order).
            lock_purchase_order_row(purchase_order.id)
        costs = dict(db.session.execute(sa.select(SupplierProduct.product_id, SupplierProduct.unit_cost_cents).where(
            SupplierProduct.supplier_id == supplier_id,
            SupplierProduct.product_id.in_([line_of[line_id].product_id for _, line_id, _ in by_supplier[supplier_id]]))).all())
        added = []
        for _, line_id, units in by_supplier[supplier_id]:
            line = line_of[line_id]
            db.session.add(PurchaseOrderLine(
                purchase_order_id=purchase_order.id, product_id=line.product_id, quantity=units,
                unit_cost_cents=costs.get(line.product_id, 0), received=0, order_line_id=line.id,
                ship_to=order.ship_to or {"name": order.customer_name}))
            added.append({"sku": line.sku, "units": units})
        db.session.flush()
        events.drop_ship_ordered(order, actor, purchase_order.number, supplier.name, added)
        what = ", ".join(f"{line['units']} × {line['sku']}" for line in added)
        queue_po_email(purchase_order, "sent" if is_new else "changed",
                       f"{'Added' if not is_new else 'For'} our order {order.number}: {what}")
        touched.append(purchase_order)
    return touched


def add_drop_ship_orders(order_ids: Iterable[int], actor: User | None) -> None:
    """add_to_drop_ship_po for orders just made by a batch (domain.batch_intake), in id order."""
    for order_id in sorted(set(order_ids)):
        order = db.session.get(Order, order_id)
        if order is not None:
            add_to_drop_ship_po(order, actor)


# --- Reordering -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reorder:
    drafts: list[PurchaseOrder]  # the drafts made or added to
    skipped: list[str]  # SKUs of low-stock products no supplier sells us
    already: list[str] = field(default_factory=list)  # SKUs whose units are on order or on drafts already


REORDER_AT_MOST = 2_000  # low-stock products drafted in one go
REORDER_NOTE = "Reorder of low stock"


def _drafted(supplier_ids: Iterable[int], product_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Units on draft POs per (supplier, product): already being reordered."""
    return {(supplier_id, product_id): int(units) for supplier_id, product_id, units in db.session.execute(
        sa.select(PurchaseOrder.supplier_id, PurchaseOrderLine.product_id, sa.func.sum(PurchaseOrderLine.quantity))
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrder.state == PurchaseOrderState.DRAFT, PurchaseOrder.supplier_id.in_(sorted(set(supplier_ids))),
               PurchaseOrderLine.product_id.in_(sorted(set(product_ids))))
        .group_by(PurchaseOrder.supplier_id, PurchaseOrderLine.product_id))}


@service
def reorder_low_stock(actor: User) -> Reorder:
    """Draft POs for the products at or below their reorder point, one per supplier (each product's
    cheapest active supplier), delivered to the default location: reorder point × 2 − available (at
    least 1) of each, less its units on the way (sent POs) and on that supplier's drafts; they go on the
    supplier's newest reorder draft, else a new one. Clicked twice, the second adds nothing and lists
    those products as already reordered. Products no supplier sells are listed as skipped.
    Raises NotAllowed below manager."""
    require_role(actor, Role.MANAGER, "reorder stock")
    low = db.session.execute(
        sa.select(Product.id, Product.sku, Product.reorder_point, Product.stock_in_hand - Product.stock_committed)
        .where(Product.is_low_stock).order_by(Product.id).limit(REORDER_AT_MOST)).all()
    if not low:
        return Reorder([], [])
    ids = [row[0] for row in low]
    cheapest: dict[int, tuple[int, int]] = {}  # product -> (supplier, unit cost)
    for product_id, supplier_id, cost in db.session.execute(
            sa.select(SupplierProduct.product_id, SupplierProduct.supplier_id, SupplierProduct.unit_cost_cents)
            .join(Supplier, Supplier.id == SupplierProduct.supplier_id)
            .where(Supplier.active, SupplierProduct.product_id.in_(ids))
            .order_by(SupplierProduct.product_id, SupplierProduct.unit_cost_cents, SupplierProduct.supplier_id)):
        cheapest.setdefault(product_id, (supplier_id, cost))
    # Each supplier's drafts are read under its lock: two clicks at once draft each unit once.
    for supplier_id in sorted({supplier_id for supplier_id, _ in cheapest.values()}):
        lock_supplier(supplier_id)
    drafted = _drafted({supplier_id for supplier_id, _ in cheapest.values()}, cheapest)
    incoming = on_order(ids)
    location_id = stock.default_location_id()
    per_supplier: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # supplier -> (product, units, cost)
    skipped, already = [], []
    for product_id, sku, reorder_point, available in low:
        if product_id not in cheapest:
            skipped.append(sku)
            continue
        supplier_id, cost = cheapest[product_id]
        on_way = incoming[product_id].units if product_id in incoming else 0
        quantity = min(max(reorder_point * 2 - available, 1), MAX_STOCK_QUANTITY) - on_way \
            - drafted.get((supplier_id, product_id), 0)
        if quantity <= 0:
            already.append(sku)
            continue
        per_supplier[supplier_id].append((product_id, quantity, cost))
    today, drafts = shop_today(), []
    for supplier_id, wanted in sorted(per_supplier.items()):
        supplier = db.session.get(Supplier, supplier_id)
        draft_id = db.session.scalar(sa.select(sa.func.max(PurchaseOrder.id)).where(
            PurchaseOrder.supplier_id == supplier_id, PurchaseOrder.state == PurchaseOrderState.DRAFT,
            PurchaseOrder.notes == REORDER_NOTE))
        if draft_id is not None:
            purchase_order = lock_purchase_order(draft_id)
        else:
            purchase_order = PurchaseOrder(supplier_id=supplier_id, location_id=location_id,
                                           state=PurchaseOrderState.DRAFT,
                                           expected_on=today + timedelta(days=supplier.lead_time_days),
                                           notes=REORDER_NOTE, created_by_id=actor.id)
            db.session.add(purchase_order)
        drafts.append(purchase_order)
        lines = {line.product_id: line for line in purchase_order.lines}
        for product_id, quantity, cost in wanted:
            line = lines.get(product_id)
            if line is not None:
                line.quantity = min(line.quantity + quantity, MAX_STOCK_QUANTITY)
                continue
            if len(purchase_order.lines) >= MAX_LINES:  # a full draft: the rest on a new one
                purchase_order = PurchaseOrder(supplier_id=supplier_id, location_id=location_id,
                                               state=PurchaseOrderState.DRAFT,
                                               expected_on=today + timedelta(days=supplier.lead_time_days),
                                               notes=REORDER_NOTE, created_by_id=actor.id)
                db.session.add(purchase_order)
                drafts.append(purchase_order)
            purchase_order.lines.append(PurchaseOrderLine(product_id=product_id, quantity=quantity,
                                                          unit_cost_cents=cost, received=0))
    db.session.flush()
    return Reorder(drafts, skipped, already)
