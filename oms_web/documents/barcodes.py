"""Code 128 barcodes: reportlab's barcode module encodes, Pillow rasterises the bars into a PNG.

xhtml2pdf's own <pdf:barcode> draws each bar as a vector shape node, about 16 ms a barcode; a
500-label batch spent 8 of its 10 seconds there. The PNG is one pixel a module and one pixel high:
the PDF stretches it to the label's size without smoothing (no /Interpolate), so the bars print as
sharp as vectors, and the image costs next to nothing to embed.
"""
from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw
from reportlab.graphics.barcode.code128 import Code128

QUIET_MODULES = 10


class NotEncodable(ValueError):
    pass


def code128_png(value: str) -> bytes:
    if not value or not all(32 <= ord(ch) < 127 for ch in value):
        raise NotEncodable(f"{value!r} cannot be written as a Code 128 barcode")
    code = Code128(value)
    code.validate()
    code.encode()
    code.decompose()
    # Upper-case letters are bars, lower-case spaces; the letter is the width in modules (a = 1).
    modules = sum(ord(ch.lower()) - 96 for ch in code.decomposed) + 2 * QUIET_MODULES
    image = Image.new("L", (modules, 1), 255)
    draw = ImageDraw.Draw(image)
    x = QUIET_MODULES
    for ch in code.decomposed:
        width = ord(ch.lower()) - 96
        if ch.isupper():
            draw.line([(x, 0), (x + width - 1, 0)], fill=0)
        x += width
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


def code128_data_uri(value: str) -> str:
    return "data:image/png;base64," + base64.b64encode(code128_png(value)).decode("ascii")
