"""Packing slips, A4, drawn straight onto a reportlab canvas (as the labels are, documents/labels.py).

A slip is a header (the seller, the order's Code 128 for the pack station, order and shipment numbers,
the date), the ship-to address, what is in the box and what is still to come. Drawn directly it costs
about a millisecond, where xhtml2pdf took about 10 ms a slip: half of a 500-parcel batch's PDF. A slip
with more lines than a page holds goes on over as many pages as it needs, its table heads repeated;
`packing_slips` says how many pages each slip took, so a batch can put each label before its own.
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from flask import current_app
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from ..models import Order, Shipment
from ..web import local_time
from .labels import address_lines

WIDTH, HEIGHT = A4
MARGIN = 1.5 * cm
INNER = WIDTH - 2 * MARGIN
FONT, BOLD = "Helvetica", "Helvetica-Bold"
SIZE, LEADING = 9.5, 12.5
INK, MUTED, RULE = (0.07, 0.07, 0.07), (0.33, 0.33, 0.33), (0.73, 0.73, 0.73)
QUANTITY_WIDTH = 60
SKU_WIDTH = INNER * 0.28
BARCODE_WIDTH, BARCODE_HEIGHT = 142.5, 31.5  # 190 x 42 CSS px, as the slip had it


class _Sheet:
    """One slip's pages: writes down from the top and starts a new page when the next row does not fit."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.y = HEIGHT - MARGIN
        self.pages = 1

    def room_for(self, height: float) -> bool:
        return self.y - height >= MARGIN

    def new_page(self) -> None:
        self.canvas.showPage()
        self.pages += 1
        self.y = HEIGHT - MARGIN

    def text(self, x: float, y: float, text: str, font: str = FONT, size: float = SIZE, *, right: bool = False,
             colour=INK) -> None:
        self.canvas.setFillColorRGB(*colour)
        self.canvas.setFont(font, size)
        (self.canvas.drawRightString if right else self.canvas.drawString)(x, y, text)

    def heading(self, text: str) -> None:
        if not self.room_for(11 + 8 + 3 * LEADING):  # a heading keeps at least a row with it
            self.new_page()
        self.y -= 8 + 11
        self.text(MARGIN, self.y + 2, text, BOLD, 11)
        self.y -= 3

    def rule(self, y: float, width: float, colour) -> None:
        self.canvas.setStrokeColorRGB(*colour)
        self.canvas.setLineWidth(width)
        self.canvas.line(MARGIN, y, WIDTH - MARGIN, y)

    def table(self, rows: Sequence[tuple[str, str, int]]) -> None:
        """SKU | Item | Quantity, the item wrapped to its column; the heads again on each new page."""
        self._table_head()
        item_width = INNER - SKU_WIDTH - QUANTITY_WIDTH - 8
        for sku, item, quantity in rows:
            skus = simpleSplit(sku, FONT, SIZE, SKU_WIDTH - 4) or [""]
            items = simpleSplit(item, FONT, SIZE, item_width) or [""]
            height = max(len(skus), len(items)) * LEADING + 6
            if not self.room_for(height):
                self.new_page()
                self._table_head()
            top = self.y - 3 - SIZE
            for n, line in enumerate(skus):
                self.text(MARGIN + 2, top - n * LEADING, line)
            for n, line in enumerate(items):
                self.text(MARGIN + SKU_WIDTH, top - n * LEADING, line)
            self.text(WIDTH - MARGIN - 2, top, str(quantity), right=True)
            self.y -= height
            self.rule(self.y, 0.3, RULE)

    def _table_head(self) -> None:
        self.y -= 3 + 8.5
        for x, label, right in ((MARGIN + 2, "SKU", False), (MARGIN + SKU_WIDTH, "Item", False),
                                (WIDTH - MARGIN - 2, "Quantity", True)):
            self.text(x, self.y, label, BOLD, 8.5, right=right)
        self.y -= 4
        self.rule(self.y, 0.8, (0.2, 0.2, 0.2))


def _draw(canvas: Canvas, shipment: Shipment, barcode_png: bytes | None, seller: Mapping) -> int:
    order: Order = shipment.order
    sheet = _Sheet(canvas)
    top = sheet.y
    sheet.text(MARGIN, top - 16, "Packing slip", BOLD, 16)
    sheet.text(MARGIN, top - 16 - 4 - LEADING, seller.get("name", ""))
    right = WIDTH - MARGIN
    y = top
    if barcode_png:
        y -= BARCODE_HEIGHT
        canvas.drawImage(ImageReader(io.BytesIO(barcode_png)), right - BARCODE_WIDTH, y, BARCODE_WIDTH, BARCODE_HEIGHT)
    y -= LEADING
    sheet.text(right - stringWidth(order.number, BOLD, SIZE), y, "Order ", right=True)
    sheet.text(right, y, order.number, BOLD, right=True)
    for line in (f"Shipment {shipment.number}", local_time(shipment.created_at, "%d %b %Y")):
        y -= LEADING
        sheet.text(right, y, line, right=True)
    sheet.y = min(y, top - 16 - 4 - LEADING) - 6

    sheet.heading("Ship to")
    for line in address_lines(order.ship_to, order.customer_name):
        sheet.y -= LEADING
        sheet.text(MARGIN, sheet.y, line)

    sheet.heading("In this box")
    sheet.table([(sl.order_line.sku, sl.order_line.name, sl.quantity) for sl in shipment.lines])

    sheet.heading("Still to come")
    remaining = [(line.sku, line.name, line.ordered - line.shipped) for line in order.lines if line.ordered > line.shipped]
    if remaining:
        sheet.table(remaining)
    else:
        sheet.y -= LEADING
        sheet.text(MARGIN, sheet.y, "Nothing: this completes your order.", colour=MUTED)
    canvas.showPage()
    return sheet.pages


def packing_slips(shipments: Sequence[Shipment], barcodes: Mapping[int, bytes | None]) -> tuple[bytes, list[int]]:
    """The shipments' packing slips, in the order given, and how many pages each took (most: one).
    `barcodes` holds each order's Code 128 (PNG) by order id."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle("Packing slips")
    seller = current_app.config["OMS_SELLER"]
    pages = [_draw(canvas, shipment, barcodes.get(shipment.order_id), seller) for shipment in shipments]
    canvas.save()
    return out.getvalue(), pages
