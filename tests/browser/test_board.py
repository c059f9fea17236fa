"""The order board: segment counts, switching segments in place, history, search, live counts."""
import re

from playwright.sync_api import expect

from oms_web.domain import orders as orders_service
from oms_web.models import OrderStatus, Segment
from tests.helpers.screens import a_day_of_orders, rows, tab

from .conftest import mark_window, same_window, screenshot, sign_in


def count(page, segment: str):
    return page.locator(f'#segment-tabs .count[data-segment="{segment}"]')


def test_b_segments_switch_in_place_keep_history_and_search_filters(page, shop):
    orders = a_day_of_orders(shop)
    sign_in(page, shop.staff)

    expected = {"all": 9, "draft": 1, "needs_attention": 1, "awaiting_payment": 1, "awaiting_stock": 1,
                "ready_to_ship": 2, "packed": 0, "partially_shipped": 1, "in_transit": 1, "fulfilled": 0, "void": 1}
    for segment, n in expected.items():
        expect(count(page, segment)).to_have_text(str(n))
    expect(rows(page)).to_have_count(9)
    expect(tab(page, "all")).to_have_attribute("aria-current", "page")
    screenshot(page, "board")

    mark_window(page)
    tab(page, "ready_to_ship").click()
    expect(page).to_have_url(re.compile(r"/orders\?segment=ready_to_ship$"))
    expect(rows(page)).to_have_count(2)
    expect(rows(page).locator(".badge")).to_have_text(["Ready to ship", "Ready to ship"])
    # A work segment lists the oldest ship-by first: the first order made ships first.
    expect(rows(page).first).to_contain_text(orders["ready"].number)
    expect(tab(page, "ready_to_ship")).to_have_attribute("aria-current", "page")
    expect(tab(page, "all")).not_to_have_attribute("aria-current", "page")
    assert same_window(page), "switching segments reloaded the page"

    tab(page, "awaiting_stock").click()
    expect(page).to_have_url(re.compile(r"segment=awaiting_stock$"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page)).to_contain_text("Alan Turing")
    assert same_window(page)

    page.go_back()
    expect(page).to_have_url(re.compile(r"segment=ready_to_ship$"))
    expect(tab(page, "ready_to_ship")).to_have_attribute("aria-current", "page")
    expect(rows(page)).to_have_count(2)
    expect(count(page, "all")).to_have_text("9")

    tab(page, "all").click()
    expect(rows(page)).to_have_count(9)
    mark_window(page)
    page.locator("#q").fill(orders["short"].number)
    expect(rows(page)).to_have_count(1)
    expect(rows(page)).to_contain_text(orders["short"].number)
    expect(page).to_have_url(re.compile(rf"q={orders['short'].number}"))
    assert same_window(page), "searching reloaded the page"
    screenshot(page, "board-search")

    page.locator("#q").fill("turin")  # part of a customer's name, in any case
    expect(rows(page)).to_have_count(1)
    expect(rows(page)).to_contain_text("Alan Turing")

    page.locator("#q").fill("SO-999999")
    expect(rows(page)).to_have_count(1)
    expect(rows(page)).to_have_text(re.compile("No orders here match"))
    page.locator("#q").fill("")
    expect(rows(page)).to_have_count(9)


def test_g_counts_follow_changes_without_a_reload(open_page, shop):
    shop.product("MUG-BLUE", in_hand=20, price_cents=1250)
    shop.product("TEE-M", price_cents=1900)
    shop.order_for("Ada Lovelace", ("MUG-BLUE", 2))
    short = shop.order_for("Alan Turing", ("MUG-BLUE", 1), ("TEE-M", 2))
    draft = shop.draft(("MUG-BLUE", 3))
    board = open_page()
    board.clock.install()  # so that the board's 15-second refresh can be reached without waiting for it
    sign_in(board, shop.staff)
    expect(count(board, "draft")).to_have_text("1")
    expect(count(board, "ready_to_ship")).to_have_text("1")
    mark_window(board)

    # In another tab, the same person finalizes the draft: stock is there, so it is ready to ship.
    other_tab = open_page(beside=board)
    other_tab.goto(f"/orders/{draft.id}")
    other_tab.get_by_role("button", name="Finalize & allocate").click()
    expect(other_tab.locator("#order-header .badge").first).to_have_text("Finalized")
    assert shop.order_row(draft.id).segment is Segment.READY_TO_SHIP

    # The board, left alone, catches up at its next refresh.
    board.clock.fast_forward("00:16")
    expect(count(board, "draft")).to_have_text("0")
    expect(count(board, "ready_to_ship")).to_have_text("2")
    assert same_window(board), "the counts were refreshed by reloading the page"

    # A web order arrives; the next action on the board brings its counts and list up to date at once.
    arrived = shop.order_for("Grace Hopper", ("TEE-M", 1))
    board.get_by_label(f"Select {short.number}").check()
    expect(board.locator("#selected-count")).to_have_text("1 order selected")
    board.get_by_role("button", name="Allocate now").click()
    expect(board.locator("#flash")).to_have_text("Allocated 0 unit(s) across 1 order(s).")
    expect(count(board, "all")).to_have_text("4")
    expect(count(board, "awaiting_stock")).to_have_text("2")
    expect(rows(board)).to_have_count(4)
    expect(rows(board).first).to_contain_text(arrived.number)
    expect(board.locator("#selected-count")).to_have_text("No orders selected")
    assert same_window(board)
    assert shop.order_row(short.id).status is OrderStatus.FINALIZED


def test_h_the_poll_refreshes_the_rows_stages_keeping_the_selection_and_the_scroll(open_page, shop):
    shop.product("MUG-BLUE", in_hand=200, price_cents=1250)
    for n in range(30):  # more rows than the window holds, so that the board scrolls
        shop.order_for(f"Customer {n}", ("MUG-BLUE", 1))
    draft = shop.draft(("MUG-BLUE", 3))
    board = open_page()
    board.set_viewport_size({"width": 1200, "height": 600})
    board.clock.install()
    sign_in(board, shop.staff)
    stage = board.locator(f"#stage-{draft.id}")
    expect(stage).to_have_text("Draft")
    board.get_by_label(f"Select {draft.number}").check()
    board.mouse.wheel(0, 400)
    board.wait_for_function("window.scrollY > 0")
    scrolled = board.evaluate("window.scrollY")
    mark_window(board)

    orders_service.finalize_order(shop.staff, draft.id)  # elsewhere: stock is there, so it is ready to ship

    board.clock.fast_forward("00:16")
    expect(stage).to_have_text("Ready to ship")
    expect(stage).to_have_class(re.compile("seg-ready_to_ship"))
    expect(board.get_by_label(f"Select {draft.number}")).to_be_checked()
    expect(board.locator("#selected-count")).to_have_text("1 order selected")
    assert board.evaluate("window.scrollY") == scrolled
    assert same_window(board), "the rows were refreshed by reloading the page"


def test_an_empty_segments_counts_refresh_without_a_console_error(open_page, shop):
    """The tabs' poll sends the ids of the rows shown; with none shown it still goes, and htmx logs no
    error (open_page fails the test on any)."""
    shop.product("MUG-BLUE", in_hand=5)
    shop.order_for("Ada Lovelace", ("MUG-BLUE", 1))
    board = open_page()
    board.clock.install()
    sign_in(board, shop.staff, then="/orders?segment=packed")
    expect(rows(board)).to_have_count(1)  # the "No orders here" row: no order, no "shown" id
    expect(rows(board).first).to_contain_text("No orders here")
    shop.order_for("Alan Turing", ("MUG-BLUE", 1))
    with board.expect_response(lambda response: "/orders/counts" in response.url) as polled:
        board.clock.fast_forward("00:16")
    assert polled.value.status == 200
    expect(count(board, "ready_to_ship")).to_have_text("2")
