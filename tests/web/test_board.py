"""The order board: segments as page or fragment, search, keyset pages, the counts, bulk allocation."""
from __future__ import annotations

import html
import re

import pytest

from oms_web.database import write_transaction
from oms_web.domain import stock
from oms_web.domain.invariants import check_invariants
from oms_web.models import Segment
from tests.helpers.board import order_for, order_numbers

from .conftest import use_both_backends

# The board reads counts, filters and bulk selections the database keeps: tried on PostgreSQL too.
web_app = use_both_backends()


def segment_counts(response) -> dict[str, int]:
    return {name: int(n.replace(",", "")) for name, n in
            re.findall(r'data-segment="(\w+)">([\d,]+)</span>', response.get_data(as_text=True))}


@pytest.fixture
def board(shop):
    """One order in each of: ready to ship (A in stock), awaiting stock (B out of stock), draft."""
    shop.product("A", in_hand=10)
    shop.product("B")
    return {"ready": order_for(shop, "Ada Lovelace", "ada@example.com", ("A", 1)),
            "waiting": order_for(shop, "Charles Babbage", "charles@engine.example", ("B", 2)),
            "draft": shop.draft(("A", 1))}


def test_a_segment_as_htmx_is_just_the_list_fragment(as_staff, board):
    response = as_staff.htmx_get("/orders?segment=awaiting_stock")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and "<head" not in body
    assert order_numbers(response) == [board["waiting"].number]
    assert 'id="segment-tabs"' in body and 'hx-swap-oob="true"' in body, "the tabs come along out of band"


def test_a_segment_as_a_page_is_the_whole_board(as_staff, board):
    response = as_staff.get("/orders?segment=awaiting_stock")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith("<!doctype html>") and "</html>" in body
    assert 'id="order-list"' in body and 'id="filters"' in body
    assert order_numbers(response) == [board["waiting"].number]
    assert re.search(r'href="/orders\?segment=awaiting_stock"[^>]*aria-current="page"', body)


def test_every_segment_lists_only_its_orders(as_staff, board):
    assert order_numbers(as_staff.htmx_get("/orders?segment=ready_to_ship")) == [board["ready"].number]
    assert order_numbers(as_staff.htmx_get("/orders?segment=draft")) == [board["draft"].number]
    assert order_numbers(as_staff.htmx_get("/orders?segment=fulfilled")) == []
    everything = order_numbers(as_staff.htmx_get("/orders"))
    assert everything == [board["draft"].number, board["waiting"].number, board["ready"].number], "newest first"


@pytest.mark.parametrize(("query", "found"), [
    ("SO-{waiting}", "waiting"), ("so-{waiting}", "waiting"), ("{waiting}", "waiting"),
    ("charles@engine.example", "waiting"), ("CHARLES@", "waiting"),
    ("B", "waiting"), ("b", "waiting"),
    ("Babbage", "waiting"),
])
def test_search_finds_the_order_by_number_email_sku_or_name(as_staff, board, query, found):
    text = query.format(waiting=board["waiting"].id)
    response = as_staff.htmx_get("/orders", query_string={"q": text})
    assert response.status_code == 200
    assert order_numbers(response) == [board[found].number]


def test_a_search_that_matches_nothing_says_so(as_staff, board):
    response = as_staff.htmx_get("/orders", query_string={"q": "nobody%_\\here"})
    assert order_numbers(response) == []
    assert "No orders here match “nobody%_\\here”" in html.unescape(response.get_data(as_text=True))


def test_a_short_search_says_names_are_searched_from_three_characters(as_staff, board):
    note = "Customer names are searched from 3 characters"
    short = as_staff.htmx_get("/orders", query_string={"q": "ab"})
    assert note in short.get_data(as_text=True) and order_numbers(short) == []
    longer = as_staff.htmx_get("/orders", query_string={"q": "abb"})
    assert note not in longer.get_data(as_text=True) and order_numbers(longer) == [board["waiting"].number]


def test_search_within_a_segment_keeps_the_segment(as_staff, board):
    assert order_numbers(as_staff.htmx_get("/orders", query_string={"q": "A", "segment": "draft"})) == [
        board["draft"].number]


def test_keyset_pages_walk_every_order_once_newest_first(shop, as_staff):
    shop.product("A", in_hand=1000)
    made = [shop.web_order(("A", 1)).number for _ in range(57)]
    first = as_staff.htmx_get("/orders")
    page_one = order_numbers(first)
    assert len(page_one) == 50
    older = re.search(r'href="(/orders\?before=\d+[^"]*)"[^>]*rel="next"', first.get_data(as_text=True))
    assert older, "the first page links to the next"
    second = as_staff.htmx_get(html.unescape(older.group(1)))
    page_two = order_numbers(second)
    assert len(page_two) == 7
    assert not set(page_one) & set(page_two)
    assert page_one + page_two == list(reversed(made))
    assert 'rel="next"' not in second.get_data(as_text=True), "the last page has no next link"
    assert "« Newest" in second.get_data(as_text=True)


def test_pages_keep_the_segment_and_search(shop, as_staff):
    shop.product("A", in_hand=1000)
    shop.product("B")
    for _ in range(52):
        shop.web_order(("A", 1))
    waiting = [shop.web_order(("B", 1)).number for _ in range(3)]
    response = as_staff.htmx_get("/orders?segment=awaiting_stock")
    assert order_numbers(response) == waiting  # a work segment: the oldest ship-by first
    assert order_numbers(as_staff.htmx_get("/orders?segment=awaiting_stock&sort=newest")) == list(reversed(waiting))
    assert 'rel="next"' not in response.get_data(as_text=True)


def test_a_search_with_many_matches_lists_the_newest_and_pages_through_every_one(shop, as_staff):
    shop.product("A", in_hand=1000)
    shop.product("B", in_hand=1000)
    matching = []
    for n in range(60):  # a popular SKU on many orders, and a repeat customer, among other orders
        matching.append(order_for(shop, "Ada Lovelace", "ada@example.com", ("A", 1), ("B", 1)).number)
        order_for(shop, "Grace Hopper", "grace@navy.example", ("A", 1))
    for query in ("b", "Lovelace"):
        first = as_staff.htmx_get("/orders", query_string={"q": query})
        older = re.search(r'href="(/orders\?before=\d+[^"]*)"[^>]*rel="next"', first.get_data(as_text=True))
        second = as_staff.htmx_get(html.unescape(older.group(1)))
        assert order_numbers(first) + order_numbers(second) == list(reversed(matching)), query


def test_the_counts_fragment_shows_every_segment(as_staff, board):
    response = as_staff.htmx_get("/orders/counts")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and 'id="segment-tabs"' in body
    counts = segment_counts(response)
    assert counts.pop("all") == 3
    assert counts == {s.value: (1 if s in (Segment.READY_TO_SHIP, Segment.AWAITING_STOCK, Segment.DRAFT) else 0)
                      for s in Segment}


def test_the_counts_follow_a_change(as_staff, as_manager, board):
    product_b = board["waiting"].lines[0].product_id
    assert as_manager.htmx_post(f"/products/{product_b}/receive", {"quantity": "5"}).status_code == 200
    counts = segment_counts(as_staff.htmx_get("/orders/counts"))
    assert counts["awaiting_stock"] == 0 and counts["ready_to_ship"] == 2


@pytest.mark.parametrize("query", [
    {"before": "²"}, {"before": "99999999999999999999999"}, {"before": "-5"}, {"channel": "²"},
    {"channel": "99999999999999999999999"}, {"segment": "nonsense"}, {"from": "2024-13-45", "to": "yesterday"},
    {"q": "x" * 500}, {"q": "²"}, {"q": "SO-²"}, {"q": "SO-99999999999999999999999"}, {"q": "%_\\"},
])
def test_odd_board_parameters_are_ignored_not_an_error(as_staff, board, query):
    assert as_staff.htmx_get("/orders", query_string=query).status_code == 200
    assert as_staff.get("/orders", query_string=query).status_code == 200


def test_bulk_allocate_gives_available_stock_to_the_selected_backorders(shop, as_staff, board):
    # Units in hand that no backorder has been given yet (received outside the services that fill them).
    product_b = shop.product_row("B")
    with write_transaction():
        stock.receive(product_b, 2, shop.manager, "found on a shelf")
    response = as_staff.htmx_post("/orders/bulk/allocate",
                                  {"order_ids": [str(board["waiting"].id), str(board["draft"].id)]})
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Allocated 2 unit(s) across 1 order(s)." in body
    assert f"Not allocated: Only a finalized order takes stock; {board['draft'].number} is draft" in body
    assert "orders-changed" in response.headers["HX-Trigger"]
    assert response.headers["HX-Retarget"] == "#flash"
    waiting = shop.order_row(board["waiting"].id)
    assert waiting.lines[0].allocated == 2 and waiting.segment is Segment.READY_TO_SHIP
    assert shop.stock("B") == (2, 2)
    assert check_invariants() == []


def test_bulk_allocate_with_nothing_available_allocates_nothing(shop, as_staff, board):
    response = as_staff.htmx_post("/orders/bulk/allocate", {"order_ids": [str(board["waiting"].id)]})
    assert response.status_code == 200
    assert "Allocated 0 unit(s) across 1 order(s)." in response.get_data(as_text=True)
    assert shop.order_row(board["waiting"].id).lines[0].allocated == 0


def test_bulk_allocate_ignores_ids_that_are_not_ids(shop, as_staff, board):
    response = as_staff.htmx_post("/orders/bulk/allocate", {"order_ids": ["²", "99999999999999999999999", "x"]})
    assert response.status_code == 422
    assert "Select at least one order first." in response.get_data(as_text=True)


def test_the_counts_poll_brings_the_shown_rows_stage_and_units_out_of_band(as_staff, as_manager, board):
    """The board's 15-second poll sends the ids of its rows; the answer swaps their stage badges and units in place."""
    waiting, ready = board["waiting"], board["ready"]
    product_b = waiting.lines[0].product_id
    assert as_manager.htmx_post(f"/products/{product_b}/receive", {"quantity": "5"}).status_code == 200

    response = as_staff.htmx_get(f"/orders/counts?segment=awaiting_stock&shown={waiting.id}&shown={ready.id}&shown=x")
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert (f'<span id="stage-{waiting.id}" class="badge seg-ready_to_ship" hx-swap-oob="true">Ready to ship</span>'
            in body)
    assert f'<span id="units-{waiting.id}" hx-swap-oob="true">2 / 2 / 0</span>' in body
    assert f'id="stage-{ready.id}"' in body
    assert f'id="stage-{board["draft"].id}"' not in body, "only the rows the board shows"


def test_the_board_says_its_counts_are_of_all_orders_when_a_search_or_filter_narrows_the_list(as_staff, board):
    plain = html.unescape(as_staff.get("/orders").get_data(as_text=True))
    assert "Counts are of all orders</span>" in plain
    for query in ("q=ada", f"channel={board['ready'].channel_id}", "from=2020-01-01"):
        tabs = html.unescape(as_staff.htmx_get(f"/orders/counts?{query}").get_data(as_text=True))
        assert "Counts are of all orders, not only those the search and filters find" in tabs, query


def test_a_packed_order_shows_how_long_its_parcel_has_waited_on_the_bench(shop, as_staff):
    from datetime import timedelta

    import sqlalchemy as sa

    from oms_web.domain import shipping
    from oms_web.extensions import db
    from oms_web.models import Shipment, utcnow

    shop.product("A", in_hand=10)
    waiting = shop.web_order(("A", 1))
    parcel = shipping.ship_lines(shop.staff, waiting.id, {waiting.lines[0].id: 1}, carrier="UPS")
    db.session.execute(sa.update(Shipment).where(Shipment.id == parcel.id)
                       .values(created_at=utcnow() - timedelta(hours=5, minutes=10)))
    db.session.commit()
    ready = shop.web_order(("A", 1))

    packed_page = as_staff.get("/orders?segment=packed").get_data(as_text=True)
    all_page = as_staff.get("/orders").get_data(as_text=True)

    assert re.search(rf'id="stage-{waiting.id}"[^>]*>Packed</span> <span class="packed-age muted" title="Packed [^"]+">5 h</span>',
                     packed_page)
    ready_row = re.search(rf'<tr data-row="{ready.id}">.*?</tr>', all_page, re.S)[0]
    assert "packed-age" not in ready_row  # only an order waiting on the bench has the age of its parcel
