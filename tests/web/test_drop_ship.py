"""Drop shipping: a supplier confirms what it shipped through its signed link (no login) or staff upload
its CSV; each parcel becomes a shipment handed to the carrier, so Fulfilled and the marketplace's
confirmation follow as for our own parcels. A link forged, expired, for another order or location, or
used up is refused and changes nothing. On SQLite and PostgreSQL."""
from __future__ import annotations

import html
import io
import time

import pytest
import sqlalchemy as sa

from oms_web.domain import drop_ship, orders, shipping
from oms_web.domain.drop_ship import ConfirmRow, FileRefused, LinkRefused
from oms_web.domain.errors import InvalidInput
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import (ChannelKind, LineAllocation, OrderStatus, Segment, Shipment, ShipmentConfirmation,
                            ShipmentStatus, SupplierLinkUse)

from ..helpers.drop_ship import drop_shipped, link_path, supplier_location
from .conftest import every_row, state, use_both_backends

web_app = use_both_backends()


@pytest.fixture
def oakline(shop):
    location = supplier_location()
    drop_shipped(shop, "BENCH", location)
    drop_shipped(shop, "TABLE", location)
    shop.product("A", in_hand=10)
    return location


def _body(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _shipments(order_id: int) -> list[Shipment]:
    db.session.rollback()
    return db.session.scalars(sa.select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.id)).all()


def _marketplace_order(shop, *lines: tuple[str, int]):
    amazon = shop.channel("Amazon", ChannelKind.AMAZON)
    return orders.create_order(None, NewOrder(
        channel_id=amazon.id, channel_order_id="AMZ-1",
        customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com",
                                 ship_to={"name": "Ada Lovelace", "line1": "12 St James's Sq", "city": "London",
                                          "postal_code": "SW1Y 4JH", "country": "GB"}),
        lines=[LineRequest(sku, qty, unit_price_cents=1000) for sku, qty in lines]))


# ---------------------------------------------------------------- the order waits with its supplier

def test_a_drop_shipped_line_is_allocated_at_its_supplier_and_the_order_waits_with_it(shop, oakline, as_staff):
    order = shop.web_order(("BENCH", 2))
    order = shop.order_row(order.id)
    assert order.segment is Segment.WITH_SUPPLIER
    page = _body(as_staff.get(f"/orders/{order.id}"))
    assert "With supplier Oakline Furniture" in page
    assert "Supplier link: Oakline Furniture" in page and f"/supplier/{order.id}/{oakline.id}/" in page


def test_the_board_has_a_with_supplier_tab_listing_the_order(shop, oakline, as_staff):
    order = shop.web_order(("BENCH", 1))
    ours = shop.web_order(("A", 1))
    board = _body(as_staff.get("/orders?segment=with_supplier"))
    assert 'data-segment="with_supplier">1<' in board
    assert order.number in board and ours.number not in board


def test_the_drop_ship_screen_lists_what_waits_with_suppliers(shop, oakline, as_staff):
    order = shop.web_order(("BENCH", 2), ("A", 1))
    page = _body(as_staff.get("/drop-ship"))
    assert order.number in page and "Oakline Furniture" in page


# ---------------------------------------------------------------- the link

def test_the_supplier_page_shows_the_order_its_ship_to_and_only_its_own_lines(web_app, shop, oakline):
    order = shop.web_order(("BENCH", 2), ("A", 1))
    page = _body(web_app.test_client().get(link_path(order.id, oakline.id)))
    assert order.number in page and "12 St James's Sq" in page and "SW1Y 4JH" in page
    assert "BENCH" in page and ">A<" not in page  # our own line is not the supplier's
    assert 'name="qty-' in page and 'value="2"' in page  # everything, unless told otherwise


def test_a_supplier_confirms_through_its_link_without_signing_in(web_app, shop, oakline):
    order = shop.web_order(("BENCH", 2), ("TABLE", 1))
    bench, table = order.lines
    client = web_app.test_client()  # nobody signed in
    path = link_path(order.id, oakline.id)
    response = client.post_form(path, {"use": "0", "carrier": "DHL", "tracking_number": "JD0001",
                                       f"qty-{bench.id}": "2", f"qty-{table.id}": "1"})
    assert response.status_code == 303, _body(response)
    (shipment,) = _shipments(order.id)  # the same carrier and tracking: one parcel
    assert (shipment.status, shipment.carrier, shipment.tracking_number) == (ShipmentStatus.SHIPPED, "DHL", "JD0001")
    assert shipment.location_id == oakline.id and shipment.created_by_id is None
    order = shop.order_row(order.id)
    assert order.segment is Segment.IN_TRANSIT
    assert "Already confirmed" in _body(client.get(path))
    assert check_invariants() == []


def test_lines_with_different_tracking_numbers_become_one_shipment_each(web_app, shop, oakline):
    order = shop.web_order(("BENCH", 2), ("TABLE", 1))
    bench, table = order.lines
    response = web_app.test_client().post_form(link_path(order.id, oakline.id), {
        "use": "0", "carrier": "DHL", "tracking_number": "JD0001", f"qty-{bench.id}": "2", f"qty-{table.id}": "1",
        f"carrier-{table.id}": "UPS", f"tracking-{table.id}": "1Z0002"})
    assert response.status_code == 303, _body(response)
    shipments = _shipments(order.id)
    assert [(s.carrier, s.tracking_number, [(l.order_line_id, l.quantity) for l in s.lines]) for s in shipments] == [
        ("DHL", "JD0001", [(bench.id, 2)]), ("UPS", "1Z0002", [(table.id, 1)])]


def test_the_timeline_names_the_supplier_as_who_confirmed(web_app, shop, oakline, as_staff):
    order = shop.web_order(("BENCH", 1))
    web_app.test_client().post_form(link_path(order.id, oakline.id), {
        "use": "0", "carrier": "DHL", "tracking_number": "JD0001", f"qty-{order.lines[0].id}": "1"})
    page = _body(as_staff.get(f"/orders/{order.id}"))
    assert "Oakline Furniture (supplier)" in page
    assert "Oakline Furniture confirmed it shipped" in page and "through the supplier link" in page
    assert "drop_ship_confirmed" in shop.event_kinds(order.id)


def test_a_partial_confirmation_leaves_the_link_valid_for_the_rest(web_app, shop, oakline):
    order = shop.web_order(("BENCH", 3))
    line = order.lines[0]
    client, path = web_app.test_client(), link_path(order.id, oakline.id)
    assert client.post_form(path, {"use": "0", "carrier": "DHL", "tracking_number": "JD1",
                                   f"qty-{line.id}": "1"}).status_code == 303
    assert drop_ship.waiting_with_supplier(shop.order_row(order.id)) == {line.id: "Oakline Furniture"}
    page = _body(client.get(path))
    assert 'name="use" value="1"' in page and 'value="2"' in page
    assert client.post_form(path, {"use": "1", "carrier": "DHL", "tracking_number": "JD2",
                                   f"qty-{line.id}": "2"}).status_code == 303
    assert [sum(l.quantity for l in s.lines) for s in _shipments(order.id)] == [1, 2]


def test_the_same_form_sent_twice_records_its_shipment_once(web_app, shop, oakline):
    order = shop.web_order(("BENCH", 3))
    client, path = web_app.test_client(), link_path(order.id, oakline.id)
    form = {"use": "0", "carrier": "DHL", "tracking_number": "JD1", f"qty-{order.lines[0].id}": "1"}
    assert client.post_form(path, form).status_code == 303
    before = every_row()
    replay = client.post_form(path, form)
    assert replay.status_code == 409 and "already sent" in _body(replay)
    assert every_row() == before
    assert len(_shipments(order.id)) == 1


def test_a_link_whose_lines_are_all_confirmed_says_so_and_changes_nothing(web_app, shop, oakline):
    order = shop.web_order(("BENCH", 1))
    client, path = web_app.test_client(), link_path(order.id, oakline.id)
    client.post_form(path, {"use": "0", "carrier": "DHL", "tracking_number": "JD1", f"qty-{order.lines[0].id}": "1"})
    before = every_row()
    again = client.post_form(path, {"use": "1", "carrier": "DHL", "tracking_number": "JD9",
                                    f"qty-{order.lines[0].id}": "1"})
    assert again.status_code == 409 and "Already confirmed" in _body(again)
    assert every_row() == before


def _refused(client, method: str, path: str, status: int, words: str, data: dict | None = None) -> None:
    before = every_row()
    response = client.get(path) if method == "GET" else client.post_form(path, data or {})
    assert response.status_code == status, _body(response)[:400]
    assert words in _body(response) and "Nothing was recorded" in _body(response)
    assert every_row() == before


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_link_is_refused(web_app, shop, oakline, method):
    order = shop.web_order(("BENCH", 1))
    token = drop_ship.link_token(order.id, oakline.id)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    data = {"use": "0", "carrier": "DHL", "tracking_number": "X", f"qty-{order.lines[0].id}": "1"}
    _refused(web_app.test_client(), method, f"/supplier/{order.id}/{oakline.id}/{forged}", 404, "not valid", data)
    _refused(web_app.test_client(), method, f"/supplier/{order.id}/{oakline.id}/{'x' * 400}", 404, "not valid", data)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_link_is_refused(web_app, shop, oakline, monkeypatch, method):
    order = shop.web_order(("BENCH", 1))
    with monkeypatch.context() as past:  # signed 31 days ago
        past.setattr("itsdangerous.timed.TimestampSigner.get_timestamp", lambda self: int(time.time()) - 31 * 86400)
        token = drop_ship.link_token(order.id, oakline.id)
    data = {"use": "0", "carrier": "DHL", "tracking_number": "X", f"qty-{order.lines[0].id}": "1"}
    _refused(web_app.test_client(), method, f"/supplier/{order.id}/{oakline.id}/{token}", 410, "expired", data)


def test_the_link_lives_as_long_as_configured(web_app, shop, oakline, monkeypatch):
    order = shop.web_order(("BENCH", 1))
    with monkeypatch.context() as past:
        past.setattr("itsdangerous.timed.TimestampSigner.get_timestamp", lambda self: int(time.time()) - 3 * 86400)
        token = drop_ship.link_token(order.id, oakline.id)
    path = f"/supplier/{order.id}/{oakline.id}/{token}"
    assert web_app.test_client().get(path).status_code == 200
    monkeypatch.setitem(web_app.config, "OMS_SUPPLIER_LINK_MAX_AGE_DAYS", 2)
    assert web_app.test_client().get(path).status_code == 410


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_link_used_for_another_order_or_location_is_refused(web_app, shop, oakline, method):
    order = shop.web_order(("BENCH", 1))
    other = shop.web_order(("BENCH", 1))
    elsewhere = supplier_location("Birch & Co")
    token = drop_ship.link_token(order.id, oakline.id)
    data = {"use": "0", "carrier": "DHL", "tracking_number": "X", f"qty-{other.lines[0].id}": "1"}
    client = web_app.test_client()
    _refused(client, method, f"/supplier/{other.id}/{oakline.id}/{token}", 404, "another order", data)
    _refused(client, method, f"/supplier/{order.id}/{elsewhere.id}/{token}", 404, "another order", data)
    _refused(client, method, f"/supplier/{order.id}/1/{token}", 404, "another order", data)  # our own warehouse
    # A genuine link for a location the order has nothing at.
    _refused(client, method, link_path(order.id, elsewhere.id), 404, "another order", data)


def test_a_link_of_a_voided_order_is_refused(web_app, shop, oakline):
    order = shop.web_order(("BENCH", 1))
    path = link_path(order.id, oakline.id)
    orders.void_order(shop.admin, order.id, "customer cancelled")
    _refused(web_app.test_client(), "POST", path, 410, "cancelled",
             {"use": "0", "carrier": "DHL", "tracking_number": "X", f"qty-{order.lines[0].id}": "1"})


def test_the_supplier_form_needs_its_csrf_token(web_app, shop, oakline):
    order = shop.web_order(("BENCH", 1))
    before = every_row()
    response = web_app.test_client().post_form(link_path(order.id, oakline.id), {
        "use": "0", "carrier": "DHL", "tracking_number": "X", f"qty-{order.lines[0].id}": "1"}, token=None)
    assert response.status_code == 400
    assert every_row() == before


@pytest.mark.parametrize(("field", "value", "words"), [
    ("carrier", "", "Enter the carrier"),
    ("carrier", "D" * 61, "at most 60"),
    ("tracking_number", "1" * 81, "at most 80"),
    ("carrier", "DHL\x07", "printable"),
    ("qty", "3", "at most 2"),
    ("qty", "-1", "between 0"),
    ("qty", "1.5", "whole number"),
    ("qty", "0", "at least one line"),
])
def test_bad_input_on_the_supplier_form_is_refused_next_to_its_field(web_app, shop, oakline, field, value, words):
    order = shop.web_order(("BENCH", 2))
    line = order.lines[0]
    form = {"use": "0", "carrier": "DHL", "tracking_number": "JD1", f"qty-{line.id}": "2"}
    form[f"qty-{line.id}" if field == "qty" else field] = value
    before = every_row()
    response = web_app.test_client().post_form(link_path(order.id, oakline.id), form)
    assert response.status_code == 422, _body(response)[:300]
    assert words in _body(response) and 'aria-invalid="true"' in _body(response)
    assert every_row() == before


def test_a_marketplace_order_needs_the_tracking_number_its_channel_is_told(web_app, shop, oakline):
    order = _marketplace_order(shop, ("BENCH", 1))
    before = every_row()
    response = web_app.test_client().post_form(link_path(order.id, oakline.id), {
        "use": "0", "carrier": "DHL", "tracking_number": "", f"qty-{order.lines[0].id}": "1"})
    assert response.status_code == 422 and "tracking number" in _body(response).lower()
    assert every_row() == before


def test_a_confirmed_order_is_fulfilled_once_delivered_and_its_marketplace_is_told(web_app, shop, oakline):
    order = _marketplace_order(shop, ("BENCH", 1), ("A", 1))
    bench, own = order.lines
    response = web_app.test_client().post_form(link_path(order.id, oakline.id), {
        "use": "0", "carrier": "DHL", "tracking_number": "JD0001", f"qty-{bench.id}": "1"})
    assert response.status_code == 303
    (theirs,) = _shipments(order.id)
    confirmation = db.session.scalar(sa.select(ShipmentConfirmation).where(ShipmentConfirmation.shipment_id == theirs.id))
    assert confirmation is not None and confirmation.status == "pending"
    # Our own line ships from our warehouse as always.
    ours = shipping.ship_lines(shop.staff, order.id, {own.id: 1}, carrier="UPS", tracking_number="1Z1")
    shipping.mark_shipped(shop.staff, ours.id)
    shipping.mark_delivered(shop.staff, theirs.id)
    assert shop.order_row(order.id).status is OrderStatus.FINALIZED
    shipping.mark_delivered(shop.staff, ours.id)
    assert shop.order_row(order.id).status is OrderStatus.FULFILLED
    assert check_invariants() == []


def test_staff_cannot_ship_a_suppliers_units_from_the_order_page(shop, oakline):
    order = shop.web_order(("BENCH", 1))
    shop.refused(InvalidInput, shipping.ship_lines, shop.staff, order.id, {order.lines[0].id: 1},
                 match="shipped by their supplier")


# ---------------------------------------------------------------- the domain service

def test_the_service_refuses_a_stale_use_number_even_with_units_left(shop, oakline):
    order = shop.web_order(("BENCH", 3))
    claim = drop_ship.read_link(drop_ship.link_token(order.id, oakline.id), order.id, oakline.id)
    rows = [ConfirmRow(order.lines[0].id, 1, "DHL", "JD1")]
    drop_ship.confirm_by_link(claim, 0, rows)
    shop.refused(LinkRefused, drop_ship.confirm_by_link, claim, 0, rows, match="already sent")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SupplierLinkUse)) == 1


# ---------------------------------------------------------------- the supplier's CSV, uploaded by staff

def _upload(client, text: str):
    return client.post_form("/drop-ship/upload", {"file": (io.BytesIO(text.encode()), "oakline.csv")},
                            content_type="multipart/form-data")


def test_a_suppliers_csv_is_previewed_then_recorded_one_shipment_per_parcel(shop, oakline, as_staff):
    first = shop.web_order(("BENCH", 2), ("TABLE", 1))
    second = shop.web_order(("BENCH", 1))
    text = ("order_number,sku,quantity,carrier,tracking_number\n"
            f"{first.number},BENCH,2,DHL,JD1\n{first.number},table,1,DHL,JD1\n{second.number},BENCH,1,UPS,1Z9\n")
    before = every_row()
    preview = _upload(as_staff, text)
    assert preview.status_code == 200 and "Record 2 shipments" in _body(preview)
    assert every_row() == before  # a preview records nothing
    recorded = as_staff.post_form("/drop-ship/upload", {"confirmed": "1", "csv": text})
    assert recorded.status_code == 200 and "Recorded 2 shipments" in _body(recorded)
    assert [(s.carrier, s.status, sum(l.quantity for l in s.lines)) for s in _shipments(first.id)] == [
        ("DHL", ShipmentStatus.SHIPPED, 3)]
    assert [(s.carrier, s.tracking_number) for s in _shipments(second.id)] == [("UPS", "1Z9")]
    assert "by the supplier's file" in " ".join(e.message for e in shop.events(first.id))
    assert check_invariants() == []


def test_a_csv_with_bad_rows_lists_each_with_its_line_and_records_nothing(shop, oakline, as_staff):
    order = shop.web_order(("BENCH", 2), ("A", 1))
    text = ("order_number,sku,quantity,carrier,tracking_number\n"
            f"{order.number},BENCH,1,DHL,JD1\n"        # line 2: good
            f"{order.number},A,1,DHL,JD1\n"            # line 3: our own stock
            "SO-999999,BENCH,1,DHL,JD1\n"              # line 4: no such order
            f"{order.number},BENCH,2,DHL,JD1\n"        # line 5: 1 + 2 > 2
            f"{order.number},BENCH,x,DHL,JD1\n"        # line 6: not a number
            f"{order.number},BENCH,1,{'D' * 61},JD1\n")  # line 7: carrier too long
    before = every_row()
    for response in (_upload(as_staff, text), as_staff.post_form("/drop-ship/upload", {"confirmed": "1", "csv": text})):
        page = _body(response)
        assert response.status_code == 422
        assert "5 row(s) of the file cannot be taken" in page
        for line, words in ((3, "no drop-shipped line"), (4, "No order"), (5, "only 1 unit"), (6, "not a whole number"),
                            (7, "at most 60")):
            assert f'<td class="num">{line}</td><td>' in page and words in page, (line, words)
        assert every_row() == before


def test_a_csv_without_its_header_row_is_refused(shop, oakline, as_staff):
    order = shop.web_order(("BENCH", 1))
    before = every_row()
    response = _upload(as_staff, f"{order.number},BENCH,1,DHL,JD1\n")
    assert response.status_code == 422 and "must name the columns" in _body(response)
    assert every_row() == before


def test_the_csv_service_refuses_what_the_link_already_confirmed(shop, oakline):
    order = shop.web_order(("BENCH", 1))
    claim = drop_ship.read_link(drop_ship.link_token(order.id, oakline.id), order.id, oakline.id)
    drop_ship.confirm_by_link(claim, 0, [ConfirmRow(order.lines[0].id, 1, "DHL", "JD1")])
    data = f"order_number,sku,quantity,carrier,tracking_number\n{order.number},BENCH,1,DHL,JD1\n".encode()
    refusal = shop.refused(FileRefused, drop_ship.confirm_by_file, shop.staff, data)
    assert refusal.problems == [(2, f"{order.number} BENCH: already confirmed, nothing is left to ship")]


# ---------------------------------------------------------------- the product's "Drop-shipped by"

def test_a_manager_sets_drop_shipped_by_and_only_lines_allocated_from_then_on_go_there(shop, as_manager):
    location = supplier_location()
    shop.product("CHAIR", in_hand=5)
    before = shop.web_order(("CHAIR", 1))
    product = shop.product_row("CHAIR")
    page = _body(as_manager.get(f"/products/{product.id}/edit"))
    assert "Drop-shipped by" in page and "Oakline Furniture" in page
    response = as_manager.post_form(f"/products/{product.id}/edit", {
        "name": product.name, "price": "10.00", "drop_ship_location_id": str(location.id)})
    assert response.status_code == 302, _body(response)[:500]
    assert shop.product_row("CHAIR").drop_ship_location_id == location.id
    after = shop.web_order(("CHAIR", 1))
    sites = dict(db.session.execute(sa.select(LineAllocation.order_line_id, LineAllocation.location_id)).all())
    assert sites[before.lines[0].id] == 1 and sites[after.lines[0].id] == location.id
    assert check_invariants() == []


@pytest.mark.parametrize("value", ["1", "999", "abc"])  # our warehouse, no such location, not an id
def test_drop_shipped_by_takes_only_a_drop_ship_location(shop, as_manager, value):
    supplier_location()
    product = shop.product("CHAIR")
    before = state(shop)
    response = as_manager.post_form(f"/products/{product.id}/edit", {
        "name": product.name, "price": "10.00", "drop_ship_location_id": value})
    assert response.status_code == 422 and "drop-ship supplier from the list" in _body(response)
    assert state(shop) == before
    assert shop.product_row("CHAIR").drop_ship_location_id is None
