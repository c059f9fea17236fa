"""The small translations every channel needs, without a database: money strings to cents, addresses,
the Amazon shipping confirmation upload file, and the transport's pauses."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
import requests

from oms_web.channels.amazon import UPLOAD_COLUMNS, confirmation_upload_file
from oms_web.channels.ebay import orders_query
from oms_web.channels.addresses import country_code, ship_to
from oms_web.channels.amounts import MoneyError, cents, charged_line
from oms_web.channels.transport import Transport, operation_of, retry_after_s


@pytest.mark.parametrize("text, expected", [
    ("12.50", 1250), ("12.5", 1250), ("0.005", 1), ("0.004", 0), ("$1,234.50", 123450), ("AU $3,000.00", 300000),
    ("£20", 2000), ("1.234,56", 123456), ("29,97", 2997), ("1,234", 123400), (" 7.10 ", 710), ("-3.00", -300),
    ("(3.00)", -300), ("EUR 9.99", 999), (5, 500),
])
def test_money_strings_become_whole_cents_rounded_half_up(text, expected):
    assert cents(text) == expected


@pytest.mark.parametrize("text", ["abc", "1.2.3", "$", "12-50", 12.5])
def test_what_is_not_money_is_refused_rather_than_guessed(text):
    with pytest.raises(MoneyError):
        cents(text)


def test_an_empty_amount_is_the_default_not_zero_by_accident():
    assert cents("") == 0 and cents(None, default=None) is None and cents("  ", default=None) is None


def priced(line_total: str, quantity: int, **money: str) -> tuple:
    line = charged_line(sku="A", quantity=quantity, line_total=line_total, **money)
    return line.unit_price_cents, line.discount_cents, line.tax_cents


def test_a_line_total_is_divided_into_a_unit_price_that_keeps_the_total_to_the_cent():
    assert priced("25.00", 2) == (1250, 0, None)
    assert priced("10.00", 3) == (334, 2, None)  # 3 × 3.34 − 0.02 = 10.00
    assert priced("0.05", 2) == (3, 1, None)
    assert priced("", 2) == (None, 0, None)
    assert priced("19.99", 3, discount="-5.00", tax="1.60") == (667, 502, 160)  # a discount written negative


def test_units_left_of_a_partly_shipped_line_take_their_share_of_its_discount_and_tax():
    line = charged_line(sku="A", quantity=1, charged_for=3, line_total="30.00", discount="3.00", tax="2.71")
    assert (line.unit_price_cents, line.discount_cents, line.tax_cents) == (1000, 100, 90)


def test_a_channel_address_maps_to_the_order_ship_to_keys():
    assert ship_to(name=" Ada ", line1="1 Rd", line2="Flat 2", line3="Rear", city="Leeds", region=None,
                   postal_code="LS1", country="united kingdom", company="Analytical Engines Ltd") == {
        "name": "Ada, Analytical Engines Ltd", "line1": "1 Rd", "line2": "Flat 2, Rear", "city": "Leeds",
        "region": None, "postal_code": "LS1", "country": "GB"}
    assert ship_to() is None
    assert country_code("us") == "US" and country_code("Atlantis") == "Atlantis"


def test_the_amazon_upload_file_has_a_row_per_shipped_line_under_the_documented_headers():
    order = SimpleNamespace(channel_order_id="202-0000001-0000001")

    def line(item_id, quantity):
        return SimpleNamespace(quantity=quantity, order_line=SimpleNamespace(channel_line_id=item_id))

    confirmations = [
        SimpleNamespace(shipment=SimpleNamespace(order=order, carrier="Royal Mail", tracking_number="RM1\tGB",
                                                 service_level="Tracked 48", shipped_at=datetime(2026, 11, 3, 15, 0),
                                                 lines=[line("11", 2), line("12", 1)])),
        SimpleNamespace(shipment=SimpleNamespace(order=order, carrier="Bob's Vans", tracking_number="BV9",
                                                 service_level=None, shipped_at=datetime(2026, 11, 4, 9, 0),
                                                 lines=[line("13", 1)])),
    ]

    text = confirmation_upload_file(confirmations)

    rows = [row.split("\t") for row in text.splitlines()]
    assert rows[0] == list(UPLOAD_COLUMNS) == ["order-id", "order-item-id", "quantity", "ship-date", "carrier-code",
                                               "carrier-name", "tracking-number", "ship-method"]
    assert rows[1:] == [
        ["202-0000001-0000001", "11", "2", "2026-11-03", "Royal Mail", "", "RM1 GB", "Tracked 48"],
        ["202-0000001-0000001", "12", "1", "2026-11-03", "Royal Mail", "", "RM1 GB", "Tracked 48"],
        ["202-0000001-0000001", "13", "1", "2026-11-04", "Other", "Bob's Vans", "BV9", ""],
    ]


def test_the_ebay_filter_goes_out_with_its_brackets_percent_encoded():
    assert orders_query("2026-01-01T00:00:00.000Z", offset=400) == (
        "filter=lastmodifieddate:%5B2026-01-01T00:00:00.000Z..%5D&limit=200&offset=400")


def _response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    return response


def test_back_off_grows_is_capped_and_never_undercuts_retry_after():
    transport = Transport("https://example.test", lambda s: ("t", 3600), lambda t: {}, backoff_base_s=1,
                          backoff_cap_s=30)
    delays = [transport.backoff_delay(attempt, _response(429)) for attempt in range(1, 8)]
    assert all(0.5 * min(30, 2 ** (n - 1)) <= d <= min(30, 2 ** (n - 1)) for n, d in enumerate(delays, start=1))
    assert transport.backoff_delay(1, _response(429, {"Retry-After": "7"})) >= 7
    assert transport.backoff_delay(1, _response(429, {"Retry-After": "7000"})) <= 30
    assert retry_after_s(_response(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_s(_response(429)) is None


def _throttled(url: str, headers: dict[str, str] | None = None) -> requests.Response:
    response = _response(429, headers)
    response.request = requests.Request("GET", url).prepare()
    return response


def test_a_throttled_call_waits_for_its_bucket_to_refill_one_request():
    documented = {"/orders/v0/orders": 1 / 60, "/orders/v0/orders/{id}/orderItems": 0.5}
    transport = Transport("https://sellingpartnerapi-eu.amazon.com", lambda s: ("t", 3600), lambda t: {},
                          backoff_base_s=1, backoff_cap_s=30, rates=documented)
    orders = "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders?CreatedAfter=2026-11-01"
    items = "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders/202-0000031-0000031/orderItems"

    assert 60 <= transport.backoff_delay(1, _throttled(orders)) <= 120  # getOrders: one a minute
    assert 2 <= transport.backoff_delay(1, _throttled(items)) <= 2 * 1  # 0.5/s: two seconds, or the back-off
    # The far end's stated rate wins over the documented one; a silly one is capped.
    transport._note_rate(orders, _response(200, {"x-amzn-RateLimit-Limit": "0.2"}))
    assert 5 <= transport.backoff_delay(1, _throttled(orders)) <= 5.01
    transport._note_rate(orders, _response(200, {"x-amzn-RateLimit-Limit": "0.0001"}))
    assert transport.backoff_delay(1, _throttled(orders)) == 120
    # A 5xx is no rate limit: only the back-off.
    unwell = _throttled(orders)
    unwell.status_code = 503
    assert transport.backoff_delay(1, unwell) <= 1


def test_operations_are_named_without_their_ids():
    assert operation_of("https://x.test/orders/v0/orders/202-1-2/orderItems?NextToken=a") == \
        "/orders/v0/orders/{id}/orderItems"
    assert operation_of("https://x.test/orders/v0/orders?MarketplaceIds=A1") == "/orders/v0/orders"


def test_a_paging_link_to_another_host_is_not_followed_with_our_token():
    transport = Transport("https://api.ebay.com", lambda s: ("t", 3600), lambda t: {})
    assert transport.url("https://api.ebay.com/sell/fulfillment/v1/order?offset=2").endswith("offset=2")
    with pytest.raises(Exception, match="another host"):
        transport.url("https://evil.example/sell/fulfillment/v1/order")
