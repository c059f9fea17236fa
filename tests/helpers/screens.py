"""What the browser tests share: a day of orders in every segment, the board's rows and tabs, and the
check that a page fits a phone held upright."""
from __future__ import annotations

from playwright.sync_api import Page

from oms_web.domain import orders as orders_service, shipping
from oms_web.models import PaymentStatus
from tests.browser.conftest import PHONE


def a_day_of_orders(shop) -> dict[str, object]:
    """An order in every segment but Fulfilled (two ready to ship), made through the services."""
    shop.product("MUG-BLUE", in_hand=20, price_cents=1250)
    shop.product("TEE-M", price_cents=1900)
    orders = {
        "void": shop.order_for("Barbara Liskov", ("MUG-BLUE", 1)),
        "transit": shop.order_for("Hedy Lamarr", ("MUG-BLUE", 1)),
        "partial": shop.order_for("Margaret Hamilton", ("MUG-BLUE", 4)),
        "held": shop.order_for("Radia Perlman", ("MUG-BLUE", 1), ("HAT-UNKNOWN", 1)),
        "ready": shop.order_for("Ada Lovelace", ("MUG-BLUE", 2)),
        "short": shop.order_for("Alan Turing", ("MUG-BLUE", 1), ("TEE-M", 2)),
        "unpaid": shop.order_for("Katherine Johnson", ("MUG-BLUE", 1), payment=PaymentStatus.PENDING),
        "draft": shop.draft(("MUG-BLUE", 3)),
        "ready2": shop.order_for("Edsger Dijkstra", ("MUG-BLUE", 1)),
    }
    orders_service.void_order(shop.admin, orders["void"].id, "Ordered twice")
    shipment = shipping.ship_lines(shop.staff, orders["transit"].id, {orders["transit"].lines[0].id: 1})
    shipping.mark_shipped(shop.staff, shipment.id, "UPS", "1Z0001")
    # Partially shipped: one unit with the carrier, one packed on the bench, two still to pick.
    handed = shipping.ship_lines(shop.staff, orders["partial"].id, {orders["partial"].lines[0].id: 1})
    shipping.mark_shipped(shop.staff, handed.id, "UPS", "1Z0003")
    shipping.ship_lines(shop.staff, orders["partial"].id, {orders["partial"].lines[0].id: 1})
    return orders


def tab(page, segment: str):
    return page.locator(f'#segment-tabs a:has(.count[data-segment="{segment}"])')


def rows(page):
    return page.locator("#order-list tbody tr")


# Every control a person uses, outside a box that scrolls on its own, lies inside the screen's width.
CUT_OFF = """() => {
  const scrolls = (element) => {
    for (let box = element.parentElement; box; box = box.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(box).overflowX)) return true;
    }
    return false;
  };
  return Array.from(document.querySelectorAll("main a, main button, main input, main select, main textarea, main summary"))
    .filter((element) => element.getClientRects().length && element.type !== "hidden" && !scrolls(element))
    .filter((element) => { const r = element.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth; })
    .map((element) => element.outerHTML.slice(0, 120));
}"""


def assert_fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    assert page.evaluate(CUT_OFF) == [], "controls are cut off at the screen's edge"
