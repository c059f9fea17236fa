"""PDF documents from Jinja templates with xhtml2pdf: labels, packing slips, invoices, pick lists.

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
from pypdf import PdfWriter
from sqlalchemy.orm import selectinload
from xhtml2pdf import pisa

from ..extensions import db
from ..models import Invoice, Order, OrderLine, Product, Shipment, ShipmentLine, ShipmentStatus
from .barcodes import NotEncodable, code128_data_uri

KINDS = {"labels": "shipping labels", "packing-slips": "packing slips", "invoices": "invoices",
         "pick-list": "pick list"}
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
    barcode: str | None


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
            barcode = code128_data_uri(shipment.tracking_number or shipment.number)
        except NotEncodable:
            barcode = None
        labels.append(LabelData(shipment=shipment, order=shipment.order, barcode=barcode,
                                weight_grams=sum(sl.quantity * weights.get(sl.order_line_id, 0) for sl in shipment.lines)))
    return labels


def order_barcodes(orders: Sequence[Order]) -> dict[int, str]:
    """A Code 128 of each order's number, by order id: the pack station opens an order by scanning it."""
    return {order.id: code128_data_uri(order.number) for order in orders}


def pick_rows(orders: Sequence[Order]) -> list[dict]:
    """Allocated units not yet shipped, one row per SKU, in shelf order (bin location, then SKU)."""
    rows: dict[int, dict] = {}
    products = {p.id: p for p in db.session.scalars(sa.select(Product).where(
        Product.id.in_({l.product_id for o in orders for l in o.lines if l.product_id})))}
    for order in orders:
        for line in order.lines:
            if line.to_ship <= 0 or line.product_id is None:
                continue
            product = products[line.product_id]
            row = rows.setdefault(product.id, {"product": product, "units": 0, "orders": []})
            row["units"] += line.to_ship
            row["orders"].append((order.number, line.to_ship))
    return sorted(rows.values(), key=lambda r: (r["product"].bin_location or "~", r["product"].sku))


def _orders(order_ids: Sequence[int]) -> list[Order]:
    return db.session.scalars(sa.select(Order).where(Order.id.in_(order_ids)).options(selectinload(Order.lines))
                              .order_by(Order.id)).all()


def _invoices(order_ids: Sequence[int]) -> list[Invoice]:
    return db.session.scalars(sa.select(Invoice).where(Invoice.order_id.in_(order_ids))
                              .options(selectinload(Invoice.lines), selectinload(Invoice.order))
                              .order_by(Invoice.number)).all()


# ---------------------------------------------------------------- rendering

def labels_pdf(shipments: Sequence[Shipment]) -> bytes:
    return render_pdf("documents/labels.html", labels=label_data(shipments))


def packing_slips_pdf(shipments: Sequence[Shipment]) -> bytes:
    return render_pdf("documents/packing_slips.html", shipments=shipments,
                      barcodes=order_barcodes({s.order_id: s.order for s in shipments}.values()))


def invoices_pdf(invoices: Sequence[Invoice]) -> bytes:
    shipments = {s.id: s for s in db.session.scalars(sa.select(Shipment).where(
        Shipment.id.in_([i.shipment_id for i in invoices if i.shipment_id])))}
    return render_pdf("documents/invoices.html", invoices=invoices, shipments=shipments)


def pick_list_pdf(orders: Sequence[Order]) -> bytes:
    return render_pdf("documents/pick_list.html", rows=pick_rows(orders), orders=orders, barcodes=order_barcodes(orders))


@dataclass
class Printed:
    pdf: bytes
    pages_for: dict[int, list[str]]  # order id -> what was printed for it, for the timeline


def build(kind: str, order_ids: Sequence[int], progress: Callable[[int, int], None] | None = None) -> Printed:
    """Render `kind` for the orders, in chunks; `progress(done, total)` is called after each chunk.

    Raises NothingToPrint when none of the orders has such a document.
    """
    order_ids = sorted(set(order_ids))
    chunks = [order_ids[i:i + CHUNK] for i in range(0, len(order_ids), CHUNK)] or [[]]
    parts: list[bytes] = []
    printed: dict[int, list[str]] = defaultdict(list)
    if kind == "pick-list":
        orders = _orders(order_ids)
        rows = pick_rows(orders)
        if not rows:
            raise NothingToPrint("None of the selected orders has allocated units waiting to be picked")
        for order in orders:
            printed[order.id].append("pick list")
        if progress:
            progress(len(order_ids), len(order_ids))
        return Printed(pick_list_pdf(orders), dict(printed))
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
