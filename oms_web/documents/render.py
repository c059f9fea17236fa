"""PDF documents from Jinja templates with xhtml2pdf: invoices, pick lists; and the shipping labels and
packing slips, drawn directly (documents/labels.py, slips.py), as they are printed by the hundred.

Free of request code: the routes and the print-job worker both call `build()`. A batch is rendered in
chunks and merged, so a long one can report progress between chunks.
"""
from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, render_template
from pypdf import PdfReader, PdfWriter
from sqlalchemy.orm import selectinload
from xhtml2pdf import pisa

from ..domain import stock
from ..domain.allocations import location_names
from ..extensions import db
from ..models import CreditNote, Location, Invoice, LabelPurchase, Order, OrderLine, Product, Shipment, ShipmentLine, ShipmentStatus
from . import labels as label_sheets
from . import slips as slip_sheets
from .barcodes import NotEncodable, code128_data_uri, code128_png

KINDS = {"labels": "shipping labels", "packing-slips": "packing slips", "invoices": "invoices",
         "pick-list": "pick list", "labels-and-slips": "labels and packing slips", "wave-pick-list": "wave pick list"}
CHUNK = 50


class NothingToPrint(Exception):
    pass


def render_pdf(template: str, **context) -> bytes:
    html = render_template(template, seller=current_app.config["OMS_SELLER"],
                           ship_from=current_app.config["OMS_SHIP_FROM"], **context)
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        raise RuntimeError(f"xhtml2pdf could not render {template}")
    return out.getvalue()


def merge(parts: Sequence[bytes]) -> bytes:
    if len(parts) == 1:
        return parts[0]
    writer = PdfWriter()
    for part in parts:
        writer.append(io.BytesIO(part))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ---------------------------------------------------------------- what each document shows

@dataclass
class LabelData:
    shipment: Shipment
    order: Order
    weight_grams: int
    barcode_png: bytes | None  # Code 128 of the tracking number, else of the shipment number


def _shipments(order_ids: Sequence[int], *, open_only: bool) -> list[Shipment]:
    query = (sa.select(Shipment).where(Shipment.order_id.in_(order_ids))
             .options(selectinload(Shipment.lines).selectinload(ShipmentLine.order_line),
                      selectinload(Shipment.order).selectinload(Order.lines))
             .order_by(Shipment.order_id, Shipment.id))
    shipments = db.session.scalars(query).all()
    if open_only:
        # The labels and slips to print are those of parcels not yet handed over; an order whose
        # parcels have all left gets its latest one again (a reprint).
        by_order: dict[int, list[Shipment]] = defaultdict(list)
        for shipment in shipments:
            by_order[shipment.order_id].append(shipment)
        shipments = []
        for order_shipments in by_order.values():
            # A cancelled parcel's label is void: never printed again in a batch.
            live = [s for s in order_shipments if s.status is not ShipmentStatus.CANCELLED]
            open_ones = [s for s in live if s.status is ShipmentStatus.PACKED]
            shipments.extend(open_ones or live[-1:])
    return shipments


def label_data(shipments: Sequence[Shipment]) -> list[LabelData]:
    line_ids = {sl.order_line_id for s in shipments for sl in s.lines}
    weights = dict(db.session.execute(
        sa.select(OrderLine.id, Product.weight_grams).join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.id.in_(line_ids))).all()) if line_ids else {}
    labels = []
    for shipment in shipments:
        try:
            barcode = code128_png(shipment.tracking_number or shipment.number)
        except NotEncodable:
            barcode = None
        labels.append(LabelData(shipment=shipment, order=shipment.order, barcode_png=barcode,
                                weight_grams=sum(sl.quantity * weights.get(sl.order_line_id, 0) for sl in shipment.lines)))
    return labels


def order_barcodes(orders: Sequence[Order]) -> dict[int, str]:
    """A Code 128 of each order's number, by order id: the pack station opens an order by scanning it."""
    return {order.id: code128_data_uri(order.number) for order in orders}


def to_pick(line: OrderLine, location_id: int | None = None) -> int:
    """The line's units waiting to be picked: allocated and not yet shipped, at the location (None: at any
    of ours). A drop-ship supplier's units are never ours to pick."""
    if line.product_id is None:
        return 0
    return sum(a.to_ship for a in line.allocations if a.to_ship > 0
               and (a.location_id == location_id if location_id is not None else stock.kind_of(a.location_id).holds_our_stock))


def pick_rows(orders: Sequence[Order], location_id: int | None = None) -> list[dict]:
    """Allocated units not yet shipped (at the location, when given), one row per SKU, in shelf order (bin
    location, then SKU)."""
    rows: dict[int, dict] = {}
    products = {p.id: p for p in db.session.scalars(sa.select(Product).where(
        Product.id.in_({l.product_id for o in orders for l in o.lines if l.product_id})))}
    for order in orders:
        for line in order.lines:
            units = to_pick(line, location_id)
            if units <= 0:
                continue
            product = products[line.product_id]
            row = rows.setdefault(product.id, {"product": product, "units": 0, "orders": []})
            row["units"] += units
            row["orders"].append((order.number, units))
    return sorted(rows.values(), key=lambda r: (r["product"].bin_location or "~", r["product"].sku))


@dataclass(frozen=True)
class NotHere:
    """An order chosen for a pick list with no unit on it, and why, so that the picker knows it was left
    out on purpose: "at East warehouse", "with the supplier", "nothing allocated" or "nothing left to pick"."""

    order: Order
    why: str


def not_here(orders: Sequence[Order], location_id: int | None = None) -> list[NotHere]:
    """The orders (in the order given) with no unit to pick at the location (None: at any of ours)."""
    missing = [order for order in orders if not any(to_pick(line, location_id) for line in order.lines)]
    waiting = {order.id: {a.location_id for line in order.lines if line.product_id is not None
                          for a in line.allocations if a.to_ship > 0} for order in missing}
    names = location_names(set().union(*waiting.values())) if missing else {}
    found = []
    for order in missing:
        ours = sorted((names[site] for site in waiting[order.id] if stock.kind_of(site).holds_our_stock),
                      key=str.lower)
        if ours:
            why = "at " + ", ".join(ours)
        elif waiting[order.id]:
            why = "with the supplier"
        elif any(line.backordered for line in order.lines):
            why = "nothing allocated"
        else:
            why = "nothing left to pick"
        found.append(NotHere(order, why))
    return found


def pick_order(shipments: Sequence[Shipment]) -> list[Shipment]:
    """Shipments in the order they are picked: the bin location of the first line's product, then its SKU
    (a shipment of no stocked product last), then the shipment."""
    line_ids = {s.lines[0].order_line_id for s in shipments if s.lines}
    where = {line_id: (bin_location or "~", sku) for line_id, bin_location, sku in db.session.execute(
        sa.select(OrderLine.id, Product.bin_location, Product.sku).join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.id.in_(line_ids)))} if line_ids else {}
    return sorted(shipments, key=lambda s: (*where.get(s.lines[0].order_line_id if s.lines else None, ("~", "~")), s.id))


def packed_shipments(order_ids: Sequence[int], shipment_ids: Sequence[int] | None = None) -> list[Shipment]:
    """The packed parcels (not cancelled, not yet handed over) of the orders, or only `shipment_ids` of
    them, in pick order: the ones whose labels and packing slips are printed together."""
    query = (sa.select(Shipment).where(Shipment.order_id.in_(order_ids), Shipment.status == ShipmentStatus.PACKED)
             .options(selectinload(Shipment.lines).selectinload(ShipmentLine.order_line),
                      selectinload(Shipment.order).selectinload(Order.lines)))
    if shipment_ids is not None:
        query = query.where(Shipment.id.in_(shipment_ids))
    return pick_order(db.session.scalars(query).all())


@dataclass
class Tote:
    number: int  # the order's place in the wave, 1..N: the tote its units go into
    order: Order
    units: int
    barcode: str | None  # Code 128 of the order number


def wave(orders: Sequence[Order], location_id: int | None = None) -> tuple[list[Tote], list[dict]]:
    """A wave pick list: a tote for each order with units to pick (at the location, when given; in the order
    given), and the bins in shelf order, each with its SKUs, the units of each and which tote (order) each
    unit goes to."""
    totes, tote_of = [], {}
    for order in orders:
        units = sum(to_pick(line, location_id) for line in order.lines)
        if units:
            try:
                barcode = code128_data_uri(order.number)
            except NotEncodable:
                barcode = None
            tote_of[order.id] = Tote(len(totes) + 1, order, units, barcode)
            totes.append(tote_of[order.id])
    products = {p.id: p for p in db.session.scalars(sa.select(Product).where(
        Product.id.in_({l.product_id for o in orders for l in o.lines if l.product_id})))}
    skus: dict[int, dict] = {}
    for order in orders:
        for line in order.lines:
            units = to_pick(line, location_id)
            if units <= 0:
                continue
            row = skus.setdefault(line.product_id, {"product": products[line.product_id], "units": 0, "totes": []})
            row["units"] += units
            row["totes"].append((tote_of[order.id], units))
    bins: dict[str, dict] = {}
    for row in sorted(skus.values(), key=lambda r: (r["product"].bin_location or "~", r["product"].sku)):
        where = row["product"].bin_location or ""
        place = bins.setdefault(where, {"bin": where, "rows": [], "units": 0})
        place["rows"].append(row)
        place["units"] += row["units"]
    return totes, list(bins.values())


def _orders(order_ids: Sequence[int]) -> list[Order]:
    return db.session.scalars(sa.select(Order).where(Order.id.in_(order_ids))
                              .options(selectinload(Order.lines).selectinload(OrderLine.allocations))
                              .order_by(Order.id)).all()


def _invoices(order_ids: Sequence[int]) -> list[Invoice]:
    return db.session.scalars(sa.select(Invoice).where(Invoice.order_id.in_(order_ids))
                              .options(selectinload(Invoice.lines), selectinload(Invoice.order))
                              .order_by(Invoice.number)).all()


# ---------------------------------------------------------------- rendering

def bought_labels(shipments: Sequence[Shipment], label_format: str = "PDF") -> dict[int, bytes]:
    """The labels bought from the carrier service for these shipments, in `label_format`: shipment id -> file."""
    ids = [s.id for s in shipments]
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(LabelPurchase.shipment_id, LabelPurchase.label).where(
        LabelPurchase.shipment_id.in_(ids), LabelPurchase.status == "recorded",
        LabelPurchase.label_format == label_format, LabelPurchase.label.is_not(None))).all())


def labels_pdf(shipments: Sequence[Shipment]) -> bytes:
    """One 4x6 in page per shipment, in the order given: the carrier's own label where one was bought
    as a PDF, else ours (ship-from, ship-to, carrier, the tracking number's barcode)."""
    bought = bought_labels(shipments)
    if not bought:
        return label_sheets.labels_pdf(label_data(shipments))
    parts: list[bytes] = []
    ours: list[Shipment] = []
    for shipment in shipments:
        if shipment.id in bought:
            if ours:
                parts.append(label_sheets.labels_pdf(label_data(ours)))
                ours = []
            parts.append(bought[shipment.id])
        else:
            ours.append(shipment)
    if ours:
        parts.append(label_sheets.labels_pdf(label_data(ours)))
    return merge(parts) if len(parts) > 1 else _normalised(parts[0])


def _normalised(pdf: bytes) -> bytes:
    writer = PdfWriter()
    writer.append(io.BytesIO(pdf))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _slips(shipments: Sequence[Shipment]) -> tuple[bytes, list[int]]:
    """The packing slips as one PDF, and the pages each took."""
    barcodes = {}
    for order in {s.order_id: s.order for s in shipments}.values():
        try:
            barcodes[order.id] = code128_png(order.number)
        except NotEncodable:
            barcodes[order.id] = None
    return slip_sheets.packing_slips(shipments, barcodes)


def packing_slips_pdf(shipments: Sequence[Shipment]) -> bytes:
    return _slips(shipments)[0]


def invoices_pdf(invoices: Sequence[Invoice]) -> bytes:
    shipments = {s.id: s for s in db.session.scalars(sa.select(Shipment).where(
        Shipment.id.in_([i.shipment_id for i in invoices if i.shipment_id])))}
    return render_pdf("documents/invoices.html", invoices=invoices, shipments=shipments)


def credit_notes_pdf(notes: Sequence[CreditNote]) -> bytes:
    """Credit notes, seller details as on invoices, each naming the invoices it corrects."""
    invoice_ids = {i for note in notes for i in note.invoice_ids}
    invoices = {i.id: i for i in db.session.scalars(sa.select(Invoice).where(Invoice.id.in_(invoice_ids)))}
    corrects = {note.id: [invoices[i].display_number for i in note.invoice_ids if i in invoices] for note in notes}
    return render_pdf("documents/credit_notes.html", notes=notes, corrects=corrects)


def _where(location_id: int | None) -> str | None:
    """The location a pick list is for, named in its title (None: every location of ours)."""
    return db.session.scalar(sa.select(Location.name).where(Location.id == location_id)) if location_id else None


def pick_list_pdf(orders: Sequence[Order], location_id: int | None = None) -> bytes:
    """The SKUs to pick in shelf order, the orders they are for (with the barcode the pack station scans),
    and the orders chosen that have nothing to pick here, each with why."""
    units = {order.id: sum(to_pick(line, location_id) for line in order.lines) for order in orders}
    packing = [order for order in orders if units[order.id]]
    return render_pdf("documents/pick_list.html", rows=pick_rows(orders, location_id), orders=packing, units=units,
                      barcodes=order_barcodes(packing), location=_where(location_id),
                      not_here=not_here(orders, location_id))


def wave_pick_list_pdf(orders: Sequence[Order], location_id: int | None = None) -> bytes:
    totes, bins = wave(orders, location_id)
    return render_pdf("documents/wave_pick_list.html", totes=totes, bins=bins, location=_where(location_id),
                      not_here=not_here(orders, location_id))


def _add_labels_and_slips(writer: PdfWriter, shipments: Sequence[Shipment]) -> None:
    """Each shipment's label followed by its packing slip (all its pages), in the order given. Labels and
    slips are drawn as two documents (one 4x6 in page per label, A4 slips) and their pages interleaved."""
    labels = PdfReader(io.BytesIO(labels_pdf(shipments)))
    pdf, page_counts = _slips(shipments)
    slip_pages = iter(PdfReader(io.BytesIO(pdf)).pages)
    if len(labels.pages) != len(shipments):
        raise RuntimeError("A shipping label ran over its page")
    for label, count in zip(labels.pages, page_counts):
        writer.add_page(label)
        for _ in range(count):
            writer.add_page(next(slip_pages))


def labels_and_slips_pdf(shipments: Sequence[Shipment]) -> bytes:
    writer = PdfWriter()
    _add_labels_and_slips(writer, shipments)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def build_labels_and_slips(order_ids: Sequence[int], shipment_ids: Sequence[int] | None = None,
                           progress: Callable[[int, int], None] | None = None, *, done_before: int = 0,
                           total: int | None = None) -> Printed:
    """Labels and packing slips of the orders' packed parcels (or of `shipment_ids` only), in pick order,
    rendered CHUNK shipments at a time; `progress(done_before + shipments done, total)` after each chunk.

    Raises NothingToPrint when there is no such parcel.
    """
    shipments = packed_shipments(sorted(set(order_ids)), shipment_ids)
    if not shipments:
        raise NothingToPrint("None of the selected orders has a packed parcel: create their shipments first "
                             "(a parcel handed to the carrier or cancelled is not printed again here)")
    total = total if total is not None else done_before + len(shipments)
    writer, printed = PdfWriter(), defaultdict(list)  # the chunks' pages go straight into one document
    for start in range(0, len(shipments), CHUNK):
        chunk = shipments[start:start + CHUNK]
        _add_labels_and_slips(writer, chunk)
        for shipment in chunk:
            printed[shipment.order_id].append(f"label and packing slip {shipment.number}")
        if progress:
            progress(done_before + start + len(chunk), total)
    out = io.BytesIO()
    writer.write(out)
    return Printed(out.getvalue(), dict(printed))


@dataclass
class Printed:
    pdf: bytes
    pages_for: dict[int, list[str]]  # order id -> what was printed for it, for the timeline


def build(kind: str, order_ids: Sequence[int], progress: Callable[[int, int], None] | None = None,
          shipment_ids: Sequence[int] | None = None, location_id: int | None = None) -> Printed:
    """Render `kind` for the orders, in chunks; `progress(done, total)` is called after each chunk. Pick
    lists list the units at `location_id` (the printer's Working-at location), or at any of ours.

    Raises NothingToPrint when none of the orders has such a document.
    """
    order_ids = sorted(set(order_ids))
    if kind == "labels-and-slips":
        return build_labels_and_slips(order_ids, shipment_ids, progress)
    chunks = [order_ids[i:i + CHUNK] for i in range(0, len(order_ids), CHUNK)] or [[]]
    parts: list[bytes] = []
    printed: dict[int, list[str]] = defaultdict(list)
    if kind in ("pick-list", "wave-pick-list"):
        orders = _orders(order_ids)
        rows = pick_rows(orders, location_id)
        if not rows:
            where = f" at {_where(location_id)}" if location_id else ""
            raise NothingToPrint(f"None of the selected orders has allocated units waiting to be picked{where}")
        wave_list = kind == "wave-pick-list"
        for order in orders:  # the timeline of an order listed as not here says nothing was printed for it
            if any(to_pick(line, location_id) for line in order.lines):
                printed[order.id].append("wave pick list" if wave_list else "pick list")
        if progress:
            progress(len(order_ids), len(order_ids))
        return Printed(wave_pick_list_pdf(orders, location_id) if wave_list else pick_list_pdf(orders, location_id),
                       dict(printed))
    done = 0
    for chunk in chunks:
        if kind == "invoices":
            documents = _invoices(chunk)
            for invoice in documents:
                printed[invoice.order_id].append(f"invoice {invoice.display_number}")
            if documents:
                parts.append(invoices_pdf(documents))
        else:
            shipments = _shipments(chunk, open_only=True)
            for shipment in shipments:
                printed[shipment.order_id].append(f"{'label' if kind == 'labels' else 'packing slip'} {shipment.number}")
            if shipments:
                parts.append(labels_pdf(shipments) if kind == "labels" else packing_slips_pdf(shipments))
        done += len(chunk)
        if progress:
            progress(done, len(order_ids))
    if not parts:
        raise NothingToPrint({"invoices": "None of the selected orders has an invoice yet",
                              "labels": "None of the selected orders has a shipment to label yet",
                              "packing-slips": "None of the selected orders has a shipment yet"}[kind])
    return Printed(merge(parts), dict(printed))
