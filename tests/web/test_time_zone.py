"""Times in the shop's time zone (OMS_TIMEZONE): the database keeps UTC; screens, board dates and the
overview's days are the shop's."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from oms_web import create_app
from oms_web.domain import orders
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.domain.overview_figures import overview_figures

from ..conftest import test_config as app_settings
from tests.helpers.board import order_numbers

NEW_YORK = ZoneInfo("America/New_York")
LATE_EVENING_IN_NEW_YORK = datetime(2026, 11, 26, 3, 30)  # UTC: 22:30 on the 25th in New York (EST)


@pytest.fixture
def late_order(web_app, shop):
    web_app.config["OMS_TIMEZONE"] = NEW_YORK
    shop.product("A", in_hand=5)
    # Placed then on the channel, so that every figure kept of it (the overview's hourly counts) has that time.
    return orders.create_order(None, NewOrder(
        channel_id=shop.web.id, channel_order_id="LATE-1", placed_at=LATE_EVENING_IN_NEW_YORK,
        customer=CustomerDetails(name="Grace Hopper", email="grace@example.com"), lines=[LineRequest("A", 1)]))


def test_the_order_page_shows_when_it_was_placed_in_the_shops_time_with_the_zone(late_order, as_staff):
    page = as_staff.get(f"/orders/{late_order.id}").get_data(as_text=True)
    assert "25 Nov 2026 22:30 EST" in page


def test_the_boards_date_filter_means_the_shops_days(late_order, as_staff):
    def listed(day: str) -> list[str]:
        return order_numbers(as_staff.get(f"/orders?segment=all&from={day}&to={day}"))

    assert listed("2026-11-25") == [late_order.number]
    assert listed("2026-11-26") == []


def test_the_overview_counts_an_order_on_the_shops_day(late_order):
    figures = overview_figures(today=date(2026, 11, 26), zone=NEW_YORK)
    per_day = dict(zip(figures.days, (sum(c.per_day[i] for c in figures.channels) for i in range(len(figures.days)))))
    assert per_day[date(2026, 11, 25)] == 1 and per_day[date(2026, 11, 26)] == 0


def test_a_time_zone_that_does_not_exist_stops_the_app_with_a_clear_message(tmp_path):
    with pytest.raises(RuntimeError, match="OMS_TIMEZONE='Mars/Olympus' is not a time zone name"):
        create_app(app_settings(f"sqlite:///{tmp_path / 'x.sqlite3'}", OMS_TIMEZONE="Mars/Olympus"))
