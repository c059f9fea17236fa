"""The screens with no internet and with no script: htmx comes from this site, so a site that cannot
reach a CDN still works; and a form whose script did not run still posts, never putting its CSRF
token in a URL."""
import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from oms_web.models import PaymentStatus

from .conftest import mark_window, same_window, sign_in
from .pages import stage_badge


def test_the_screens_work_when_no_other_host_can_be_reached(page, shop, live_server):
    shop.product("MUG-BLUE", in_hand=5)
    order = shop.order_for("Katherine Johnson", ("MUG-BLUE", 1), payment=PaymentStatus.PENDING)
    own_host = urlsplit(live_server.url).netloc
    elsewhere = []

    def offline(route):  # as on a site without internet: every other host is unreachable
        elsewhere.append(route.request.url)
        route.abort("internetdisconnected")

    page.context.route(lambda url: urlsplit(url).netloc != own_host, offline)
    sign_in(page, shop.staff, f"/orders/{order.id}")
    expect(stage_badge(page)).to_have_text("Awaiting payment")

    mark_window(page)
    page.get_by_role("button", name="Mark paid").click()
    expect(stage_badge(page)).not_to_have_text("Awaiting payment")
    expect(page.locator("#order-timeline")).to_contain_text("Payment received")
    assert same_window(page), "htmx did not load: the click reloaded the page"
    assert shop.order_row(order.id).payment_status is PaymentStatus.PAID
    assert elsewhere == [], "the page asked another host for something"


def test_with_no_script_an_order_action_is_a_plain_post_that_keeps_its_token_out_of_the_url(open_page, shop):
    shop.product("MUG-BLUE", in_hand=5)
    order = shop.order_for("Mary Jackson", ("MUG-BLUE", 1), payment=PaymentStatus.PENDING)
    page = open_page(java_script_enabled=False)  # as when htmx was blocked or failed its integrity check
    requests = []
    page.on("request", lambda request: requests.append((request.method, request.url)))
    sign_in(page, shop.staff, f"/orders/{order.id}")
    expect(stage_badge(page)).to_have_text("Awaiting payment")

    page.get_by_role("button", name="Mark paid").click()
    expect(stage_badge(page)).not_to_have_text("Awaiting payment")
    expect(page.get_by_role("button", name="Mark paid")).to_have_count(0)
    assert re.search(rf"/orders/{order.id}$", page.url), "after the post, the order's own page"
    assert ("POST", f"{urlsplit(page.url).scheme}://{urlsplit(page.url).netloc}/orders/{order.id}/paid") in requests
    assert not [url for _, url in requests if "csrf_token" in url], "a CSRF token went into a URL"
    assert shop.order_row(order.id).payment_status is PaymentStatus.PAID


def test_with_no_script_the_boards_allocate_now_posts_the_selected_orders(open_page, shop):
    shop.product("LAMP-OAK")
    order = shop.order_for("Dorothy Vaughan", ("LAMP-OAK", 2))
    page = open_page(java_script_enabled=False)
    sign_in(page, shop.staff, "/orders?segment=awaiting_stock")
    page.get_by_role("checkbox", name=re.compile(order.number)).check()
    page.get_by_role("button", name="Allocate now").click()
    expect(page.locator("#flash")).to_contain_text("Allocated 0 unit(s) across 1 order(s).")
    assert "csrf_token" not in page.url and urlsplit(page.url).path == "/orders"
