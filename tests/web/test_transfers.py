"""The transfers and locations screens: a manager creates and ships a transfer, staff receive it in parts;
refusals are said next to their field and change nothing. On SQLite and PostgreSQL (they move stock)."""
from __future__ import annotations

import html

from oms_web.domain import transfers
from oms_web.models import TransferState

from ..helpers.locations import MAIN, add_location, counts, receive_at, shipped_transfer, transfer_row
from ..helpers.refusals import refuses
from .conftest import use_both_backends

web_app = use_both_backends()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_manager_creates_and_ships_a_transfer_and_staff_receive_it_in_two_parts(shop, as_manager, as_staff):
    shop.product("A", in_hand=8)
    east = add_location(shop, "East")
    page = _text(as_manager.get("/transfers/new"))
    assert "Available at the source" in page and "Nothing moves until it is shipped" in page

    response = as_manager.post_form("/transfers/new", {"source": str(MAIN), "destination": str(east),
                                                       "sku-0": "", "quantity-0": "", "sku-2": "A", "quantity-2": "5"})
    assert response.status_code == 302
    transfer_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = _text(as_manager.get(f"/transfers/{transfer_id}"))
    assert "Ship now" in page and "Shipping takes all 5 unit(s) out of Main warehouse at once" in page

    assert as_manager.post_form(f"/transfers/{transfer_id}/ship").status_code == 302
    assert counts(shop, "A", MAIN) == (3, 0)
    line_id = transfer_row(transfer_id).lines[0].id
    page = _text(as_staff.get(f"/transfers/{transfer_id}"))
    assert "Receive at East" in page and "Ship now" not in page

    assert as_staff.post_form(f"/transfers/{transfer_id}/receive", {f"received-{line_id}": "2"}).status_code == 302
    assert transfer_row(transfer_id).state is TransferState.PARTIALLY_RECEIVED
    assert as_staff.post_form(f"/transfers/{transfer_id}/receive", {f"received-{line_id}": "3"}).status_code == 302
    assert transfer_row(transfer_id).state is TransferState.RECEIVED
    assert counts(shop, "A", east) == (5, 0)
    listing = _text(as_staff.get("/transfers?state=received"))
    assert transfer_row(transfer_id).number in listing


def test_receiving_more_than_was_sent_is_refused_beside_the_line_and_changes_nothing(shop, as_staff):
    shop.product("A", in_hand=8)
    east = add_location(shop, "East")
    made = shipped_transfer(shop, MAIN, east, ("A", 4))
    line_id = transfer_row(made.id).lines[0].id
    refuses(shop, as_staff, f"/transfers/{made.id}/receive", {f"received-{line_id}": "5"}, 422,
            "Receiving more than was sent: 5 unit(s) of A given, 4 still to come", ways=("page",))
    refuses(shop, as_staff, f"/transfers/{made.id}/receive", {f"received-{line_id}": "-1"}, 422,
            "must be between 0", ways=("page",))


def test_transferring_more_than_is_available_is_refused_with_every_short_line(shop, as_manager):
    shop.product("A", in_hand=3)
    shop.product("B", in_hand=1)
    east = add_location(shop, "East")
    shop.web_order(("A", 2))
    refuses(shop, as_manager, "/transfers/new",
            {"source": str(MAIN), "destination": str(east), "sku-0": "A", "quantity-0": "2", "sku-1": "B",
             "quantity-1": "4"}, 422, "A: asked for 2, only 1 possible; B: asked for 4, only 1 possible",
            ways=("page",))
    refuses(shop, as_manager, "/transfers/new", {"source": str(MAIN), "destination": str(MAIN), "sku-0": "A",
                                                 "quantity-0": "1"}, 422, "another location than the source",
            ways=("page",))
    refuses(shop, as_manager, "/transfers/new", {"source": str(MAIN), "destination": str(east), "sku-3": "NOPE",
                                                 "quantity-3": "1"}, 422, "No product has the SKU NOPE",
            ways=("page",))


def test_the_new_transfer_form_shows_what_the_source_has_available_as_a_sku_is_typed(shop, as_manager):
    shop.product("A", in_hand=7)
    east = add_location(shop, "East")
    receive_at(shop, "A", 2, east)
    assert "7 available" in _text(as_manager.htmx_get(f"/transfers/available?source={MAIN}&sku-0=A"))
    assert "2 available" in _text(as_manager.htmx_get(f"/transfers/available?source={east}&sku-4=A"))
    assert "no product with this SKU" in _text(as_manager.htmx_get(f"/transfers/available?source={MAIN}&sku-0=Z"))


def test_shipping_a_transfer_the_source_cannot_cover_any_more_is_refused_on_its_page(shop, as_manager):
    shop.product("A", in_hand=3)
    east = add_location(shop, "East")
    made = transfers.create_transfer(shop.manager, MAIN, east, [("A", 3)])
    shop.web_order(("A", 1))
    assert "need more than is available now" in _text(as_manager.get(f"/transfers/{made.id}"))
    refuses(shop, as_manager, f"/transfers/{made.id}/ship", {}, 422, "A: asked for 3, only 2 possible", ways=("page",))
    assert transfer_row(made.id).state is TransferState.CREATED


def test_a_location_holding_stock_is_not_deactivated_and_the_screen_says_why(shop, as_admin):
    shop.product("A")
    east = add_location(shop, "East")
    receive_at(shop, "A", 2, east)
    listing = _text(as_admin.get("/locations"))
    assert "East" in listing and "Main warehouse" in listing
    refuses(shop, as_admin, f"/locations/{east}", {"name": "East", "priority": "50", "active": "0", "supplier": ""},
            422, "East still holds 2 unit(s) in hand", ways=("page",))
    response = as_admin.post_form(f"/locations/{east}", {"name": "East coast", "priority": "300", "active": "1",
                                                         "supplier": "", "line1": "1 Dock Rd", "city": "Leith",
                                                         "country": "gb"})
    assert response.status_code == 302
    assert "1 Dock Rd, Leith GB" in _text(as_admin.get("/locations"))


def test_a_location_a_purchase_order_delivers_to_is_not_deactivated_and_the_screen_names_the_po(shop, as_admin):
    from ..helpers import purchasing as buy

    shop.product("A")
    east = add_location(shop, "East")
    sent = buy.sent_po(shop.manager, buy.supplier(), ("A", 4, 100), location_id=east)
    page = _text(as_admin.get(f"/locations/{east}"))
    assert "Purchase orders still to deliver here" in page and f"{sent.number}</a> (sent)" in page
    refuses(shop, as_admin, f"/locations/{east}", {"name": "East", "priority": "50", "active": "0", "supplier": ""},
            422, f"Purchase order {sent.number} (sent) is still to deliver to East", ways=("page",))


def test_a_channel_ships_from_the_locations_ticked_on_its_page(shop, as_admin):
    from oms_web.domain import stock

    east = add_location(shop, "East")
    page = _text(as_admin.get(f"/channels/{shop.web.id}"))
    assert "Ships from" in page and "none ticked means every active" in page
    assert as_admin.post_form(f"/channels/{shop.web.id}/ships-from", {"location": [str(east)]}).status_code == 302
    assert stock.sites_for(shop.web.id) == [east]
    refuses(shop, as_admin, f"/channels/{shop.web.id}/ships-from", {"location": ["abc"]}, 422,
            "not named right", ways=("page",))


def test_the_product_page_shows_units_in_transit_until_they_are_received(shop, as_staff):
    """Sent on a transfer and not yet received: in hand nowhere, and the product page says so."""
    shop.product("A", in_hand=5)
    east = add_location(shop, "East")
    shipped_transfer(shop, MAIN, east, ("A", 2))
    page = _text(as_staff.get(f"/products/{shop.product_row('A').id}"))
    assert "In transit" in page and ">2</dd>" in page.split("In transit", 1)[1][:300]
