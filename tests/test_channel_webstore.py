"""Web store orders: the JSON API (API key), Shopify and WooCommerce webhooks (HMAC), channel admin and CLI."""
from __future__ import annotations

import json
import re
import threading

import pytest
import sqlalchemy as sa

from oms_web.channels.manage import create_channel, set_sku_mapping
from oms_web.domain import orders as order_services
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import ChannelKind, PaymentStatus, Segment
from tests.helpers.webstore import ORDER, SHOPIFY, WOO, OrdersAtOnce, committed, fresh_order, orders_count, sign

@pytest.fixture
def api(app, shop):
    shop.product("MUG", in_hand=10, price_cents=999)
    created = create_channel("Store API", ChannelKind.API)
    client = app.test_client()

    def post(body, key=created.api_key, **headers):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return client.post("/api/v1/orders", data=data, content_type="application/json",
                           headers={"Authorization": f"Bearer {key}", **headers})

    post.channel = created.channel
    post.key = created.api_key
    return post


def test_an_api_order_arrives_finalized_and_allocated(api, shop):
    response = api(ORDER)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "finalized" and body["stage"] == "ready_to_ship" and body["total"] == "28.48"  # 19.98 + 20% tax 4.00 + shipping 4.50
    order = fresh_order(shop, body["id"])
    assert order.channel_order_id == "W-1001" and order.currency == "EUR" and order.ship_to["country"] == "FR"
    assert order.lines[0].allocated == 2 and order.lines[0].unit_price_cents == 999
    assert committed(shop, "MUG") == 2 and check_invariants() == []


def test_the_same_api_order_three_times_is_one_order(api, shop):
    answers = [api(ORDER) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert {a.get_json()["id"] for a in answers} == {answers[0].get_json()["id"]}
    assert [a.get_json()["duplicate"] for a in answers] == [False, True, True]
    assert orders_count() == 1 and committed(shop, "MUG") == 2


def test_the_same_api_order_ten_times_at_once_is_one_order_with_one_allocation(app, api, shop):
    results: list[int] = []
    errors: list[BaseException] = []

    def deliver():
        try:
            with app.app_context():
                results.append(api(ORDER).status_code)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(results) == [200] * 9 + [201]
    assert orders_count() == 1 and committed(shop, "MUG") == 2 and check_invariants() == []


def test_api_orders_arriving_while_one_is_written_are_written_together_in_one_transaction(app, api, shop, monkeypatch):
    bodies = [{**ORDER, "order_id": f"W-{n}", "lines": [{"sku": "MUG", "quantity": 3, "unit_price": "9.99"}]}
              for n in range(1, 6)]
    db.session.rollback()
    at_once = OrdersAtOnce(app, api, monkeypatch)
    at_once.post(bodies)
    assert at_once.errors == [] and at_once.group.batches == [1, 4]
    assert at_once.connections_in_use_while_waiting == 0  # those waiting in line hold no connection
    answers = at_once.answers
    assert {n: a.status_code for n, a in answers.items()} == {b["order_id"]: 201 for b in bodies}
    stages = {n: a.get_json()["stage"] for n, a in answers.items()}
    # 10 in hand, 3 an order: the first written, then the waiting four allocated in the order they came.
    assert stages["W-1"] == "ready_to_ship" and sorted(stages.values()).count("ready_to_ship") == 3
    assert sorted(stages.values()).count("awaiting_stock") == 2
    assert len({a.get_json()["id"] for a in answers.values()}) == 5 and orders_count() == 5
    assert committed(shop, "MUG") == 10 and check_invariants() == []


def test_an_order_that_fails_in_a_shared_transaction_fails_alone(app, api, shop, monkeypatch):
    at_once = OrdersAtOnce(app, api, monkeypatch)
    held_write = at_once.write

    def failing_on_w3(actor, batch):
        if any(new.channel_order_id == "W-3" for new in batch):
            raise RuntimeError("the database went away while W-3 was written")
        return held_write(actor, batch)

    at_once.write = failing_on_w3
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a server answers 500
    at_once.post([{**ORDER, "order_id": f"W-{n}"} for n in range(1, 5)])
    assert at_once.group.batches == [1, 3, 1, 1, 1]  # the shared batch failed, and was written order by order
    assert {n: a.status_code for n, a in at_once.answers.items()} == {"W-1": 201, "W-2": 201, "W-3": 500, "W-4": 201}
    assert orders_count() == 3 and committed(shop, "MUG") == 6 and check_invariants() == []


@pytest.mark.parametrize("key", ["", "oms_wrong", "Bearer"])
def test_an_api_order_without_a_valid_key_is_refused_and_writes_nothing(api, key):
    response = api(ORDER, key=key)
    assert response.status_code == 401 and orders_count() == 0


def test_a_replaced_key_or_a_switched_off_channel_is_refused_at_once(api):
    from oms_web.channels.manage import new_key, update_channel

    assert api({**ORDER, "order_id": "W-1"}).status_code == 201  # the key is now known to this process
    key = new_key(api.channel.id)
    assert api({**ORDER, "order_id": "W-2"}).status_code == 401
    assert api({**ORDER, "order_id": "W-2"}, key=key).status_code == 201
    update_channel(api.channel.id, active=False, secret=None, settings={}, credentials={})
    assert api({**ORDER, "order_id": "W-3"}, key=key).status_code == 401 and orders_count() == 2


def test_another_worker_stops_taking_a_replaced_key_within_seconds(api, monkeypatch):
    from oms_web.channels import keys
    from oms_web.database import write_transaction

    assert api({**ORDER, "order_id": "W-1"}).status_code == 201
    # Another worker process replaces the key: this one learns of it only from the database.
    with write_transaction():
        db.session.execute(sa.update(type(api.channel)).where(type(api.channel).id == api.channel.id)
                           .values(secret=keys.key_digest("oms_other")))
    assert api({**ORDER, "order_id": "W-2"}).status_code == 201  # still trusted, for a few seconds
    later = keys.time.monotonic() + keys.KNOWN_KEY_SECONDS
    monkeypatch.setattr(keys.time, "monotonic", lambda: later)
    assert api({**ORDER, "order_id": "W-3"}).status_code == 401
    assert api({**ORDER, "order_id": "W-3"}, key="oms_other").status_code == 201


def test_every_problem_of_a_bad_api_order_is_listed_and_nothing_is_written(api, shop):
    bad = {**ORDER, "order_id": "", "shipping": "-1",
           "lines": [{"sku": "", "quantity": "two", "unit_price": "abc"}, {"sku": "MUG", "quantity": 0, "unit_price": 1.5}]}
    response = api(bad)
    assert response.status_code == 422
    fields = {p["field"] for p in response.get_json()["problems"]}
    assert {"order_id", "shipping", "lines[0].sku", "lines[0].quantity", "lines[0].unit_price", "lines[1].quantity"} <= fields
    assert orders_count() == 0 and committed(shop, "MUG") == 0
    assert api("not json").status_code == 400 and api([1, 2]).status_code == 422


def test_an_api_order_with_an_unknown_sku_waits_under_needs_attention_until_mapped(api, shop):
    response = api({**ORDER, "lines": [{"sku": "MUG-BLUE-STORE", "quantity": 1, "unit_price": "9.99"}]})
    assert response.status_code == 201 and response.get_json()["stage"] == "needs_attention"
    order_id = response.get_json()["id"]
    assert "MUG-BLUE-STORE" in fresh_order(shop, order_id).hold_reason and committed(shop, "MUG") == 0
    set_sku_mapping(api.channel.id, "MUG-BLUE-STORE", "MUG")
    order_services.release_hold(shop.staff, order_id)
    order = fresh_order(shop, order_id)
    assert order.segment is Segment.READY_TO_SHIP and order.lines[0].sku == "MUG" and committed(shop, "MUG") == 1


def test_a_pending_api_order_waits_under_awaiting_payment(api, shop):
    response = api({**ORDER, "payment_status": "pending"})
    assert response.get_json()["stage"] == "awaiting_payment"
    assert fresh_order(shop, response.get_json()["id"]).payment_status is PaymentStatus.PENDING


def test_the_openapi_document_describes_the_order_endpoint(app, api):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    post = document["paths"]["/orders"]["post"]
    assert document["openapi"].startswith("3.") and {"201", "200", "401", "422"} <= set(post["responses"])
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"order_id", "customer", "lines"}


def test_the_openapi_document_states_the_limits_and_answers_the_api_keeps(app, api):
    from oms_web.domain.orders import MAX_LINE_QUANTITY

    document = app.test_client().get("/api/v1/openapi.json", headers={"Host": "evil.example"}).get_json()
    assert "evil.example" not in json.dumps(document) and document["servers"] == [{"url": "/api/v1"}]
    post = document["paths"]["/orders"]["post"]
    assert {"400", "413"} <= set(post["responses"])
    schemes = document["components"]["securitySchemes"].values()
    assert {"type": "apiKey", "in": "header", "name": "X-API-Key"}.items() <= next(
        s for s in schemes if s["type"] == "apiKey").items()
    schema = post["requestBody"]["content"]["application/json"]["schema"]["properties"]
    line = schema["lines"]["items"]["properties"]
    assert line["quantity"]["maximum"] == MAX_LINE_QUANTITY and line["sku"]["maxLength"] == 64
    assert schema["ship_to"]["properties"]["postal_code"]["maxLength"] == 20
    assert "USD" in schema["currency"]["enum"] and "EURO" not in schema["currency"]["enum"]
    # The key goes in X-API-Key as well as in Authorization, as the document says.
    response = app.test_client().post("/api/v1/orders", json=ORDER, headers={"X-API-Key": api.key})
    assert response.status_code == 201


# ---------------------------------------------------------------- webhooks

@pytest.fixture
def hooks(app, shop):
    shop.product("MUG", in_hand=10, price_cents=1250)
    shopify = create_channel("Shopify", ChannelKind.SHOPIFY, "shopify-secret").channel
    woo = create_channel("Woo", ChannelKind.WOOCOMMERCE, "woo-secret").channel
    return app.test_client(), shopify, woo


def test_a_signed_shopify_order_is_imported_once_however_often_delivered(hooks, shop):
    client, shopify, _ = hooks
    body = json.dumps(SHOPIFY).encode()
    headers = {"X-Shopify-Hmac-Sha256": sign("shopify-secret", body), "X-Shopify-Topic": "orders/create"}
    answers = [client.post(f"/webhooks/shopify/{shopify.id}", data=body, headers=headers,
                           content_type="application/json") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.get_json()["result"] for a in answers] == ["imported", "duplicate", "duplicate"]
    order = fresh_order(shop, answers[0].get_json()["order_id"])
    assert order.channel_order_id == str(SHOPIFY["id"]) and order.customer_name == "Jon Snow"
    assert order.lines[0].unit_price_cents == 1250 and order.shipping_cents == 500 and order.ship_to["region"] == "North"
    assert orders_count() == 1 and committed(shop, "MUG") == 3 and check_invariants() == []


@pytest.mark.parametrize("signature", [None, "", "d3Jvbmc=", "signed-with-the-old-secret"])
def test_a_shopify_delivery_without_the_right_signature_is_refused_with_no_write(hooks, signature):
    client, shopify, _ = hooks
    body = json.dumps(SHOPIFY).encode()
    if signature == "signed-with-the-old-secret":  # a stale signature: the secret has been replaced since
        from oms_web.channels.manage import update_channel

        signature = sign("shopify-secret", body)
        update_channel(shopify.id, active=True, secret="rotated-secret", settings={}, credentials={})
    headers = {"X-Shopify-Topic": "orders/create"}
    if signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    response = client.post(f"/webhooks/shopify/{shopify.id}", data=body, headers=headers, content_type="application/json")
    assert response.status_code == 401 and orders_count() == 0


def test_a_body_changed_after_signing_is_refused(hooks):
    client, shopify, _ = hooks
    body = json.dumps(SHOPIFY).encode()
    tampered = body.replace(b'"quantity": 3', b'"quantity": 9')
    response = client.post(f"/webhooks/shopify/{shopify.id}", data=tampered, content_type="application/json",
                           headers={"X-Shopify-Hmac-Sha256": sign("shopify-secret", body)})
    assert response.status_code == 401 and orders_count() == 0


def test_woocommerce_ping_is_answered_and_a_signed_order_imported(hooks, shop):
    client, _, woo = hooks
    ping = client.post(f"/webhooks/woocommerce/{woo.id}", data={"webhook_id": "12"})
    assert ping.status_code == 200 and orders_count() == 0
    body = json.dumps(WOO).encode()
    response = client.post(f"/webhooks/woocommerce/{woo.id}", data=body, content_type="application/json",
                           headers={"X-WC-Webhook-Signature": sign("woo-secret", body), "X-WC-Webhook-Topic": "order.created"})
    assert response.status_code == 200 and response.get_json()["result"] == "imported"
    order = fresh_order(shop, response.get_json()["order_id"])
    assert order.customer_name == "Ann Lee" and order.lines[0].unit_price_cents == 1250 and order.ship_to["postal_code"] == "78701"
    unsigned = client.post(f"/webhooks/woocommerce/{woo.id}", data=body, content_type="application/json")
    assert unsigned.status_code == 401


def test_a_cancelled_woocommerce_order_is_acknowledged_but_not_imported(hooks):
    client, _, woo = hooks
    body = json.dumps({**WOO, "status": "cancelled"}).encode()
    response = client.post(f"/webhooks/woocommerce/{woo.id}", data=body, content_type="application/json",
                           headers={"X-WC-Webhook-Signature": sign("woo-secret", body)})
    assert response.status_code == 200 and response.get_json()["result"] == "ignored" and orders_count() == 0


# ---------------------------------------------------------------- channel admin and CLI

def test_the_cli_creates_an_api_channel_and_prints_its_url_and_key(app):
    result = app.test_cli_runner().invoke(args=["channels", "create", "Site", "--kind", "api"])
    assert result.exit_code == 0, result.output
    assert "Inbound URL: http://127.0.0.1:5000/api/v1/orders" in result.output
    key = re.search(r"API key \(shown once, only a hash is kept\): (\S+)", result.output).group(1)
    from oms_web.models import SalesChannel

    stored = db.session.scalar(sa.select(SalesChannel.secret).where(SalesChannel.name == "Site"))
    assert key not in stored and stored.startswith("sha256:")


def test_an_admin_creates_a_channel_on_screen_and_sees_the_key_once(app, shop):
    client = app.test_client()
    token = lambda path: re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)  # noqa: E731
    client.post("/login", data={"email": shop.admin.email, "password": "correct horse battery", "csrf_token": token("/login")})
    page = client.post("/channels", data={"csrf_token": token("/channels"), "name": "Main site", "kind": "api"})
    assert page.status_code == 200
    key = re.search(r'<code class="secret">(oms_[^<]+)</code>', page.get_data(as_text=True)).group(1)
    assert key not in client.get("/channels").get_data(as_text=True)
    duplicate = client.post("/channels", data={"csrf_token": token("/channels"), "name": "Main site", "kind": "api"})
    assert duplicate.status_code == 422 and "exists already" in duplicate.get_data(as_text=True)


@pytest.mark.parametrize("quantity, price", [("²", "1.00"), ("1", "1e999999999"), ("1", "NaN"), (10**30, "1.00"),
                                             ("1", "99999999999.99")])
def test_odd_numbers_in_an_api_order_are_refused_not_crashed_on(api, quantity, price):
    response = api({**ORDER, "lines": [{"sku": "MUG", "quantity": quantity, "unit_price": price}]})
    assert response.status_code == 422 and orders_count() == 0
