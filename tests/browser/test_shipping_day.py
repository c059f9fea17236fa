"""Issue 12's day at volume, in one browser: 200 ready orders → select all matching on the board → Create
shipments (a job) → one PDF of 200 labels and slips whose barcodes scan → five other orders packed at the
pack station by keyboard only, a wrong item and an over-scan refused with nothing changed → one packed
parcel cancelled on its order page → the rest handed to the carrier with a manifest → Mark delivered for
all of them → the board counts them Fulfilled, and the stock invariants hold.

The orders are made through the services in one transaction (the test is of the day, not of typing 200
orders); every step of the day itself goes through the screens. Its cost is mostly the two PDFs and the
two jobs: about 20 s on a shared machine (`pytest --durations=1`).
"""
from __future__ import annotations

import io
import re

import sqlalchemy as sa
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from oms_web.database import write_transaction
from oms_web.domain import channel_shipping
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import Order, Segment, Shipment, ShipmentStatus
from oms_web.tasks import run_job

from .conftest import allow_refusals, sign_in
from tests.helpers.barcodes import barcodes_in_order

READY = 200
SLOW_MS = 30_000  # for what takes seconds at this volume (a job, 204 parcels handed over) on a busy machine
LAMP_EAN = "4006381333931"
BIN_OF = {"MUG-BLUE": "A-01-2", "TEE-M": "B-03-1", "LAMP-OAK": "C-02-1", "CAP-RED": "C-04-3", "SOCKS-WOOL": "D-01-1"}


def scan(page: Page, code: str) -> None:
    """What a scanner does: type the code into whatever has the focus, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def count_on_tab(page: Page, segment: Segment):
    return page.locator(f'#segment-tabs [data-segment="{segment.value}"]')


def run_the_job(page: Page) -> None:
    """The bulk action over 50 orders is a job: run it as the worker does; the page's poll shows the end."""
    job = page.locator("#flash [id^=bulk-job-]")
    expect(job).to_be_visible()
    run_job(int(job.get_attribute("id").rsplit("-", 1)[1]))


def select_every_matching(page: Page, count: int) -> None:
    page.locator("#select-all").check()
    page.get_by_role("button", name=f"Select all {count} orders matching this filter").click()
    expect(page.locator("#selected-count")).to_have_text(f"All {count} orders matching this filter selected")


def test_a_shipping_day_at_volume(open_page, shop, tmp_path):
    for sku in BIN_OF:
        shop.product(sku, in_hand=500).bin_location = BIN_OF[sku]
    shop.product_row("LAMP-OAK").barcode = LAMP_EAN
    db.session.commit()
    channel_shipping.set_shipping_defaults(shop.admin, shop.web.id, handling_days=2, carrier="UPS",
                                           service_level="Ground")
    with write_transaction():
        ready = [shop.order_for(f"Customer {i:03d}", ("MUG-BLUE" if i % 2 else "TEE-M", 1 + i % 3))
                 for i in range(READY)]
    ready_ids = [o.id for o in ready]

    # Morning: every ready order at once, from the board.
    page = open_page()
    allow_refusals(page, 422)
    sign_in(page, shop.staff, then="/orders?segment=ready_to_ship")
    expect(count_on_tab(page, Segment.READY_TO_SHIP)).to_have_text(str(READY))
    select_every_matching(page, READY)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Create shipments").click()
    run_the_job(page)
    link = page.locator("#flash").get_by_role("link", name="Open labels & packing slips (PDF)")
    expect(link).to_be_visible(timeout=SLOW_MS)
    expect(page.locator("#flash")).to_contain_text(f"{READY} done")
    expect(count_on_tab(page, Segment.PACKED)).to_have_text(str(READY))
    expect(count_on_tab(page, Segment.READY_TO_SHIP)).to_have_text("0")

    printed = page.request.get(link.get_attribute("href"))
    assert printed.status == 200 and printed.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(printed.body())).pages
    assert len(pages) == 2 * READY
    labels, slips = pages[0::2], pages[1::2]
    assert all(round(float(p.mediabox.width)) == 288 for p in labels)  # 4 x 6 in labels
    assert all(round(float(p.mediabox.width)) == 595 for p in slips)  # each followed by its A4 slip
    assert all("Packing slip" in p.extract_text() for p in (slips[0], slips[-1]))  # (reading all 200 takes seconds)
    shop.fresh()
    parcels = db.session.scalars(sa.select(Shipment).where(Shipment.order_id.in_(ready_ids))).all()
    numbers = {parcel.order_id: parcel.number for parcel in parcels}
    assert len(parcels) == READY and sorted(numbers) == sorted(ready_ids)  # one parcel per order
    # Each parcel's label is an odd page (its slip follows it): only those are rendered, at a resolution
    # that still reads every bar.
    codes = barcodes_in_order(printed.body(), tmp_path, resolution=110, odd_pages_only=True)
    assert sorted(codes) == sorted(numbers.values()), "a label's barcode does not scan as its shipment number"
    # In pick order: every TEE-M parcel (bin B-03-1) after every MUG-BLUE one (bin A-01-2).
    sku_of = {numbers[o.id]: ("MUG-BLUE" if i % 2 else "TEE-M") for i, o in enumerate(ready)}
    assert [sku_of[c] for c in codes] == sorted(sku_of[c] for c in codes)

    # The pack station: five more orders, keyboard only.
    with write_transaction():
        benched = [shop.order_for("Ada Lovelace", ("LAMP-OAK", 2), ("CAP-RED", 1)),
                   shop.order_for("Alan Turing", ("SOCKS-WOOL", 6)),
                   shop.order_for("Grace Hopper", ("CAP-RED", 1)),
                   shop.order_for("Edsger Dijkstra", ("LAMP-OAK", 1), ("SOCKS-WOOL", 2)),
                   shop.order_for("Barbara Liskov", ("MUG-BLUE", 1))]
    page.goto("/pack")
    field = page.get_by_label("Scan")
    expect(field).to_be_focused()
    message, progress = page.locator(".pack-message"), page.locator(".parcel-progress")

    first = benched[0]
    scan(page, first.number)
    expect(progress).to_have_text("0 of 3 unit(s) scanned")
    scan(page, LAMP_EAN)
    expect(message).to_have_text("✓ LAMP-OAK: 1 of 2")
    before = shop.snapshot()
    scan(page, "SOCKS-WOOL")  # on the bench for another order
    expect(message).to_contain_text(f"Wrong item: SOCKS-WOOL (Merino socks) is not on {first.number}")
    expect(page.locator("body")).to_have_attribute("data-last-tone", "refused")
    scan(page, "CAP-RED")
    expect(message).to_have_text("✓ CAP-RED: 1 of 1")
    scan(page, "CAP-RED")  # one too many
    expect(message).to_contain_text(f"Too many CAP-RED: all 1 of {first.number} are scanned already")
    expect(page.locator("body")).to_have_attribute("data-last-tone", "refused")
    expect(progress).to_have_text("2 of 3 unit(s) scanned")
    expect(field).to_be_focused()
    assert shop.snapshot() == before, "a refused scan changed something"

    def last_scan_packs(code: str, order: Order) -> None:
        with page.context.expect_page(timeout=SLOW_MS) as label:
            scan(page, code)
        expect(message).to_contain_text("packed: ")
        expect(message).to_contain_text(order.number)
        assert re.search(r"/orders/\d+/shipments/\d+/label\.pdf$", label.value.url)
        label.value.close()
        expect(field).to_be_focused()

    last_scan_packs(LAMP_EAN, first)
    scan(page, benched[1].number)
    last_scan_packs("6*SOCKS-WOOL", benched[1])  # a bulk item: the quantity keyed before the code
    scan(page, benched[2].number)
    last_scan_packs("cap-red", benched[2])
    scan(page, benched[3].number)
    scan(page, "2*SOCKS-WOOL")
    last_scan_packs(LAMP_EAN, benched[3])
    scan(page, benched[4].number)
    last_scan_packs("MUG-BLUE", benched[4])
    assert {shop.order_row(o.id).segment for o in benched} == {Segment.PACKED}

    # A parcel packed by mistake: cancelled on its order page, its units back to allocated.
    unpacked = ready[0]
    page.goto(f"/orders/{unpacked.id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel shipment").click()
    expect(page.locator("#order-shipments")).to_contain_text("Cancelled")
    row = shop.order_row(unpacked.id)
    assert row.segment is Segment.READY_TO_SHIP and row.shipments[0].status is ShipmentStatus.CANCELLED
    assert [(line.allocated, line.shipped) for line in row.lines] == [(1, 0)]

    # End of day: the rest go on the UPS truck, a couple scanned, then all the others, with a manifest.
    rest = READY - 1 + len(benched)
    page.goto("/handover")
    expect(page.locator(".carrier-card").first).to_contain_text("UPS")
    page.keyboard.press("c")
    expect(page.get_by_role("heading", name="Hand over to UPS")).to_be_visible()
    expect(page.locator("#scan-code")).to_be_focused()
    scan(page, numbers[ready[1].id])
    scan(page, shop.order_row(benched[0].id).shipments[0].number)
    expect(page.locator("#on-truck-rows tr")).to_have_count(2)
    scan(page, row.shipments[0].number)  # the cancelled parcel: refused, nothing added
    expect(page.locator("#scan-message")).to_contain_text("cancelled")
    expect(page.locator("#on-truck-rows tr")).to_have_count(2)
    page.keyboard.press("Escape")  # out of the scan field: the page's keys work again
    page.keyboard.press("a")  # every parcel still packed on the truck
    expect(page.locator("#handover-button")).to_have_text(f"Hand over {rest} parcels")
    expect(page.locator("#handover-button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Manifest")).to_contain_text("UPS", timeout=SLOW_MS)
    expect(page.locator("#flash")).to_contain_text(f"{rest} parcels handed over to UPS.")
    manifest = page.request.get(page.locator("#print-manifest").get_attribute("href"))
    assert manifest.status == 200 and manifest.headers["content-type"] == "application/pdf"
    manifest_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(manifest.body())).pages)
    assert "UPS" in manifest_text and str(rest) in manifest_text
    assert all(numbers[o.id] in manifest_text for o in ready[1:])
    assert numbers[unpacked.id] not in manifest_text

    # Delivered: every order in transit, from the board, and the counts say Fulfilled.
    page.goto("/orders?segment=in_transit")
    expect(count_on_tab(page, Segment.IN_TRANSIT)).to_have_text(str(rest))
    select_every_matching(page, rest)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark delivered").click()
    run_the_job(page)
    expect(page.locator("#flash")).to_contain_text(f"{rest} done", timeout=SLOW_MS)
    expect(count_on_tab(page, Segment.FULFILLED)).to_have_text(str(rest))
    expect(count_on_tab(page, Segment.IN_TRANSIT)).to_have_text("0")
    expect(count_on_tab(page, Segment.PACKED)).to_have_text("0")
    expect(count_on_tab(page, Segment.READY_TO_SHIP)).to_have_text("1")  # the cancelled parcel's order

    shop.fresh()
    segments = dict(db.session.execute(sa.select(Order.segment, sa.func.count()).group_by(Order.segment)).all())
    assert segments == {Segment.FULFILLED: rest, Segment.READY_TO_SHIP: 1}
    assert check_invariants() == []
