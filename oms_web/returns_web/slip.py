"""The return slip the customer puts in the parcel: the return number as a Code 128 (scanned when the
parcel comes back), the order, the lines and their reasons, and the address to send it to."""
from __future__ import annotations

import io

from flask import current_app
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from ..documents.barcodes import code128_png
from ..documents.slips import BARCODE_HEIGHT, BARCODE_WIDTH, BOLD, HEIGHT, LEADING, MARGIN, MUTED, SIZE, WIDTH, _Sheet
from ..models import Return
from ..web import local_time


def return_slip_pdf(ret: Return) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(WIDTH, HEIGHT))
    canvas.setTitle(f"Return slip {ret.number}")
    seller = current_app.config.get("OMS_SELLER", {})
    sheet = _Sheet(canvas)
    top = sheet.y
    sheet.text(MARGIN, top - 16, "Return slip", BOLD, 16)
    sheet.text(MARGIN, top - 16 - 4 - LEADING, seller.get("name", ""))
    right = WIDTH - MARGIN
    y = top - BARCODE_HEIGHT
    canvas.drawImage(ImageReader(io.BytesIO(code128_png(ret.number))), right - BARCODE_WIDTH, y,
                     BARCODE_WIDTH, BARCODE_HEIGHT)
    for text, font in ((ret.number, BOLD), (f"Order {ret.order.number}", None),
                       (local_time(ret.requested_at, "%d %b %Y"), None)):
        y -= LEADING
        sheet.text(right, y, text, font or "Helvetica", right=True)
    sheet.y = min(y, top - 16 - 4 - LEADING) - 6

    sheet.heading("Send this parcel to")
    for line in [seller.get("name", "")] + list(seller.get("address", [])):
        sheet.y -= LEADING
        sheet.text(MARGIN, sheet.y, line)

    sheet.heading("In this parcel")
    sheet.table([(line.order_line.sku, f"{line.order_line.name} (reason: {line.reason.label.lower()})", line.quantity)
                 for line in ret.lines])
    sheet.y -= LEADING * 1.5
    sheet.text(MARGIN, sheet.y, f"Put this slip in the parcel and write {ret.number} on the outside.",
               size=SIZE, colour=MUTED)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
