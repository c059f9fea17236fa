"""The SPEC's stock invariants, checked against the database as it is (used by check-stock and the tests).

1. 0 <= committed <= in hand for every product.
2. committed = sum(allocated - shipped) over the product's lines on Finalized orders.
3. every line: 0 <= shipped <= allocated <= ordered, and invoiced <= shipped; its shipped count is the
   units of it in shipments not cancelled.
4. in hand and committed each equal the sum of the product's ledger deltas.
5. invoice numbers are unique and gapless, in issue order.
6. 1, 2 and 4 per (product, location); a line's allocated and shipped are its allocations' sums; a
   product's figures are the sums of its sell-from locations'.
7. (its money part) a wholly invoiced order's invoices add up to its total and its tax exactly.
8. every invoiced unit is covered by exactly one invoice: a line's invoiced units are the units its
   invoices cover on shipments (a whole shipment, or a rest-of-order invoice's units), never more of a
   shipment line than it shipped.
Also checked, since the supplier works from it: every drop-ship order line's units still open on its
supplier's drop-ship POs are the units allocated to it at drop-ship locations and not yet shipped there.
And, since the board and the overview rely on them: each order's stored segment, the segment
counts and the orders per hour and channel.

Every check is an aggregate in SQL or a walk in batches, so memory stays bounded at any size.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import sqlalchemy as sa

from ..extensions import db
from ..models import (HANDED_OVER, Invoice, InvoicedShipmentUnits, LineAllocation, Location, LocationKind,
                      LocationStock, Order, OrderLine, OrderStatus, Product, PurchaseOrder, PurchaseOrderLine,
                      PurchaseOrderState, ReturnLine, SegmentCount, Shipment, ShipmentLine, ShipmentStatus,
                      StockMove)
from .hourly_counts import miscounted_hours, start_of_hour
from .segments import lines_with_a_wrong_open_flag, segment_of


@dataclass(frozen=True)
class Violation:
    rule: str
    where: str
    expected: object
    found: object

    def __str__(self) -> str:
        return f"[{self.rule}] {self.where}: expected {self.expected}, found {self.found}"


def check_invariants(*, segments: bool = True) -> list[Violation]:
    found: list[Violation] = []
    session = db.session
    # Only our own stock's allocations are committed units (a drop-ship line's are its supplier's).
    open_committed = dict(session.execute(
        sa.select(OrderLine.product_id, sa.func.sum(LineAllocation.allocated - LineAllocation.shipped))
        .join(Order, Order.id == OrderLine.order_id)
        .join(LineAllocation, LineAllocation.order_line_id == OrderLine.id)
        .join(Location, Location.id == LineAllocation.location_id)
        .where(Order.status == OrderStatus.FINALIZED, OrderLine.product_id.is_not(None),
               Location.kind.in_(SELLS_FROM))
        .group_by(OrderLine.product_id)).all())
    found.extend(_check_locations())
    found.extend(_check_transfers())
    found.extend(check_drop_ship_pos())
    ledger = {pid: (h, c) for pid, h, c in session.execute(
        sa.select(StockMove.product_id, sa.func.sum(StockMove.in_hand_delta), sa.func.sum(StockMove.committed_delta))
        .join(Location, Location.id == StockMove.location_id).where(Location.kind.in_(SELLS_FROM))
        .group_by(StockMove.product_id))}
    for pid, sku, in_hand, committed in session.execute(
            sa.select(Product.id, Product.sku, Product.stock_in_hand, Product.stock_committed).order_by(Product.id)):
        where = f"product {sku}"
        if not 0 <= committed <= in_hand:
            found.append(Violation("1 never oversold", where, f"0 <= committed <= in hand ({in_hand})", committed))
        expected = int(open_committed.get(pid) or 0)
        if committed != expected:
            found.append(Violation("2 committed = open allocations", where, expected, committed))
        ledger_hand, ledger_committed = ledger.get(pid, (0, 0))
        if in_hand != int(ledger_hand or 0):
            found.append(Violation("4 in hand = ledger", where, int(ledger_hand or 0), in_hand))
        if committed != int(ledger_committed or 0):
            found.append(Violation("4 committed = ledger", where, int(ledger_committed or 0), committed))

    bad_lines = session.execute(
        sa.select(OrderLine.id, OrderLine.order_id, OrderLine.sku, OrderLine.ordered, OrderLine.allocated,
                  OrderLine.shipped, OrderLine.invoiced)
        .where(sa.or_(OrderLine.shipped < 0, OrderLine.shipped > OrderLine.allocated,
                      OrderLine.allocated > OrderLine.ordered, OrderLine.invoiced > OrderLine.shipped,
                      OrderLine.invoiced < 0)))
    for line_id, order_id, sku, ordered, allocated, shipped, invoiced in bad_lines:
        found.append(Violation("3 line quantities", f"order {order_id} line {line_id} ({sku})",
                               "0 <= shipped <= allocated <= ordered, invoiced <= shipped",
                               f"ordered {ordered}, allocated {allocated}, shipped {shipped}, invoiced {invoiced}"))

    in_parcels = (sa.select(ShipmentLine.order_line_id, sa.func.sum(ShipmentLine.quantity).label("units"))
                  .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
                  .where(Shipment.status != ShipmentStatus.CANCELLED)
                  .group_by(ShipmentLine.order_line_id).subquery())
    for line_id, order_id, sku, shipped, units in session.execute(
            sa.select(OrderLine.id, OrderLine.order_id, OrderLine.sku, OrderLine.shipped,
                      sa.func.coalesce(in_parcels.c.units, 0))
            .outerjoin(in_parcels, in_parcels.c.order_line_id == OrderLine.id)
            .where(OrderLine.shipped != sa.func.coalesce(in_parcels.c.units, 0)).limit(20)):
        found.append(Violation("3 shipped = units in parcels", f"order {order_id} line {line_id} ({sku})",
                               int(units), shipped))

    # The database numbers the invoices in issue order, so only the first misfit comes back.
    position = sa.func.row_number().over(order_by=Invoice.id)
    numbered = sa.select(position.label("position"), Invoice.number).subquery()
    misfit = session.execute(sa.select(numbered.c.position, numbered.c.number)
                             .where(numbered.c.position != numbered.c.number)
                             .order_by(numbered.c.position).limit(1)).first()
    if misfit is not None:
        found.append(Violation("5 gapless invoice numbers", f"invoice #{misfit[0]} in issue order", misfit[0], misfit[1]))

    found.extend(_check_invoiced_money())
    found.extend(check_invoice_coverage())
    found.extend(check_credit_notes())
    found.extend(check_returns())
    if segments:
        found.extend(_check_segments())
        found.extend(_check_hourly_counts())
    found.extend(Violation("line's copy of its order's state", f"order {order_id} line {line_id}",
                           "open" if not flag else "not open", "open" if flag else "not open")
                 for line_id, order_id, flag in lines_with_a_wrong_open_flag())
    return found


SELLS_FROM = [kind for kind in LocationKind if kind.sells_from]


def _check_locations() -> list[Violation]:
    """Rule 6: 1, 2 and 4 at every (product, location); lines against their allocations; products'
    figures against their locations'."""
    found: list[Violation] = []
    session = db.session
    committed_at = {(p, l): int(units or 0) for p, l, units in session.execute(
        sa.select(OrderLine.product_id, LineAllocation.location_id,
                  sa.func.sum(LineAllocation.allocated - LineAllocation.shipped))
        .join(Order, Order.id == OrderLine.order_id).join(LineAllocation, LineAllocation.order_line_id == OrderLine.id)
        .where(Order.status == OrderStatus.FINALIZED, OrderLine.product_id.is_not(None))
        .group_by(OrderLine.product_id, LineAllocation.location_id))}
    ledger_at = {(p, l): (int(h or 0), int(c or 0)) for p, l, h, c in session.execute(
        sa.select(StockMove.product_id, StockMove.location_id, sa.func.sum(StockMove.in_hand_delta),
                  sa.func.sum(StockMove.committed_delta)).group_by(StockMove.product_id, StockMove.location_id))}
    kinds = dict(session.execute(sa.select(Location.id, Location.kind)).all())
    rows = {(p, l): (h, c) for p, l, h, c in session.execute(
        sa.select(LocationStock.product_id, LocationStock.location_id, LocationStock.in_hand, LocationStock.committed))}
    for key in sorted(set(rows) | set(ledger_at) | {k for k, units in committed_at.items()
                                                    if units and kinds.get(k[1]) is not LocationKind.DROP_SHIP}):
        product_id, location_id = key
        where = f"product {product_id} at location {location_id}"
        in_hand, committed = rows.get(key, (0, 0))
        if kinds.get(location_id) is LocationKind.DROP_SHIP:
            if key in rows or key in ledger_at:
                found.append(Violation("6 drop-ship holds none of ours", where, "no stock row", (in_hand, committed)))
            continue
        if not 0 <= committed <= in_hand:
            found.append(Violation("6 never oversold at a location", where, f"0 <= committed <= in hand ({in_hand})",
                                   committed))
        if committed != committed_at.get(key, 0):
            found.append(Violation("6 committed = open allocations at a location", where,
                                   committed_at.get(key, 0), committed))
        if (in_hand, committed) != ledger_at.get(key, (0, 0)):
            found.append(Violation("6 location = ledger", where, ledger_at.get(key, (0, 0)), (in_hand, committed)))
    sums = {p: (int(h or 0), int(c or 0)) for p, h, c in session.execute(
        sa.select(LocationStock.product_id, sa.func.sum(LocationStock.in_hand), sa.func.sum(LocationStock.committed))
        .join(Location, Location.id == LocationStock.location_id).where(Location.kind.in_(SELLS_FROM))
        .group_by(LocationStock.product_id))}
    for product_id, sku, in_hand, committed in session.execute(
            sa.select(Product.id, Product.sku, Product.stock_in_hand, Product.stock_committed)):
        if (in_hand, committed) != sums.get(product_id, (0, 0)):
            found.append(Violation("6 product = its locations", f"product {sku}", sums.get(product_id, (0, 0)),
                                   (in_hand, committed)))
    per_line = (sa.select(LineAllocation.order_line_id, sa.func.sum(LineAllocation.allocated).label("allocated"),
                          sa.func.sum(LineAllocation.shipped).label("shipped"))
                .group_by(LineAllocation.order_line_id).subquery())
    for line_id, order_id, allocated, shipped, placed, placed_shipped in session.execute(
            sa.select(OrderLine.id, OrderLine.order_id, OrderLine.allocated, OrderLine.shipped,
                      sa.func.coalesce(per_line.c.allocated, 0), sa.func.coalesce(per_line.c.shipped, 0))
            .outerjoin(per_line, per_line.c.order_line_id == OrderLine.id)
            .where(sa.or_(OrderLine.allocated != sa.func.coalesce(per_line.c.allocated, 0),
                          OrderLine.shipped != sa.func.coalesce(per_line.c.shipped, 0))).limit(20)):
        found.append(Violation("6 line = its allocations", f"order {order_id} line {line_id}",
                               f"allocated {placed}, shipped {placed_shipped}", f"allocated {allocated}, shipped {shipped}"))
    return found


def _check_transfers() -> list[Violation]:
    """A transfer's numbers: per line 0 <= received <= shipped <= quantity; the ledger's transfer_out rows
    of the transfer sum to -shipped and its transfer_in rows to +received, per product, at the transfer's
    own two ends; nothing shipped while created or cancelled, everything received once received."""
    from ..models import Transfer, TransferLine, TransferState

    found: list[Violation] = []
    moved = {(t, p, reason, location): int(units or 0) for t, p, reason, location, units in db.session.execute(
        sa.select(StockMove.transfer_id, StockMove.product_id, StockMove.reason, StockMove.location_id,
                  sa.func.sum(StockMove.in_hand_delta))
        .where(StockMove.transfer_id.is_not(None))
        .group_by(StockMove.transfer_id, StockMove.product_id, StockMove.reason, StockMove.location_id))}
    expected: dict[tuple, int] = {}
    for transfer_id, state, source_id, destination_id, product_id, quantity, shipped, received in db.session.execute(
            sa.select(Transfer.id, Transfer.state, Transfer.source_id, Transfer.destination_id, TransferLine.product_id,
                      TransferLine.quantity, TransferLine.shipped, TransferLine.received)
            .join(TransferLine, TransferLine.transfer_id == Transfer.id).order_by(Transfer.id, TransferLine.id)):
        where = f"transfer {Transfer.number_of(transfer_id)} product {product_id}"
        if not 0 <= received <= shipped <= quantity:
            found.append(Violation("transfer line quantities", where, "0 <= received <= shipped <= quantity",
                                   f"quantity {quantity}, shipped {shipped}, received {received}"))
        if state in (TransferState.CREATED, TransferState.CANCELLED) and shipped:
            found.append(Violation("transfer state", where, f"nothing shipped while {state.value}", shipped))
        if state is TransferState.RECEIVED and received != shipped:
            found.append(Violation("transfer state", where, f"all {shipped} received", received))
        expected[(transfer_id, product_id, "transfer_out", source_id)] = -shipped
        expected[(transfer_id, product_id, "transfer_in", destination_id)] = received
    for key in sorted(set(expected) | set(moved), key=str):
        if moved.get(key, 0) != expected.get(key, 0):
            transfer_id, product_id, reason, location_id = key
            found.append(Violation("transfer = its ledger rows",
                                   f"transfer {Transfer.number_of(transfer_id)} product {product_id} {reason} "
                                   f"at location {location_id}", expected.get(key, 0), moved.get(key, 0)))
    return found


def check_drop_ship_pos() -> list[Violation]:
    """Per order line: the units open on drop-ship POs (ordered less cancelled, on POs not cancelled, less
    what the supplier shipped) = its allocations at drop-ship locations not yet shipped. The supplier ships
    from the PO and the link offers the allocations, so the two must never tell it different things.

    Per order line, not per PO line: a line raised after its PO was sent gets a second PO line (the
    day's PO), and what the supplier shipped is counted on the allocation, not on a PO line. A drop-ship
    location with no supplier gets no PO, so its allocations are left out."""
    on_pos = (sa.select(PurchaseOrderLine.order_line_id,
                        sa.func.sum(PurchaseOrderLine.quantity - PurchaseOrderLine.cancelled).label("ordered"))
              .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
              .where(PurchaseOrder.drop_ship, PurchaseOrder.state != PurchaseOrderState.CANCELLED,
                     PurchaseOrderLine.order_line_id.is_not(None))
              .group_by(PurchaseOrderLine.order_line_id).subquery())
    at_suppliers = (sa.select(LineAllocation.order_line_id,
                              sa.func.sum(LineAllocation.allocated).label("allocated"),
                              sa.func.sum(LineAllocation.shipped).label("shipped"))
                    .join(Location, Location.id == LineAllocation.location_id)
                    .where(Location.kind == LocationKind.DROP_SHIP, Location.supplier_id.is_not(None))
                    .group_by(LineAllocation.order_line_id).subquery())
    ordered = sa.func.coalesce(on_pos.c.ordered, 0)
    allocated, shipped = sa.func.coalesce(at_suppliers.c.allocated, 0), sa.func.coalesce(at_suppliers.c.shipped, 0)
    rows = db.session.execute(
        sa.select(OrderLine.id, OrderLine.order_id, OrderLine.sku, ordered, allocated, shipped)
        .outerjoin(on_pos, on_pos.c.order_line_id == OrderLine.id)
        .outerjoin(at_suppliers, at_suppliers.c.order_line_id == OrderLine.id)
        .where(sa.or_(on_pos.c.order_line_id.is_not(None), at_suppliers.c.order_line_id.is_not(None)),
               ordered != allocated)
        .order_by(OrderLine.id).limit(20))
    return [Violation("drop-ship PO open = supplier's unshipped allocations",
                      f"order {Order.number_of(order_id)} line {line_id} ({sku})",
                      int(allocated) - int(shipped), int(ordered) - int(shipped))
            for line_id, order_id, sku, ordered, allocated, shipped in rows]


def _check_invoiced_money() -> list[Violation]:
    """Orders with every unit invoiced whose invoices do not add up to the order's total or tax."""
    not_all_invoiced = sa.select(OrderLine.id).where(OrderLine.order_id == Order.id,
                                                     OrderLine.invoiced < OrderLine.ordered).exists()
    sums = (sa.select(Invoice.order_id, sa.func.sum(Invoice.total_cents).label("total"),
                      sa.func.sum(Invoice.tax_cents).label("tax")).group_by(Invoice.order_id).subquery())
    rows = db.session.execute(
        sa.select(Order.id, Order.total_cents, Order.tax_cents, sums.c.total, sums.c.tax)
        .join(sums, sums.c.order_id == Order.id)
        .where(~not_all_invoiced, sa.or_(sums.c.total != Order.total_cents, sums.c.tax != Order.tax_cents)))
    return [Violation("7 invoices add up to the order", f"order {Order.number_of(order_id)}",
                      f"total {total}, tax {tax}", f"total {invoiced_total}, tax {invoiced_tax}")
            for order_id, total, tax, invoiced_total, invoiced_tax in rows]


def check_invoice_coverage() -> list[Violation]:
    """Rule 8: shipment lines covered beyond what they shipped, and order lines whose invoiced count is
    not what their invoices cover (a unit invoiced twice, or invoiced with no shipment recorded)."""
    by_shipment = (sa.select(ShipmentLine.id.label("shipment_line_id"), ShipmentLine.quantity.label("quantity"))
                   .join(Invoice, Invoice.shipment_id == ShipmentLine.shipment_id))
    by_units = (sa.select(InvoicedShipmentUnits.shipment_line_id, InvoicedShipmentUnits.quantity))
    covered = sa.union_all(by_shipment, by_units).subquery()
    per_shipment_line = (sa.select(covered.c.shipment_line_id, sa.func.sum(covered.c.quantity).label("covered"))
                         .group_by(covered.c.shipment_line_id).subquery())
    found = [Violation("8 invoices cover what shipped", f"order {Order.number_of(order_id)} shipment line {line_id}",
                       f"at most {quantity} unit(s) covered", units)
             for line_id, order_id, quantity, units in db.session.execute(
                 sa.select(ShipmentLine.id, OrderLine.order_id, ShipmentLine.quantity, per_shipment_line.c.covered)
                 .join(per_shipment_line, per_shipment_line.c.shipment_line_id == ShipmentLine.id)
                 .join(OrderLine, OrderLine.id == ShipmentLine.order_line_id)
                 .where(per_shipment_line.c.covered > ShipmentLine.quantity))]
    per_order_line = (sa.select(ShipmentLine.order_line_id, sa.func.sum(per_shipment_line.c.covered).label("covered"))
                      .join(per_shipment_line, per_shipment_line.c.shipment_line_id == ShipmentLine.id)
                      .group_by(ShipmentLine.order_line_id).subquery())
    units = sa.func.coalesce(per_order_line.c.covered, 0)
    found += [Violation("8 invoices cover what shipped", f"order {Order.number_of(order_id)} line {line_id} ({sku})",
                        f"{invoiced} invoiced unit(s) covered on shipments", int(covered_units))
              for line_id, order_id, sku, invoiced, covered_units in db.session.execute(
                  sa.select(OrderLine.id, OrderLine.order_id, OrderLine.sku, OrderLine.invoiced, units)
                  .outerjoin(per_order_line, per_order_line.c.order_line_id == OrderLine.id)
                  .where(OrderLine.invoiced != units))]
    return found


# Open orders are checked this many at a time, so that memory stays bounded however many there are.
SEGMENT_BATCH = 2_000


def _check_segments() -> list[Violation]:
    found: list[Violation] = []
    actual = dict(db.session.execute(sa.select(Order.segment, sa.func.count()).group_by(Order.segment)).all())
    for segment, orders in db.session.execute(sa.select(SegmentCount.segment, SegmentCount.orders)):
        if orders != actual.get(segment, 0):
            found.append(Violation("segment counts", f"segment {segment.value}", actual.get(segment, 0), orders))
    after = 0
    while True:
        # Plain rows, not ORM objects: the session would keep every order it loaded until the check ends.
        orders = {row.id: SimpleNamespace(**row._mapping, lines=[]) for row in db.session.execute(
            sa.select(Order.id, Order.status, Order.segment, Order.payment_status, Order.hold_reason)
            .where(Order.status.in_([OrderStatus.DRAFT, OrderStatus.FINALIZED]), Order.id > after)
            .order_by(Order.id).limit(SEGMENT_BATCH))}
        if not orders:
            return found
        after = max(orders)
        for row in db.session.execute(
                sa.select(OrderLine.order_id, OrderLine.ordered, OrderLine.allocated, OrderLine.shipped,
                          OrderLine.drop_ship)
                .where(OrderLine.order_id.in_(list(orders)))):
            orders[row.order_id].lines.append(row)
        handed_over = dict(db.session.execute(
            sa.select(Shipment.order_id, sa.func.sum(ShipmentLine.quantity))
            .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
            .where(Shipment.order_id.in_(list(orders)), Shipment.status.in_(HANDED_OVER))
            .group_by(Shipment.order_id)).all())
        for order in orders.values():
            expected = segment_of(order, int(handed_over.get(order.id) or 0))
            if order.segment is not expected:
                found.append(Violation("segment", f"order {Order.number_of(order.id)}", expected.value,
                                       order.segment.value))


def _check_hourly_counts() -> list[Violation]:
    return [Violation(f"{figure.replace('_', ' ')} per hour",
                      f"channel {channel_id}, hour from {start_of_hour(hour):%Y-%m-%d %H:00} UTC", actual, stored)
            for hour, channel_id, figure, actual, stored in miscounted_hours()]


def check_credit_notes() -> list[Violation]:
    """Rule 7's money part and rule 5 for credit notes: per order, what its credit notes give back is at
    most what its invoices charged; each credit note gives back its refund's amount; credit note numbers
    are unique and gapless, in issue order."""
    from ..models import CreditNote, Refund

    invoiced = (sa.select(Invoice.order_id, sa.func.sum(Invoice.total_cents).label("total"))
                .group_by(Invoice.order_id).subquery())
    credited = (sa.select(CreditNote.order_id, (-sa.func.sum(CreditNote.total_cents)).label("total"))
                .group_by(CreditNote.order_id).subquery())
    found = [Violation("7 credited <= invoiced", f"order {Order.number_of(order_id)}",
                       f"at most {int(invoiced_total or 0)} credited", int(credited_total))
             for order_id, credited_total, invoiced_total in db.session.execute(
                 sa.select(credited.c.order_id, credited.c.total, invoiced.c.total)
                 .outerjoin(invoiced, invoiced.c.order_id == credited.c.order_id)
                 .where(credited.c.total > sa.func.coalesce(invoiced.c.total, 0)))]
    found += [Violation("credit note = its refund", f"credit note #{number}", -amount, total)
              for number, total, amount in db.session.execute(
                  sa.select(CreditNote.number, CreditNote.total_cents, Refund.amount_cents)
                  .join(Refund, Refund.id == CreditNote.refund_id)
                  .where(CreditNote.total_cents != -Refund.amount_cents))]
    position = sa.func.row_number().over(order_by=CreditNote.id)
    numbered = sa.select(position.label("position"), CreditNote.number).subquery()
    misfit = db.session.execute(sa.select(numbered.c.position, numbered.c.number)
                                .where(numbered.c.position != numbered.c.number)
                                .order_by(numbered.c.position).limit(1)).first()
    if misfit is not None:
        found.append(Violation("5 gapless credit note numbers", f"credit note #{misfit[0]} in issue order",
                               misfit[0], misfit[1]))
    return found


def check_returns() -> list[Violation]:
    """Rule 7's returns part: per line returned <= shipped, and returned = the units its returns received;
    per return line restocked + quarantined + written off = received <= quantity; and every restocked
    unit has its ledger row (per return and product, the in-hand deltas of its "return" rows)."""
    found = [Violation("7 returned <= shipped", f"order {Order.number_of(order_id)} line {line_id} ({sku})",
                       f"0 <= returned <= {shipped}", returned)
             for line_id, order_id, sku, shipped, returned in db.session.execute(
                 sa.select(OrderLine.id, OrderLine.order_id, OrderLine.sku, OrderLine.shipped, OrderLine.returned)
                 .where(sa.or_(OrderLine.returned < 0, OrderLine.returned > OrderLine.shipped)).limit(20))]
    received = (sa.select(ReturnLine.order_line_id, sa.func.sum(ReturnLine.received).label("units"))
                .group_by(ReturnLine.order_line_id).subquery())
    units = sa.func.coalesce(received.c.units, 0)
    found += [Violation("7 returned = units received on returns", f"order {Order.number_of(order_id)} line {line_id}",
                        int(got), returned)
              for line_id, order_id, returned, got in db.session.execute(
                  sa.select(OrderLine.id, OrderLine.order_id, OrderLine.returned, units)
                  .outerjoin(received, received.c.order_line_id == OrderLine.id)
                  .where(OrderLine.returned != units).limit(20))]
    found += [Violation("7 restocked + quarantined + written off = received", f"return line {line_id}",
                        f"{restocked} + {quarantined} + {written_off} = received <= {quantity}", got)
              for line_id, quantity, got, restocked, quarantined, written_off in db.session.execute(
                  sa.select(ReturnLine.id, ReturnLine.quantity, ReturnLine.received, ReturnLine.restocked,
                            ReturnLine.quarantined, ReturnLine.written_off)
                  .where(sa.or_(ReturnLine.restocked + ReturnLine.quarantined + ReturnLine.written_off
                                != ReturnLine.received, ReturnLine.received > ReturnLine.quantity)).limit(20))]
    # Restocked units are in hand where they were restocked, quarantined ones at the quarantine location.
    for column, reason, word in ((ReturnLine.restocked, "return", "restocked"),
                                 (ReturnLine.quarantined, "quarantine", "quarantined")):
        kept = dict(((return_id, product_id), int(units)) for return_id, product_id, units in db.session.execute(
            sa.select(ReturnLine.return_id, OrderLine.product_id, sa.func.sum(column))
            .join(OrderLine, OrderLine.id == ReturnLine.order_line_id)
            .group_by(ReturnLine.return_id, OrderLine.product_id).having(sa.func.sum(column) > 0)))
        ledger = dict(((return_id, product_id), int(units)) for return_id, product_id, units in db.session.execute(
            sa.select(StockMove.return_id, StockMove.product_id, sa.func.sum(StockMove.in_hand_delta))
            .where(StockMove.return_id.is_not(None), StockMove.reason == reason)
            .group_by(StockMove.return_id, StockMove.product_id)))
        found += [Violation(f"7 every {word} unit in the ledger", f"return {return_id} product {product_id}",
                            units, ledger.get(key, 0))
                  for key in sorted(set(kept) | set(ledger))
                  for return_id, product_id, units in [(*key, kept.get(key, 0))]
                  if ledger.get(key, 0) != units]
    return found
