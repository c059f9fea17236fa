"""A marketplace fuzzing us: order payloads of the wrong JSON type, too long for their column, with a NUL,
nested too deep, with money we cannot keep exactly, sent properly authenticated (API key, HMAC) to the
order API, the Shopify and the WooCommerce receivers. Each gets a 4xx JSON answer naming the field, and
nothing is written; on SQLite and (OMS_TEST_DATABASE_URL) PostgreSQL, which enforces lengths and
refuses NUL characters where SQLite does not."""
from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest

from oms_web.channels.manage import create_channel
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import MAX_LINE_QUANTITY
from oms_web.models import ChannelKind
from tests.helpers.webstore import ORDER, SHOPIFY, WOO, fresh_order, sign

DEEP = 100_000  # far past the stack of Python's JSON reader


@pytest.fixture
def send(app, shop):
    """send(kind, raw body) → the response of the order API, or the Shopify or WooCommerce receiver,
    each properly authenticated."""
    shop.product("MUG", in_hand=10, price_cents=1250)
    key = create_channel("Store API", ChannelKind.API).api_key
    shopify = create_channel("Shopify", ChannelKind.SHOPIFY, "shopify-secret").channel
    woo = create_channel("Woo", ChannelKind.WOOCOMMERCE, "woo-secret").channel
    client = app.test_client()

    def post(kind: str, raw: bytes):
        if kind == "api":
            return client.post("/api/v1/orders", data=raw, content_type="application/json",
                               headers={"Authorization": f"Bearer {key}"})
        if kind == "shopify":
            return client.post(f"/webhooks/shopify/{shopify.id}", data=raw, content_type="application/json",
                               headers={"X-Shopify-Hmac-Sha256": sign("shopify-secret", raw),
                                        "X-Shopify-Topic": "orders/create"})
        return client.post(f"/webhooks/woocommerce/{woo.id}", data=raw, content_type="application/json",
                           headers={"X-WC-Webhook-Signature": sign("woo-secret", raw),
                                    "X-WC-Webhook-Topic": "order.created"})

    return post


BODIES = {"api": ORDER, "shopify": SHOPIFY, "woo": WOO}
LINES = {"api": "lines", "shopify": "line_items", "woo": "line_items"}


def changed(kind: str, path: str, value) -> bytes:
    """The channel's good body with the field at `path` ("lines.0.sku"; "lines" is the channel's own
    name for its lines) set to `value`."""
    body = copy.deepcopy(BODIES[kind])
    first, *rest = path.split(".")
    *parents, last = [LINES[kind] if first == "lines" else first, *rest]
    target = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return json.dumps(body).encode()


def refused(response, status: int) -> list[str]:
    """Assert a clean JSON refusal; return the fields it names."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.is_json
    return [p["field"] for p in response.get_json()["problems"]]


# (channel, field path, value sent, the field named in the answer)
CASES = [
    # ------------------------------------------------ ids, SKUs and text of the wrong JSON type
    *[("api", "order_id", bad, "order_id") for bad in ({"a": 1}, ["W-1"], True, 1001)],
    *[("shopify", "id", bad, "id") for bad in ({"a": 1}, [820], True, "820982911946154508", 820.5, 10**25, -5)],
    *[("woo", "id", bad, "id") for bad in ({"a": 1}, [727], True, 727.0)],
    *[(kind, "lines.0.sku", bad, "lines[0].sku") for kind in BODIES for bad in ({"a": 1}, ["MUG"], True, 42)],
    ("shopify", "lines.0.id", True, "lines[0].id"),
    ("woo", "lines.0.id", {"id": 1}, "lines[0].id"),
    ("api", "lines.0.line_id", {"a": 1}, "lines[0].line_id"),
    ("api", "lines.0.name", ["mug"], "lines[0].name"),
    ("shopify", "lines.0.title", 7, "lines[0].title"),
    ("api", "customer", "Zoe Martin", "customer"),
    ("api", "customer.name", {"first": "Zoe"}, "customer.name"),
    ("api", "customer.phone", 5551234, "customer.phone"),
    ("api", "payment_status", True, "payment_status"),
    ("api", "service_level", ["express"], "service_level"),
    ("shopify", "email", ["jon@example.com"], "email"),
    ("shopify", "customer", "Jon Snow", "customer"),
    ("shopify", "customer.first_name", {"a": 1}, "customer.first_name"),
    ("woo", "billing.email", False, "billing.email"),
    # ------------------------------------------------ objects and lists that are not
    ("api", "ship_to", "1 Rue de Rivoli, Paris", "ship_to"),
    ("api", "ship_to", ["1 Rue de Rivoli"], "ship_to"),
    ("api", "bill_to", True, "bill_to"),
    ("shopify", "shipping_address", "1 Wall St, Winterfell", "shipping_address"),
    ("shopify", "billing_address", ["1 Wall St"], "billing_address"),
    ("woo", "shipping", "2 Elm, Austin", "shipping"),
    ("woo", "billing", [], "billing"),
    *[(kind, "lines", {"sku": "MUG"}, "lines") for kind in BODIES],
    *[(kind, "lines.0", "MUG", "lines[0]") for kind in BODIES],
    ("shopify", "shipping_lines", "5.00", "shipping_lines"),
    ("api", "ship_to.city", {"name": "Paris"}, "ship_to.city"),
    ("shopify", "shipping_address.zip", 10001, "shipping_address.zip"),
    # ------------------------------------------------ longer than the column (PostgreSQL would refuse them)
    ("api", "order_id", "W" * 65, "order_id"),
    *[(kind, "lines.0.sku", "M" * 65, "lines[0].sku") for kind in BODIES],
    ("api", "lines.0.name", "n" * 201, "lines[0].name"),
    ("api", "lines.0.line_id", "L" * 65, "lines[0].line_id"),
    ("api", "customer.name", "Z" * 201, "customer.name"),
    ("api", "customer.email", "z" * 250 + "@x.io", "customer.email"),
    ("api", "customer.phone", "5" * 41, "customer.phone"),
    ("api", "service_level", "s" * 41, "service_level"),
    ("api", "ship_to.postal_code", "7" * 21, "ship_to.postal_code"),
    ("api", "ship_to.line1", "r" * 201, "ship_to.line1"),
    ("shopify", "shipping_address.city", "c" * 101, "shipping_address.city"),
    ("shopify", "shipping_address.phone", "4" * 41, "shipping_address.phone"),
    ("shopify", "customer.last_name", "S" * 199, "customer.last_name"),  # "Jon " + 199 > 200
    ("woo", "shipping.postcode", "7" * 21, "shipping.postcode"),
    ("woo", "billing.phone", "5" * 41, "billing.phone"),
    # ------------------------------------------------ NUL and text PostgreSQL cannot store
    ("api", "order_id", "W-1\x00", "order_id"),
    ("api", "customer.name", "Zoe\x00Martin", "customer.name"),
    ("api", "ship_to.city", "Par\x00is", "ship_to.city"),
    ("api", "lines.0.sku", "MUG\x00", "lines[0].sku"),
    ("api", "customer.name", "Zoe \ud800", "customer.name"),
    ("shopify", "lines.0.title", "Enamel\x00mug", "lines[0].title"),
    ("shopify", "shipping_address.address1", "1 Wall\x00St", "shipping_address.address1"),
    ("shopify", "created_at", "2026-11-20\x00T10:00:00Z", "created_at"),
    ("woo", "lines.0.name", "mug\x00", "lines[0].name"),
    ("woo", "billing.first_name", "\x00", "billing.first_name"),
    # ------------------------------------------------ countries and currencies
    ("api", "ship_to.country", "France", "ship_to.country"),
    ("api", "ship_to.country", "F\x00", "ship_to.country"),
    ("shopify", "shipping_address.country_code", "GBR", "shipping_address.country_code"),
    ("woo", "shipping.country", 840, "shipping.country"),
    *[(kind, "currency", bad, "currency") for kind in BODIES for bad in ("EURO", "€€€", 978, "KWD", "usd\x00")],
    # ------------------------------------------------ numbers: types, digits, decimals, limits
    *[(kind, "lines.0.quantity", bad, "lines[0].quantity")
      for kind in BODIES for bad in (True, "2", 2.0, "٣", 0, -1, MAX_LINE_QUANTITY + 1, [2])],
    *[("api", "lines.0.unit_price", bad, "lines[0].unit_price")
      for bad in ("12.345", 12.345, "١٢.٥٠", "12.5٠", True, {"amount": "9.99"}, "1e3", "-1", "9.99 USD", "")],
    ("api", "shipping", "4.505", "shipping"),
    ("api", "shipping", False, "shipping"),
    *[("shopify", "lines.0.price", bad, "lines[0].price") for bad in ("12.505", "١٢.٥٠", True, ["12.50"])],
    ("shopify", "shipping_lines.0.price", "5.001", "shipping_lines[0].price"),
    ("woo", "lines.0.price", True, "lines[0].price"),
    ("woo", "lines.0.price", "١٢", "lines[0].price"),
    ("woo", "shipping_total", "5.001", "shipping_total"),
    # ------------------------------------------------ times
    ("shopify", "created_at", "yesterday", "created_at"),
    ("shopify", "created_at", 1732100000, "created_at"),
    ("shopify", "created_at", "9999-12-31T23:00:00-05:00", "created_at"),  # overflows on its way to UTC
    ("shopify", "cancelled_at", {"at": "now"}, "cancelled_at"),
    ("woo", "date_created_gmt", ["2026-11-20"], "date_created_gmt"),
    *[("api", "ship_by", bad, "ship_by") for bad in ("tomorrow", 1732100000, ["2026-11-20"], "1999-12-31T23:59:59Z",
                                                     "2100-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "2026-11-20\x00")],
]


@pytest.mark.parametrize("kind, path, value, field", CASES,
                         ids=[f"{kind}-{path}-{json.dumps(value, ensure_ascii=True)[:24]}"
                              for kind, path, value, _ in CASES])
def test_a_wrong_field_is_refused_by_name_and_nothing_is_written(send, shop, kind, path, value, field):
    before = shop.snapshot()
    fields = refused(send(kind, changed(kind, path, value)), 422)
    assert field in fields
    assert shop.snapshot() == before and check_invariants() == []


RAW = [
    ("deeply nested", b'{"order_id": ' + b"[" * DEEP + b"]" * DEEP + b"}"),
    ("deeply nested object", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
    ("NaN", b'{"order_id": "W-1", "lines": [{"sku": "MUG", "quantity": NaN}]}'),
    ("Infinity", b'{"id": Infinity}'),
    ("an integer of 5,000 digits", b'{"id": ' + b"9" * 5000 + b"}"),
    ("not UTF-8", b'{"order_id": "\xff\xfe"}'),
    ("not JSON", b"order_id=W-1"),
    ("empty", b""),
]


@pytest.mark.parametrize("kind", list(BODIES))
@pytest.mark.parametrize("what, raw", RAW, ids=[what for what, _ in RAW])
def test_a_body_that_is_not_json_we_can_read_is_refused_and_nothing_is_written(send, shop, kind, what, raw):
    before = shop.snapshot()
    assert refused(send(kind, raw), 400) == ["body"]
    assert shop.snapshot() == before


@pytest.mark.parametrize("kind", list(BODIES))
def test_a_body_that_is_json_but_not_an_object_is_refused(send, shop, kind):
    before = shop.snapshot()
    assert refused(send(kind, b"[" * 500 + b"]" * 500), 422) == ["body"]
    assert shop.snapshot() == before


@pytest.mark.parametrize("kind, path, value, stored", [
    ("api", "currency", "eur", ("currency", "EUR")),  # a code's case is no coercion
    ("api", "lines.0.unit_price", "9.990", ("unit_price_cents", 999)),  # the same amount, exactly
    ("api", "lines.0.unit_price", 9.99, ("unit_price_cents", 999)),
    ("api", "lines.0.sku", "M" * 64, ("sku", "M" * 64)),  # exactly the column's length
    ("api", "lines.0.quantity", MAX_LINE_QUANTITY, ("ordered", MAX_LINE_QUANTITY)),  # the app's one maximum
    ("api", "ship_to.country", "fr", ("country", "FR")),
    ("api", "ship_by", "2026-11-03T07:59:59Z", ("ship_by", datetime(2026, 11, 3, 7, 59, 59))),
    ("api", "ship_by", "2026-11-03T02:59:59-05:00", ("ship_by", datetime(2026, 11, 3, 7, 59, 59))),
    ("shopify", "lines.0.price", "1250", ("unit_price_cents", 125000)),
    ("woo", "lines.0.price", 10.833333333, ("unit_price_cents", 1083)),  # Woo divides its line total
])
def test_what_the_channel_documents_is_taken_exactly(send, shop, kind, path, value, stored):
    response = send(kind, changed(kind, path, value))
    assert response.status_code in (200, 201), response.get_json()
    order = fresh_order(shop, response.get_json().get("order_id") or response.get_json()["id"])
    name, expected = stored
    where = (order.lines[0] if name in ("unit_price_cents", "sku", "ordered") else
             order.ship_to if name == "country" else order)
    assert (where[name] if isinstance(where, dict) else getattr(where, name)) == expected


def test_a_currency_without_cents_takes_whole_amounts_and_refuses_a_fraction(send, shop):
    yen = {**SHOPIFY, "currency": "JPY", "line_items": [{**SHOPIFY["line_items"][0], "price": "1250"}]}
    before = shop.snapshot()
    fraction = {**yen, "line_items": [{**SHOPIFY["line_items"][0], "price": "12.50"}]}
    assert refused(send("shopify", json.dumps(fraction).encode()), 422) == ["lines[0].price"]
    assert shop.snapshot() == before
    response = send("shopify", json.dumps(yen).encode())
    order = fresh_order(shop, response.get_json()["order_id"])
    assert order.currency == "JPY" and order.lines[0].unit_price_cents == 125000
