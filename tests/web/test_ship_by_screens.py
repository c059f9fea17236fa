"""The ship-by screens through the test client, on SQLite and PostgreSQL: the board's Late / Due today
badges, quick filter and sort links, its next page by ship-by; the channel page's shipping defaults and
their bad input; the overview's late and due-today counts."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from oms_web.domain import orders
from oms_web.domain.deadlines import ShopDay
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import SalesChannel
from tests.helpers.board import order_numbers

from .conftest import every_row, use_both_backends

web_app = use_both_backends()


def placed(shop, ref: str, ship_by: datetime):
    return orders.create_order(None, NewOrder(
        channel_id=shop.web.id, channel_order_id=ref, customer=CustomerDetails(name="Ada Lovelace"),
        lines=[LineRequest("A", 1)], ship_by=ship_by))


@pytest.fixture
def deadlines(shop):
    """Ready-to-ship orders late, due today and due later (in UTC, the test app's zone)."""
    shop.product("A", in_hand=100)
    day = ShopDay.of(zone=timezone.utc)
    return {"later": placed(shop, "L", day.ends + timedelta(days=1)),
            "late": placed(shop, "X", day.starts - timedelta(hours=1)),
            "today": placed(shop, "T", day.starts + timedelta(hours=1))}


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_work_segment_lists_the_late_first_with_their_badges_and_age(as_staff, deadlines):
    response = as_staff.htmx_get("/orders?segment=ready_to_ship")
    assert order_numbers(response) == [deadlines[k].number for k in ("late", "today", "later")]
    body = text_of(response)
    assert f'<span id="due-{deadlines["late"].id}" ><span class="badge due-late">Late</span></span>' in body
    assert f'<span id="due-{deadlines["today"].id}" ><span class="badge due-today">Due today</span></span>' in body
    assert f'<span id="due-{deadlines["later"].id}" ></span>' in body
    assert re.search(r'<span class="age muted" title="Placed 0 hours ago">\d+m</span>', body)
    assert 'aria-sort="ascending"' in body and "sort=newest" in body  # the other sort stays a click away
    newest = as_staff.htmx_get("/orders?segment=ready_to_ship&sort=newest")
    assert order_numbers(newest) == [deadlines[k].number for k in ("today", "late", "later")]
    assert 'aria-sort="descending"' in text_of(newest)


def test_the_late_and_due_today_quick_filters_list_only_those(as_staff, deadlines):
    assert order_numbers(as_staff.htmx_get("/orders?due=late")) == [deadlines["late"].number]
    assert order_numbers(as_staff.htmx_get("/orders?due=today&segment=ready_to_ship")) == [deadlines["today"].number]
    assert order_numbers(as_staff.htmx_get("/orders?due=today&segment=fulfilled")) == []
    page = text_of(as_staff.get("/orders?due=late"))
    assert re.search(r'<input type="radio" name="due" value="late" class="filter"\s+checked>', page)
    # Anything else is no filter, as an unknown segment is all of them.
    assert len(order_numbers(as_staff.htmx_get("/orders?due=soon&sort=sideways"))) == 3


def test_the_next_page_by_ship_by_follows_on_and_a_garbled_keyset_is_the_first_page(as_staff, shop):
    shop.product("A", in_hand=100)
    made = [placed(shop, f"P{n}", datetime(2026, 11, 1) + timedelta(hours=n)).number for n in range(55)]
    first = as_staff.htmx_get("/orders?segment=ready_to_ship")
    assert order_numbers(first) == made[:50]
    later = re.search(r'href="(/orders\?after=[^"]*)"[^>]*rel="next"', first.get_data(as_text=True))
    assert order_numbers(as_staff.htmx_get(html.unescape(later.group(1)))) == made[50:]
    assert order_numbers(as_staff.htmx_get("/orders?segment=ready_to_ship&after=2026-11-01T99_x")) == made[:50]


def test_the_counts_poll_swaps_the_shown_rows_due_badges(as_staff, deadlines):
    body = text_of(as_staff.htmx_get(f"/orders/counts?shown={deadlines['late'].id}"))
    assert (f'<span id="due-{deadlines["late"].id}" hx-swap-oob="true"><span class="badge due-late">Late</span></span>'
            in body)


def test_the_overview_shows_late_and_due_today_linking_to_the_board(as_manager, deadlines):
    body = text_of(as_manager.get("/overview"))
    assert re.search(r'href="/orders\?segment=all&due=late"><span class="kpi due-late-text">1</span> late</a>', body)
    assert re.search(r'href="/orders\?segment=all&due=today"><span class="kpi due-today-text">1</span> due today</a>', body)


# ------------------------------------------------------------------------------ the channel's shipping defaults

def test_an_admin_saves_a_channels_shipping_defaults_on_its_page(as_admin, shop):
    page = text_of(as_admin.get(f"/channels/{shop.web.id}"))
    assert 'name="handling_days"' in page and 'value="2"' in page and 'max="30"' in page
    response = as_admin.post_form(f"/channels/{shop.web.id}/shipping",
                                  {"handling_days": "4", "default_carrier": "UPS", "default_service": "Ground"})
    assert response.status_code == 302
    db.session.rollback()
    channel = db.session.get(SalesChannel, shop.web.id)
    assert (channel.handling_days, channel.default_carrier, channel.default_service) == (4, "UPS", "Ground")
    assert 'value="UPS"' in text_of(as_admin.get(f"/channels/{shop.web.id}"))


@pytest.mark.parametrize("field, value, message", [
    ("handling_days", "-1", "Handling time must be between 0 and 30"),
    ("handling_days", "31", "Handling time is too large: at most 30"),
    ("handling_days", "two", "Handling time must be a whole number"),
    ("handling_days", "2.5", "Handling time must be a whole number"),
    ("handling_days", "", "Handling time is required"),
    ("handling_days", "9" * 40, "Handling time is too large: at most 30"),
    ("default_carrier", "C" * 61, "The default carrier has at most 60 characters"),
    ("default_service", "S" * 61, "The default service has at most 60 characters"),
])
def test_bad_shipping_defaults_are_refused_next_to_their_field_and_change_nothing(as_admin, shop, field, value, message):
    before = every_row()
    response = as_admin.post_form(f"/channels/{shop.web.id}/shipping",
                                  {"handling_days": "3", "default_carrier": "UPS", "default_service": "Ground", field: value})
    body = text_of(response)
    assert response.status_code == 422
    assert re.search(rf'<p class="field-error" id="e-{field}">{re.escape(message)}', body), body[body.find("Shipping defaults"):][:1500]
    assert every_row() == before


def test_staff_and_managers_cannot_change_a_channels_shipping_defaults(sign_in, shop):
    for user in (shop.staff, shop.manager):
        response = sign_in(user).post_form(f"/channels/{shop.web.id}/shipping", {"handling_days": "9"})
        assert response.status_code == 403
    db.session.rollback()
    assert db.session.scalar(sa.select(SalesChannel.handling_days).where(SalesChannel.id == shop.web.id)) == 2
