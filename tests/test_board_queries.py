"""The board's queries on SQLite and on PostgreSQL: a segment's pages, search by each kind of key within
the filters, and paging through search results, newest first."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import board
from oms_web.domain.board import BoardFilter, Sort, board_page
from oms_web.extensions import db
from oms_web.models import Customer, Order, Segment


def all_pages(filters: BoardFilter, limit: int = 3) -> list[int]:
    ids, before, after = [], None, None
    while True:
        page = board_page(filters, before_id=before, after=after, limit=limit)
        ids += [row.id for row in page.rows]
        if page.next_before_id is None and page.next_after is None:
            return ids
        before, after = page.next_before_id, page.next_after


def test_a_segments_pages_list_its_orders_newest_first_each_once(shop):
    shop.product("A", in_hand=4)
    made = [shop.web_order(("A", 1)).id for _ in range(7)]  # four ready to ship, then three awaiting stock
    drafts = [shop.draft(("A", 1)).id for _ in range(2)]

    assert all_pages(BoardFilter(segment=Segment.READY_TO_SHIP, sort=Sort.NEWEST)) == made[:4][::-1]
    assert all_pages(BoardFilter(segment=Segment.AWAITING_STOCK, sort=Sort.NEWEST)) == made[4:][::-1]
    assert all_pages(BoardFilter()) == (made + drafts)[::-1]
    first = board_page(BoardFilter(segment=Segment.READY_TO_SHIP, sort=Sort.NEWEST), limit=3).rows[0]
    assert (first.units_ordered, first.units_allocated, first.channel) == (1, 1, shop.web.name)


def test_search_by_sku_name_email_and_number_keeps_to_the_segment_and_pages_through(shop):
    shop.product("A", in_hand=10)
    shop.product("B")
    with_b = [shop.web_order(("A", 1), ("B", 1)).id for _ in range(5)]  # awaiting stock (no B)
    only_a = [shop.web_order(("A", 1)).id for _ in range(2)]  # ready to ship
    draft = shop.draft(("B", 1)).id  # Grace Hopper's

    assert all_pages(BoardFilter(search="b", segment=Segment.AWAITING_STOCK)) == with_b[::-1]
    assert all_pages(BoardFilter(search="B")) == [draft] + with_b[::-1]
    assert all_pages(BoardFilter(search="lovelace")) == (with_b + only_a)[::-1]
    assert all_pages(BoardFilter(search="LOVELACE", segment=Segment.READY_TO_SHIP)) == only_a[::-1]
    assert all_pages(BoardFilter(search="grace@")) == [draft]
    assert all_pages(BoardFilter(search=f"SO-{only_a[0]:06d}")) == [only_a[0]]
    assert all_pages(BoardFilter(search=f"SO-{only_a[0]:06d}", segment=Segment.DRAFT)) == []
    assert all_pages(BoardFilter(search="100%_off")) == []


def test_search_by_name_finds_a_customer_by_any_part_of_the_name_as_it_is_now(shop):
    shop.product("A", in_hand=10)
    order = shop.web_order(("A", 1)).id
    draft = shop.draft(("A", 1)).id
    assert all_pages(BoardFilter(search="ove")) == [order] and all_pages(BoardFilter(search="opp")) == [draft]
    customer_id = db.session.scalar(sa.select(Order.customer_id).where(Order.id == order))
    db.session.execute(sa.update(Customer).where(Customer.id == customer_id).values(name='Ada "Countess" Byron'))
    db.session.commit()
    assert all_pages(BoardFilter(search="lovelace")) == []  # the old name is forgotten
    assert all_pages(BoardFilter(search='"countess"')) == [order] and all_pages(BoardFilter(search="BYRON")) == [order]
    assert all_pages(BoardFilter(search='" OR "')) == [] and all_pages(BoardFilter(search="s\" b")) == [order]


def test_a_term_of_one_or_two_characters_finds_numbers_emails_and_skus_but_not_names(shop):
    shop.product("AB", in_hand=10)
    order = shop.web_order(("AB", 1)).id  # Ada Lovelace, ada@example.com
    draft = shop.draft(("AB", 1)).id  # Grace Hopper, grace@example.com

    assert all_pages(BoardFilter(search="ov")) == []  # in "Lovelace", but no index finds two letters
    assert all_pages(BoardFilter(search="ove")) == [order]
    assert all_pages(BoardFilter(search="g")) == [draft]  # the start of an email
    assert all_pages(BoardFilter(search="ab")) == [draft, order]  # a SKU
    assert all_pages(BoardFilter(search=str(order))) == [order]  # an order number
    assert board_page(BoardFilter(search=" ov ")).names_searched is False
    assert board_page(BoardFilter(search="ove")).names_searched and board_page(BoardFilter()).names_searched


@pytest.mark.parametrize("common", [1, 1_000_000], ids=["walked newest first", "through the index"])
def test_a_term_many_orders_match_finds_the_same_orders_either_way(shop, monkeypatch, common):
    """Where an email start or a name matches many orders, the board walks the orders newest first
    instead of sorting every match: the same orders, in the same pages."""
    monkeypatch.setattr(board, "COMMON", common)
    shop.product("X1", in_hand=10)
    ada = [shop.web_order(("X1", 1)).id for _ in range(4)]  # ada@example.com, Ada Lovelace
    grace = [shop.draft(("X1", 1)).id for _ in range(3)]  # grace@example.com, Grace Hopper
    assert all_pages(BoardFilter(search="a")) == ada[::-1]
    assert all_pages(BoardFilter(search="gr"), limit=2) == grace[::-1]
    assert all_pages(BoardFilter(search="lovelace", segment=Segment.READY_TO_SHIP)) == ada[::-1]
    assert all_pages(BoardFilter(search="hop"), limit=2) == grace[::-1]
    assert all_pages(BoardFilter(search="nobody")) == []


@pytest.mark.parametrize("limit", [3, 100], ids=["counted to its limit", "counted whole"])
def test_the_count_of_every_order_a_filter_finds_is_the_number_its_pages_list(shop, limit):
    """The board's "select all N matching" count (in no order, through the indexes) against the orders the
    pages list, for searches whose kinds overlap (an email start and a name, a SKU and a segment)."""
    shop.product("A", in_hand=10)
    shop.product("B")
    for _ in range(5):
        shop.web_order(("A", 1), ("B", 1))  # Ada Lovelace, ada@example.com: awaiting stock
    for _ in range(2):
        shop.web_order(("A", 1))  # ready to ship
    shop.draft(("B", 1))  # Grace Hopper's
    for filters in (BoardFilter(), BoardFilter(search="ada"), BoardFilter(search="b"), BoardFilter(search="a"),
                    BoardFilter(search="lovelace", segment=Segment.READY_TO_SHIP),
                    BoardFilter(search="B", segment=Segment.AWAITING_STOCK), BoardFilter(search="nobody"),
                    BoardFilter(segment=Segment.DRAFT)):
        listed = all_pages(filters)
        assert board.count_matching(filters, limit) == min(len(listed), limit), filters
        assert board.matching_order_ids(filters, limit) == listed[:limit]
