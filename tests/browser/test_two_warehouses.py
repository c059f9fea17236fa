"""An order split across two warehouses, as the packers see it: the order page says where its units are,
and it ships as two parcels from two pack stations, each packer "working at" one of the warehouses and
packing only the units allocated there (with screenshots)."""
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import Shipment
from tests.helpers import purchasing as buy
from tests.helpers.sites import receive_at

from .conftest import allow_refusals, screenshot, sign_in


def scan(page: Page, code: str) -> None:
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def work_at(page: Page, name: str) -> None:
    """Choose the warehouse in the top bar's Working at (saved on change, the page then reloads), then open
    the pack station. Waiting for the reload itself matters: a navigation started before it ends is cut off."""
    with page.expect_response(lambda response: response.url.endswith("/work-site") and response.ok):
        with page.expect_navigation():
            page.get_by_label("Working at").select_option(label=name)
    page.wait_for_load_state()
    if not page.url.endswith("/pack"):
        page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + "/pack")
        page.wait_for_load_state()
    expect(page.get_by_label("Working at")).to_have_value(
        page.get_by_label("Working at").locator("option", has_text=name).get_attribute("value"))


def test_an_order_split_across_two_warehouses_ships_as_two_parcels_from_two_pack_stations(open_page, shop):
    shop.product("MUG-BLUE", in_hand=1)  # at the main warehouse only
    tee = shop.product("TEE-M")
    east = buy.warehouse("East warehouse")
    receive_at(shop, tee.id, 1, east.id)  # at the East warehouse only
    order = shop.order_for("Ada Lovelace", ("MUG-BLUE", 1), ("TEE-M", 1))

    staff = open_page()
    sign_in(staff, shop.staff, f"/orders/{order.id}")
    lines = staff.locator("#order-lines")
    expect(lines).to_contain_text("Main warehouse 1")
    expect(lines).to_contain_text("East warehouse 1")
    screenshot(staff, "order-split-across-warehouses")

    main_packer, east_packer = open_page(), open_page()
    for packer in (main_packer, east_packer):
        allow_refusals(packer, 422)
        sign_in(packer, shop.staff, "/pack")
    work_at(east_packer, "East warehouse")

    # The main warehouse's bench: only the mug is there to pack; the tee is said to be at East.
    scan(main_packer, order.number)
    expect(main_packer.locator(".parcel-progress")).to_have_text("0 of 1 unit(s) scanned")
    scan(main_packer, "TEE-M")
    expect(main_packer.locator(".pack-message")).to_contain_text("TEE-M")
    with main_packer.context.expect_page() as label:
        scan(main_packer, "MUG-BLUE")
    label.value.close()
    expect(main_packer.locator(".pack-message")).to_contain_text(f"packed: 1 unit(s) of {order.number}")

    # The East bench: the tee.
    scan(east_packer, order.number)
    expect(east_packer.locator(".parcel-progress")).to_have_text("0 of 1 unit(s) scanned")
    with east_packer.context.expect_page() as label:
        scan(east_packer, "TEE-M")
    label.value.close()
    expect(east_packer.locator(".pack-message")).to_contain_text(f"packed: 1 unit(s) of {order.number}")
    screenshot(east_packer, "pack-station-east")

    db.session.rollback()  # read what the server committed, not this session's earlier snapshot
    parcels = db.session.execute(sa.select(Shipment.location_id, sa.func.count()).where(Shipment.order_id == order.id)
                                 .group_by(Shipment.location_id).order_by(Shipment.location_id)).all()
    assert [tuple(row) for row in parcels] == [(1, 1), (east.id, 1)]
    staff.reload()
    expect(staff.locator("#order-shipments")).to_contain_text("SH-")
    assert check_invariants() == []
