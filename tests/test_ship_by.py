"""Ship-by deadlines on SQLite and PostgreSQL: the default rule (placed + the channel's handling days), a
channel's stated date, out-of-range dates refused unchanged, the channel's shipping defaults, the board's
work segments by ship-by with Late / Due today (on the shop's day, across midnight in its zone), and the
overview's counts."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from oms_web.domain import orders
from oms_web.domain import overview_figures as figures_module
from oms_web.domain.board import BoardFilter, Sort, after_from_text, board_page, sort_of
from oms_web.domain.channel_shipping import default_shipping, set_shipping_defaults
from oms_web.domain.deadlines import Due, ShopDay
from oms_web.domain.errors import InvalidInput, NotAllowed
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.domain.overview_figures import due_counts, overview_figures
from oms_web.extensions import db
from oms_web.models import Order, SalesChannel, Segment, utcnow

NEW_YORK = ZoneInfo("America/New_York")


def placed(shop, *, ship_by: datetime | None = None, placed_at: datetime | None = None, sku: str = "A",
           paid: bool = True) -> Order:
    from oms_web.models import PaymentStatus

    return orders.create_order(None, NewOrder(
        channel_id=shop.web.id, channel_order_id=f"S{db.session.scalar(sa.select(sa.func.count()).select_from(Order))}",
        customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com"), lines=[LineRequest(sku, 1)],
        ship_by=ship_by, placed_at=placed_at, payment_status=PaymentStatus.PAID if paid else PaymentStatus.PENDING))


def ship_by_of(order_id: int) -> datetime:
    db.session.rollback()
    return db.session.scalar(sa.select(Order.ship_by).where(Order.id == order_id))


# ------------------------------------------------------------------------------ the rule

def test_an_order_without_a_channel_date_ships_by_its_placed_time_plus_the_channels_handling_days(shop):
    shop.product("A", in_hand=10)
    when = datetime(2026, 11, 2, 15, 30)
    assert ship_by_of(placed(shop, placed_at=when).id) == when + timedelta(days=2)  # the default: 2 days
    set_shipping_defaults(shop.admin, shop.web.id, handling_days=0, carrier=None, service_level=None)
    assert ship_by_of(placed(shop, placed_at=when).id) == when  # same day
    made = orders.create_orders(None, [NewOrder(  # the batch path too
        channel_id=shop.web.id, channel_order_id="BATCH", customer=CustomerDetails(name="Ada"),
        lines=[LineRequest("A", 1)], placed_at=when)])
    assert ship_by_of(made[0].order_id) == when


def test_a_channels_own_ship_by_date_wins_over_its_handling_days(shop):
    shop.product("A", in_hand=10)
    stated = datetime(2026, 11, 3, 7, 59, 59)
    assert ship_by_of(placed(shop, ship_by=stated, placed_at=datetime(2026, 11, 2, 9)).id) == stated
    aware = datetime(2026, 11, 3, 2, 59, 59, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert ship_by_of(placed(shop, ship_by=aware).id) == datetime(2026, 11, 3, 10, 59, 59)


@pytest.mark.parametrize("field, value", [
    ("ship_by", datetime(1999, 12, 31, 23, 59)), ("ship_by", datetime(2100, 1, 1)), ("ship_by", "2026-11-03"),
    ("placed_at", datetime(9999, 12, 31)), ("placed_at", datetime(1900, 1, 1))])
def test_a_ship_by_or_placed_date_out_of_range_is_refused_and_changes_nothing(shop, field, value):
    shop.product("A", in_hand=10)
    error = shop.refused(InvalidInput, placed, shop, **{field: value})
    assert error.field == field and ("out of range" in error.message or "date and time" in error.message)


def test_a_manual_orders_handling_time_runs_from_when_it_is_finalized(shop):
    shop.product("A", in_hand=10)
    draft = shop.draft(("A", 1))
    db.session.execute(sa.update(Order).where(Order.id == draft.id).values(
        created_at=datetime(2026, 1, 1), ship_by=datetime(2026, 1, 3)))
    db.session.commit()
    set_shipping_defaults(shop.admin, shop.manual.id, handling_days=3, carrier=None, service_level=None)
    before = utcnow()
    orders.finalize_order(shop.staff, draft.id)
    assert before + timedelta(days=3) <= ship_by_of(draft.id) <= utcnow() + timedelta(days=3)


# ------------------------------------------------------------------------------ the channel's defaults

def test_an_admin_sets_a_channels_handling_days_and_default_carrier_and_service(shop):
    assert default_shipping(shop.web) == (None, None) and shop.web.handling_days == 2
    set_shipping_defaults(shop.admin, shop.web.id, handling_days=5, carrier="  UPS ", service_level="Ground")
    db.session.rollback()
    channel = db.session.get(SalesChannel, shop.web.id)
    assert (channel.handling_days, default_shipping(channel)) == (5, ("UPS", "Ground"))
    set_shipping_defaults(shop.admin, shop.web.id, handling_days=30, carrier="", service_level=None)
    db.session.rollback()
    assert default_shipping(db.session.get(SalesChannel, shop.web.id)) == (None, None)


@pytest.mark.parametrize("values, field", [
    ({"handling_days": -1}, "handling_days"), ({"handling_days": 31}, "handling_days"),
    ({"handling_days": "2"}, "handling_days"), ({"handling_days": True}, "handling_days"),
    ({"carrier": "C" * 61}, "default_carrier"), ({"service_level": "S" * 61}, "default_service"),
    ({"carrier": 7}, "default_carrier")])
def test_bad_shipping_defaults_are_refused_naming_the_field_and_change_nothing(shop, values, field):
    given = {"handling_days": 2, "carrier": "UPS", "service_level": "Ground", **values}
    error = shop.refused(InvalidInput, set_shipping_defaults, shop.admin, shop.web.id, **given)
    assert error.field == field
    db.session.rollback()
    assert db.session.get(SalesChannel, shop.web.id).default_carrier is None


def test_only_an_admin_sets_a_channels_shipping_defaults(shop):
    for user in (shop.staff, shop.manager):
        shop.refused(NotAllowed, set_shipping_defaults, user, shop.web.id, handling_days=1, carrier=None,
                     service_level=None)


# ------------------------------------------------------------------------------ the board

def all_pages(filters: BoardFilter, limit: int = 2) -> list[int]:
    ids, before, after = [], None, None
    while True:
        page = board_page(filters, before_id=before, after=after, limit=limit)
        ids += [row.id for row in page.rows]
        if page.next_before_id is None and page.next_after is None:
            return ids
        before, after = page.next_before_id, page.next_after


def test_a_work_segment_lists_the_oldest_ship_by_first_through_ties_and_pages(shop):
    shop.product("A", in_hand=100)
    days = [5, 1, 3, 1, 1, 4, 2]  # three orders share one ship-by: their ids break the tie
    made = [placed(shop, ship_by=datetime(2026, 11, d, 17)).id for d in days]
    expected = [order_id for _, order_id in sorted(zip(days, made))]

    assert sort_of(BoardFilter(segment=Segment.READY_TO_SHIP)) is Sort.SHIP_BY
    for limit in (1, 2, 3, 50):
        assert all_pages(BoardFilter(segment=Segment.READY_TO_SHIP), limit=limit) == expected, limit
    assert all_pages(BoardFilter(segment=Segment.READY_TO_SHIP, sort=Sort.NEWEST)) == made[::-1]  # still offered
    # The list of every order, a search and a segment past the work stay newest first.
    assert sort_of(BoardFilter()) is sort_of(BoardFilter(segment=Segment.FULFILLED)) is Sort.NEWEST
    assert sort_of(BoardFilter(segment=Segment.READY_TO_SHIP, search="ada")) is Sort.NEWEST
    assert all_pages(BoardFilter(sort=Sort.SHIP_BY)) == made[::-1]  # no index for it: not offered


def test_the_keyset_of_a_page_by_ship_by_round_trips_through_its_url_text_and_garbage_is_the_first_page(shop):
    shop.product("A", in_hand=10)
    made = [placed(shop, ship_by=datetime(2026, 11, 5, 17, 0, 0, 123456)).id for _ in range(3)]
    page = board_page(BoardFilter(segment=Segment.READY_TO_SHIP), limit=1)
    assert after_from_text(page.next_after_text) == page.next_after == (datetime(2026, 11, 5, 17, 0, 0, 123456), made[0])
    rest = board_page(BoardFilter(segment=Segment.READY_TO_SHIP), after=after_from_text(page.next_after_text))
    assert [r.id for r in rest.rows] == made[1:]
    for garbage in ("", "x", "2026-11-05T17:00:00", "2026-11-05T17:00:00_x", "2026-11-05T17:00:00+01:00_1",
                    "2026-99-05_1", "1" * 500, "2026-11-05_" + "9" * 30):
        assert after_from_text(garbage) is None, garbage


def test_late_and_due_today_are_the_shops_days_across_midnight_in_its_zone(shop):
    """In New York on 10 March 2026 (UTC-4 from 8 March), the shop's day runs 04:00 to 04:00 UTC."""
    shop.product("A", in_hand=10)
    yesterday_late = placed(shop, ship_by=datetime(2026, 3, 10, 3, 59, 59)).id  # 23:59:59 on the 9th there
    today_early = placed(shop, ship_by=datetime(2026, 3, 10, 4, 0)).id  # midnight starting the 10th
    today_late = placed(shop, ship_by=datetime(2026, 3, 11, 3, 59)).id  # 23:59 on the 10th
    tomorrow = placed(shop, ship_by=datetime(2026, 3, 11, 4, 0)).id
    unpaid_late = placed(shop, ship_by=datetime(2026, 3, 1), paid=False).id  # awaiting payment is work too
    waiting = placed(shop, ship_by=datetime(2026, 3, 2), sku="B").id  # B: no product, needs attention

    in_new_york = dict(today=date(2026, 3, 10), zone=NEW_YORK)
    assert all_pages(BoardFilter(due=Due.LATE, **in_new_york)) == [unpaid_late, waiting, yesterday_late]
    assert all_pages(BoardFilter(due=Due.TODAY, **in_new_york)) == [today_early, today_late]
    assert all_pages(BoardFilter(due=Due.LATE, segment=Segment.READY_TO_SHIP, **in_new_york)) == [yesterday_late]
    assert all_pages(BoardFilter(due=Due.LATE, segment=Segment.FULFILLED, **in_new_york)) == []
    badges = {row.id: row.due for row in board_page(BoardFilter(segment=Segment.READY_TO_SHIP, **in_new_york)).rows}
    assert badges == {yesterday_late: Due.LATE, today_early: Due.TODAY, today_late: Due.TODAY, tomorrow: None}
    # In UTC the same instants fall on other days.
    in_utc = dict(today=date(2026, 3, 10), zone=timezone.utc)
    assert all_pages(BoardFilter(due=Due.TODAY, **in_utc)) == [yesterday_late, today_early]
    assert due_counts(date(2026, 3, 10), NEW_YORK) == (3, 2)
    assert due_counts(date(2026, 3, 10), timezone.utc) == (2, 2)


def test_an_order_shipped_delivered_or_voided_is_never_late(shop):
    from oms_web.domain import shipping

    shop.product("A", in_hand=10)
    old = datetime(2026, 1, 5)
    shipped = placed(shop, ship_by=old).id
    voided = placed(shop, ship_by=old).id
    open_one = placed(shop, ship_by=old).id
    shipment = shipping.ship_lines(shop.staff, shipped, {shop.line(shipped, "A").id: 1})
    shipping.mark_shipped(shop.staff, shipment.id, "UPS", "1Z1")
    orders.void_order(shop.admin, voided, "customer asked")
    assert all_pages(BoardFilter(due=Due.LATE)) == [open_one]
    rows = {row.id: row.due for row in board_page(BoardFilter()).rows}
    assert rows == {shipped: None, voided: None, open_one: Due.LATE}
    assert overview_figures().late == 1


def test_the_overview_counts_late_and_due_today_up_to_its_cap(shop, monkeypatch):
    shop.product("A", in_hand=10)
    today = ShopDay.of(zone=timezone.utc)
    for days_ago in (1, 2, 3):
        placed(shop, ship_by=today.starts - timedelta(days=days_ago))
    placed(shop, ship_by=today.starts + timedelta(hours=20))
    placed(shop, ship_by=today.ends + timedelta(hours=1))
    figures = overview_figures()
    assert (figures.late, figures.due_today) == (3, 1)
    # Counted no further than the cap, so that the count's cost stays bounded however many are late.
    monkeypatch.setattr(figures_module, "_LATE", figures_module._capped_count(
        Order.ship_by < sa.bindparam("starts", type_=sa.DateTime()), cap=2))
    assert due_counts()[0] == 2


def test_the_demo_data_has_orders_late_and_due_today(shop):
    from oms_web.seed import seed_demo_data

    seed_demo_data(600, if_empty=False, echo=lambda _: None)
    db.session.rollback()
    late, due_today = due_counts()
    assert late > 0 and due_today > 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.ship_by.is_(None))) == 0
