"""The bulk shipping PDFs, read back: each new parcel's label then its packing slip in pick order, the
barcodes scanned; the wave pick list by bin with totals, totes and each order's barcode."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from oms_web.documents.render import NothingToPrint, build
from oms_web.domain import bulk_shipping, shipping
from oms_web.extensions import db

from .shop import Shop
from tests.helpers.barcodes import barcodes_by_page


@pytest.fixture
def shop(sqlite_app) -> Shop:
    return Shop()


@pytest.fixture
def wave(shop):
    """Three orders whose first lines sit in bins in the opposite order of their ids."""
    for sku, where in (("TENT", "C-03"), ("MUG", "B-02"), ("LAMP", "A-01"), ("SOCK", None)):
        shop.product(sku, in_hand=50).bin_location = where
    db.session.commit()
    return [shop.web_order(("TENT", 1), ("SOCK", 2)), shop.web_order(("MUG", 2), ("TENT", 1)),
            shop.web_order(("LAMP", 3))]


def pages_of(pdf: bytes) -> list:
    return PdfReader(io.BytesIO(pdf)).pages


def test_after_create_shipments_one_pdf_has_each_label_then_its_slip_in_pick_order(shop, wave, tmp_path):
    result = bulk_shipping.create_shipments(shop.staff, [o.id for o in wave])
    printed = build("labels-and-slips", [o.id for o in wave], shipment_ids=result.shipment_ids)
    pages = pages_of(printed.pdf)
    assert len(pages) == 6
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pages]
    assert sizes[0::2] == [(288, 432)] * 3  # 4 x 6 in labels
    assert all(size != (288, 432) for size in sizes[1::2])  # each followed by its A4 packing slip
    texts = [" ".join(p.extract_text().split()) for p in pages]
    lamp, mug, tent = wave[2], wave[1], wave[0]  # bins A-01, B-02, C-03
    for position, order in enumerate((lamp, mug, tent)):
        assert order.number in texts[2 * position] and "Packing slip" in texts[2 * position + 1]
        assert order.number in texts[2 * position + 1]
    labels = [p for p in barcodes_by_page(printed.pdf, tmp_path, resolution=200)[0::2]]
    numbers = {o.id: shop.order_row(o.id).shipments[0].number for o in wave}
    assert labels == [[numbers[lamp.id]], [numbers[mug.id]], [numbers[tent.id]]]  # every label scans
    assert sorted(printed.pages_for) == sorted(o.id for o in wave)


def test_labels_and_slips_print_only_packed_parcels(shop, wave):
    result = bulk_shipping.create_shipments(shop.staff, [o.id for o in wave])
    shipping.cancel_shipment(shop.staff, result.shipment_ids[0])
    printed = build("labels-and-slips", [o.id for o in wave])
    assert len(pages_of(printed.pdf)) == 4  # the cancelled parcel's label is void: not printed
    with pytest.raises(NothingToPrint, match="packed parcel"):
        build("labels-and-slips", [wave[0].id])


def test_the_wave_pick_list_groups_by_bin_with_totals_totes_and_each_orders_barcode(shop, wave, tmp_path):
    pdf = build("wave-pick-list", [o.id for o in wave]).pdf
    (page,) = [" ".join(p.extract_text().split()) for p in pages_of(pdf)]
    assert page.index("Bin A-01") < page.index("Bin B-02") < page.index("Bin C-03") < page.index("no bin location")
    first, second, third = wave
    assert re.search(rf"TENT Product TENT 2 Tote 1: {first.number} ×1 Tote 2: {second.number} ×1", page)
    assert re.search(rf"LAMP Product LAMP 3 Tote 3: {third.number} ×3", page)
    assert re.search(rf"SOCK Product SOCK 2 Tote 1: {first.number} ×2", page)
    assert "3 order(s) in 3 tote(s) · 9 unit(s)" in page
    (codes,) = barcodes_by_page(pdf, tmp_path, resolution=200)
    assert codes == sorted(o.number for o in wave)


def test_a_slip_longer_than_a_page_goes_on_over_the_next_before_the_next_label(shop):
    for n in range(70):
        shop.product(f"BOLT-{n:02d}", in_hand=5).bin_location = "A-01"
    shop.product("LAMP", in_hand=5).bin_location = "B-01"
    db.session.commit()
    long = shop.web_order(*[(f"BOLT-{n:02d}", 1) for n in range(70)])
    short = shop.web_order(("LAMP", 1))
    result = bulk_shipping.create_shipments(shop.staff, [long.id, short.id])

    printed = build("labels-and-slips", [long.id, short.id], shipment_ids=result.shipment_ids)

    texts = [" ".join(p.extract_text().split()) for p in pages_of(printed.pdf)]
    labels = [n for n, text in enumerate(texts) if text.startswith("FROM:")]
    assert labels[0] == 0 and len(labels) == 2 and len(texts) == labels[1] + 2
    long_slip = texts[1:labels[1]]  # every page of it between its label and the next
    assert len(long_slip) >= 2 and "Packing slip" in long_slip[0]
    assert all("SKU Item Quantity" in page for page in long_slip if "BOLT" in page)  # the heads on each page
    assert all(sum(f"BOLT-{n:02d} " in page for page in long_slip) == 1 for n in range(70))  # each line once
    assert long.number in texts[0] and short.number in texts[labels[1]]
    assert "LAMP" in texts[-1] and "BOLT" not in texts[-1]
