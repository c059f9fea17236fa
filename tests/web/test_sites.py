"""Working per location on the screens: the order page says where each line's units are and moves them,
ships from the location chosen, the pack station packs only the units where the packer stands, and the
board's Create shipments does the same. On both databases (they move stock)."""
from __future__ import annotations

import html

import pytest

from oms_web.domain import orders
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import Shipment

from ..helpers.sites import MAIN, counts, location, receive_at, site_snapshot, where
from .conftest import every_row, use_both_backends

web_app = use_both_backends()


@pytest.fixture
def split(shop):
    """East (second priority) and an order of 3 A and 2 B split: A whole at Main, B at East only."""
    east = location("East", line1="1 Dock Road", city="Leeds", postal_code="LS1 1AA", country="GB",
                    ship_from_name="Shop East")
    a = shop.product("A", in_hand=3)
    b = shop.product("B")
    receive_at(shop, b.id, 2, east.id)
    order = shop.web_order(("A", 3), ("B", 2))
    assert where(shop.line(order.id, "A").id) == {MAIN: (3, 0)}
    assert where(shop.line(order.id, "B").id) == {east.id: (2, 0)}
    return east, order, a, b


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_order_page_says_which_location_holds_which_units(split, as_staff):
    east, order, _, _ = split
    page = _text(as_staff.get(f"/orders/{order.id}"))
    assert "Main warehouse 3" in page and "East 2" in page
    assert 'name="from_location"' in page and 'name="to_location"' in page
    assert '<label for="ship-from">Ship from</label>' in page


def test_the_ship_section_says_where_an_order_ships_from_when_one_location_holds_all_its_units(split, shop, as_staff):
    east, split_order, a, b = split
    receive_at(shop, b.id, 3, east.id)
    at_east = shop.web_order(("B", 3))
    assert where(shop.line(at_east.id, "B").id) == {east.id: (3, 0)}
    page = _text(as_staff.get(f"/orders/{at_east.id}")).split('id="order-ship"', 1)[1].split("</section>", 1)[0]
    assert "Ships from <strong>East</strong>" in page and 'id="ship-from"' not in page
    receive_at(shop, a.id, 1, MAIN)
    at_main = shop.web_order(("A", 1))
    assert "Ships from <strong>Main warehouse</strong>" in _text(as_staff.get(f"/orders/{at_main.id}"))
    # Split across two: the select says it instead.
    split_page = _text(as_staff.get(f"/orders/{split_order.id}"))
    assert 'id="ship-from"' in split_page and "Ships from <strong>" not in split_page


def test_a_shop_with_one_location_is_not_told_where_an_order_ships_from(shop, as_staff):
    shop.product("A", in_hand=2)
    order = shop.web_order(("A", 1))
    page = _text(as_staff.get(f"/orders/{order.id}"))
    assert "Ship now" in page and "Ships from" not in page


def test_staff_move_units_to_another_location_from_the_order_page(split, shop, as_staff):
    east, order, a, _ = split
    receive_at(shop, a.id, 2, east.id)
    line = shop.line(order.id, "A")
    response = as_staff.htmx_post(f"/orders/{order.id}/move", {"line": line.id, "from_location": MAIN,
                                                                "to_location": east.id, "units": "2"})
    assert response.status_code == 200, _text(response)[:500]
    assert where(line.id) == {MAIN: (1, 0), east.id: (2, 0)}
    assert "Main warehouse 1 · East 2" in _text(response)
    assert check_invariants() == []


@pytest.mark.parametrize("field, value, message", [
    ("units", "5", "Main warehouse holds 3 unpacked unit(s) of A for this order, not 5"),
    ("units", "0", "Units to move must be between 1"),
    ("units", "x", "Units to move must be a whole number"),
    ("to_location", "1", "The units are at Main warehouse already"),
    ("to_location", "999", "That location does not exist"),
    ("from_location", "", "is required"),
    ("line", "999999", "not on"),
])
def test_a_bad_move_is_refused_next_to_the_form_and_changes_nothing(split, shop, as_staff, field, value, message):
    east, order, _, _ = split
    line = shop.line(order.id, "A")
    before, sites = every_row(), site_snapshot()
    data = {"line": line.id, "from_location": MAIN, "to_location": east.id, "units": "1", field: value}
    response = as_staff.htmx_post(f"/orders/{order.id}/move", data)
    assert response.status_code in (404, 422)
    if response.status_code == 422:
        assert message in _text(response)
    assert every_row() == before and site_snapshot() == sites


def test_a_move_to_a_location_short_of_the_units_says_so(split, shop, as_staff):
    east, order, _, _ = split
    response = as_staff.htmx_post(f"/orders/{order.id}/move", {
        "line": shop.line(order.id, "A").id, "from_location": MAIN, "to_location": east.id, "units": "1"})
    assert response.status_code == 422
    assert "East holds none of A available" in _text(response)


def test_the_ship_form_offers_the_chosen_locations_units_and_ships_from_it(split, shop, as_staff):
    east, order, a, b = split
    line_a, line_b = shop.line(order.id, "A"), shop.line(order.id, "B")
    section = _text(as_staff.htmx_get(f"/orders/{order.id}?location={east.id}"))
    assert f'id="ship-qty-{line_b.id}"' in section and f'id="ship-qty-{line_a.id}"' not in section

    response = as_staff.htmx_post(f"/orders/{order.id}/ship", {"location": east.id, f"ship-{line_b.id}": "2",
                                                                "carrier": "UPS"})
    assert response.status_code == 200, _text(response)[:400]
    shipment = db.session.query(Shipment).one()
    assert shipment.location_id == east.id
    assert counts(b.id, east.id) == (0, 0)
    refused = as_staff.htmx_post(f"/orders/{order.id}/ship", {"location": east.id, f"ship-{line_a.id}": "1"})
    assert refused.status_code == 422 and "East does not hold all of these units" in _text(refused)
    assert check_invariants() == []


def _pack(client, order, codes):
    """Scan the order and its items at the station, each answer feeding the next post its parcel."""
    import re

    state: dict = {}
    response = None
    for code in [order.number, *codes]:
        response = client.htmx_post("/pack/scan", {"code": code, **state})
        body = response.get_data(as_text=True)
        state = dict(re.findall(r'<input type="hidden" name="((?:order_id|shown-\d+|scanned-\d+))" value="(\d+)"', body))
    return response


def test_an_order_split_across_two_warehouses_packs_as_two_parcels_at_two_stations(split, shop, sign_in):
    east, order, a, b = split
    at_main, at_east = sign_in(shop.staff), sign_in(shop.manager)
    assert at_east.post_form("/work-site", {"location": east.id}).status_code == 302

    packed_main = _pack(at_main, order, ["A", "A", "A"])
    assert packed_main.status_code == 200, _text(packed_main)[:400]
    wrong_place = at_main.htmx_post("/pack/scan", {"code": order.number})
    assert wrong_place.status_code == 422
    assert "has no units to pack at Main warehouse: they are at East 2" in _text(wrong_place)
    packed_east = _pack(at_east, order, ["B", "B"])
    assert packed_east.status_code == 200, _text(packed_east)[:400]

    shipments = db.session.query(Shipment).order_by(Shipment.id).all()
    assert [(s.location_id, [(l.order_line.sku, l.quantity) for l in s.lines]) for s in shipments] == [
        (MAIN, [("A", 3)]), (east.id, [("B", 2)])]
    assert check_invariants() == []


def test_bulk_create_shipments_packs_the_units_where_the_user_stands(split, shop, sign_in):
    east, order, a, b = split
    client = sign_in(shop.staff)
    client.post_form("/work-site", {"location": east.id})
    response = client.htmx_post("/orders/bulk/shipping/create", {"order_ids": str(order.id)})
    assert response.status_code == 200
    (shipment,) = db.session.query(Shipment).all()
    assert shipment.location_id == east.id and [l.quantity for l in shipment.lines] == [2]
    again = _text(client.htmx_post("/orders/bulk/shipping/create", {"order_ids": str(order.id)}))
    assert "has no units to pack at East: they are at Main warehouse 3" in again
    assert check_invariants() == []


def test_only_an_active_own_location_can_be_chosen_to_work_at(split, shop, as_staff):
    closed = location("Closed", active=False)
    for value in (str(closed.id), "999", "x", ""):
        response = as_staff.post_form("/work-site", {"location": value})
        assert response.status_code == 422, value


def test_a_label_prints_its_shipments_locations_ship_from_address(split, shop, as_staff):
    from oms_web.documents.render import label_data
    from oms_web.documents.labels import labels_pdf
    from oms_web.domain import shipping
    from pypdf import PdfReader
    import io

    east, order, _, _ = split
    east_parcel = shipping.ship_lines(shop.staff, order.id, {shop.line(order.id, "B").id: 2}, location_id=east.id)
    main_parcel = shipping.ship_lines(shop.staff, order.id, {shop.line(order.id, "A").id: 3}, location_id=MAIN)
    db.session.expire_all()
    text = [PdfReader(io.BytesIO(labels_pdf(label_data([db.session.get(Shipment, s.id)])))).pages[0].extract_text()
            for s in (east_parcel, main_parcel)]
    assert "Shop East" in text[0] and "1 Dock Road" in text[0]
    assert "Shop East" not in text[1]


def test_a_manager_receives_and_counts_at_the_chosen_location_and_the_product_page_shows_each(split, shop, as_manager):
    east, order, a, b = split
    row = _text(as_manager.get("/products"))
    assert f'id="receive-at-{a.id}"' in row and f'id="count-at-{a.id}"' in row
    assert as_manager.htmx_post(f"/products/{a.id}/receive", {"quantity": "4", "location": east.id}).status_code == 200
    assert counts(a.id, east.id) == (4, 0)
    assert as_manager.htmx_post(f"/products/{a.id}/adjust", {"counted": "1", "note": "stocktake",
                                                             "location": east.id}).status_code == 200
    assert counts(a.id, east.id) == (1, 0) and counts(a.id, MAIN) == (3, 3)
    page = _text(as_manager.get(f"/products/{a.id}"))
    assert "Per location" in page and "East" in page
    before = every_row()
    refused = as_manager.htmx_post(f"/products/{a.id}/receive", {"quantity": "4", "location": "999"})
    assert refused.status_code == 422 and "That location does not exist" in _text(refused)
    assert every_row() == before
    assert check_invariants() == []


def test_the_product_list_shows_one_locations_stock_when_asked_and_refuses_a_location_not_ours(split, shop, as_staff):
    east = split[0]
    page = _text(as_staff.get("/products"))
    assert "All locations" in page and f"At {east.name}" in page
    at_east = _text(as_staff.get(f"/products?at={east.id}"))
    assert f"stock at {east.name}" in at_east
    row = at_east.split('>B</a>', 1)[1].split("</tr>", 1)[0]  # B is held at East only
    assert [cell.split(">")[-1] for cell in row.split("</td>")[3:6]] == ["2", "2", "0"]
    at_main = _text(as_staff.get(f"/products?at={MAIN}")).split('>B</a>', 1)[1].split("</tr>", 1)[0]
    assert [cell.split(">")[-1] for cell in at_main.split("</td>")[3:6]] == ["0", "0", "0"]
    assert as_staff.get("/products?at=999999").status_code == 400
    assert as_staff.get("/products?at=x").status_code == 400


def _chosen(page: str, select_id: str) -> str:
    """The value of the option selected in the select with this id."""
    options = page.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    return options.split(" selected", 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]


def _figures(page: str, sku: str) -> list[str]:
    row = page.split(f">{sku}</a>", 1)[1].split("</tr>", 1)[0]
    return [cell.split(">")[-1] for cell in row.split("</td>")[3:6]]


def test_the_row_forms_receive_and_count_at_the_stock_at_location_and_keep_it_after_posting(split, shop, as_manager):
    east, order, a, b = split
    # Working at Main (the default): without "Stock at" the forms name Main.
    page = _text(as_manager.get("/products"))
    assert _chosen(page, f"receive-at-{a.id}") == str(MAIN) and _chosen(page, f"count-at-{a.id}") == str(MAIN)
    at_east = _text(as_manager.get(f"/products?at={east.id}"))
    assert _chosen(at_east, f"receive-at-{a.id}") == str(east.id)
    assert _chosen(at_east, f"count-at-{a.id}") == str(east.id)
    assert f'hx-post="/products/{a.id}/receive?at={east.id}"' in at_east
    assert f'hx-post="/products/{a.id}/adjust?at={east.id}"' in at_east
    # The row the receipt answers with still shows East's figures and names East.
    answer = as_manager.htmx_post(f"/products/{a.id}/receive?at={east.id}", {"quantity": "4", "location": east.id})
    assert answer.status_code == 200 and counts(a.id, east.id) == (4, 0)
    row = _text(answer)
    assert _figures(row, "A") == ["4", "0", "4"]
    assert _chosen(row, f"receive-at-{a.id}") == str(east.id) and _chosen(row, f"count-at-{a.id}") == str(east.id)
    assert f'hx-post="/products/{a.id}/adjust?at={east.id}"' in row
    # A refused count keeps the location posted (Main), not the list's.
    before = every_row()
    refused = _text(as_manager.htmx_post(f"/products/{a.id}/adjust?at={east.id}", {"counted": "x", "location": MAIN}))
    assert _chosen(refused, f"count-at-{a.id}") == str(MAIN) and _figures(refused, "A") == ["4", "0", "4"]
    assert every_row() == before
    # A count below what is committed at East: the confirm step posts back to East's list too.
    confirm = _text(as_manager.htmx_post(f"/products/{b.id}/adjust?at={east.id}", {"counted": "1", "note": "stocktake",
                                                                                  "location": east.id}))
    assert f'hx-post="/products/{b.id}/adjust?at={east.id}"' in confirm.split('class="count-confirm"', 1)[1]
    assert every_row() == before
    # A "Stock at" not ours is refused before anything is received.
    bad = as_manager.htmx_post(f"/products/{a.id}/receive?at=999999", {"quantity": "4", "location": east.id})
    assert bad.status_code == 422 and every_row() == before
    assert check_invariants() == []
