"""Pick lists list the units allocated where the picker stands (their Working-at location), and never a
drop-ship supplier's units: an order split across two warehouses is picked in part at each."""
import io

import pytest
from pypdf import PdfReader

from oms_web.documents import render
from oms_web.documents.render import NothingToPrint

from .helpers.drop_ship import drop_shipped, supplier_location
from .helpers.sites import location, receive_at

MAIN = 1


def _split_order(shop):
    shop.product("MUG-BLUE", in_hand=2)  # main warehouse
    tee = shop.product("TEE-M")
    east = location("East")
    receive_at(shop, tee.id, 3, east.id)
    drop_shipped(shop, "BENCH", supplier_location())
    order = shop.web_order(("MUG-BLUE", 2), ("TEE-M", 3), ("BENCH", 1))
    return shop.order_row(order.id), east


def test_a_pick_list_lists_only_the_units_at_the_pickers_location_and_no_drop_ship_units(shop):
    order, east = _split_order(shop)

    at_main = {row["product"].sku: row["units"] for row in render.pick_rows([order], MAIN)}
    at_east = {row["product"].sku: row["units"] for row in render.pick_rows([order], east.id)}
    anywhere = {row["product"].sku: row["units"] for row in render.pick_rows([order])}

    assert at_main == {"MUG-BLUE": 2}
    assert at_east == {"TEE-M": 3}
    assert anywhere == {"MUG-BLUE": 2, "TEE-M": 3}  # the bench is the maker's to ship
    totes, bins = render.wave([order], east.id)
    assert [tote.units for tote in totes] == [3]
    assert [row["product"].sku for place in bins for row in place["rows"]] == ["TEE-M"]


def test_the_printed_pick_list_names_its_location_and_one_with_nothing_there_is_refused(shop):
    order, east = _split_order(shop)
    printed = render.build("pick-list", [order.id], location_id=east.id)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.pdf)).pages)
    assert "Pick list · East" in text and "TEE-M" in text and "MUG-BLUE" not in text

    empty = location("North")
    with pytest.raises(NothingToPrint, match="at North"):
        render.build("wave-pick-list", [order.id], location_id=empty.id)


@pytest.mark.parametrize("kind", ["pick-list", "wave-pick-list"])
def test_a_pick_list_names_the_chosen_orders_with_nothing_to_pick_there_and_why(shop, kind):
    order, east = _split_order(shop)
    shop.product("CUP", in_hand=1)  # at Main
    at_main = shop.order_row(shop.web_order(("CUP", 1)).id)
    waiting = shop.order_row(shop.web_order(("TEE-M", 2)).id)  # East's three tees are taken: backordered
    supplier_only = shop.order_row(shop.web_order(("BENCH", 1)).id)
    chosen = [order.id, at_main.id, waiting.id, supplier_only.id]

    printed = render.build(kind, chosen, location_id=east.id)
    text = " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.pdf)).pages).split())

    assert "Not here" in text
    assert f"{at_main.number} (at Main warehouse)" in text
    assert f"{waiting.number} (nothing allocated)" in text
    assert f"{supplier_only.number} (with the supplier)" in text
    assert f"{order.number} (" not in text.split("Not here", 1)[1]  # it has units here: on the list, not under it
    assert set(printed.pages_for) == {order.id}  # the others' timelines say nothing was printed for them
    # At Main the split order's mugs are picked, and East's tees are named as such.
    at_main_text = " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(
        render.build(kind, [order.id, waiting.id], location_id=MAIN).pdf)).pages).split())
    assert f"{waiting.number} (nothing allocated)" in at_main_text and "MUG-BLUE" in at_main_text
