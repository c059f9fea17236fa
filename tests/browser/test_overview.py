"""The overview polls every 5 s only while its tab is visible, and refreshes at once when it shows again."""
from __future__ import annotations

from .conftest import sign_in

HIDE = ("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});"
        "document.dispatchEvent(new Event('visibilitychange'))")
SHOW = ("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});"
        "document.dispatchEvent(new Event('visibilitychange'))")


def test_the_overview_polls_only_while_its_tab_is_visible(page, shop):
    polls: list[str] = []
    page.on("request", lambda request: request.headers.get("hx-request") and "/overview" in request.url
            and polls.append(request.url))
    page.clock.install()
    sign_in(page, shop.manager, then="/overview")
    page.locator("#overview").wait_for()

    with page.expect_request(lambda request: "/overview" in request.url):
        page.clock.run_for(5_500)  # visible: it polls
    assert len(polls) == 1

    page.evaluate(HIDE)
    page.clock.run_for(16_000)  # three polls' time while hidden
    page.wait_for_timeout(300)
    assert len(polls) == 1

    with page.expect_request(lambda request: "/overview" in request.url):
        page.evaluate(SHOW)  # shown again: refreshed at once, without waiting for the next poll
    assert len(polls) == 2


def test_the_overview_draws_its_chart_of_the_days_orders_by_channel(page, shop):
    from playwright.sync_api import expect

    from .conftest import screenshot

    shop.product("MUG-BLUE", in_hand=10)
    for name in ("Ada Lovelace", "Grace Hopper", "Alan Turing"):
        shop.order_for(name, ("MUG-BLUE", 1))
    sign_in(page, shop.manager, then="/overview")
    bars = page.locator("#overview svg.chart rect")
    expect(bars).to_have_count(1)  # today's three orders, one channel
    assert ": 3" in bars.first.locator("title").text_content()
    expect(page.locator("#overview svg.chart text.axis")).to_have_count(6)  # every fifth of 30 days
    screenshot(page, "overview")
