"""Shopify and WooCommerce webhooks: signatures, lines without a SKU, payment and cancellation told by a
later delivery, and the same delivery many times at once."""
from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from oms_web.channels import importing
from oms_web.channels.keys import signature_valid
from oms_web.channels.manage import create_channel, set_sku_mapping, update_channel
from oms_web.domain import orders as order_services
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import ChannelKind, Customer, OrderEvent, OrderStatus, PaymentStatus, Segment
from tests.helpers.webstore import SHOPIFY, WOO, OrdersAtOnce, committed, fresh_order, orders_count, sign
from tests.helpers.signing_in import signed_in


@pytest.fixture
def hooks(app, shop):
    shop.product("MUG", in_hand=10, price_cents=1250)
    shopify = create_channel("Shopify", ChannelKind.SHOPIFY, "shopify-secret").channel
    woo = create_channel("Woo", ChannelKind.WOOCOMMERCE, "woo-secret").channel
    client = app.test_client()

    def to_shopify(body: dict, topic: str = "orders/create", **headers):
        raw = json.dumps(body).encode()
        return client.post(f"/webhooks/shopify/{shopify.id}", data=raw, content_type="application/json",
                           headers={"X-Shopify-Hmac-Sha256": sign("shopify-secret", raw), "X-Shopify-Topic": topic,
                                    **headers})

    def to_woo(body: dict, topic: str = "order.created"):
        raw = json.dumps(body).encode()
        return client.post(f"/webhooks/woocommerce/{woo.id}", data=raw, content_type="application/json",
                           headers={"X-WC-Webhook-Signature": sign("woo-secret", raw), "X-WC-Webhook-Topic": topic})

    hooks = type("Hooks", (), {})()
    hooks.client, hooks.shopify, hooks.woo, hooks.to_shopify, hooks.to_woo = client, shopify, woo, to_shopify, to_woo
    return hooks


def events_of(order_id: int, kind: str) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(OrderEvent.message).where(OrderEvent.order_id == order_id,
                                                                       OrderEvent.kind == kind)))


def nothing_written() -> bool:
    db.session.rollback()
    return orders_count() == 0 and db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0


# ---------------------------------------------------------------- signatures

@pytest.mark.parametrize("signature", [None, "", "d3Jvbmc=", "signed-with-the-old-secret", "signed-as-shopify"])
def test_a_woocommerce_delivery_without_the_right_signature_is_refused_with_no_write(hooks, signature):
    body = json.dumps(WOO).encode()
    if signature == "signed-with-the-old-secret":  # a stale signature: the secret has been replaced since
        signature = sign("woo-secret", body)
        update_channel(hooks.woo.id, active=True, secret="rotated-secret", settings={}, credentials={})
    elif signature == "signed-as-shopify":  # another channel's secret
        signature = sign("shopify-secret", body)
    headers = {"X-WC-Webhook-Topic": "order.created"}
    if signature is not None:
        headers["X-WC-Webhook-Signature"] = signature
    response = hooks.client.post(f"/webhooks/woocommerce/{hooks.woo.id}", data=body, headers=headers,
                                 content_type="application/json")
    assert response.status_code == 401 and nothing_written()


def test_a_woocommerce_body_changed_after_signing_is_refused(hooks):
    body = json.dumps(WOO).encode()
    tampered = body.replace(b'"quantity": 2', b'"quantity": 9')
    assert tampered != body
    response = hooks.client.post(f"/webhooks/woocommerce/{hooks.woo.id}", data=tampered, content_type="application/json",
                                 headers={"X-WC-Webhook-Signature": sign("woo-secret", body)})
    assert response.status_code == 401 and nothing_written()


def test_a_woocommerce_ping_with_a_large_form_body_is_not_taken_for_a_ping(hooks):
    response = hooks.client.post(f"/webhooks/woocommerce/{hooks.woo.id}", data={"webhook_id": "1", "x": "y" * 200})
    assert response.status_code == 401 and nothing_written()


@pytest.mark.parametrize("kind", ["shopify", "woocommerce"])
@pytest.mark.parametrize("signature", ["é", "sïgnature=", "\u00ff" * 44, "✓"])
def test_a_signature_with_characters_beyond_ascii_is_refused_cleanly(hooks, kind, signature):
    body = json.dumps(SHOPIFY if kind == "shopify" else WOO).encode()
    header = "X-Shopify-Hmac-Sha256" if kind == "shopify" else "X-WC-Webhook-Signature"
    channel = hooks.shopify if kind == "shopify" else hooks.woo
    response = hooks.client.post(f"/webhooks/{kind}/{channel.id}", data=body, content_type="application/json",
                                 headers={header: signature})
    assert response.status_code == 401 and response.get_json()["result"] == "refused"
    assert nothing_written()


def test_signature_valid_compares_bytes_and_never_raises():
    good = sign("secret", b"body")
    assert signature_valid("secret", b"body", good) and signature_valid("secret", b"body", f" {good}\n")
    for bad in ["é", good[:-1] + "é", "\ud800", "", None, good.lower()]:
        assert signature_valid("secret", b"body", bad) is False
    assert signature_valid(None, b"body", good) is False and signature_valid("", b"body", good) is False


# ---------------------------------------------------------------- lines without a SKU

SHOPIFY_LINE = {"id": 866550311766439020, "title": "Enamel mug", "quantity": 2, "price": "12.50"}
WOO_LINE = {"id": 315, "name": "Enamel mug", "quantity": 2, "price": "12.50", "total": "25.00"}


@pytest.mark.parametrize("line, placeholder", [
    ({"sku": None, "variant_id": 4470, "product_id": 632}, "SHOPIFY-VARIANT-4470"),
    ({"sku": "", "variant_id": None, "product_id": 632}, "SHOPIFY-PRODUCT-632"),
    ({"sku": "  ", "variant_id": None, "product_id": None}, "SHOPIFY-LINE-866550311766439020"),  # a custom item
    ({}, "SHOPIFY-LINE-866550311766439020"),
])
def test_a_shopify_line_without_a_sku_holds_the_order_until_its_placeholder_is_mapped(hooks, shop, line, placeholder):
    response = hooks.to_shopify({**SHOPIFY, "line_items": [{**SHOPIFY_LINE, **line}]})
    assert response.status_code == 200 and response.get_json()["result"] == "held"
    order_id = response.get_json()["order_id"]
    order = fresh_order(shop, order_id)
    assert order.segment is Segment.NEEDS_ATTENTION and placeholder in order.hold_reason
    assert order.lines[0].sku == placeholder and order.lines[0].name == "Enamel mug" and committed(shop, "MUG") == 0
    set_sku_mapping(hooks.shopify.id, placeholder, "MUG")
    order_services.release_hold(shop.staff, order_id)
    order = fresh_order(shop, order_id)
    assert order.segment is Segment.READY_TO_SHIP and order.lines[0].sku == "MUG" and order.lines[0].allocated == 2
    assert committed(shop, "MUG") == 2 and check_invariants() == []


@pytest.mark.parametrize("line, placeholder", [
    ({"sku": "", "product_id": 93, "variation_id": 94}, "WOO-VARIATION-94"),
    ({"sku": "", "product_id": 93, "variation_id": 0}, "WOO-PRODUCT-93"),
    ({"sku": None, "product_id": "93"}, "WOO-PRODUCT-93"),
    ({"sku": "", "product_id": 0, "variation_id": 0}, "WOO-LINE-315"),
])
def test_a_woocommerce_line_without_a_sku_holds_the_order_until_its_placeholder_is_mapped(hooks, shop, line, placeholder):
    response = hooks.to_woo({**WOO, "line_items": [{**WOO_LINE, **line}]})
    assert response.status_code == 200 and response.get_json()["result"] == "held"
    order_id = response.get_json()["order_id"]
    order = fresh_order(shop, order_id)
    assert order.segment is Segment.NEEDS_ATTENTION and placeholder in order.hold_reason
    assert order.lines[0].sku == placeholder and committed(shop, "MUG") == 0
    set_sku_mapping(hooks.woo.id, placeholder, "MUG")
    order_services.release_hold(shop.staff, order_id)
    assert fresh_order(shop, order_id).segment is Segment.READY_TO_SHIP and committed(shop, "MUG") == 2


def test_the_same_placeholder_on_a_second_order_is_resolved_by_the_same_mapping(hooks, shop):
    set_sku_mapping(hooks.shopify.id, "SHOPIFY-VARIANT-4470", "MUG")
    line = {**SHOPIFY_LINE, "sku": None, "variant_id": 4470}
    response = hooks.to_shopify({**SHOPIFY, "id": 5, "line_items": [line]})
    assert response.get_json()["result"] == "imported" and committed(shop, "MUG") == 2


def test_a_shopify_order_with_a_sku_line_and_a_custom_line_keeps_both(hooks, shop):
    lines = [{**SHOPIFY_LINE, "sku": "MUG"}, {"id": 7, "sku": None, "title": "Gift wrap", "quantity": 1, "price": "3.00"}]
    response = hooks.to_shopify({**SHOPIFY, "line_items": lines})
    order = fresh_order(shop, response.get_json()["order_id"])
    assert [line.sku for line in order.lines] == ["MUG", "SHOPIFY-LINE-7"]
    assert order.hold_reason.startswith("Unknown SKU SHOPIFY-LINE-7") and committed(shop, "MUG") == 0


@pytest.mark.parametrize("kind", ["shopify", "woocommerce"])
def test_a_line_without_a_sku_or_any_id_is_refused_and_nothing_written(hooks, kind):
    if kind == "shopify":
        response = hooks.to_shopify({**SHOPIFY, "line_items": [{"title": "?", "quantity": 1, "price": "1.00"}]})
        field = "lines[0].sku"
    else:
        response = hooks.to_woo({**WOO, "line_items": [{"name": "?", "sku": "", "product_id": 0, "quantity": 1,
                                                        "price": "1.00"}]})
        field = "lines[0].sku"
    assert response.status_code == 422 and nothing_written()
    assert [p["field"] for p in response.get_json()["problems"]] == [field]


def test_the_json_api_still_requires_a_sku(app, shop):
    shop.product("MUG", in_hand=10)
    key = create_channel("Store API", ChannelKind.API).api_key
    order = {"order_id": "W-1", "customer": {"name": "Zoe"},
             "lines": [{"quantity": 1, "unit_price": "1.00", "line_id": "L1", "product_id": 9}]}
    response = app.test_client().post("/api/v1/orders", json=order, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422 and nothing_written()
    assert response.get_json()["problems"] == [{"field": "lines[0].sku", "message": "is required"}]


# ---------------------------------------------------------------- paid later

def test_a_pending_shopify_order_is_marked_paid_by_its_orders_paid_delivery_once(hooks, shop):
    created = hooks.to_shopify({**SHOPIFY, "financial_status": "pending"})
    order_id = created.get_json()["order_id"]
    assert fresh_order(shop, order_id).segment is Segment.AWAITING_PAYMENT
    paid = hooks.to_shopify({**SHOPIFY, "financial_status": "paid"}, topic="orders/paid")
    assert paid.status_code == 200 and paid.get_json() == {"result": "paid", "order_id": order_id}
    order = fresh_order(shop, order_id)
    assert order.payment_status is PaymentStatus.PAID and order.segment is Segment.READY_TO_SHIP
    assert events_of(order_id, "paid") == ["Payment received on Shopify"]
    for topic in ("orders/paid", "orders/updated", "orders/create"):  # repeats of a paid order change nothing
        again = hooks.to_shopify({**SHOPIFY, "financial_status": "paid"}, topic=topic)
        assert again.status_code == 200 and again.get_json()["result"] == "duplicate"
    assert len(events_of(order_id, "paid")) == 1 and orders_count() == 1
    assert committed(shop, "MUG") == 3 and check_invariants() == []


def test_a_repeat_that_is_still_pending_leaves_the_order_awaiting_payment(hooks, shop):
    order_id = hooks.to_shopify({**SHOPIFY, "financial_status": "pending"}).get_json()["order_id"]
    again = hooks.to_shopify({**SHOPIFY, "financial_status": "partially_paid"}, topic="orders/updated")
    assert again.get_json()["result"] == "duplicate"
    assert fresh_order(shop, order_id).segment is Segment.AWAITING_PAYMENT and events_of(order_id, "paid") == []


def test_an_authorized_shopify_order_is_clear_to_ship(hooks, shop):
    """Shops that capture by hand do so when they fulfil: waiting for the capture would wait for ever."""
    order_id = hooks.to_shopify({**SHOPIFY, "financial_status": "authorized"}).get_json()["order_id"]
    order = fresh_order(shop, order_id)
    assert order.payment_status is PaymentStatus.PAID and order.segment is Segment.READY_TO_SHIP


def test_woocommerce_order_updated_marks_paid_and_creates_only_an_order_still_to_fulfil(hooks, shop):
    completed = hooks.to_woo({**WOO, "status": "completed"}, topic="order.updated")  # shipped before we were connected
    assert completed.status_code == 200 and completed.get_json()["result"] == "ignored" and nothing_written()
    order_id = hooks.to_woo({**WOO, "status": "pending"}).get_json()["order_id"]
    assert hooks.to_woo({**WOO, "status": "processing"}, topic="order.updated").get_json()["result"] == "paid"
    assert fresh_order(shop, order_id).payment_status is PaymentStatus.PAID


def test_a_woocommerce_order_first_seen_in_an_update_is_taken_in(hooks, shop):
    """Its order.created was missed, or came as failed and the customer paid since: not to be lost."""
    failed = hooks.to_woo({**WOO, "status": "failed"})
    assert failed.get_json()["result"] == "ignored" and nothing_written()
    paid = hooks.to_woo({**WOO, "status": "processing"}, topic="order.updated")
    assert paid.status_code == 200 and paid.get_json()["result"] == "imported"
    assert orders_count() == 1 and fresh_order(shop, paid.get_json()["order_id"]).payment_status is PaymentStatus.PAID


def test_shopify_orders_updated_marks_paid_but_never_creates_an_order(hooks, shop):
    ignored = hooks.to_shopify(SHOPIFY, topic="orders/updated")
    assert ignored.status_code == 200 and ignored.get_json()["result"] == "ignored" and nothing_written()
    order_id = hooks.to_shopify({**SHOPIFY, "financial_status": "pending"}).get_json()["order_id"]
    assert hooks.to_shopify(SHOPIFY, topic="orders/updated").get_json()["result"] == "paid"
    assert fresh_order(shop, order_id).payment_status is PaymentStatus.PAID


@pytest.mark.parametrize("first", ["pending", "on-hold"])
def test_a_woocommerce_order_waiting_for_payment_is_marked_paid_when_sent_again_as_processing(hooks, shop, first):
    created = hooks.to_woo({**WOO, "status": first})
    order_id = created.get_json()["order_id"]
    assert fresh_order(shop, order_id).segment is Segment.AWAITING_PAYMENT
    paid = hooks.to_woo({**WOO, "status": "processing"}, topic="order.updated")
    assert paid.status_code == 200 and paid.get_json() == {"result": "paid", "order_id": order_id}
    assert fresh_order(shop, order_id).segment is Segment.READY_TO_SHIP
    assert hooks.to_woo({**WOO, "status": "completed"}, topic="order.updated").get_json()["result"] == "duplicate"
    assert len(events_of(order_id, "paid")) == 1 and committed(shop, "MUG") == 2 and check_invariants() == []


def test_a_paid_repeat_of_a_held_order_marks_it_paid_and_it_stays_held(hooks, shop):
    body = {**SHOPIFY, "financial_status": "pending", "line_items": [{**SHOPIFY_LINE, "sku": "NOPE"}]}
    order_id = hooks.to_shopify(body).get_json()["order_id"]
    assert hooks.to_shopify({**body, "financial_status": "paid"}, topic="orders/paid").get_json()["result"] == "paid"
    order = fresh_order(shop, order_id)
    assert order.payment_status is PaymentStatus.PAID and order.segment is Segment.NEEDS_ATTENTION


def test_ten_paid_deliveries_at_once_mark_the_order_paid_once(app, hooks, shop, monkeypatch):
    order_id = hooks.to_shopify({**SHOPIFY, "financial_status": "pending"}).get_json()["order_id"]
    body = json.dumps({**SHOPIFY, "financial_status": "paid"}).encode()
    headers = {"X-Shopify-Hmac-Sha256": sign("shopify-secret", body), "X-Shopify-Topic": "orders/paid"}
    # Every delivery reads the order as awaiting payment before any of them marks it: only the check
    # made again under the order's lock keeps the payment from being recorded ten times.
    all_read = threading.Barrier(10, timeout=30)
    real_read = importing._awaiting_payment

    def read_then_wait(order_ids):
        waiting = real_read(order_ids)
        all_read.wait()
        return waiting

    monkeypatch.setattr(importing, "_awaiting_payment", read_then_wait)
    answers, errors = [], []

    def deliver():
        try:
            with app.app_context():
                answer = app.test_client().post(f"/webhooks/shopify/{hooks.shopify.id}", data=body, headers=headers,
                                                content_type="application/json")
                answers.append((answer.status_code, answer.get_json()["result"]))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(answers) == [(200, "duplicate")] * 9 + [(200, "paid")]
    assert len(events_of(order_id, "paid")) == 1 and fresh_order(shop, order_id).payment_status is PaymentStatus.PAID
    assert orders_count() == 1 and committed(shop, "MUG") == 3 and check_invariants() == []


# ---------------------------------------------------------------- cancelled later

@pytest.mark.parametrize("kind, cancelled", [
    ("shopify", {"cancelled_at": "2026-11-21T10:00:00-05:00", "financial_status": "refunded"}),
    ("shopify", {"financial_status": "voided"}),
    ("woocommerce", {"status": "cancelled"}),
    ("woocommerce", {"status": "refunded"}),
])
def test_an_order_cancelled_in_the_store_after_import_is_left_as_it_is_and_noted_once(hooks, shop, kind, cancelled):
    send = hooks.to_shopify if kind == "shopify" else hooks.to_woo
    body = SHOPIFY if kind == "shopify" else WOO
    order_id = send(body).get_json()["order_id"]
    before = committed(shop, "MUG")
    topic = {"topic": "orders/cancelled"} if kind == "shopify" else {"topic": "order.updated"}
    answers = [send({**body, **cancelled}, **topic) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].get_json()["result"] == "cancelled_after_import" and answers[0].get_json()["order_id"] == order_id
    order = fresh_order(shop, order_id)
    assert order.status is OrderStatus.FINALIZED and order.lines[0].allocated == order.lines[0].ordered
    notes = events_of(order_id, "channel_cancelled")
    assert len(notes) == 1 and f"after it was imported as {order.number}; void it here" in notes[0]
    assert order.segment is Segment.NEEDS_ATTENTION and order.hold_reason == notes[0]
    assert committed(shop, "MUG") == before and orders_count() == 1 and check_invariants() == []


def test_an_order_the_store_cancelled_is_held_and_cannot_ship_until_the_hold_is_released(app, hooks, shop):
    from oms_web.domain import shipping
    from oms_web.domain.errors import InvalidState

    order_id = hooks.to_shopify(SHOPIFY).get_json()["order_id"]
    hooks.to_shopify({**SHOPIFY, "cancelled_at": "2026-11-21T10:00:00-05:00"}, topic="orders/cancelled")
    page = signed_in(app, shop.staff).get(f"/orders/{order_id}").get_data(as_text=True)
    assert "Needs attention: Cancelled on " in page and "void it here" in page and "Release hold" in page
    order = fresh_order(shop, order_id)
    with pytest.raises(InvalidState, match="on hold"):
        shipping.ship_lines(shop.staff, order_id, {order.lines[0].id: 1})
    db.session.rollback()

    order_services.release_hold(shop.staff, order_id)  # shipped after all: the customer changed their mind
    order = fresh_order(shop, order_id)
    assert order.hold_reason is None and order.segment is Segment.READY_TO_SHIP
    shipping.ship_lines(shop.staff, order_id, {order.lines[0].id: 1})
    assert check_invariants() == []


def test_a_cancellation_of_an_order_never_received_or_already_void_writes_nothing(hooks, shop):
    answer = hooks.to_shopify({**SHOPIFY, "cancelled_at": "2026-11-21T10:00:00Z"}, topic="orders/cancelled")
    assert answer.status_code == 200 and answer.get_json()["result"] == "ignored" and nothing_written()
    order_id = hooks.to_woo(WOO).get_json()["order_id"]
    order_services.void_order(shop.admin, order_id, "customer phoned")
    answer = hooks.to_woo({**WOO, "status": "cancelled"}, topic="order.updated")
    assert answer.get_json()["result"] == "ignored" and events_of(order_id, "channel_cancelled") == []


def test_a_failed_woocommerce_payment_is_not_taken_for_a_cancellation(hooks, shop):
    order_id = hooks.to_woo({**WOO, "status": "pending"}).get_json()["order_id"]
    answer = hooks.to_woo({**WOO, "status": "failed"}, topic="order.updated")
    assert answer.get_json()["result"] == "ignored" and events_of(order_id, "channel_cancelled") == []
    assert fresh_order(shop, order_id).segment is Segment.AWAITING_PAYMENT


# ---------------------------------------------------------------- the same delivery many times at once

def test_the_same_shopify_delivery_ten_times_at_once_is_one_order_with_stock_committed_once(app, hooks, shop,
                                                                                           monkeypatch):
    body = json.dumps(SHOPIFY).encode()
    headers = {"X-Shopify-Hmac-Sha256": sign("shopify-secret", body), "X-Shopify-Topic": "orders/create",
               "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"}

    def deliver(_delivery):  # OrdersAtOnce posts each body on a thread of its own; each is the same delivery
        return app.test_client().post(f"/webhooks/shopify/{hooks.shopify.id}", data=body, headers=headers,
                                      content_type="application/json")

    db.session.rollback()
    at_once = OrdersAtOnce(app, deliver, monkeypatch)
    at_once.post([{"order_id": f"delivery-{n}"} for n in range(10)])
    assert at_once.errors == [] and at_once.group.batches == [1, 9]  # nine waited in line while the first was written
    answers = list(at_once.answers.values())
    assert [a.status_code for a in answers] == [200] * 10
    assert sorted(a.get_json()["result"] for a in answers) == ["duplicate"] * 9 + ["imported"]
    assert len({a.get_json()["order_id"] for a in answers}) == 1
    assert orders_count() == 1 and committed(shop, "MUG") == 3 and check_invariants() == []
    db.session.rollback()
    allocations = db.session.scalar(sa.select(sa.func.count()).select_from(OrderEvent).where(OrderEvent.kind == "allocated"))
    assert allocations == 1


@pytest.mark.parametrize("kind, odd", [
    ("shopify", {"financial_status": ["paid"]}), ("shopify", {"financial_status": {}}),
    ("woocommerce", {"status": ["processing"]}), ("woocommerce", {"status": 7}),
])
def test_a_status_that_is_not_text_is_refused_rather_than_guessed_at(hooks, kind, odd):
    # SPEC, Bad input: a value of the wrong JSON type is refused. (It used to be taken for "not paid".)
    send, body = (hooks.to_shopify, SHOPIFY) if kind == "shopify" else (hooks.to_woo, WOO)
    response = send({**body, **odd})
    assert response.status_code == 422 and nothing_written()
    assert [p["field"] for p in response.get_json()["problems"]] == list(odd)


def test_an_order_updated_delivery_with_a_list_for_its_status_is_refused_not_crashed_on(hooks):
    response = hooks.to_woo({**WOO, "status": ["processing"]}, topic="order.updated")
    assert response.status_code == 422 and nothing_written()
