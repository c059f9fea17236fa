"""The board and an order's page driven by the keyboard alone: rows moved through with j/k and the arrows,
selected with x, opened with Enter; an order's actions by their keys; ? lists what the page has."""
import re

from playwright.sync_api import Page, expect

from oms_web.domain import shipping

from .conftest import screenshot, sign_in
from tests.helpers.screens import a_day_of_orders, rows


def current(page: Page):
    return page.locator("#order-list tbody tr.is-current")


def help_entries(page: Page) -> dict[str, str]:
    """The open help's keys and what each does."""
    dialog = page.locator("dialog#shortcut-help")
    expect(dialog).to_be_visible()
    keys = [" ".join(term.split()) for term in dialog.locator("dt").all_inner_texts()]
    return dict(zip(keys, dialog.locator("dd").all_inner_texts()))


def test_k_rows_move_with_j_k_and_the_arrows_x_selects_and_enter_opens(page, shop):
    orders = a_day_of_orders(shop)
    sign_in(page, shop.staff)
    expect(rows(page)).to_have_count(9)
    numbers = [row.inner_text().split()[0] for row in rows(page).all()]  # newest first
    expect(current(page)).to_have_count(0)

    page.keyboard.press("j")
    expect(current(page)).to_contain_text(numbers[0])
    expect(current(page)).to_be_focused()
    # The focus is seen: an outline on the row.
    assert current(page).evaluate("row => getComputedStyle(row).outlineStyle") == "solid"
    page.keyboard.press("j")
    page.keyboard.press("ArrowDown")
    expect(current(page)).to_contain_text(numbers[2])
    page.keyboard.press("k")
    expect(current(page)).to_contain_text(numbers[1])
    page.keyboard.press("ArrowUp")
    page.keyboard.press("k")  # already at the top: it stays there
    expect(current(page)).to_contain_text(numbers[0])
    expect(current(page)).to_have_count(1)

    page.keyboard.press("x")
    expect(page.get_by_label(f"Select {numbers[0]}")).to_be_checked()
    expect(page.locator("#selected-count")).to_have_text("1 order selected")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("2 orders selected")
    page.keyboard.press("x")
    expect(page.get_by_label(f"Select {numbers[1]}")).not_to_be_checked()
    expect(page.locator("#selected-count")).to_have_text("1 order selected")
    # Held modifiers are the browser's: Alt+j and Ctrl+x do not move or select.
    page.keyboard.press("Alt+j")
    page.keyboard.press("Control+x")
    expect(current(page)).to_contain_text(numbers[1])
    expect(page.locator("#selected-count")).to_have_text("1 order selected")
    screenshot(page, "keyboard-board")

    # An action elsewhere refreshes the list: the same order stays the current one, with the focus.
    page.evaluate("htmx.trigger(document.body, 'orders-changed')")
    page.wait_for_load_state("networkidle")
    expect(current(page)).to_contain_text(numbers[1])
    expect(current(page)).to_be_focused()

    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(numbers[2])
    assert {o.number for o in orders.values()} >= set(numbers)


def test_k_typing_j_in_the_search_searches_and_moves_no_row(page, shop):
    orders = a_day_of_orders(shop)
    jean = shop.order_for("Jean Sammet", ("MUG-BLUE", 1))  # the newest, and the one email starting with j
    sign_in(page, shop.staff)
    page.keyboard.press("j")
    expect(current(page)).to_contain_text(jean.number)

    page.keyboard.press("/")
    expect(page.get_by_label("Search orders")).to_be_focused()
    page.keyboard.type("j")
    expect(page.get_by_label("Search orders")).to_have_value("j")
    expect(page).to_have_url(re.compile(r"q=j"))
    expect(rows(page)).to_have_count(1)
    # The list was swapped for the search's: the order still listed is still the current one.
    expect(current(page)).to_contain_text(jean.number)
    expect(page.get_by_label("Search orders")).to_be_focused()
    page.keyboard.press("k")
    expect(page.get_by_label("Search orders")).to_have_value("jk")
    expect(rows(page)).to_contain_text("No orders here")

    page.get_by_label("Search orders").fill("")
    expect(rows(page)).to_have_count(10)
    page.keyboard.press("Escape")  # leaves the search; the keys move rows again, from the top
    page.keyboard.press("j")
    expect(current(page)).to_contain_text(jean.number)
    page.keyboard.press("j")
    expect(current(page)).to_contain_text(orders["ready2"].number)


def test_k_an_orders_actions_by_their_keys_and_the_help_lists_them(page, shop):
    orders = a_day_of_orders(shop)
    partial = orders["partial"]  # one parcel with the carrier, one packed, two units still to ship
    sign_in(page, shop.staff, then="/orders?segment=partially_shipped")
    expect(rows(page)).to_have_count(1)
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(partial.number)
    page.wait_for_load_state()  # the heading shows before the page's script listens for keys

    page.keyboard.press("?")
    entries = help_entries(page)
    assert entries == {
        "b": "Back to the orders",
        "e": "Edit the lines (Enter saves)",
        "s": "Ship: the quantities, then Enter creates the shipment",
        "l": "Label of the first shipment not cancelled (PDF)",
        "m": "Mark shipped: carrier and tracking, then Enter",
        "d": "Mark delivered",
        "i": "Invoice shipped, not invoiced",
        "t": "Open a return",  # some units have shipped
        "n": "Add a note",
        "?": "This list",
        "Esc": "Close this list, or leave a field",
    }, entries  # nothing the page does not have: no Finalize, no Mark paid
    screenshot(page, "keyboard-help")
    page.keyboard.press("Escape")
    expect(page.locator("dialog#shortcut-help")).to_be_hidden()

    # Typing in a field, or holding Alt, never fires a shortcut.
    page.keyboard.press("n")
    expect(page.get_by_label("Add a note")).to_be_focused()
    page.keyboard.type("is it gift wrapped")
    expect(page.get_by_label("Add a note")).to_have_value("is it gift wrapped")
    page.keyboard.press("Escape")  # leaves the field, keeping what was typed
    expect(page.get_by_label("Add a note")).not_to_be_focused()
    expect(page.get_by_label("Add a note")).to_have_value("is it gift wrapped")
    page.keyboard.press("Alt+i")
    page.wait_for_timeout(300)  # time enough for a post the key would have sent
    assert shop.order_row(partial.id).invoices == []

    page.keyboard.press("i")
    expect(page.locator("#order-invoices")).to_contain_text("INV-")
    assert len(shop.order_row(partial.id).invoices) == 1
    page.keyboard.press("?")
    assert "i" not in help_entries(page), "the help lists an action that is gone"
    page.keyboard.press("Escape")

    # m: the shipment's carrier, then its tracking number, then Enter marks it shipped.
    page.keyboard.press("m")
    expect(page.locator("#order-shipments").get_by_label("Carrier")).to_be_focused()
    page.keyboard.type("UPS")
    page.keyboard.press("Tab")
    page.keyboard.type("1Z0002")
    page.keyboard.press("Enter")
    expect(page.locator("#order-shipments .badge").nth(1)).to_have_text("Shipped")
    assert shop.order_row(partial.id).shipments[1].tracking_number == "1Z0002"

    # b: back to the board as it was left, its segment chosen.
    page.keyboard.press("b")
    expect(page).to_have_url(re.compile(r"/orders\?segment=partially_shipped$"))
    expect(rows(page)).to_have_count(1)


def test_k_the_board_help_lists_the_row_keys_and_the_search(page, shop):
    shop.product("MUG-BLUE", in_hand=5)
    shop.order_for("Ada Lovelace", ("MUG-BLUE", 1))
    sign_in(page, shop.staff)
    page.keyboard.press("?")
    entries = help_entries(page)
    assert entries == {"j ↓": "Next order", "k ↑": "Previous order", "Enter": "Open the order",
                       "x": "Select or unselect the order", "/": "Search", "?": "This list",
                       "Esc": "Close this list, or leave a field"}, entries
    page.get_by_role("button", name="Close").click()
    expect(page.locator("dialog#shortcut-help")).to_be_hidden()


def test_k_a_shipped_parcel_is_marked_delivered_by_its_key(page, shop):
    shop.product("MUG-BLUE", in_hand=5)
    order = shop.order_for("Hedy Lamarr", ("MUG-BLUE", 1))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    shipping.mark_shipped(shop.staff, shipment.id, "UPS", "1Z0001")
    sign_in(page, shop.staff, then=f"/orders/{order.id}")
    page.keyboard.press("d")
    expect(page.locator("#order-shipments .badge").first).to_have_text("Delivered")
    assert shop.order_row(order.id).shipments[0].status.value == "delivered"


def test_k_the_keys_go_on_from_the_row_the_mouse_chose(page, shop):
    orders = a_day_of_orders(shop)
    sign_in(page, shop.staff)
    page.get_by_label(f"Select {orders['held'].number}").check()
    expect(current(page)).to_contain_text(orders["held"].number)
    page.keyboard.press("j")
    expect(current(page)).to_contain_text(orders["partial"].number)
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("2 orders selected")
    page.get_by_label(f"Select {orders['transit'].number}").check()
    page.keyboard.press("Enter")  # the focus is on that row's checkbox: Enter opens its order
    expect(page.get_by_role("heading", level=1)).to_have_text(orders["transit"].number)


def test_the_focus_stays_in_the_part_an_action_replaced(page, shop):
    """Cancel shipment replaces the shipments panel with its own button: the focus goes to the panel's
    heading, not back to the top of the page, so Tab goes on to the panel's next control."""
    shop.product("MUG-BLUE", in_hand=5)
    order = shop.order_for("Ada Lovelace", ("MUG-BLUE", 2))
    shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2}, carrier="UPS")
    sign_in(page, shop.staff, then=f"/orders/{order.id}")
    cancel = page.get_by_role("button", name="Cancel shipment")
    cancel.focus()
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Enter")
    expect(page.locator("#order-shipments")).to_contain_text("Cancelled")
    expect(page.locator("#order-shipments h2")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('order-shipments').contains(document.activeElement)")
