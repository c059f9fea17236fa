"""A stock count below what is committed: the row asks to confirm, naming the orders that lose units,
and the confirmed count updates the row in place."""
from playwright.sync_api import expect

from .conftest import allow_refusals, mark_window, same_window, screenshot, sign_in


def test_a_count_below_committed_is_confirmed_in_place_naming_the_orders(open_page, shop):
    product = shop.product("MUG-BLUE", in_hand=5)
    older = shop.order_for("Ada Lovelace", ("MUG-BLUE", 2))
    newer = shop.order_for("Alan Turing", ("MUG-BLUE", 3))

    manager = open_page()
    allow_refusals(manager, 422)
    sign_in(manager, shop.manager, "/products?q=MUG")
    mark_window(manager)
    row = manager.locator(f"#product-{product.id}")
    row.get_by_label("Counted units of MUG-BLUE").fill("3")
    row.get_by_label("Reason for the count of MUG-BLUE").fill("shelf short")
    row.get_by_role("button", name="Set count").click()

    confirm = manager.locator(f"#product-{product.id}-note")
    expect(confirm).to_contain_text(f"This count of 3 takes 2 unit(s) of MUG-BLUE from order {newer.number}")
    expect(confirm.get_by_role("link", name=newer.number)).to_be_visible()
    assert shop.stock("MUG-BLUE") == (5, 5)  # nothing changed yet
    screenshot(manager, "stock-count-confirm")

    confirm.get_by_role("button", name="Confirm count of 3").click()
    expect(manager.locator(f"#product-{product.id}-note")).to_have_count(0)
    expect(manager.locator(f"#product-{product.id} td.num").first).to_have_text("3")
    assert same_window(manager), "the count reloaded the page"
    assert shop.stock("MUG-BLUE") == (3, 3)
    assert [l.allocated for l in shop.order_row(newer.id).lines] == [1]
    assert [l.allocated for l in shop.order_row(older.id).lines] == [2]
