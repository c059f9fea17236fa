"""The hand-over screen in the browser, by keyboard only: pick the carrier, scan labels (a scanner types the
code and Enter), a wrong one refused with nothing added, tick one more, hand them over, print the manifest;
and the same screen on a phone held upright."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from oms_web.domain import shipping
from oms_web.extensions import db
from oms_web.models import Shipment, ShipmentStatus, utcnow

from .conftest import PHONE, allow_refusals, screenshot, sign_in
from tests.helpers.screens import assert_fits


DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def readme_picture(page: Page, name: str) -> None:
    """docs/screenshots/<name>.png, shown in the README's Shipping day."""
    page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")


def parcels(shop) -> dict[str, Shipment]:
    """Five parcels packed for UPS (one without a tracking number), one for DHL."""
    shop.product("MUG-BLUE", in_hand=50)
    made = {}
    for name, carrier, tracking in [("ada", "UPS", "1Z999AA10123456784"), ("bob", "UPS", "1Z999AA10123456785"),
                                    ("cy", "UPS", None), ("dee", "UPS", "1Z999AA10123456786"),
                                    ("eve", "UPS", "1Z999AA10123456787"), ("fay", "DHL", "JD014600003828501234")]:
        order = shop.order_for(name.title() + " Lovelace", ("MUG-BLUE", 1))
        made[name] = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier=carrier,
                                         tracking_number=tracking)
    # The packed ages differ, as on a real bench.
    for hours, name in enumerate(made):
        db.session.execute(sa.update(Shipment).where(Shipment.id == made[name].id)
                           .values(created_at=utcnow() - timedelta(hours=30 - 5 * hours, minutes=7)))
    db.session.commit()
    return made


def status_of(shop, shipment_id: int) -> ShipmentStatus:
    shop.fresh()
    return db.session.scalar(sa.select(Shipment.status).where(Shipment.id == shipment_id))


def scan(page: Page, code: str) -> None:
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_parcels_are_scanned_by_keyboard_and_handed_over_with_a_manifest(page: Page, shop):
    made = parcels(shop)
    allow_refusals(page, 422)
    sign_in(page, shop.staff, "/handover")
    expect(page.locator(".carrier-card").first).to_contain_text("UPS")
    page.keyboard.press("c")  # the first carrier: the one waiting longest
    expect(page.get_by_role("heading", name="Hand over to UPS")).to_be_visible()
    expect(page.locator("#scan-code")).to_be_focused()

    scan(page, "1Z999AA10123456784")
    expect(page.locator("#on-truck-rows tr")).to_have_count(1)
    expect(page.locator("#scan-code")).to_have_value("")
    scan(page, made["cy"].number)  # no tracking number: its label carries the shipment number
    expect(page.locator("#on-truck-rows tr")).to_have_count(2)
    expect(page.locator("#waiting-rows tr")).to_have_count(3)

    scan(page, "JD014600003828501234")  # DHL's parcel, on the UPS truck
    expect(page.locator("#scan-message")).to_contain_text(f"{made['fay'].number} goes with DHL, not UPS")
    expect(page.locator("#scan-form")).to_have_class("scan-form scan-refused")
    expect(page.locator("#scan-code")).to_be_focused()
    scan(page, "NOT-A-LABEL")  # the refused code is selected: the next scan replaces it
    expect(page.locator("#scan-message")).to_contain_text("No parcel has the code NOT-A-LABEL")
    scan(page, "1Z999AA10123456784")  # scanned twice
    expect(page.locator("#scan-message")).to_contain_text("already on the truck list")
    expect(page.locator("#on-truck-rows tr")).to_have_count(2)
    scan(page, "1Z999AA10123456785")
    expect(page.locator("#scan-message")).to_be_empty()
    expect(page.locator("#scan-form")).to_have_class("scan-form scan-ok")
    expect(page.locator("#handover-button")).to_have_text("Hand over 3 parcels")

    # Tick one without scanning: Tab onto its box, Space.
    page.locator(f"#parcel-{made['dee'].id}").focus()
    page.keyboard.press("Space")
    expect(page.locator("#on-truck-rows tr")).to_have_count(4)
    expect(page.locator("#handover-button")).to_have_text("Hand over 4 parcels")
    screenshot(page, "handover-desktop")
    readme_picture(page, "handover-desktop")

    page.keyboard.press("h")
    expect(page.get_by_role("heading", name="Manifest")).to_contain_text("UPS")
    expect(page.locator("#flash")).to_contain_text("4 parcels handed over to UPS.")
    expect(page.locator("#print-manifest")).to_be_focused()  # Enter prints it
    pdf = page.request.get(page.locator("#print-manifest").get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    for name in ("ada", "bob", "cy", "dee"):
        assert status_of(shop, made[name].id) is ShipmentStatus.SHIPPED
    assert status_of(shop, made["eve"].id) is ShipmentStatus.PACKED  # not scanned: still on the bench
    assert status_of(shop, made["fay"].id) is ShipmentStatus.PACKED

    page.goto("/handover")
    expect(page.locator("table.manifests tbody tr")).to_have_count(1)
    expect(page.locator("table.manifests tbody tr")).to_contain_text("UPS")


def test_a_label_scanned_while_the_last_is_answered_is_not_lost(page: Page, shop):
    made = parcels(shop)
    sign_in(page, shop.staff, "/handover/carrier?carrier=UPS")
    expect(page.locator("#scan-code")).to_be_focused()
    # At a scanner's speed: the next codes typed before the first answer is in, none lost or run together.
    network = page.context.new_cdp_session(page)  # each answer 300 ms away: the scans queue up behind it
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 300, "downloadThroughput": -1,
                                                      "uploadThroughput": -1})
    scan(page, made["ada"].tracking_number)
    scan(page, made["bob"].tracking_number)
    scan(page, made["cy"].number)
    scan(page, made["dee"].tracking_number)
    expect(page.locator("#on-truck-rows tr")).to_have_count(4)
    expect(page.locator("#scan-code")).to_have_value("")
    expect(page.locator("#handover-button")).to_have_text("Hand over 4 parcels")


def test_the_hand_over_screen_fits_a_phone(open_page, shop):
    made = parcels(shop)
    page = open_page(viewport=PHONE)
    allow_refusals(page, 422)
    sign_in(page, shop.staff, "/handover")
    assert_fits(page)
    screenshot(page, "handover-carriers-phone")
    page.goto("/handover/carrier?carrier=UPS")
    expect(page.locator("#scan-code")).to_be_focused()
    scan(page, "1Z999AA10123456785")
    expect(page.locator("#on-truck-rows tr")).to_have_count(1)
    scan(page, made["fay"].tracking_number)
    expect(page.locator("#scan-message")).to_contain_text("goes with DHL")
    assert_fits(page)
    screenshot(page, "handover-phone")
    readme_picture(page, "handover-390")
