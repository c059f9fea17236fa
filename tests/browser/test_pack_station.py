"""The pack station with the keyboard only, as a barcode scanner types (the code, then Enter): an order is
opened by its number, its items scanned by barcode and SKU; a wrong item and an over-scan are refused
at once (message, colour, tone) and change nothing; the last item packs the parcel and opens its label;
Alt+P closes a partial parcel. The station works at 390 px without scrolling sideways."""
from pathlib import Path

from playwright.sync_api import Page, expect

from oms_web.extensions import db

from .conftest import allow_refusals, mark_window, same_window, sign_in

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MUG_EAN = "4006381333931"


def scan(page: Page, code: str) -> None:
    """What a scanner does: type the code into whatever has the focus, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def shot(page: Page, name: str) -> None:
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")


def test_a_packer_packs_orders_with_the_keyboard_only(open_page, shop):
    mug, tee = shop.product("MUG-BLUE", in_hand=10), shop.product("TEE-M", in_hand=10)
    shop.product("LAMP-OAK", in_hand=10)
    mug.barcode, mug.bin_location, tee.bin_location = MUG_EAN, "A-01-2", "B-03-1"
    db.session.commit()
    first = shop.order_for("Ada Lovelace", ("MUG-BLUE", 2), ("TEE-M", 1))
    second = shop.order_for("Alan Turing", ("LAMP-OAK", 3))

    page = open_page()
    allow_refusals(page, 422)
    sign_in(page, shop.staff, "/pack")
    mark_window(page)
    field = page.get_by_label("Scan")
    expect(field).to_be_focused()
    state = page.locator("#pack-state")
    message = page.locator(".pack-message")

    scan(page, first.number)
    expect(page.locator(".parcel-head h2")).to_contain_text(first.number)
    expect(page.locator(".parcel-progress")).to_have_text("0 of 3 unit(s) scanned")
    scan(page, MUG_EAN)
    expect(message).to_have_text("✓ MUG-BLUE: 1 of 2")
    expect(field).to_be_focused()
    expect(field).to_have_value("")

    before = shop.snapshot()
    scan(page, "LAMP-OAK")  # on the bench, but another order's
    expect(message).to_contain_text(f"Wrong item: LAMP-OAK (Desk lamp, oak) is not on {first.number}")
    expect(state).to_have_attribute("data-outcome", "refused")
    expect(page.locator("body")).to_have_attribute("data-last-tone", "refused")
    expect(page.locator(".parcel-progress")).to_have_text("1 of 3 unit(s) scanned")

    scan(page, "tee-m")
    expect(message).to_have_text("✓ TEE-M: 1 of 1")
    expect(page.locator("body")).to_have_attribute("data-last-tone", "scanned")
    scan(page, "TEE-M")  # one too many
    expect(message).to_contain_text(f"Too many TEE-M: all 1 of {first.number} are scanned already")
    expect(page.locator("body")).to_have_attribute("data-last-tone", "refused")
    expect(page.locator(".parcel-progress")).to_have_text("2 of 3 unit(s) scanned")
    expect(field).to_be_focused()
    assert shop.snapshot() == before, "a refused scan changed something"
    shot(page, "pack-station-desktop")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator(".parcel-lines")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the station scrolls sideways at 390 px"
    shot(page, "pack-station-390")
    page.set_viewport_size({"width": 1280, "height": 800})

    with page.context.expect_page() as label:
        scan(page, "MUG-BLUE")  # the last unit: the parcel packs and its label opens
    expect(message).to_contain_text(f"packed: 3 unit(s) of {first.number}")
    shipment = shop.order_row(first.id).shipments[0]
    assert label.value.url.endswith(f"/orders/{first.id}/shipments/{shipment.id}/label.pdf")
    label.value.close()
    expect(page.locator("body")).to_have_attribute("data-last-tone", "packed")
    assert [l.shipped for l in shop.order_row(first.id).lines] == [2, 1]

    # The next scan starts the next order; Alt+P packs what is scanned as a partial parcel.
    expect(field).to_be_focused()
    scan(page, second.number)
    scan(page, "2*LAMP-OAK")
    expect(message).to_have_text("✓ LAMP-OAK: 2 of 3")
    with page.context.expect_page() as label:
        page.keyboard.press("Alt+p")
    expect(message).to_contain_text(f"packed: 2 unit(s) of {second.number}")
    label.value.close()
    assert [l.shipped for l in shop.order_row(second.id).lines] == [2]
    expect(field).to_be_focused()
    assert same_window(page), "the station reloaded the page"


def test_items_scanned_faster_than_the_answers_come_are_each_counted_once(open_page, shop):
    shop.product("MUG-BLUE", in_hand=10)
    shop.product("TEE-M", in_hand=10)
    order = shop.order_for("Ada Lovelace", ("MUG-BLUE", 3), ("TEE-M", 2))
    page = open_page()
    sign_in(page, shop.staff, "/pack")
    scan(page, order.number)
    expect(page.locator(".parcel-progress")).to_have_text("0 of 5 unit(s) scanned")
    network = page.context.new_cdp_session(page)  # each answer 300 ms away: the scans queue up behind it
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 300, "downloadThroughput": -1,
                                                      "uploadThroughput": -1})
    for code in ("MUG-BLUE", "TEE-M", "MUG-BLUE", "TEE-M"):
        scan(page, code)
    expect(page.locator(".parcel-progress")).to_have_text("4 of 5 unit(s) scanned")
    expect(page.get_by_label("Scan")).to_have_value("")
    expect(page.get_by_label("Scan")).to_be_focused()
