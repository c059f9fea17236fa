"""Each marketplace's ship-by date on the way in, on SQLite and PostgreSQL: Amazon's LatestShipDate (the
Orders API) and latest-ship-date (its report files), eBay's shipByDate (the earliest of the line items
left to ship); without one, placed + the channel's handling days; a date that is no date, or out of
range, refuses its order with a message that says which field, and imports nothing of it."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from oms_web.channels import reports
from oms_web.domain.invariants import check_invariants
from oms_web.models import ChannelKind, SalesChannel
from tests.helpers.amazon_reports import ALL_ORDERS, UNSHIPPED, all_orders_row, channel, tsv
from tests.helpers.channel_orders import orders_of, sync

from .fakes import amazon_order, ebay_order

PURCHASED = datetime(2026, 11, 1, 9)  # the fakes' and the helpers' purchase time


# ------------------------------------------------------------------------------ Amazon, Orders API

def test_an_amazon_orders_latest_ship_date_is_its_ship_by_and_one_without_takes_the_handling_days(
        shop, amazon, amazon_fake):
    shop.product("A", in_hand=10)
    stated = amazon_order("202-0000001-0000001")
    stated["LatestShipDate"] = "2026-11-03T07:59:59Z"
    amazon_fake.add(stated, amazon_order("202-0000002-0000002"))

    run = sync(amazon)

    assert (run.status, run.imported, run.errors) == ("ok", 2, [])
    orders = orders_of(amazon)
    assert orders["202-0000001-0000001"].ship_by == datetime(2026, 11, 3, 7, 59, 59)
    assert orders["202-0000002-0000002"].ship_by == PURCHASED + timedelta(days=2)


@pytest.mark.parametrize("bad", ["soon", "2026-13-45T00:00:00Z", "1970-01-01T00:00:00Z", 20261103])
def test_an_amazon_order_whose_latest_ship_date_is_no_date_stops_the_sync_saying_so(shop, amazon, amazon_fake, bad):
    shop.product("A", in_hand=10)
    broken = amazon_order("202-0000001-0000001")
    broken["LatestShipDate"] = bad
    amazon_fake.add(broken)
    before = shop.snapshot()

    run = sync(amazon)

    # As for any order that cannot be read: the cursor stays, and the next run pulls it again.
    assert run.status == "failed" and run.imported == 0
    assert "202-0000001-0000001: LatestShipDate" in run.errors[0]
    assert ("out of range" in run.errors[0]) if bad == "1970-01-01T00:00:00Z" else ("is not a date" in run.errors[0])
    assert orders_of(amazon) == {} and shop.snapshot() == before


# ------------------------------------------------------------------------------ eBay, Fulfillment API

def test_an_ebay_orders_ship_by_is_the_earliest_ship_by_date_of_its_items_left_to_ship(shop, ebay, ebay_fake):
    shop.product("A", in_hand=10)
    shop.product("B", in_hand=10)
    shop.product("C", in_hand=10)
    order = ebay_order("26-00001-00001", items=[("A", 1, "10.00"), ("B", 1, "10.00"), ("C", 1, "10.00")])
    dates = ["2026-11-05T23:59:59.000Z", "2026-11-04T23:59:59.000Z", "2026-11-02T23:59:59.000Z"]
    for item, ship_by in zip(order["lineItems"], dates):
        item["lineItemFulfillmentInstructions"] = {"minEstimatedDeliveryDate": "2026-11-08T08:00:00.000Z",
                                                   "shipByDate": ship_by, "guaranteedDelivery": False}
    order["lineItems"][2]["lineItemFulfillmentStatus"] = "FULFILLED"  # shipped already: not ours to meet
    order["orderFulfillmentStatus"] = "IN_PROGRESS"
    plain = ebay_order("26-00002-00002")
    ebay_fake.add(order, plain)

    run = sync(ebay)

    assert (run.status, run.imported, run.errors) == ("ok", 2, [])
    orders = orders_of(ebay)
    assert orders["26-00001-00001"].ship_by == datetime(2026, 11, 4, 23, 59, 59)
    assert orders["26-00002-00002"].ship_by == PURCHASED + timedelta(days=2)


@pytest.mark.parametrize("instructions", [{"shipByDate": "next week"}, {"shipByDate": "2200-01-01T00:00:00.000Z"},
                                          {"shipByDate": ["2026-11-04"]}, ["not", "an", "object"]])
def test_an_ebay_order_whose_ship_by_date_is_no_date_stops_the_sync_saying_so(shop, ebay, ebay_fake, instructions):
    shop.product("A", in_hand=10)
    broken = ebay_order("26-00001-00001")
    broken["lineItems"][0]["lineItemFulfillmentInstructions"] = instructions
    ebay_fake.add(broken)
    before = shop.snapshot()

    run = sync(ebay)

    assert run.status == "failed" and run.imported == 0
    assert "26-00001-00001" in run.errors[0]
    assert "shipByDate" in run.errors[0] or "lineItemFulfillmentInstructions" in run.errors[0]
    assert orders_of(ebay) == {} and shop.snapshot() == before


# ------------------------------------------------------------------------------ Amazon's report files

def test_the_all_orders_reports_latest_ship_date_is_the_ship_by_and_a_bad_one_leaves_its_order_out(shop):
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    rows = [all_orders_row("026-0000001-0000001", "A", "1", "10.00", **{"latest-ship-date": "2026-11-03T07:59:59+00:00"}),
            all_orders_row("026-0000002-0000002", "A", "1", "10.00", **{"latest-ship-date": ""}),
            all_orders_row("026-0000003-0000003", "A", "1", "10.00", **{"latest-ship-date": "03/11/2026"}),
            all_orders_row("026-0000004-0000004", "A", "1", "10.00", **{"latest-ship-date": "2126-11-03T07:59:59Z"})]

    run = reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, tsv(ALL_ORDERS + ["latest-ship-date"], rows).encode())

    assert (run.status, run.imported) == ("ok", 2)
    assert [e.split(":")[0:2] for e in run.errors] == [["line 4", " order 026-0000003-0000003"],
                                                        ["line 5", " order 026-0000004-0000004"]]
    assert "latest-ship-date '03/11/2026' is not a date and time" in run.errors[0]
    assert "out of range" in run.errors[1]
    orders = orders_of(amazon)
    assert sorted(orders) == ["026-0000001-0000001", "026-0000002-0000002"]
    assert orders["026-0000001-0000001"].ship_by == datetime(2026, 11, 3, 7, 59, 59)
    assert orders["026-0000002-0000002"].ship_by == PURCHASED + timedelta(days=2)
    assert check_invariants() == []


def test_the_unshipped_reports_latest_ship_date_is_the_ship_by_and_a_file_without_the_column_takes_the_default(shop):
    amazon = channel("Amazon DE", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    amazon.handling_days = 3
    from oms_web.extensions import db

    db.session.commit()
    row = {"order-id": "303-0000001-0000001", "order-item-id": "1", "purchase-date": "2026-11-02T08:00:00+00:00",
           "payments-date": "2026-11-02T08:05:00+00:00", "sku": "A", "quantity-purchased": "1", "currency": "EUR",
           "item-price": "9.99", "recipient-name": "Zoë", "ship-country": "DE"}
    with_dates = [{**row, "latest-ship-date": "2026-11-04T22:59:59+00:00"},
                  {**row, "order-id": "303-0000002-0000002", "latest-ship-date": "2026-11-04T22:59:59"}]

    reports.import_file(amazon, reports.AMAZON_UNSHIPPED, tsv(UNSHIPPED + ["latest-ship-date"], with_dates).encode())
    reports.import_file(amazon, reports.AMAZON_UNSHIPPED, tsv(UNSHIPPED, [{**row, "order-id": "303-0000003-0000003"}]).encode())

    orders = orders_of(amazon)
    assert [orders[f"303-000000{n}-000000{n}"].ship_by for n in (1, 2, 3)] == [
        datetime(2026, 11, 4, 22, 59, 59), datetime(2026, 11, 4, 22, 59, 59), datetime(2026, 11, 5, 8)]
    assert db.session.get(SalesChannel, amazon.id).handling_days == 3
